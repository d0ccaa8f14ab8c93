"""The outcome of a run: plain data plus a convergence plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Result"]

#: history columns that depend on the clock, not on the search
TIMING_COLUMNS = ("seconds", "time")


@dataclass(frozen=True, eq=False)
class Result:
    """What :func:`hybridlab.minimize` returns.

    Attributes
    ----------
    x : array or dict
        Best point in user space (the best *feasible* one when there are constraints).
    y : float
        Its objective value (``inf`` when every evaluation failed).
    n_evals : int
        Evaluations made (equals the budget unless the optimizer converged or a callback
        stopped the run).
    seconds : float
        Wall time of the run.
    history : pandas.DataFrame
        One row per evaluation: ``eval, y, best_so_far, status, error, phase, seconds,
        time`` (``time`` = seconds since start), ``violation`` when the problem has
        constraints, then one column per dimension of the space (user values).
    feasible : bool
        Whether any feasible point was found (always True without constraints).
    violation : float
        Total constraint violation of ``x``.
    violations : dict of str to float
        Violation ``max(0, g(x))`` of each constraint at ``x``, by constraint name: which
        one failed.
    x_unit : ndarray
        ``x`` in the unit box.
    seed : int
        The entropy of the run's ``SeedSequence``: pass it as ``seed`` to repeat the run.
    optimizer, problem : str
        Names, for tables and plots.
    stopped : str
        ``"budget"``, ``"converged"`` (the optimizer's ``stop()``) or ``"callback"``.
    cost : float or None
        Budget spent in fidelity units (e.g. training epochs) on a multi-fidelity problem
        (:mod:`hybridlab.fidelity`); ``None`` otherwise, where the cost is ``n_evals``.
    decisions : pandas.DataFrame
        What a switching optimizer (:class:`hybridlab.Switch`, ``default()``) decided and
        why: one row per decision (``evaluation``, ``from``, ``to``, ``reason``, ``best``
        and the state it measured); empty for other optimizers.
    """

    x: Any
    y: float
    n_evals: int
    seconds: float
    history: pd.DataFrame = field(repr=False)
    feasible: bool = True
    violation: float = 0.0
    violations: dict[str, float] = field(default_factory=dict)
    x_unit: np.ndarray = field(default=None, repr=False)
    seed: int | None = None
    optimizer: str = ""
    problem: str = ""
    stopped: str = "budget"
    cost: float | None = None
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def matches(self, other: Result) -> bool:
        """Same search outcome as ``other``: equal x, y and history up to timings."""
        cols = [c for c in self.history.columns if c not in TIMING_COLUMNS]
        same_x = np.array_equal(np.asarray(self.x_unit), np.asarray(other.x_unit))
        return (same_x and self.y == other.y and self.n_evals == other.n_evals
                and self.history[cols].equals(other.history[cols]))

    @property
    def n_failed(self) -> int:
        """Evaluations whose objective raised or returned NaN/inf."""
        return int((self.history["status"] != "ok").sum())

    def plot(self, ax: Any = None, log: bool | None = None, label: str | None = None,
             points: bool = True) -> Any:
        """Best-so-far against evaluations; each phase's evaluations as coloured dots.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        log : bool, optional
            Log y axis; by default when every best-so-far value is positive.
        label : str, optional
            Legend label of the curve (default: the optimizer's name).
        points : bool
            Also scatter every evaluation, coloured by phase.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        h = self.history
        best = h["best_so_far"].to_numpy(dtype=float)
        if log is None:
            finite = best[np.isfinite(best)]
            log = finite.size > 0 and bool((finite > 0).all())
        if points:
            for phase, rows in h.groupby("phase", sort=False):
                ax.scatter(rows["eval"], rows["y"], s=6, alpha=0.35, label=str(phase))
        ax.plot(h["eval"], best, color="black", lw=1.6,
                label=label or f"best so far ({self.optimizer})")
        if log:
            ax.set_yscale("log")
            if points:  # keep the curve readable when some evaluations are huge
                lo, hi = np.nanmin(best[np.isfinite(best)]), np.nanmax(best[np.isfinite(best)])
                ax.set_ylim(lo / 2, hi * 10)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("objective")
        ax.set_title(self.problem or "convergence")
        ax.legend(fontsize=8, markerscale=2)
        return ax

    def __repr__(self) -> str:
        x = self.x
        if isinstance(x, np.ndarray):
            x = np.array2string(x, precision=4, threshold=8)
        feas = "" if self.feasible else ", feasible=False"
        return (f"Result(y={self.y:.6g}, x={x}, n_evals={self.n_evals}, "
                f"seconds={self.seconds:.3g}, optimizer={self.optimizer!r}{feas})")
