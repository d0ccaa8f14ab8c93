"""Constraint handling: how violations ``max(0, g(x))`` turn into the fitness an
optimizer is told.  Handling is a choice of the problem, not of the optimizer.

``g(x) <= 0`` is feasible; an equality ``h(x) = 0`` becomes ``|h(x)| - tol <= 0`` with
:func:`equality`.  Handlers: :class:`Penalty` (static or adaptive),
:class:`Repair` (projection, rounding), :class:`FeasibilityRules` (Deb) and
:class:`EpsilonConstraint` (Takahama & Sakai).  Whatever the handler, ``Result`` reports
the best truly *feasible* point and each constraint's violation.

A handler has ``reset(budget)`` (called at the start of a run) and
``fitness(y, violation, ok) -> ndarray``, called once per evaluated batch, where
``violation`` is each point's total violation and ``ok`` marks evaluations that succeeded
(failed ones get ``+inf``; the driver then tells the worst finite value instead).
A handler may also have ``prepare(X, values, space) -> (X_eval, values_eval, X_tell)``,
called before evaluation (repair: evaluate a repaired point, and tell the optimizer either
the repaired point -- Lamarckian -- or the original one -- Baldwinian).

Stateful handlers (adaptive penalty, feasibility rules, ε-constraint) transform each
batch with what they know *now*; values told earlier are not re-scored, so an optimizer
that keeps old fitness values (GA elites, PSO personal bests) compares numbers made under
slightly different rules.  Each handler's Notes say what this costs.

Example
-------
>>> import numpy as np
>>> from hybridlab import Problem, Space, minimize
>>> from hybridlab.constraints import Penalty
>>> p = Problem(lambda x: float(x.sum()), Space.box(2, 0, 1),
...             constraints=[lambda x: 0.5 - x[0]])          # x0 >= 0.5
>>> p.handler = Penalty(weight=100.0)   # or Problem(..., handler=Penalty(100.0))
>>> r = minimize(p, "ga", budget=400, seed=0)
>>> bool(r.feasible), round(float(r.x[0]), 1)
(True, 0.5)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from .space import Integer, Real, Space

__all__ = ["EpsilonConstraint", "Equality", "FeasibilityRules", "Penalty", "Repair",
           "equality"]


def _positive(name: str, v: Any, low: float = 0.0) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | np.number) \
            or not math.isfinite(v) or v <= low:
        raise ValueError(f"{name} must be a finite number > {low:g}, got {v!r}")
    return float(v)


class Equality:
    """The constraint ``|h(x)| - tol <= 0`` for an equality ``h(x) = 0`` (picklable when
    ``h`` is).  Build it with :func:`equality`."""

    def __init__(self, h: Callable[[Any], float], tol: float = 1e-4) -> None:
        if not callable(h):
            raise ValueError(f"equality needs a callable h(x), got {h!r}")
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < math.inf:
            raise ValueError(f"equality tol must be a finite number >= 0, got {tol!r}")
        self.h, self.tol = h, float(tol)

    def __call__(self, x: Any) -> float:
        return abs(float(self.h(x))) - self.tol

    def __repr__(self) -> str:
        return f"equality({getattr(self.h, '__name__', repr(self.h))}, tol={self.tol:g})"


def equality(h: Callable[[Any], float], tol: float = 1e-4) -> Equality:
    """Turn an equality ``h(x) = 0`` into a constraint ``|h(x)| - tol <= 0``.

    Example
    -------
    >>> g = equality(lambda x: x[0] + x[1] - 1.0, tol=1e-3)
    >>> g([0.5, 0.5005]) <= 0, g([0.5, 0.6]) > 0
    (True, True)
    """
    return Equality(h, tol)


class Penalty:
    """Penalty: ``fitness = y + weight * total_violation``, static or adaptive.

    Parameters
    ----------
    weight : float
        (Initial) multiplier of the total violation; choose it large against the
        objective's scale so that infeasible points do not look better than feasible ones.
    adaptive : bool
        Adapt the weight after each batch (Bean & Hadj-Alouane, 1992): if the best point
        (lowest fitness) of each of the last ``k`` batches was infeasible, multiply the
        weight by ``beta1``; if all were feasible, divide it by ``beta2``; otherwise keep
        it.  After a change the window starts afresh, so the weight moves at most once
        every ``k`` batches, and stays within ``1e-6`` to ``1e6`` times its initial value.
        ``reset`` restores the initial weight.
    k : int
        Window of batches (generations, swarm steps) the adaptive rule looks at.
    beta1, beta2 : float
        Increase and decrease factors, both > 1 and different (equal ones can cycle).

    Notes
    -----
    An adaptive weight makes old fitness values stale: a GA elite scored under a smaller
    weight keeps its score.  The driver still reports the best *feasible* point.

    Example
    -------
    >>> import numpy as np
    >>> pen = Penalty(10.0, adaptive=True, k=2)
    >>> pen.reset(100)
    >>> for _ in range(2):                      # best point infeasible twice
    ...     f = pen.fitness(np.array([0.0, 50.0]), np.array([1.0, 0.0]), np.ones(2, bool))
    >>> pen.weight
    20.0
    """

    def __init__(self, weight: float = 1e6, adaptive: bool = False, k: int = 5,
                 beta1: float = 2.0, beta2: float = 1.5) -> None:
        self.weight0 = _positive("Penalty weight", weight)
        if isinstance(k, bool) or int(k) != k or k < 1:
            raise ValueError(f"Penalty k must be an integer >= 1 (batches), got {k!r}")
        self.beta1 = _positive("Penalty beta1", beta1, 1.0)
        self.beta2 = _positive("Penalty beta2", beta2, 1.0)
        if self.beta1 == self.beta2:
            raise ValueError("Penalty beta1 and beta2 must differ (equal factors can cycle); "
                             "e.g. beta1=2.0, beta2=1.5")
        self.adaptive, self.k = bool(adaptive), int(k)
        self.reset()

    def reset(self, budget: int | None = None) -> None:
        """Restore the initial weight and forget the window."""
        self.weight = self.weight0
        self._best_feasible: deque[bool] = deque(maxlen=self.k)

    def fitness(self, y: np.ndarray, violation: np.ndarray, ok: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            fit = np.where(ok, y + self.weight * violation, np.inf)
        if self.adaptive and np.isfinite(fit).any():
            self._best_feasible.append(bool(violation[int(np.argmin(fit))] <= 0))
            if len(self._best_feasible) == self.k:
                if not any(self._best_feasible):
                    self.weight = min(self.weight * self.beta1, 1e6 * self.weight0)
                    self._best_feasible.clear()
                elif all(self._best_feasible):
                    self.weight = max(self.weight / self.beta2, 1e-6 * self.weight0)
                    self._best_feasible.clear()
        return fit

    def __repr__(self) -> str:
        if not self.adaptive:
            return f"Penalty(weight={self.weight0:g})"
        return (f"Penalty(weight={self.weight0:g}, adaptive=True, k={self.k}, "
                f"beta1={self.beta1:g}, beta2={self.beta2:g})")


class Repair:
    """Evaluate a repaired point instead of the one asked (projection, rounding).

    Parameters
    ----------
    fn : callable
        Maps one user value (a 1-d array for real spaces, a dict otherwise) to a
        (hopefully) feasible user value.  The result is clipped into the space's bounds
        (integers rounded) before it is evaluated.
    lamarckian : bool
        True: the optimizer is told the repaired point (it learns the repair).  False
        (Baldwinian): it is told its own point with the repaired point's fitness.  The
        history and ``Result`` always hold the point actually evaluated.
    weight : float
        Static penalty on whatever violation the repair leaves (a repair may be partial).

    Notes
    -----
    Lamarckian write-back only changes what an optimizer *keeps* if it uses the points it
    is told: PSO positions and every optimizer's ``population`` do; the GA's working
    population and scipy's loop keep their own points.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import Problem, Space, minimize
    >>> def onto_simplex(x):                    # enforce x0 + x1 >= 1 by scaling up
    ...     s = x.sum()
    ...     return x / s if 0 < s < 1 else x
    >>> p = Problem(lambda x: float(x @ x), Space.box(2, 0, 1),
    ...             constraints=[lambda x: 1 - x.sum()], handler=Repair(onto_simplex))
    >>> r = minimize(p, "pso", budget=600, seed=0)
    >>> bool(r.feasible), round(r.y, 2)
    (True, 0.5)
    """

    def __init__(self, fn: Callable[[Any], Any], lamarckian: bool = True,
                 weight: float = 1e6) -> None:
        if not callable(fn):
            raise ValueError(f"Repair needs a callable fn(value) -> value, got {fn!r}")
        self.fn, self.lamarckian = fn, bool(lamarckian)
        self._penalty = Penalty(weight)

    def reset(self, budget: int | None = None) -> None:
        """Nothing to forget."""

    def prepare(self, X: np.ndarray, values: Any, space: Space) -> tuple[np.ndarray, Any,
                                                                        np.ndarray]:
        """Repair each decoded value; return (evaluated unit points, their values,
        the unit points to tell the optimizer)."""
        try:
            if space.is_real:
                lo = np.array([d.low for d in space.dims.values()])
                hi = np.array([d.high for d in space.dims.values()])
                fixed = np.array([np.asarray(self.fn(v.copy()), dtype=float) for v in values])
                fixed = np.clip(fixed.reshape(X.shape), lo, hi)
            else:
                fixed = [_clip_dict(space, self.fn(dict(v))) for v in values]
            X_eval = space.encode_batch(fixed)
        except Exception as exc:
            raise ValueError(f"Repair fn {getattr(self.fn, '__name__', self.fn)!r} must "
                             f"return a value of the space (same names or length): "
                             f"{exc}") from exc
        return X_eval, fixed, (X_eval if self.lamarckian else X)

    def fitness(self, y: np.ndarray, violation: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return self._penalty.fitness(y, violation, ok)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", repr(self.fn))
        return (f"Repair({name}, lamarckian={self.lamarckian}, "
                f"weight={self._penalty.weight0:g})")


def _clip_dict(space: Space, value: dict) -> dict:
    """Clip a dict value into the space's bounds; round integers."""
    out = dict(value)
    for name, d in space.dims.items():
        if name in out and isinstance(d, Real):
            out[name] = min(max(float(out[name]), d.low), d.high)
        elif name in out and isinstance(d, Integer):
            out[name] = int(np.clip(np.rint(float(out[name])), d.low, d.high))
    return out


