"""Problems: an objective, its search space, and optional constraints.

Example
-------
>>> import numpy as np
>>> from hybridlab import Problem, Space
>>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -5, 5), name="sphere")
>>> p.objective(np.array([1.0, 2.0]))
5.0
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from .space import Space

__all__ = ["Batch", "Evaluation", "Problem"]


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

    def first_failure(self) -> int | None:
        return next((i for i, s in enumerate(self.status) if s != "ok"), None)


class Problem:
    """An objective to minimise over a :class:`~hybridlab.space.Space`.

    Parameters
    ----------
    objective : callable
        Takes one point in user space -- a 1-d numpy array when every dimension is
        :class:`~hybridlab.space.Real`, otherwise a ``dict`` name -> value -- and returns
        a float.  With ``vectorized=True`` it takes the whole batch instead (an
        ``(n, d)`` array, or a list of dicts) and returns ``n`` values.
    space : Space or mapping of name -> dimension
    constraints : sequence of callables
        Each ``g(x)`` takes the same value as the objective; ``g(x) <= 0`` is feasible.
        Results name each constraint by its function's ``__name__`` (``g0, g1, ...`` for
        lambdas).
    name : str, optional
    vectorized : bool
        Evaluate each batch with one call (cheapest for numpy/torch objectives).
    handler : constraint handler, optional
        How violations become the fitness the optimizer sees (see
        :mod:`hybridlab.constraints`); a static :class:`~hybridlab.constraints.Penalty` by
        default.

    Notes
    -----
    To run with a process pool the objective must be picklable: a module-level function
    or a callable object (a lambda only works with the default serial executor).
    """

    def __init__(self, objective: Callable[..., Any], space: Space | Mapping[str, Any],
                 constraints: Sequence[Callable[..., float]] = (), name: str | None = None,
                 vectorized: bool = False, handler: Any = None) -> None:
        if not callable(objective):
            raise ValueError(f"objective must be callable, got {type(objective).__name__}")
        if not isinstance(space, Space):
            space = Space(space)
        constraints = tuple(constraints)
        for g in constraints:
            if not callable(g):
                raise ValueError(f"every constraint must be callable g(x) <= 0, got {g!r}")
        self.objective = objective
        self.space = space
        self.constraints = constraints
        self.name = name or getattr(objective, "__name__", "problem")
        self.vectorized = bool(vectorized)
        if handler is not None and not hasattr(handler, "fitness"):
            raise ValueError(f"handler must be a constraint handler from hybridlab.constraints "
                             f"(Penalty, Repair, FeasibilityRules, ...), got {handler!r}")
        self.handler = handler
        self.constraint_names = _names(constraints)

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, dim={self.space.dim}, " \
               f"constraints={len(self.constraints)})"

    def evaluate(self, value: Any) -> Evaluation:
        """Call the objective (and constraints) on one user value, never raising."""
        return evaluate(self.objective, self.constraints, value)

    def evaluate_many(self, values: Any, executor: Executor | None = None) -> Batch:
        """Evaluate a batch of user values (an ``(n, d)`` array or a list of dicts), never
        raising: one call when ``vectorized``, else one call per point, through
        ``executor.map`` when given."""
        n = len(values)
        if self.vectorized:
            return _evaluate_vectorized(self, values, n)
        if executor is None and not self.constraints:
            return _evaluate_serial(self.objective, values)
        fn = partial(evaluate, self.objective, self.constraints)
        evals = map(fn, values) if executor is None else executor.map(fn, values)
        return Batch.of(list(evals), len(self.constraints))


def _names(constraints: Sequence[Callable[..., float]]) -> list[str]:
    """``g.__name__`` (``g<i>`` for lambdas and nameless callables), made unique."""
    names = []
    for i, g in enumerate(constraints):
        name = getattr(g, "__name__", "") or getattr(g, "name", "")
        name = name if name and name != "<lambda>" else f"g{i}"
        names.append(name if name not in names else f"{name}_{i}")
    return names


def _violations(constraints: Sequence[Callable[..., float]], value: Any) -> tuple[float, ...]:
    return tuple(max(0.0, float(g(value))) for g in constraints)


def evaluate(objective: Callable[..., Any], constraints: Sequence[Callable[..., float]],
             value: Any) -> Evaluation:
    """Evaluate one point, turning exceptions and non-finite values into a status.

    Module-level (not a method) so that it pickles cheaply to a process pool.
    """
    t0 = time.perf_counter()
    try:
        y = float(objective(value))
        viol = _violations(constraints, value) if constraints else ()
    except Exception as exc:
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Evaluation(math.inf, "error", tb, time.perf_counter() - t0,
                          (math.inf,) * len(constraints))
    dt = time.perf_counter() - t0
    if not math.isfinite(y):
        return Evaluation(math.inf, "nan", f"objective returned {y}", dt, viol)
    return Evaluation(y, "ok", "", dt, viol)


def _evaluate_serial(objective: Callable[..., Any], values: Any) -> Batch:
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
            status[i] = "error"
            error[i] = traceback.format_exception_only(type(exc), exc)[-1].strip()
        seconds[i] = clock() - t0
        if not isfinite(yi) and status[i] == "ok":
            status[i], error[i], yi = "nan", f"objective returned {yi}", math.inf
        y[i] = yi
    return Batch(y, status, error, seconds, np.zeros((n, 0)))


def _evaluate_vectorized(problem: Problem, values: Any, n: int) -> Batch:
    """Evaluate a whole batch with one call of a vectorised objective."""
    m = len(problem.constraints)
    t0 = time.perf_counter()
    try:
        y = np.asarray(problem.objective(values), dtype=float).reshape(-1)
        if y.shape[0] != n:
            raise ValueError(f"vectorized objective returned {y.shape[0]} values for "
                             f"{n} points")
        viol = np.array([_violations(problem.constraints, v) for v in values]).reshape(n, m) \
            if m else np.zeros((n, 0))
    except Exception as exc:  # failures are data here, not crashes
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        dt = np.full(n, (time.perf_counter() - t0) / n)
        return Batch(np.full(n, np.inf), ["error"] * n, [tb] * n, dt, np.full((n, m), np.inf))
    dt = np.full(n, (time.perf_counter() - t0) / n)
    finite = np.isfinite(y)
    if finite.all():
        return Batch(y, ["ok"] * n, [""] * n, dt, viol)
    status = ["ok" if f else "nan" for f in finite]
    error = ["" if f else f"objective returned {v}" for f, v in zip(finite, y, strict=True)]
    return Batch(np.where(finite, y, np.inf), status, error, dt, viol)
