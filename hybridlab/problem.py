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
from typing import Any, NamedTuple

import numpy as np

from .space import Space

__all__ = ["Evaluation", "Problem"]


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
    name : str, optional
    vectorized : bool
        Evaluate each batch with one call (cheapest for numpy/torch objectives).

    Notes
    -----
    To run with a process pool the objective must be picklable: a module-level function
    or a callable object (a lambda only works with the default serial executor).
    """

    def __init__(self, objective: Callable[..., Any], space: Space | Mapping[str, Any],
                 constraints: Sequence[Callable[..., float]] = (), name: str | None = None,
                 vectorized: bool = False) -> None:
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

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, dim={self.space.dim}, " \
               f"constraints={len(self.constraints)})"

    def evaluate(self, value: Any) -> Evaluation:
        """Call the objective (and constraints) on one user value, never raising."""
        return evaluate(self.objective, self.constraints, value)


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


def evaluate_batch(problem: Problem, values: Any, n: int) -> list[Evaluation]:
    """Evaluate a whole batch with one call of a vectorised objective."""
    t0 = time.perf_counter()
    try:
        ys = np.asarray(problem.objective(values), dtype=float).reshape(-1)
        if ys.shape[0] != n:
            raise ValueError(f"vectorized objective returned {ys.shape[0]} values for "
                             f"{n} points")
        seq = values if isinstance(values, list) else list(values)
        viols = [_violations(problem.constraints, v) for v in seq] \
            if problem.constraints else [()] * n
    except Exception as exc:
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        dt = (time.perf_counter() - t0) / n
        inf = (math.inf,) * len(problem.constraints)
        return [Evaluation(math.inf, "error", tb, dt, inf) for _ in range(n)]
    dt = (time.perf_counter() - t0) / n
    out = []
    for y, v in zip(ys, viols, strict=True):
        if math.isfinite(y):
            out.append(Evaluation(float(y), "ok", "", dt, v))
        else:
            out.append(Evaluation(math.inf, "nan", f"objective returned {y}", dt, v))
    return out
