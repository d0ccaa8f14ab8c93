"""Problems: an objective, its search space, and optional constraints.

Example
-------
>>> import numpy as np
>>> from hybridlab import Problem, Space
>>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -5, 5), name="sphere")
>>> p.objective(np.array([1.0, 2.0]))
5.0

A vectorised objective scores a whole batch per call (see :class:`Problem`):

>>> q = Problem(lambda X: np.sum(X ** 2, axis=1), Space.box(2, -5, 5), vectorized=True)
>>> q.evaluate_many(np.array([[1.0, 2.0], [0.0, 3.0]])).y
array([5., 9.])
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

from .space import Space, columns

__all__ = ["VECTORIZED", "Batch", "Evaluation", "Problem", "columns"]

#: The accepted values of ``Problem(..., vectorized=...)``.
VECTORIZED: tuple[bool | str, ...] = (False, True, "records")


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


class Problem:
    """An objective to minimise over a :class:`~hybridlab.space.Space`.

    Parameters
    ----------
    objective : callable
        Takes one point in user space -- a 1-d numpy array when every dimension is
        :class:`~hybridlab.space.Real`, otherwise a ``dict`` name -> value -- and returns
        a float.  With ``vectorized`` it takes the whole batch instead and returns ``n``
        values (an array of shape ``(n,)``); see ``vectorized``.
    space : Space or mapping of name -> dimension
    constraints : sequence of callables
        Each ``g(x)`` takes the same value as the objective; ``g(x) <= 0`` is feasible.
        Results name each constraint by its function's ``__name__`` (``g0, g1, ...`` for
        lambdas).  Constraints are always called per point, also when the objective is
        vectorised.
    name : str, optional
    vectorized : {False, True, "records"}
        ``False`` (default): one objective call per point (through the executor, if any).
        ``True``: one call per batch of ``n`` points, the cheapest path for numpy or torch
        objectives (see :mod:`hybridlab.vectorize`).  A real space hands it an ``(n, d)``
        array; any other space a **dict of columns**, name -> array of ``n`` values
        (numeric dtype where every value is a number, ``object`` dtype otherwise, e.g.
        category strings, or ``None`` where a conditional parameter is inactive).
        ``"records"``: one call per batch with the batch as the space decodes it, an
        ``(n, d)`` array for real spaces and a list of ``n`` dicts otherwise (for
        objectives that handle one point after another, such as scikit-learn's
        ``evaluate_candidates``).  A vectorised batch ignores the executor; an exception
        fails the whole batch (status ``"error"``), a NaN or infinity only its own row
        (status ``"nan"``).
    handler : constraint handler, optional
        How violations become the fitness the optimizer sees (see
        :mod:`hybridlab.constraints`); a static :class:`~hybridlab.constraints.Penalty` by
        default.
    fidelity : (low, high) or :class:`~hybridlab.fidelity.Fidelity`, optional
        The objective accepts ``fidelity`` (epochs, a data fraction, ``max_iter``) and is
        called as ``objective(x, fidelity=r)``; the budget is then counted in fidelity
        units and the best point is a full-fidelity one (see :mod:`hybridlab.fidelity`).

    Raises
    ------
    ValueError
        For an objective or constraint that is not callable, a ``vectorized`` value other
        than ``False``, ``True`` or ``"records"``, or a bad ``handler``.

    Notes
    -----
    To run with a process pool the objective must be picklable: a module-level function
    or a callable object (a lambda only works with the default serial executor).

    Example
    -------
    A mixed space, vectorised: the objective sees one array per parameter.

    >>> import numpy as np
    >>> from hybridlab import Problem, minimize
    >>> from hybridlab.space import Categorical, Integer, Real, Space
    >>> space = Space({"x": Real(-2.0, 2.0), "k": Integer(1, 5),
    ...                "act": Categorical(["relu", "tanh"])})
    >>> def f(cols):
    ...     return cols["x"] ** 2 + (cols["k"] - 3) ** 2 + (cols["act"] == "tanh")
    >>> p = Problem(f, space, vectorized=True)
    >>> p.objective({"x": np.array([0.0, 1.0]), "k": np.array([3, 1]),
    ...              "act": np.array(["relu", "tanh"], dtype=object)})
    array([0., 6.])
    >>> r = minimize(p, "ga", budget=200, seed=0)
    >>> r.x["k"], r.x["act"]
    (3, 'relu')
    """

    def __init__(self, objective: Callable[..., Any], space: Space | Mapping[str, Any],
                 constraints: Sequence[Callable[..., float]] = (), name: str | None = None,
                 vectorized: bool | str = False, handler: Any = None,
                 fidelity: Any = None) -> None:
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
        self.vectorized = _check_vectorized(vectorized)
        if handler is not None and not hasattr(handler, "fitness"):
            raise ValueError(f"handler must be a constraint handler from hybridlab.constraints "
                             f"(Penalty, Repair, FeasibilityRules, ...), got {handler!r}")
        self.handler = handler
        self.constraint_names = _names(constraints)
        from .fidelity import Fidelity

        self.fidelity = Fidelity.of(fidelity)

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, dim={self.space.dim}, " \
               f"constraints={len(self.constraints)})"

    def evaluate(self, value: Any) -> Evaluation:
        """Call the objective (and constraints) on one user value, never raising."""
        return evaluate(self.objective, self.constraints, value)

    def evaluate_many(self, values: Any, executor: Executor | None = None,
                      fidelity: float | np.ndarray | None = None) -> Batch:
        """Evaluate a batch of user values (an ``(n, d)`` array or a list of dicts), never
        raising: one call when ``vectorized``, else one call per point, through
        ``executor.map`` when given; ``fidelity`` is passed on as ``objective(x,
        fidelity=...)``, one for the batch or one per point (an array of ``n``: an
        asynchronous multi-fidelity batch mixes rungs; a vectorised objective is then
        called once per distinct fidelity)."""
        n = len(values)
        if fidelity is not None and np.ndim(fidelity):
            fids = np.asarray(fidelity, dtype=float).reshape(-1)
            if len(fids) != n:
                raise ValueError(f"fidelity has {len(fids)} values for {n} points: give "
                                 f"one per point or one for the batch")
            if n and (fids == fids[0]).all():
                fidelity = float(fids[0])
            else:
                return self._evaluate_mixed(values, executor, fids)
        objective = self.objective if fidelity is None else partial(self.objective,
                                                                    fidelity=fidelity)
        if self.vectorized:
            return _evaluate_vectorized(self, values, n, objective)
        if executor is None and not self.constraints:
            return _evaluate_serial(objective, values)
        fn = partial(evaluate, objective, self.constraints)
        evals = map(fn, values) if executor is None else executor.map(fn, values)
        return Batch.of(list(evals), len(self.constraints))

    def _evaluate_mixed(self, values: Any, executor: Executor | None,
                        fids: np.ndarray) -> Batch:
        """A batch whose points have different fidelities (see :meth:`evaluate_many`)."""
        n = len(values)
        if self.vectorized:  # one call per fidelity, the points put back in order
            parts = []
            for f in np.unique(fids):
                idx = np.flatnonzero(fids == f)
                sub = values[idx] if isinstance(values, np.ndarray) else [values[i] for i in idx]
                parts.append((idx, _evaluate_vectorized(
                    self, sub, len(idx), partial(self.objective, fidelity=float(f)))))
            return Batch.gather(parts, n, len(self.constraints))
        fn = partial(_evaluate_at, self.objective, self.constraints)
        pairs = list(zip(values, fids.tolist(), strict=True))
        evals = map(fn, pairs) if executor is None else executor.map(fn, pairs)
        return Batch.of(list(evals), len(self.constraints))

    def batch_argument(self, values: Any) -> Any:
        """What a vectorised objective receives for the decoded batch ``values``.

        An ``(n, d)`` array stays itself; a list of dicts becomes a dict of columns with
        ``vectorized=True`` and stays a list with ``vectorized="records"``.

        Example
        -------
        >>> from hybridlab.space import Categorical, Integer, Space
        >>> p = Problem(len, Space({"k": Integer(1, 3), "c": Categorical(["a", "b"])}),
        ...             vectorized=True)
        >>> cols = p.batch_argument([{"k": 1, "c": "a"}, {"k": 3, "c": "b"}])
        >>> cols["k"], cols["c"]
        (array([1, 3]), array(['a', 'b'], dtype=object))
        """
        if self.vectorized == "records" or isinstance(values, np.ndarray) or not values:
            return values
        if isinstance(values[0], Mapping):
            return columns(values)
        return values


def _check_vectorized(vectorized: Any) -> bool | str:
    if isinstance(vectorized, bool | np.bool_):
        return bool(vectorized)
    if isinstance(vectorized, str) and vectorized == "records":
        return vectorized
    raise ValueError(f"vectorized must be one of {', '.join(map(repr, VECTORIZED))}, "
                     f"got {vectorized!r}")


def _names(constraints: Sequence[Callable[..., float]]) -> list[str]:
    """``g.__name__`` (``g<i>`` for lambdas and nameless callables), made unique."""
    names = []
    for i, g in enumerate(constraints):
        name = getattr(g, "__name__", "") or getattr(g, "name", "")
        name = name if name and name != "<lambda>" else f"g{i}"
        names.append(name if name not in names else f"{name}_{i}")
    return names


def _violations(constraints: Sequence[Callable[..., float]], value: Any) -> tuple[float, ...]:
    """``max(0, g(value))`` per constraint; a constraint that returns NaN (or an
    infinity) fails the evaluation like one that raises, named in the error."""
    out = tuple(float(g(value)) for g in constraints)
    for i, v in enumerate(out):
        if not math.isfinite(v) and v != -math.inf:
            raise ValueError(f"constraint {_names(constraints)[i]} returned {v}")
    return tuple(max(0.0, v) for v in out)


def _evaluate_at(objective: Callable[..., Any], constraints: Sequence[Callable[..., float]],
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


def _evaluate_vectorized(problem: Problem, values: Any, n: int,
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
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        dt = np.full(n, (time.perf_counter() - t0) / n)
        return Batch(np.full(n, np.inf), ["error"] * n, [tb] * n, dt, np.full((n, m), np.inf))
    viol, failed = np.zeros((n, m)), [""] * n
    for i, v in enumerate(values if m else ()):
        try:
            viol[i] = _violations(problem.constraints, v)
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
