"""Warm vs cold re-tuning at equal budget, over seeds, with a paired test.

:func:`warm_vs_cold` runs :func:`~hybridlab.ml.drift.reoptimize_stream` twice per seed on
the same stream (``drift_stream(kind, seed=seed)``) with the same search seeds -- once
warm-started, once cold -- and measures each run; :func:`summarize_warm_vs_cold` gives
mean ± sd per arm and of the paired difference, with a paired t-test and a Wilcoxon
signed-rank test across seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._record import DriftRecord, trials_to_recover
from ._reoptimize import reoptimize_stream
from ._stream import drift_stream

__all__ = ["COMPARE_COLUMNS", "summarize_warm_vs_cold", "warm_vs_cold"]

#: Columns of :func:`warm_vs_cold`'s frame; the measures are ``COMPARE_COLUMNS[2:]``.
COMPARE_COLUMNS = ("seed", "arm", "accuracy", "after_drift", "n_retunes", "missed",
                   "false_alarms", "retune_cv", "trials_to_recover", "trials_to_common")


def _detections(record: DriftRecord, horizon: int) -> tuple[int, int]:
    """(missed drift points, flags not within ``horizon`` batches after a drift point)."""
    flags = record.batches.loc[record.batches["flagged"], "batch"].to_numpy()
    near = np.zeros(len(flags), bool)
    missed = 0
    for d in record.drift_points:
        hit = (flags >= d) & (flags < d + horizon)
        missed += int(not hit.any())
        near |= hit
    return missed, int((~near).sum())


def _common(warm: DriftRecord, cold: DriftRecord, tol: float) -> tuple[float, float]:
    """Mean trials to reach the better arm's final best (minus ``tol``), over re-tunes
    made on the same batch by both arms (NaN when there is none)."""
    out: dict[str, list[int]] = {"warm": [], "cold": []}
    tw, tc = warm.trials, cold.trials
    both = set(warm.retunes["batch"][1:]) & set(cold.retunes["batch"][1:])
    for b in sorted(both):
        sw = tw.loc[(tw["batch"] == b) & (tw["tune"] > 0), "score"].to_numpy()
        sc = tc.loc[(tc["batch"] == b) & (tc["tune"] > 0), "score"].to_numpy()
        target = max(np.nanmax(sw), np.nanmax(sc))
        out["warm"].append(trials_to_recover(sw, tol, target))
        out["cold"].append(trials_to_recover(sc, tol, target))
    return tuple(float(np.mean(v)) if v else np.nan for v in (out["warm"], out["cold"]))


def _row(seed: int, arm: str, record: DriftRecord, horizon: int, common: float) -> dict:
    later = record.retunes.iloc[1:]  # the re-tunes, not the first tune
    missed, false_alarms = _detections(record, horizon)
    after = record.after_drift(horizon)["accuracy"]
    return {"seed": seed, "arm": arm, "accuracy": float(record.batches["accuracy"].mean()),
            "after_drift": float(after.mean()) if len(after) else np.nan,
            "n_retunes": len(later), "missed": missed, "false_alarms": false_alarms,
            "retune_cv": float(later["best_score"].mean()) if len(later) else np.nan,
            "trials_to_recover": float(later["trials_to_recover"].mean())
            if len(later) else np.nan, "trials_to_common": common}


def warm_vs_cold(kind: str = "covariate", seeds: Iterable[int] = (0, 1, 2, 3, 4), *,
                 horizon: int = 5, stream_options: Mapping[str, Any] | None = None,
                 **options: Any) -> pd.DataFrame:
    """Warm- and cold-started re-tuning on the same streams, one row per (seed, arm).

    Parameters
    ----------
    kind : {"covariate", "concept", "none"}
        The stream, ``drift_stream(kind, seed=seed, **stream_options)``.
    seeds : iterable of int
        Each seeds the stream and the searches (both arms share both).
    horizon : int, default 5
        Batches after a true drift point counted as "after the drift" (for
        ``after_drift``, ``missed`` and ``false_alarms``).
    stream_options : dict, optional
        More arguments of :func:`~hybridlab.ml.drift.drift_stream`.
    **options
        Arguments of :func:`~hybridlab.ml.drift.reoptimize_stream` (not
        ``warm_start``, ``seed``); by default ``detector`` is ``"features"`` for
        covariate drift and ``"accuracy"`` otherwise.

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARE_COLUMNS`: mean prequential ``accuracy``; ``after_drift`` (mean
        accuracy in the ``horizon`` batches from each drift point); ``n_retunes``;
        ``missed`` drift points and ``false_alarms``; ``retune_cv`` (mean best CV score
        of the re-tunes); ``trials_to_recover`` (mean over re-tunes of the trials until
        within ``tol`` of that re-tune's own final best) and ``trials_to_common`` (the
        same to the better arm's final best, over re-tunes both arms made on the same
        batch; NaN when none).

    Example
    -------
    >>> f = warm_vs_cold("covariate", seeds=[0], budget=3, n_warm=1, window=1,
    ...                  optimizer="random", stream_options={"n_batches": 4,
    ...                  "batch_size": 90, "drift_at": (2,)})
    >>> f["arm"].tolist(), f["n_retunes"].tolist()
    (['warm', 'cold'], [1, 1])
    """
    if "warm_start" in options or "seed" in options:
        raise ValueError("warm_vs_cold sets warm_start and seed itself: leave them out")
    options.setdefault("detector", "features" if kind == "covariate" else "accuracy")
    tol = options.get("tol", 0.01)
    rows = []
    for seed in seeds:
        stream = drift_stream(kind, seed=seed, **dict(stream_options or {}))
        warm = reoptimize_stream(stream, warm_start=True, seed=seed, **options)
        cold = reoptimize_stream(stream, warm_start=False, seed=seed, **options)
        common = _common(warm, cold, tol)
        rows += [_row(seed, "warm", warm, horizon, common[0]),
                 _row(seed, "cold", cold, horizon, common[1])]
    if not rows:
        raise ValueError("seeds is empty: give at least one, e.g. (0, 1, 2, 3, 4)")
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def _pvalues(d: np.ndarray) -> tuple[float, float]:
    if len(d) < 2 or np.allclose(d, 0):
        return np.nan, np.nan
    t = float(stats.ttest_rel(d, np.zeros_like(d)).pvalue) if np.std(d) > 0 else np.nan
    return t, float(stats.wilcoxon(d).pvalue)


def summarize_warm_vs_cold(frame: pd.DataFrame,
                           metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean ± sd per arm and of the paired difference (warm - cold), with p-values.

    Parameters
    ----------
    frame : DataFrame
        What :func:`warm_vs_cold` returned.
    metrics : sequence of str, optional
        Columns to summarize (default: every measure of :data:`COMPARE_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``warm_mean, warm_sd, cold_mean, cold_sd, diff_mean,
        diff_sd, n`` (seeds where both arms have the measure), ``p_ttest`` (paired
        t-test) and ``p_wilcoxon`` (Wilcoxon signed-rank; with 5 seeds its smallest
        two-sided p-value is 0.0625).  NaN where every difference is 0.

    Example
    -------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"seed": [0, 0, 1, 1], "arm": ["warm", "cold"] * 2,
    ...                   "accuracy": [0.8, 0.7, 0.9, 0.85]})
    >>> s = summarize_warm_vs_cold(f, ["accuracy"])
    >>> round(float(s.loc["accuracy", "diff_mean"]), 3), int(s.loc["accuracy", "n"])
    (0.075, 2)
    """
    if not {"seed", "arm"} <= set(frame.columns):
        raise ValueError("frame must have 'seed' and 'arm' columns: pass what "
                         "warm_vs_cold() returned")
    metrics = list(COMPARE_COLUMNS[2:] if metrics is None else metrics)
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the metrics {missing}")
    wide = frame.pivot(index="seed", columns="arm", values=metrics)
    rows = {}
    for m in metrics:
        pair = wide[m][["warm", "cold"]].astype(float).dropna()
        d = (pair["warm"] - pair["cold"]).to_numpy()
        p_t, p_w = _pvalues(d)
        rows[m] = {"warm_mean": pair["warm"].mean(), "warm_sd": pair["warm"].std(),
                   "cold_mean": pair["cold"].mean(), "cold_sd": pair["cold"].std(),
                   "diff_mean": float(d.mean()) if len(d) else np.nan,
                   "diff_sd": float(d.std(ddof=1)) if len(d) > 1 else np.nan,
                   "n": len(d), "p_ttest": p_t, "p_wilcoxon": p_w}
    return pd.DataFrame.from_dict(rows, orient="index")
