"""Metrics of a comparison study: pure functions of the ``runs`` and ``hits`` tables.

``runs`` holds each run's best-so-far trajectory on a log-spaced grid of evaluations
(columns ``optimizer, problem, dim, seed, eval, best_so_far, gap, seconds,
objective_seconds, status``); ``hits`` holds, per run and target, the exact evaluation at
which the target was first reached (columns ``optimizer, problem, dim, seed, target, evals,
spent``; ``evals`` is NaN when it never was, ``spent`` is the run's evaluations, NaN for a
crashed run).  ``gap`` is ``f - f_opt`` where the optimum is known, else the objective.

The metrics follow the seed list of the study issue:

* convergence speed: :func:`evals_to_targets`, :func:`ert` (COCO's expected running
  time), :func:`ecdf` (COCO's runtime ECDF over (problem, seed, target) triples);
* solution quality: :func:`final_values`, :func:`quality` (median and IQR);
* computational efficiency: :func:`efficiency` (wall time, optimizer overhead per eval);
* robustness: :func:`success_rate`, :func:`targets_reached`, the IQR of :func:`quality`;
* comparison with single algorithms: :func:`versus_components`.

Crashed runs (an optimizer raised) count as failures in success rates and ECDFs, as the
worst value in rank tables, and are left out of ERT (their evaluations are unknown) and
of medians (``summary`` reports how many crashed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "RUN_KEYS", "block_table", "ecdf", "efficiency", "ert", "evals_to_targets",
    "final_values", "quality", "success_rate", "targets_reached", "versus_components",
]

#: columns that identify one run
RUN_KEYS = ["optimizer", "problem", "seed"]


def _by(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _crashed(status: pd.Series) -> pd.Series:
    return status.astype(str).str.startswith("crashed")


def evals_to_targets(evals: Sequence[float], values: Sequence[float],
                     targets: Sequence[float]) -> np.ndarray:
    """First evaluation at which the best value so far is ``<= target``, per target.

    Parameters
    ----------
    evals : array of int
        Evaluation numbers, increasing (a whole trajectory, or only the evaluations
        where the best so far improved: the answer is the same).
    values : array of float
        Value at each of those evaluations (NaN is treated as ``inf``).
    targets : array of float

    Returns
    -------
    ndarray of float
        One entry per target; NaN where the target was never reached.

    Examples
    --------
    >>> evals_to_targets([1, 2, 3, 4], [5.0, 3.0, 3.0, 0.5], [4.0, 1.0, 0.1])
    array([ 2.,  4., nan])
    """
    evals = np.asarray(evals, dtype=float)
    values = np.asarray(values, dtype=float)
    targets = np.asarray(targets, dtype=float)
    if evals.size == 0:
        return np.full(targets.shape, np.nan)
    best = np.minimum.accumulate(np.where(np.isnan(values), np.inf, values))
    idx = np.searchsorted(-best, -targets, side="left")  # -best is non-decreasing
    return np.where(idx < best.size, evals[np.minimum(idx, best.size - 1)], np.nan)


def final_values(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run (its last evaluation), with ``eval`` renamed ``evals``.

    Examples
    --------
    >>> runs = pd.DataFrame({"optimizer": "a", "problem": "p", "seed": [0, 0, 1],
    ...                      "eval": [1, 9, 5], "gap": [3.0, 1.0, 2.0]})
    >>> final_values(runs)[["seed", "evals", "gap"]].to_numpy().tolist()
    [[0.0, 9.0, 1.0], [1.0, 5.0, 2.0]]
    """
    last = runs.groupby(RUN_KEYS, sort=False)["eval"].idxmax()
    return runs.loc[last.to_numpy()].rename(columns={"eval": "evals"}).reset_index(drop=True)


def _quantile(values: pd.Series, q: float) -> float:
    """Linear quantile that keeps ``inf`` (a run that never found a finite value) instead
    of turning ``inf - inf`` into NaN."""
    v = np.sort(values.to_numpy(dtype=float))
    h = (v.size - 1) * q
    lo, hi = v[math.floor(h)], v[math.ceil(h)]
    return float(lo) if lo == hi else float(lo + (h - math.floor(h)) * (hi - lo))


def quality(final: pd.DataFrame, by: str | Sequence[str] = ("optimizer", "problem"),
            column: str = "gap") -> pd.DataFrame:
    """Median, quartiles and IQR of the final ``column`` per group (completed runs only).

    Examples
    --------
    >>> final = pd.DataFrame({"optimizer": "a", "gap": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> quality(final, by="optimizer").to_dict("records")
    [{'optimizer': 'a', 'median': 3.0, 'q25': 2.0, 'q75': 4.0, 'iqr': 2.0, 'n': 5}]
    """
    by = _by(by)
    g = final[final[column].notna()].groupby(by, sort=False)[column]
    out = pd.DataFrame({"median": g.median(), "q25": g.agg(_quantile, 0.25),
                        "q75": g.agg(_quantile, 0.75)})
    out["iqr"] = out["q75"] - out["q25"]
    out["n"] = g.size()
    return out.reset_index()


