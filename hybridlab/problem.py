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

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import Any

import numpy as np

from .deadline import check_timeout
from .evaluation import (
    Batch,
    Evaluation,
    constraint_names,
    evaluate,
    evaluate_at,
    evaluate_serial,
    evaluate_vectorized,
    evaluate_with,
    with_deadline,
)
from .space import Space, columns

__all__ = ["VECTORIZED", "Batch", "Evaluation", "Problem", "columns", "evaluate"]

#: The accepted values of ``Problem(..., vectorized=...)``.
VECTORIZED: tuple[bool | str, ...] = (False, True, "records")


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
    timeout : float, optional
        Seconds one evaluation may take (one batch call when ``vectorized``); past it the
        evaluation is interrupted and recorded with status ``"timeout"``, and the run goes
        on (see :mod:`hybridlab.deadline`).  ``minimize(..., timeout=)`` overrides it.

    Raises
    ------
    ValueError
        For an objective or constraint that is not callable, a ``vectorized`` value other
        than ``False``, ``True`` or ``"records"``, a bad ``handler`` or ``timeout``.

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
                 fidelity: Any = None, timeout: float | None = None) -> None:
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
        self.constraint_names = constraint_names(constraints)
        self.timeout = check_timeout(timeout)
        from .fidelity import Fidelity

        self.fidelity = Fidelity.of(fidelity)

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, dim={self.space.dim}, " \
               f"constraints={len(self.constraints)})"

    def evaluate(self, value: Any) -> Evaluation:
        """Call the objective (and constraints) on one user value, never raising."""
        return evaluate(self.objective, self.constraints, value)

    def evaluate_many(self, values: Any, executor: Executor | None = None,
                      fidelity: float | np.ndarray | None = None,
                      timeout: float | None = None) -> Batch:
        """Evaluate a batch of user values (an ``(n, d)`` array or a list of dicts), never
        raising: one call when ``vectorized``, else one call per point, through
        ``executor.map`` when given; ``fidelity`` is passed on as ``objective(x,
        fidelity=...)``, one for the batch or one per point (an array of ``n``: an
        asynchronous multi-fidelity batch mixes rungs; a vectorised objective is then
        called once per distinct fidelity).  ``timeout`` (default: the problem's) limits
        each evaluation; one past it has status ``"timeout"``."""
        n = len(values)
        timeout = self.timeout if timeout is None else check_timeout(timeout)
        if fidelity is not None and np.ndim(fidelity):
            fids = np.asarray(fidelity, dtype=float).reshape(-1)
            if len(fids) != n:
                raise ValueError(f"fidelity has {len(fids)} values for {n} points: give "
                                 f"one per point or one for the batch")
            if n and (fids == fids[0]).all():
                fidelity = float(fids[0])
            else:
                return self._evaluate_mixed(values, executor, fids, timeout)
        objective = with_deadline(self.objective, timeout)
        if fidelity is not None:
            objective = partial(objective, fidelity=fidelity)
        if self.vectorized:
            return evaluate_vectorized(self, values, n, objective)
        if executor is None and not self.constraints:
            return evaluate_serial(objective, values)
        fn = partial(evaluate, objective, self.constraints)
        return evaluate_with(executor, fn, values, len(self.constraints), timeout)

    def _evaluate_mixed(self, values: Any, executor: Executor | None,
                        fids: np.ndarray, timeout: float | None) -> Batch:
        """A batch whose points have different fidelities (see :meth:`evaluate_many`)."""
        n, objective = len(values), with_deadline(self.objective, timeout)
        if self.vectorized:  # one call per fidelity, the points put back in order
            parts = []
            for f in np.unique(fids):
                idx = np.flatnonzero(fids == f)
                sub = values[idx] if isinstance(values, np.ndarray) else [values[i] for i in idx]
                parts.append((idx, evaluate_vectorized(
                    self, sub, len(idx), partial(objective, fidelity=float(f)))))
            return Batch.gather(parts, n, len(self.constraints))
        fn = partial(evaluate_at, objective, self.constraints)
        pairs = list(zip(values, fids.tolist(), strict=True))
        return evaluate_with(executor, fn, pairs, len(self.constraints), timeout)

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
