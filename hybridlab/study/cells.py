"""One cell of a study (an optimizer on a problem with a seed) as a study keeps it, and
the study's tidy tables built from the cells.

A cell keeps only what the study needs: the best-so-far trajectory on a log-spaced grid
of evaluations (for convergence plots), the evaluations where the best value improved (so
that the evaluation at which each target is first reached stays exact for ERT and ECDFs),
and the timings.  :func:`hybridlab.study.compare` makes the cells from runs, and
:meth:`Study.from_store <hybridlab.study.Study.from_store>` from a run store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .metrics import evals_to_targets

__all__ = ["GRID_POINTS", "HIT_DTYPES", "RUN_DTYPES", "cell_labels", "crashed",
           "hits_frame", "log_grid", "run_name", "runs_frame", "trajectory"]

#: points of the log-spaced evaluation grid kept per run (plus the last evaluation)
GRID_POINTS = 50

def log_grid(n: int, points: int = GRID_POINTS) -> np.ndarray:
    """About ``points`` log-spaced evaluation numbers in ``1..n``, always ending with ``n``.

    Examples
    --------
    >>> log_grid(1000, 4).tolist()
    [1, 10, 100, 1000]
    """
    if n < 1:
        return np.empty(0, dtype=np.int64)
    grid = np.rint(np.logspace(0.0, math.log10(n), points)).astype(np.int64)
    return np.unique(np.append(grid, n))


def run_name(study: str, optimizer: str, problem: str, seed: int) -> str:
    """The name of a study cell's run in a run store."""
    return f"{study}/{optimizer}/{problem}/seed{seed}"


def cell_labels(optimizer: str, problem: str, seed: int, dim: int) -> dict[str, Any]:
    return {"optimizer": optimizer, "problem": problem, "seed": seed, "dim": dim}


def crashed(labels: dict[str, Any], status: str, seconds: float) -> dict[str, Any]:
    """What :func:`run_cell` returns for a run whose optimizer raised."""
    empty = np.empty(0)
    return {**labels, "status": status[:300], "seconds": seconds,
            "eval": empty.astype(np.int64), "best": empty, "time": empty,
            "objective": empty, "improved_eval": empty, "improved_best": empty}


def trajectory(labels: dict[str, Any], h: pd.DataFrame, seconds: float,
               stopped: str, kwh: float | None = None) -> dict[str, Any]:
    """A run's history (``best_so_far, time, seconds`` columns) on the log grid; with
    ``kwh`` (the run's measured energy) also ``energy``: that energy apportioned along
    the run by wall time, cumulative at each grid evaluation."""
    best = h["best_so_far"].to_numpy(dtype=float)
    grid = log_grid(len(best))
    wall = h["time"].to_numpy(dtype=float)[grid - 1]
    if wall.size:
        wall[-1] = seconds
    prev = np.concatenate([[np.inf], best[:-1]])
    improved = np.flatnonzero(best < prev)
    out = {**labels, "status": stopped, "seconds": seconds, "eval": grid,
           "best": best[grid - 1], "time": wall,
           "objective": np.cumsum(h["seconds"].to_numpy(dtype=float))[grid - 1],
           "improved_eval": improved + 1.0, "improved_best": best[improved]}
    if kwh is not None and wall.size:
        out["energy"] = kwh * wall / wall[-1] if wall[-1] > 0 else np.full(wall.size, kwh)
    return out


#: columns and dtypes of ``Study.runs`` and ``Study.hits``
RUN_DTYPES = {"optimizer": "str", "problem": "str", "dim": "int64", "seed": "int64",
              "eval": "int64", "best_so_far": "float64", "gap": "float64",
              "seconds": "float64", "objective_seconds": "float64", "status": "str",
              "energy_kwh": "float64"}
HIT_DTYPES = {"optimizer": "str", "problem": "str", "dim": "int64", "seed": "int64",
              "target": "float64", "evals": "float64", "spent": "float64"}


def runs_frame(results: list[dict[str, Any]], f_opts: Mapping[str, float | None]
                ) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {k: [] for k in RUN_DTYPES}
    for r in results:
        crashed = r["status"].startswith("crashed")
        n = 1 if crashed else len(r["eval"])
        best = np.array([np.nan]) if crashed else r["best"]
        f_opt = f_opts[r["problem"]]
        gap = best if f_opt is None else np.maximum(best - f_opt, 0.0)
        for key in ("optimizer", "problem", "dim", "seed", "status"):
            cols[key].append([r[key]] * n)
        cols["eval"].append([0] if crashed else r["eval"])
        cols["best_so_far"].append(best)
        cols["gap"].append(gap)
        cols["seconds"].append([r["seconds"]] if crashed else r["time"])
        cols["objective_seconds"].append([np.nan] if crashed else r["objective"])
        energy = r.get("energy")
        cols["energy_kwh"].append(np.full(n, np.nan) if energy is None or crashed else energy)
    flat = {k: np.concatenate(v) if v else [] for k, v in cols.items()}
    return _typed(flat, RUN_DTYPES)


def _typed(cols: Mapping[str, Any], dtypes: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(cols[k], dtype=d) for k, d in dtypes.items()})


def hits_frame(results: list[dict[str, Any]], targets: Mapping[str, list[float]],
                f_opts: Mapping[str, float | None]) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {k: [] for k in HIT_DTYPES}
    for r in results:
        tg = targets[r["problem"]]
        f_opt = f_opts[r["problem"]]
        vals = r["improved_best"] if f_opt is None else \
            np.maximum(r["improved_best"] - f_opt, 0.0)  # the gap, as in runs
        crashed = r["status"].startswith("crashed")
        cols["evals"].append(evals_to_targets(r["improved_eval"], vals, tg))
        cols["spent"].append(np.full(len(tg), np.nan if crashed else float(r["eval"][-1])))
        cols["target"].append(np.asarray(tg, dtype=float))
        for key in ("optimizer", "problem", "dim", "seed"):
            cols[key].append([r[key]] * len(tg))
    flat = {k: np.concatenate(v) if v else [] for k, v in cols.items()}
    return _typed(flat, HIT_DTYPES)