class FeasibilityRules:
    """Deb's feasibility rules (2000) as a fitness transform.

    Feasible beats infeasible, feasible points are ordered by objective and infeasible
    ones by total violation: a feasible point is told ``y``, an infeasible one
    ``base + violation``, where ``base`` is the largest objective value seen so far in the
    run (this batch included, feasible or not).  ``base`` is at least the worst feasible
    value, so every infeasible point ranks after every feasible point seen so far, and it
    only grows, so infeasible points stay comparable across batches.  No weight to tune.

    Notes
    -----
    The transform is stateful.  A point told ``base + v`` earlier keeps that value; a
    feasible point found *later* with a new record-high objective (above the old ``base``)
    can rank after it.  After the first batches ``base`` rarely moves, so this is rare.
    Gradient-based local search sees a jump at the feasibility boundary.

    Example
    -------
    >>> import numpy as np
    >>> h = FeasibilityRules()
    >>> h.reset(100)
    >>> h.fitness(np.array([3.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 2.0, 1.0]),
    ...           np.ones(4, bool))
    array([3., 1., 5., 4.])
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self, budget: int | None = None) -> None:
        """Forget the largest objective value seen."""
        self.base = -math.inf

    def _eps(self) -> float:
        return 0.0

    def fitness(self, y: np.ndarray, violation: np.ndarray, ok: np.ndarray) -> np.ndarray:
        good = ok & np.isfinite(y)
        if good.any():
            self.base = max(self.base, float(y[good].max()))
        base = self.base if math.isfinite(self.base) else 0.0
        with np.errstate(invalid="ignore"):
            fit = np.where(violation <= self._eps(), y, base + violation)
        return np.where(ok, fit, np.inf)

    def __repr__(self) -> str:
        return "FeasibilityRules()"


class EpsilonConstraint(FeasibilityRules):
    """ε-constraint relaxation (Takahama & Sakai, 2006).

    Points with total violation ``<= ε(t)`` count as feasible (told ``y``); the others are
    ordered by violation after them, as in :class:`FeasibilityRules`.  With
    ``t = evaluations so far / budget``, ``ε(t) = eps0 * (1 - t / until) ** decay`` for
    ``t < until`` and ``0`` afterwards, so the run ends under Deb's exact rules.

    Parameters
    ----------
    eps0 : float or None
        Initial ε (>= 0).  ``None`` takes it from the first batch: the violation of its
        point at the 20 % quantile (Takahama & Sakai's ``θ = 0.2 N``).
    decay : float
        Exponent ``cp`` of the schedule (> 0; larger shrinks ε faster at first).
    until : float
        Fraction of the budget in (0, 1] at which ε reaches 0.

    Notes
    -----
    ``ε`` follows the evaluations counted by :meth:`fitness` since the last ``reset``;
    with ``budget=None`` it stays ``eps0``.  Points relaxed to feasible are still reported
    infeasible in ``Result`` (which only counts violation 0 as feasible).

    Example
    -------
    >>> import numpy as np
    >>> h = EpsilonConstraint(eps0=1.0, decay=1.0, until=0.5)
    >>> h.reset(budget=4)
    >>> for _ in range(2):
    ...     _ = h.fitness(np.zeros(1), np.zeros(1), np.ones(1, bool))
    >>> h.epsilon
    0.0
    """

    def __init__(self, eps0: float | None = None, decay: float = 2.0,
                 until: float = 0.5) -> None:
        if eps0 is not None and (isinstance(eps0, bool) or not isinstance(eps0, int | float)
                                 or not 0 <= eps0 < math.inf):
            raise ValueError(f"eps0 must be a finite number >= 0, or None (taken from the "
                             f"first batch), got {eps0!r}")
        self.eps0 = None if eps0 is None else float(eps0)
        self.decay = _positive("EpsilonConstraint decay", decay)
        self.until = _positive("EpsilonConstraint until", until)
        if self.until > 1:
            raise ValueError(f"until is a fraction of the budget in (0, 1], got {until!r}")
        self.reset()

    def reset(self, budget: int | None = None) -> None:
        """Start the schedule again for a run of ``budget`` evaluations."""
        super().reset(budget)
        self.budget, self.n_seen, self._eps_start = budget, 0, self.eps0

    @property
    def epsilon(self) -> float:
        """The current ε (0 once ``until`` of the budget is used)."""
        if self._eps_start is None:
            return math.inf  # before the first batch of an "auto" run
        t = self.n_seen / self.budget if self.budget else 0.0
        return self._eps_start * (1.0 - t / self.until) ** self.decay if t < self.until \
            else 0.0

    def _eps(self) -> float:
        return self.epsilon

    def fitness(self, y: np.ndarray, violation: np.ndarray, ok: np.ndarray) -> np.ndarray:
        if self._eps_start is None:
            v = violation[ok & np.isfinite(violation)]
            self._eps_start = float(np.quantile(v, 0.2)) if v.size else 0.0
        fit = super().fitness(y, violation, ok)
        self.n_seen += len(y)
        return fit

    def __repr__(self) -> str:
        return f"EpsilonConstraint(eps0={self.eps0!r}, decay={self.decay:g}, " \
               f"until={self.until:g})"
