"""What one run records: its history table and its incumbent (best point so far).

:func:`hybridlab.minimize` keeps one :class:`Recorder` and one :class:`Incumbent` per
run; they are the driver's per-batch bookkeeping, in a module of their own so that the
loop in :mod:`hybridlab.driver` reads as a loop.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from .problem import Batch, Problem
from .result import Result
from .stepping import FailureRule

__all__ = ["Incumbent", "Recorder"]


class Recorder:
    """A run's history: accumulates per-batch arrays and builds the history DataFrame
    when asked, once per state (a callback's last ``history()`` is the Result's history,
    not a rebuild)."""

    def __init__(self, problem: Problem) -> None:
        self.space = problem.space
        self.has_constraints = bool(problem.constraints)
        self.fidelity = getattr(problem, "fidelity", None)
        self.X: list[np.ndarray] = []
        self.batches: list[Batch] = []
        self.phase: list[str] = []
        self.time: list[Any] = []  # per batch: one time, or one per point (a replay)
        self.fid: list[Any] = []  # per batch: one fidelity, or one per point
        self.cost: list[Any] = []
        # linear real spaces: x columns from copies of the batches as decoded, not again
        self.values: list[Any] | None = [] if self.space.is_real and not any(
            d.log for d in self.space.dims.values()) else None
        self._frame: pd.DataFrame | None = None

    def add(self, X: np.ndarray, batch: Batch, phases: list[str], t: float | np.ndarray,
            fid: float | np.ndarray = math.nan, cost: float | np.ndarray = 1.0,
            values: Any = None) -> None:
        self._frame = None
        self.X.append(X)
        self.batches.append(batch)
        self.phase += phases
        self.time.append(t)
        self.fid.append(fid)
        self.cost.append(cost)
        if self.values is not None:
            self.values.append(values)  # None where not kept: all decoded again

    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = self._build()
        return self._frame

    def _build(self) -> pd.DataFrame:
        b = self.batches
        n = len(self.phase)
        X = np.vstack(self.X) if b else np.empty((0, self.space.dim))
        status = [s for x in b for s in x.status]
        y = np.concatenate([x.y for x in b]) if b else np.empty(0)
        viol = np.concatenate([x.violation for x in b]) if b else np.empty(0)
        ok = np.array([s == "ok" for s in status], dtype=bool)
        y = np.where(ok, y, np.nan)
        lens = [len(x) for x in self.X]
        fid = _per_point(self.fid, lens)
        counts = ok & (viol <= 0)
        if self.fidelity is not None:  # only full-fidelity values are comparable
            counts &= fid >= self.fidelity.high
        best = np.minimum.accumulate(np.where(counts, y, np.inf)) if n else y
        cols: dict[str, Any] = {
            "eval": np.arange(1, n + 1), "y": y, "best_so_far": best, "status": status,
            "error": [e for x in b for e in x.error], "phase": self.phase,
            "seconds": np.concatenate([x.seconds for x in b]) if b else np.empty(0),
            "time": _per_point(self.time, lens),
        }
        if self.has_constraints:
            cols["violation"] = viol
        if self.fidelity is not None:
            cols["fidelity"] = fid
            cols["cost"] = _per_point(self.cost, lens)
        if b and self.values is not None and all(v is not None for v in self.values):
            V = np.vstack(self.values)  # what space.columns(X) decodes, already decoded
            cols.update({name: V[:, i] for i, name in enumerate(self.space.names)})
        else:
            cols.update(self.space.columns(X))
        return pd.DataFrame(cols)


def _per_point(values: list[Any], lens: list[int]) -> np.ndarray:
    """Per-batch values (one number, or an array of one per point) -> one per point."""
    if all(np.ndim(v) == 0 for v in values):  # one per batch (the common case)
        return np.repeat(np.array(values, dtype=float), lens)
    return np.concatenate([np.broadcast_to(np.asarray(v, dtype=float), (k,))
                           for v, k in zip(values, lens, strict=True)])


class Incumbent:
    """The best feasible point so far (the least infeasible before any), plus the failure
    rule (worst finite fitness), and the run's :class:`Result` from them."""

    def __init__(self) -> None:
        self.y = math.inf
        self.x: Any = None
        self.x_unit: np.ndarray | None = None
        self.violation = math.inf
        self.violations: tuple[float, ...] = ()
        self.feasible = False
        self.failures = FailureRule()

    def update(self, batch: Batch, X: np.ndarray, values: Any, handler: Any,
               full: bool | np.ndarray = True) -> np.ndarray:
        """Take the batch's best comparable point if it beats the incumbent; return the
        fitness to tell.  ``full``: whether the points were evaluated at full fidelity
        (one flag, or one per point); only those can become the incumbent."""
        y = batch.y
        all_full = full is True or bool(np.all(full))
        if handler is None and all_full and batch.status.count("ok") == len(y) > 0 and not \
                batch.violations.shape[1] and math.isfinite(top := float(y.max())):
            i = int(np.argmin(y))  # the common case (no constraints, no failure), fast:
            if not self.feasible or y[i] < self.y:  # what the general path below gives
                self._take(i, batch, X, values, True)
            self.failures.worst = max(self.failures.worst, top)
            return y.copy()
        ok, viol = batch.ok, batch.violation
        fit = handler.fitness(y, viol, ok) if handler is not None else y.copy()
        comparable = ok & full  # a low-fidelity value is not comparable with the best
        feas = comparable & (viol <= 0)
        if feas.any():
            i = int(np.argmin(np.where(feas, y, np.inf)))
            if not self.feasible or y[i] < self.y:
                self._take(i, batch, X, values, True)
        elif not self.feasible and comparable.any():
            i = int(np.argmin(np.where(comparable, viol, np.inf)))
            if viol[i] < self.violation:
                self._take(i, batch, X, values, False)
        return self.failures.fill(fit, ok)

    def result(self, problem: Problem, rec: Recorder, n: int, t0: float, seed: Any,
               name: str, stopped: str, cost: float | None,
               decisions: Any = ()) -> Result:
        """The run's :class:`Result` from this state and the recorded history."""
        return Result(
            x=self.x, y=self.y, n_evals=n, seconds=time.perf_counter() - t0,
            history=rec.frame(), feasible=self.feasible, violation=self.violation,
            violations=dict(zip(problem.constraint_names, self.violations, strict=True))
            if self.violations else {},
            x_unit=self.x_unit, seed=seed, optimizer=name, problem=problem.name,
            stopped=stopped, cost=cost, decisions=pd.DataFrame(list(decisions)))

    def _take(self, i: int, batch: Batch, X: np.ndarray, values: Any, feasible: bool) -> None:
        self.y, self.feasible = float(batch.y[i]), feasible
        self.violations = tuple(float(v) for v in batch.violations[i])
        self.violation = float(sum(self.violations))
        self.x_unit = X[i].copy()
        self.x = values[i].copy() if hasattr(values[i], "copy") else values[i]
