"""A matheuristic: a metaheuristic over the discrete coordinates, mathematical
programming for the continuous ones."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..optimizers.base import Optimizer, Population, is_int
from ..optimizers.engines import build
from ..stepping import FailureRule, checked_ask, phase_labels
from .composite import Composite, fresh

__all__ = ["FALLBACK", "Matheuristic"]

#: the continuous unit coordinates of a candidate whose completion failed (box centre)
FALLBACK = 0.5


class Matheuristic(Composite):
    """An ``outer`` optimizer searches the discrete (structural) coordinates; for each of
    its points a user function ``complete`` -- typically an exact LP or MILP solve --
    fills in the continuous coordinates.

    The matheuristic is an optimizer over the **full** unit box of a mixed problem: each
    ``ask`` asks ``outer`` for points of the box of the coordinates ``discrete`` only,
    calls ``complete(z)`` on each such point ``z`` and returns the full points.  The
    driver evaluates the real objective on them as for any optimizer, so every candidate
    is one counted evaluation and the solver's time is inside the run's wall time
    (``Result.seconds``).  ``tell`` hands ``outer`` the values at its discrete points.

    Parameters
    ----------
    outer : Optimizer or str
        The search over the discrete coordinates: an optimizer object (a prototype, copied
        per run) or the name of a plain engine (``"ga"``, ``"pso"``, ``"random"``, ...;
        :func:`hybridlab.optimizers.engines.build`).  For a spec string build it first:
        ``Matheuristic(hl.make("ga>>local"), ...)``.
    complete : callable
        ``complete(z) -> c``: ``z`` is a ``(len(discrete),)`` unit point (a copy; ``z[k]``
        is coordinate ``discrete[k]``), ``c`` the ``(dim - len(discrete),)`` unit
        coordinates of the other dimensions, in increasing index order.  Values outside
        ``[0, 1]`` are clipped (as the driver clips every asked point).  Called once per
        candidate, in ``ask``.
    discrete : sequence of int
        Indices (in the full unit box) of the coordinates ``outer`` searches; distinct,
        ``>= 0``, and at least one coordinate of the box must be left to ``complete``.

    Raises
    ------
    ValueError
        For an ``outer`` that is no optimizer or engine name, a ``complete`` that is not
        callable, bad ``discrete`` indices (also at ``start``, against the box), or a
        ``complete`` whose result has the wrong length (a wiring error, not a failure).

    Notes
    -----
    *Failed completions.*  The driver only sees the points ``ask`` returns, so an
    exception inside ``complete`` (a solver error), or a result with NaN or infinity,
    cannot crash the run: that candidate gets the continuous coordinates
    :data:`FALLBACK` (the box centre), the driver evaluates and records that full point
    as usual (one evaluation, its real value in the history), and ``outer`` is told a
    failure -- the worst finite value told so far (``+inf`` before any), the rule of
    :class:`~hybridlab.stepping.FailureRule` that the driver applies to failed
    evaluations.  The first failure of a run gives one ``RuntimeWarning``;
    :attr:`failures` counts them and :attr:`last_error` keeps the last message.
    An infeasible subproblem is best handled inside ``complete`` and the objective (a
    documented penalty, as :mod:`hybridlab.benchmarks.facility` does), not as a failure.

    *No registry spec.*  ``complete`` is a function of the user's problem, so
    ``"matheuristic(ga)"`` cannot mean anything; build the object, or register a factory
    for one problem: ``hl.register("mh", lambda: Matheuristic("ga", f, idx))``.

    ``population`` holds full points; ``inject`` takes full points and hands their
    discrete coordinates on to ``outer``.  ``stop`` is ``outer``'s.  History labels are
    ``outer``'s (:func:`~hybridlab.stepping.phase_labels`).  :attr:`complete_seconds` is
    the time spent in ``complete`` during the run.  A batch is cut to the budget hint
    left (as the driver would cut it) before it is completed, so no solve is wasted on
    points that are never evaluated.

    Example
    -------
    Coordinate 0 picks a branch (``< 0.5``: left), coordinate 1 is solved exactly for it:

    >>> import numpy as np
    >>> import hybridlab as hl
    >>> def f(x):
    ...     return (x[0] >= 0.5) * 0.1 + (x[1] - (0.8 if x[0] >= 0.5 else 0.3)) ** 2
    >>> def solve(z):
    ...     return np.array([0.8 if z[0] >= 0.5 else 0.3])
    >>> p = hl.Problem(f, hl.Space.box(2, 0, 1))
    >>> r = hl.minimize(p, Matheuristic("random", solve, [0]), budget=20, seed=0)
    >>> r.n_evals, float(r.y), round(float(r.x[1]), 2)
    (20, 0.0, 0.3)
    """

    def __init__(self, outer: Optimizer | str, complete: Callable[[np.ndarray], Any],
                 discrete: Sequence[int]) -> None:
        self.outer = fresh(build(outer, "outer"))
        if not callable(complete):
            raise ValueError(f"complete must be a callable z -> continuous unit "
                             f"coordinates (e.g. an LP solve), got {complete!r}")
        self.complete = complete
        self.discrete = _indices(discrete)

    def _parts(self) -> list[Optimizer]:
        return [self.outer]

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"matheuristic({getattr(self.outer, 'name', '?')})"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        disc = np.asarray(self.discrete)
        if disc.max() >= self.dim or len(disc) >= self.dim:
            raise ValueError(f"discrete indices {list(self.discrete)} do not fit a box of "
                             f"dim {self.dim}: give indices < {self.dim} and leave at least "
                             f"one coordinate to complete")
        self._disc = disc
        self._cont = np.setdiff1d(np.arange(self.dim), disc)
        self._ok = np.ones(0, dtype=bool)
        self._failure_rule = FailureRule()
        self.failures, self.last_error, self.complete_seconds = 0, None, 0.0
        outer_init = None if init is None else Population(init.X[:, disc], init.y)
        (child_rng,) = self.rng.spawn(1)
        outer = fresh(self.outer)
        outer.start(len(disc), child_rng, outer_init, budget)
        self.children.append(outer)
        self._told_by.append(0)

    def ask(self) -> np.ndarray:
        outer = self.children[0]
        Z = checked_ask(outer, len(self._disc))
        if self.budget is not None:  # the driver would trim the rest: do not solve them
            Z = Z[: max(1, int(self.budget) - self.n_told)]
        X = np.empty((len(Z), self.dim))
        X[:, self._disc] = Z
        self._ok = np.ones(len(Z), dtype=bool)
        t0 = time.perf_counter()
        try:
            for k, z in enumerate(Z):
                X[k, self._cont], self._ok[k] = self._completed(z)
        finally:
            self.complete_seconds += time.perf_counter() - t0
        self._phases = phase_labels(outer, len(Z))
        return X

    def _completed(self, z: np.ndarray) -> tuple[np.ndarray, bool]:
        """``complete(z)`` clipped to the box, and whether it succeeded."""
        try:
            c = np.asarray(self.complete(z.copy()), dtype=float).reshape(-1)
        except Exception as exc:  # a failed solve is data, as a failed evaluation is
            return self._failed(f"{type(exc).__name__}: {exc}")
        if c.shape != self._cont.shape:
            raise ValueError(f"complete returned {c.size} values; it must return the "
                             f"{self._cont.size} continuous unit coordinates (every index "
                             f"not in discrete, in increasing order)")
        if not np.isfinite(c).all():
            return self._failed("complete returned NaN or infinity")
        return np.clip(c, 0.0, 1.0), True

    def _failed(self, message: str) -> tuple[np.ndarray, bool]:
        if self.failures == 0:
            warnings.warn(f"{self.name}: complete failed ({message}); such candidates are "
                          f"evaluated at the fallback {FALLBACK} and told to the outer "
                          f"optimizer as failures", RuntimeWarning, stacklevel=2)
        self.failures += 1
        self.last_error = message
        return np.full(self._cont.size, FALLBACK), False

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        Optimizer.tell(self, X, y)
        X = np.asarray(X, dtype=float).reshape(-1, self.dim)
        y = np.asarray(y, dtype=float).reshape(-1)
        ok = self._ok[: len(y)] & np.isfinite(y)
        told = self._failure_rule.fill(y, ok)
        self.children[0].tell(X[:, self._disc], told)
        self._told_by[0] += len(y)

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        super().inject(X, y)
        X = np.asarray(X, dtype=float).reshape(-1, self.dim)
        self.children[0].inject(X[:, self._disc], np.asarray(y, dtype=float).reshape(-1))

    def stop(self) -> bool:
        return bool(self.children[0].stop())


def _indices(discrete: Any) -> tuple[int, ...]:
    """``discrete`` checked: a non-empty sequence of distinct integers >= 0."""
    try:
        idx = list(discrete)
    except TypeError:
        idx = None
    if not idx or not all(is_int(i) and i >= 0 for i in idx) or len(set(idx)) != len(idx):
        raise ValueError(f"discrete must be a non-empty sequence of distinct indices >= 0 "
                         f"of the coordinates the outer optimizer searches, e.g. [0, 1, 2]; "
                         f"got {discrete!r}")
    return tuple(int(i) for i in idx)
