"""Evaluating points: one call, a serial batch, a vectorised batch, through an executor.

Every function here turns what an objective does -- return, raise, return NaN, run past
its time limit -- into data (an :class:`Evaluation` or a :class:`Batch` with a status per
point) and never raises; :class:`~hybridlab.problem.Problem` chooses which to call.

Example
-------
>>> import math
>>> evaluate(math.sqrt, (), 4.0).y
2.0
>>> evaluate(math.sqrt, (), -1.0).status
'error'
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from .deadline import STUCK, Deadline, EvaluationTimeout, map_with_deadlines

__all__ = ["Batch", "Evaluation", "constraint_names", "evaluate", "evaluate_at",
           "evaluate_serial", "evaluate_vectorized", "evaluate_with", "failure", "timed_out",
           "violations", "with_deadline"]


class Evaluation(NamedTuple):
    """What one objective call produced.

    ``status`` is ``"ok"``, ``"error"`` (the objective raised) or ``"nan"`` (it returned
    NaN or an infinity); ``violations`` holds ``max(0, g_i(x))`` per constraint.
    """

    y: float
    status: str
    error: str
    seconds: float
    violations: tuple[float, ...] = ()


@dataclass(frozen=True)
class Batch:
    """A batch of evaluations as arrays (what the driver records and tells).

    ``y`` is ``inf`` where the evaluation failed; ``violations`` has one column per
    constraint.
    """

    y: np.ndarray
    status: list[str]
    error: list[str]
    seconds: np.ndarray
    violations: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return np.array([s == "ok" for s in self.status], dtype=bool)

    @property
    def violation(self) -> np.ndarray:
        """Total violation per point (zeros without constraints)."""
        return self.violations.sum(axis=1)

    @classmethod
    def of(cls, evals: Sequence[Evaluation], n_constraints: int) -> Batch:
        y, status, error, seconds, viol = zip(*evals, strict=True)
        return cls(np.array(y, dtype=float), list(status), list(error),
                   np.array(seconds, dtype=float),
                   np.array(viol, dtype=float).reshape(len(y), n_constraints))

    @classmethod
    def gather(cls, parts: Sequence[tuple[np.ndarray, Batch]], n: int,
               n_constraints: int) -> Batch:
        """One batch of ``n`` from ``(indices, batch)`` parts that cover ``0..n-1``."""
        y, seconds = np.empty(n), np.empty(n)
        status, error = [""] * n, [""] * n
        viol = np.zeros((n, n_constraints))
        for idx, b in parts:
            y[idx], seconds[idx], viol[idx] = b.y, b.seconds, b.violations
            for i, s, e in zip(idx, b.status, b.error, strict=True):
                status[i], error[i] = s, e
        return cls(y, status, error, seconds, viol)

    def first_failure(self) -> int | None:
        return next((i for i, s in enumerate(self.status) if s != "ok"), None)


def constraint_names(constraints: Sequence[Callable[..., float]]) -> list[str]:
    """``g.__name__`` (``g<i>`` for lambdas and nameless callables), made unique."""
    names = []
    for i, g in enumerate(constraints):
        name = getattr(g, "__name__", "") or getattr(g, "name", "")
        name = name if name and name != "<lambda>" else f"g{i}"
        names.append(name if name not in names else f"{name}_{i}")
    return names


def violations(constraints: Sequence[Callable[..., float]], value: Any) -> tuple[float, ...]:
    """``max(0, g(value))`` per constraint; a constraint that returns NaN (or an
    infinity) fails the evaluation like one that raises, named in the error."""
    out = tuple(float(g(value)) for g in constraints)
    for i, v in enumerate(out):
        if not math.isfinite(v) and v != -math.inf:
            raise ValueError(f"constraint {constraint_names(constraints)[i]} returned {v}")
    return tuple(max(0.0, v) for v in out)


def failure(exc: BaseException) -> tuple[str, str]:
    """``(status, error text)`` of an exception an evaluation raised: ``"timeout"`` for
    :class:`~hybridlab.deadline.EvaluationTimeout`, ``"error"`` for anything else."""
    text = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return ("timeout" if isinstance(exc, EvaluationTimeout) else "error"), text


def timed_out(seconds: float, n_constraints: int) -> Evaluation:
    """The record of an evaluation whose worker never came back (see
    :func:`~hybridlab.deadline.map_with_deadlines`)."""
    return Evaluation(math.inf, "timeout", f"EvaluationTimeout: evaluation did not return; "
                      f"its worker is stuck past timeout={seconds:g} s", seconds,
                      (math.inf,) * n_constraints)


def evaluate_with(executor: Executor | None, fn: Callable[[Any], Evaluation], items: Any,
                  n_constraints: int, timeout: float | None) -> Batch:
    """``fn`` (an :func:`evaluate` partial) on each item, serially or through
    ``executor``; with a ``timeout`` through :func:`~hybridlab.deadline.map_with_deadlines`
    where the executor can ``submit`` (an evaluation whose worker is stuck is a timeout)."""
    if executor is None:
        evals = list(map(fn, items))
    elif timeout is not None and callable(getattr(executor, "submit", None)):
        evals = [timed_out(timeout, n_constraints) if e is STUCK else e
                 for e in map_with_deadlines(executor, fn, list(items), timeout)]
    else:
        evals = list(executor.map(fn, items))
    return Batch.of(evals, n_constraints)


def with_deadline(objective: Callable[..., Any], timeout: float | None) -> Callable[..., Any]:
    """``objective`` with a time limit (itself without one)."""
    return objective if timeout is None else Deadline(objective, timeout)


def evaluate_at(objective: Callable[..., Any], constraints: Sequence[Callable[..., float]],
                pair: tuple[Any, float]) -> Evaluation:
    """:func:`evaluate` of ``objective(value, fidelity=f)`` for ``pair = (value, f)``."""
    value, f = pair
    return evaluate(partial(objective, fidelity=f), constraints, value)


def evaluate(objective: Callable[..., Any], constraints: Sequence[Callable[..., float]],
             value: Any) -> Evaluation:
    """Evaluate one point, turning exceptions and non-finite values into a status.

    Module-level (not a method) so that it pickles cheaply to a process pool.
    """
    t0 = time.perf_counter()
    try:
        y = float(objective(value))
        viol = violations(constraints, value) if constraints else ()
    except Exception as exc:
        status, tb = failure(exc)
        return Evaluation(math.inf, status, tb, time.perf_counter() - t0,
                          (math.inf,) * len(constraints))
    dt = time.perf_counter() - t0
    if not math.isfinite(y):
        return Evaluation(math.inf, "nan", f"objective returned {y}", dt, viol)
    return Evaluation(y, "ok", "", dt, viol)


def evaluate_serial(objective: Callable[..., Any], values: Any) -> Batch:
    """The hot path of cheap objectives: :func:`evaluate` inlined, no constraints."""
    n = len(values)
    y, seconds = np.empty(n), np.empty(n)
    status, error = ["ok"] * n, [""] * n
    clock, isfinite = time.perf_counter, math.isfinite
    for i, v in enumerate(values):
        t0 = clock()
        try:
            yi = float(objective(v))
        except Exception as exc:  # failures are data here, not crashes
            yi = math.inf
            status[i], error[i] = failure(exc)
        seconds[i] = clock() - t0
        if not isfinite(yi) and status[i] == "ok":
            status[i], error[i], yi = "nan", f"objective returned {yi}", math.inf
        y[i] = yi
    return Batch(y, status, error, seconds, np.zeros((n, 0)))


def evaluate_vectorized(problem: Any, values: Any, n: int,
                        objective: Callable[..., Any] | None = None) -> Batch:
    """Evaluate a whole batch with one call of a vectorised objective.

    An exception (or a wrong number of values) fails every point of the batch; a
    non-finite value fails only its own point.  Constraints run per point, and a
    constraint that raises or returns NaN fails only its point.
    """
    m = len(problem.constraints)
    t0 = time.perf_counter()
    try:
        objective = problem.objective if objective is None else objective
        y = _batch_values(objective(problem.batch_argument(values)), n)
    except Exception as exc:  # failures are data here, not crashes
        status, tb = failure(exc)
        dt = np.full(n, (time.perf_counter() - t0) / n)
        return Batch(np.full(n, np.inf), [status] * n, [tb] * n, dt, np.full((n, m), np.inf))
    viol, failed = np.zeros((n, m)), [""] * n
    for i, v in enumerate(values if m else ()):
        try:
            viol[i] = violations(problem.constraints, v)
        except Exception as exc:  # this point's constraint failed: this point fails
            viol[i] = np.inf
            failed[i] = traceback.format_exception_only(type(exc), exc)[-1].strip()
    dt = np.full(n, (time.perf_counter() - t0) / n)
    finite = np.isfinite(y)
    if finite.all() and not any(failed):
        return Batch(y, ["ok"] * n, [""] * n, dt, viol)
    status = ["error" if e else "ok" if f else "nan" for f, e in zip(finite, failed, strict=True)]
    error = [e or ("" if f else f"objective returned {v}")
             for f, v, e in zip(finite, y, failed, strict=True)]
    y = np.where(finite & np.array([not e for e in failed]), y, np.inf)
    return Batch(y, status, error, dt, viol)


def _batch_values(out: Any, n: int) -> np.ndarray:
    """A vectorised objective's output as ``n`` floats, or a ValueError saying why not."""
    if out is None:
        raise ValueError(f"vectorized objective returned None for a batch of {n} points; "
                         f"it must return {n} values, shape ({n},)")
    y = np.asarray(out, dtype=float)
    if y.size != n or (y.ndim > 1 and y.size != max(y.shape)):
        raise ValueError(f"vectorized objective returned shape {y.shape} for a batch of {n} "
                         f"points; it must return one value per point, shape ({n},)")
    return y.reshape(n)