def ert(hits: pd.DataFrame, by: str | Sequence[str] = ("optimizer", "problem", "target"),
        per_dim: bool = False) -> pd.DataFrame:
    """Expected running time (COCO): evaluations spent over all runs / successful runs.

    A successful run contributes the evaluations it took to reach the target, an
    unsuccessful one its full evaluations spent; ERT is ``inf`` without any success.
    Crashed runs (``spent`` NaN) are left out.  With ``per_dim`` evaluations are divided by
    each problem's dimension first (to pool problems of different dimensions).

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``ert``, ``successes`` and ``runs``.

    Examples
    --------
    >>> hits = pd.DataFrame({"optimizer": "a", "problem": "p", "dim": 2, "target": 1.0,
    ...                      "evals": [10, 30, np.nan], "spent": [100, 100, 100]})
    >>> ert(hits)["ert"].item()  # (10 + 30 + 100) / 2
    70.0
    """
    by = _by(by)
    h = hits[hits["spent"].notna()]
    reached = h["evals"].notna()
    cost = h["evals"].where(reached, h["spent"]).astype(float)
    if per_dim:
        cost = cost / h["dim"]
    g = h[by].assign(_cost=cost, _ok=reached).groupby(by, sort=False)
    out = g.agg(cost=("_cost", "sum"), successes=("_ok", "sum"), runs=("_ok", "size"))
    out["ert"] = np.where(out["successes"] > 0,
                          out["cost"] / out["successes"].clip(lower=1), np.inf)
    return out.reset_index()[[*by, "ert", "successes", "runs"]]


def ecdf(hits: pd.DataFrame, x: Sequence[float] | None = None, by: str = "optimizer",
         per_dim: bool = True) -> pd.DataFrame:
    """COCO-style runtime ECDF: the fraction of (problem, seed, target) triples reached
    within ``x`` evaluations (divided by the dimension when ``per_dim``).

    Parameters
    ----------
    hits : DataFrame
    x : array of float, optional
        Where to evaluate it; by default every distinct runtime observed plus the
        largest budget, so the step function is exact.
    by : str
        One curve per value of this column.
    per_dim : bool
        Use evaluations / D (COCO's convention) or raw evaluations.

    Returns
    -------
    DataFrame
        ``by``, ``evals_per_dim`` (or ``evals``), ``fraction``.

    Examples
    --------
    >>> hits = pd.DataFrame({"optimizer": "a", "dim": 2, "evals": [2, 6, np.nan, 10],
    ...                      "spent": 20})
    >>> ecdf(hits, x=[1, 3, 5, 10])["fraction"].tolist()
    [0.25, 0.5, 0.75, 0.75]
    """
    scale = hits["dim"].to_numpy(dtype=float) if per_dim else 1.0
    t = hits["evals"].to_numpy(dtype=float) / scale
    if x is None:
        spent = hits["spent"].to_numpy(dtype=float) / scale
        top = spent[np.isfinite(spent)]
        x = np.unique(np.concatenate([t[np.isfinite(t)], top.max(initial=1.0, keepdims=True)]))
    x = np.asarray(x, dtype=float)
    name = "evals_per_dim" if per_dim else "evals"
    t = np.where(np.isnan(t), np.inf, t)
    parts = []
    for key, idx in hits.groupby(by, sort=False).indices.items():
        v = np.sort(t[idx])
        parts.append(pd.DataFrame({by: key, name: x,
                                   "fraction": np.searchsorted(v, x, side="right") / v.size}))
    if not parts:
        return pd.DataFrame({by: [], name: [], "fraction": []})
    return pd.concat(parts, ignore_index=True)


def _success_rows(hits: pd.DataFrame, target: float | None) -> pd.DataFrame:
    if target is None:  # each problem's hardest target
        return hits[hits["target"] == hits.groupby("problem")["target"].transform("min")]
    return hits[np.isclose(hits["target"].to_numpy(dtype=float), target, rtol=1e-9, atol=0)]


def success_rate(hits: pd.DataFrame, target: float | None = None,
                 by: str | Sequence[str] = "optimizer") -> pd.DataFrame:
    """Fraction of runs (across problems and seeds) that reached ``target``.

    ``target=None`` takes each problem's hardest (smallest) target: ``1e-8`` on the gap
    with the default targets.  Crashed runs count as failures.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``success_rate``, ``successes`` and ``runs``.

    Examples
    --------
    >>> hits = pd.DataFrame({"optimizer": "a", "problem": ["p", "p", "q", "q"],
    ...                      "target": 1.0, "evals": [3, np.nan, np.nan, 8]})
    >>> success_rate(hits)["success_rate"].item()
    0.5
    """
    by = _by(by)
    h = _success_rows(hits, target)
    g = h[by].assign(_ok=h["evals"].notna()).groupby(by, sort=False)["_ok"]
    out = pd.DataFrame({"success_rate": g.mean(), "successes": g.sum(), "runs": g.size()})
    return out.reset_index()


