"""What :func:`~hybridlab.ml.drift.reoptimize_stream` returns: tidy tables and a plot.

:class:`DriftRecord` holds three frames -- one row per batch, one per (re-)tune, one per
trial of each tune -- the stream's true drift points, and :meth:`DriftRecord.plot`
(accuracy over time with the true drift points and the detections marked).
:func:`trials_to_recover` is the recovery measure of a tune's best-so-far curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BATCH_COLUMNS", "RETUNE_COLUMNS", "TRIAL_COLUMNS", "DriftRecord",
           "trials_to_recover"]

#: Columns of :attr:`DriftRecord.batches`: the batch index, its true regime, whether it
#: is a true drift point, the prequential accuracy (NaN for the first window, which is
#: only trained on), whether the detector flagged it, the detector's p-value, and the
#: tune made after it (-1: none).
BATCH_COLUMNS = ("batch", "regime", "true_drift", "accuracy", "flagged", "pvalue", "tune")

#: Columns of :attr:`DriftRecord.retunes`: one row per tune (tune 0 is the initial one on
#: the first window).
RETUNE_COLUMNS = ("tune", "batch", "warm", "n_init", "n_trials", "best_score",
                  "trials_to_recover", "best_params", "seconds")

#: Columns of :attr:`DriftRecord.trials`: one row per trial of each tune.
TRIAL_COLUMNS = ("tune", "batch", "trial", "score", "best_so_far", "phase", "params")


def trials_to_recover(scores: Sequence[float], tol: float = 0.01,
                      target: float | None = None) -> int:
    """The first trial (1-based) whose best-so-far score is within ``tol`` of ``target``.

    Parameters
    ----------
    scores : sequence of float
        The CV score of each trial in order (NaN for a failed trial).
    tol : float, default 0.01
        How close counts as recovered (0.01 = one accuracy point).
    target : float, optional
        Default: the tune's own final best score.  Pass the best score any method reached
        on the same data to compare methods (a search that stalls early is then not
        "recovered").

    Returns
    -------
    int
        ``len(scores) + 1`` when the target is never reached.

    Example
    -------
    >>> trials_to_recover([0.60, 0.80, 0.795, 0.81])
    2
    >>> trials_to_recover([0.60, 0.80], target=0.9)
    3
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or len(s) == 0 or not np.isfinite(s).any():
        raise ValueError("scores must be a non-empty 1-D sequence with a finite score")
    if isinstance(tol, bool) or not isinstance(tol, int | float) or tol < 0:
        raise ValueError(f"tol must be a number >= 0 such as 0.01, got {tol!r}")
    best = np.fmax.accumulate(np.where(np.isfinite(s), s, -np.inf))
    goal = float(best[-1] if target is None else target) - tol
    hit = np.flatnonzero(best >= goal - 1e-12)
    return int(hit[0]) + 1 if len(hit) else len(s) + 1


@dataclass(frozen=True)
class DriftRecord:
    """The outcome of one :func:`~hybridlab.ml.drift.reoptimize_stream` run.

    Attributes
    ----------
    batches : pandas.DataFrame
        One row per batch (:data:`BATCH_COLUMNS`).
    retunes : pandas.DataFrame
        One row per tune (:data:`RETUNE_COLUMNS`); ``trials_to_recover`` is
        :func:`trials_to_recover` of the tune's own curve with the run's ``tol``.
    trials : pandas.DataFrame
        One row per trial (:data:`TRIAL_COLUMNS`): the mean CV score and the tune's
        best-so-far score after each trial.
    drift_points : tuple of int
        The stream's true drift points (empty when unknown).
    settings : dict
        The run's arguments (warm_start, budget, window, optimizer, seed, ...).

    Example
    -------
    See :func:`~hybridlab.ml.drift.reoptimize_stream`.
    """

    batches: pd.DataFrame = field(repr=False)
    retunes: pd.DataFrame = field(repr=False)
    trials: pd.DataFrame = field(repr=False)
    drift_points: tuple[int, ...]
    settings: dict[str, Any]

    def after_drift(self, horizon: int = 5) -> pd.DataFrame:
        """Mean prequential accuracy in the ``horizon`` batches from each true drift
        point on (``drift``, ``accuracy``, ``detected_at``: the first flagged batch in
        that span, -1 when none), one row per drift point."""
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
        b = self.batches
        rows = []
        for d in self.drift_points:
            span = b[(b["batch"] >= d) & (b["batch"] < d + horizon)]
            flagged = span.loc[span["flagged"], "batch"]
            rows.append({"drift": d, "accuracy": float(span["accuracy"].mean()),
                         "detected_at": int(flagged.iloc[0]) if len(flagged) else -1})
        return pd.DataFrame(rows, columns=["drift", "accuracy", "detected_at"])

    def plot(self, ax: Any = None, label: str | None = None) -> Any:
        """Accuracy per batch, true drift points (dashed lines) and detections (markers).

        Pass ``ax`` to draw another run on the same axes (e.g. warm vs cold); ``label``
        names the line (default ``warm``/``cold``).  Returns the Figure (not shown).

        Example
        -------
        >>> import pandas as pd
        >>> b = pd.DataFrame({"batch": [0, 1, 2], "accuracy": [None, 0.9, 0.6],
        ...                   "flagged": [False, False, True]})
        >>> r = DriftRecord(b, pd.DataFrame(), pd.DataFrame(), (2,), {"warm_start": True})
        >>> len(r.plot().axes)
        1
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(8, 3.2))
        else:
            fig = ax.figure
        b = self.batches
        name = label or ("warm" if self.settings.get("warm_start") else "cold")
        line, = ax.plot(b["batch"], b["accuracy"], marker=".", label=f"{name}: accuracy")
        hit = b[b["flagged"]]
        ax.plot(hit["batch"], hit["accuracy"], "v", ms=9, color=line.get_color(),
                markeredgecolor="k", label=f"{name}: detected, re-tuned")
        have = {h.get_label() for h in ax.get_lines()}
        for i, d in enumerate(self.drift_points):
            ax.axvline(d, color="0.4", ls="--", lw=1,
                       label="true drift" if i == 0 and "true drift" not in have else None)
        ax.set_xlabel("batch")
        ax.set_ylabel("prequential accuracy")
        ax.legend(fontsize="small", loc="lower left")
        return fig