def targets_reached(hits: pd.DataFrame, by: str | Sequence[str] = "optimizer") -> pd.Series:
    """Fraction of (problem, seed, target) triples reached by the end of the runs.

    Examples
    --------
    >>> hits = pd.DataFrame({"optimizer": "a", "evals": [3, np.nan, np.nan, 8]})
    >>> targets_reached(hits).tolist()
    [0.5]
    """
    by = _by(by)
    return hits[by].assign(reached=hits["evals"].notna()).groupby(by, sort=False)[
        "reached"].mean()


def efficiency(final: pd.DataFrame, by: str | Sequence[str] = "optimizer") -> pd.DataFrame:
    """Wall time per run and the optimizer's overhead per evaluation.

    Overhead per evaluation = (wall time - total objective time) / evaluations: what the
    optimizer (and driver) cost beyond the objective itself.  Crashed runs are left out.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``seconds`` (mean wall time per run),
        ``objective_per_eval`` and ``overhead_per_eval`` (mean seconds per evaluation).

    Examples
    --------
    >>> final = pd.DataFrame({"optimizer": "a", "evals": [100, 100], "seconds": [1.0, 3.0],
    ...                       "objective_seconds": [0.5, 0.5], "status": "budget"})
    >>> efficiency(final).round(6).to_dict("records")
    [{'optimizer': 'a', 'seconds': 2.0, 'objective_per_eval': 0.005, 'overhead_per_eval': 0.015}]
    """
    by = _by(by)
    f = final[~_crashed(final["status"]) & (final["evals"] > 0)]
    evals = f["evals"].astype(float)
    g = f[by].assign(seconds=f["seconds"], objective_per_eval=f["objective_seconds"] / evals,
                     overhead_per_eval=(f["seconds"] - f["objective_seconds"]) / evals)
    return g.groupby(by, sort=False).mean().reset_index()


def block_table(final: pd.DataFrame, column: str = "gap", blocks: str = "problem"
                ) -> pd.DataFrame:
    """Blocks x optimizers table of final values, the input of ranks and paired tests.

    ``blocks="problem"``: one row per problem, the median over seeds; ``blocks="run"``:
    one row per (problem, seed).  Crashed runs count as ``inf`` (the worst).

    Examples
    --------
    >>> final = pd.DataFrame({"optimizer": ["a", "b", "a", "b"], "problem": "p",
    ...                       "seed": [0, 0, 1, 1], "gap": [1.0, 2.0, 3.0, np.nan]})
    >>> block_table(final).to_numpy().tolist()
    [[2.0, inf]]
    """
    if blocks not in ("problem", "run"):
        raise ValueError(f"blocks must be 'problem' or 'run', got {blocks!r}")
    index = ["problem"] if blocks == "problem" else ["problem", "seed"]
    f = final.assign(_v=final[column].astype(float).fillna(np.inf))
    table = f.pivot_table(index=index, columns="optimizer", values="_v",
                          aggfunc="median" if blocks == "problem" else "first", sort=False)
    table = table.reindex(columns=pd.unique(final["optimizer"]))
    table.columns.name = "optimizer"
    return table


def versus_components(final: pd.DataFrame, components: Mapping[str, Sequence[str]],
                      column: str = "gap") -> pd.DataFrame:
    """Each hybrid against each of its components, paired by (problem, seed).

    Parameters
    ----------
    final : DataFrame
        :func:`final_values` of the runs.
    components : mapping hybrid label -> component labels
        Labels as in ``final["optimizer"]`` (``Study.components`` builds it).

    Returns
    -------
    DataFrame
        ``hybrid, component, runs, wins, ties, losses`` (a win: the hybrid's final value
        is lower), ``win_rate`` and both medians.

    Examples
    --------
    >>> final = pd.DataFrame({"optimizer": ["h", "c"] * 2, "problem": "p",
    ...                       "seed": [0, 0, 1, 1], "gap": [1.0, 2.0, 5.0, 3.0]})
    >>> versus_components(final, {"h": ["c"]})[["wins", "losses"]].to_numpy().tolist()
    [[1, 1]]
    """
    table = block_table(final, column, blocks="run")
    med = final.groupby("optimizer", sort=False)[column].median()
    rows = []
    for hybrid, comps in components.items():
        for comp in comps:
            h, c = table[hybrid].to_numpy(), table[comp].to_numpy()
            wins, ties = int((h < c).sum()), int((h == c).sum())
            rows.append({"hybrid": hybrid, "component": comp, "runs": len(h), "wins": wins,
                         "ties": ties, "losses": len(h) - wins - ties,
                         "win_rate": wins / len(h) if len(h) else np.nan,
                         "median_hybrid": med.get(hybrid, np.nan),
                         "median_component": med.get(comp, np.nan)})
    cols = ["hybrid", "component", "runs", "wins", "ties", "losses", "win_rate",
            "median_hybrid", "median_component"]
    return pd.DataFrame(rows, columns=cols)
