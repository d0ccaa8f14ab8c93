"""Constraint handling: how violations ``max(0, g(x))`` turn into the fitness an
optimizer is told.  Handling is a choice of the problem, not of the optimizer.

``g(x) <= 0`` is feasible; :func:`equality` turns ``h(x) = 0`` into ``|h(x)| - tol <= 0``.
Handlers: :class:`Penalty` (static or adaptive), :class:`Repair`, :class:`FeasibilityRules`
and :class:`EpsilonConstraint`.  Whatever the handler, ``Result`` reports the best truly
*feasible* point and each constraint's violation.

A handler has ``reset(budget)`` (called at the start of a run) and
``fitness(y, violation, ok) -> ndarray``, called once per evaluated batch with each
point's total violation; ``ok`` marks evaluations that succeeded (failed ones get ``+inf``;
the driver then tells the worst finite value).  It may also have ``prepare(X, values,
space) -> (X_eval, values_eval, X_tell)``, called before evaluation (repair: evaluate a
repaired point, tell the optimizer the repaired point -- Lamarckian -- or its own).

Stateful handlers score each batch with what they know *now*; values told earlier are
never re-scored, so optimizers that keep old values (GA elites, PSO personal bests)
compare numbers made under different rules.  Each handler's Notes say what this costs.

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


def _number(name: str, v: Any, low: float = 0.0, strict: bool = True) -> float:
    bad = isinstance(v, bool) or not isinstance(v, int | float | np.number) \
        or not math.isfinite(v) or (v <= low if strict else v < low)
    if bad:
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} "
                         f"{low:g}, got {v!r}")
    return float(v)


class Equality:
    """The constraint ``|h(x)| - tol <= 0`` (picklable when ``h`` is); see :func:`equality`."""

    def __init__(self, h: Callable[[Any], float], tol: float = 1e-4) -> None:
        if not callable(h):
            raise ValueError(f"equality needs a callable h(x), got {h!r}")
        self.h, self.tol = h, _number("equality tol", tol, strict=False)

    @property
    def name(self) -> str:
        """The name results show for this constraint: ``h``'s own name."""
        return getattr(self.h, "__name__", "") or "equality"

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
        (Initial) multiplier of the total violation; large against the objective's scale.
    adaptive : bool
        Adapt the weight after each batch (Bean & Hadj-Alouane, 1992): if the best point
        (lowest fitness) of each of the last ``k`` batches was infeasible, multiply the
        weight by ``beta1``; if all were feasible, divide it by ``beta2``; else keep it.
        After a change the window starts afresh (one change per ``k`` batches at most);
        the weight stays within 1e-6..1e6 times its initial value.  ``weight`` is the
        current weight, ``weight0`` the initial one, which ``reset`` restores.
    k : int
        Window of batches (generations, swarm steps) the adaptive rule looks at.
    beta1, beta2 : float
        Increase and decrease factors, both > 1 and different (equal ones can cycle).

    Notes
    -----
    Adapting makes old values stale (a GA elite keeps the score it got under an older
    weight).
    Suited to population methods; a local search sees its landscape move.

    Example
    -------
    >>> pen = Penalty(10.0, adaptive=True, k=2)
    >>> pen.reset(100)
    >>> for _ in range(2):                      # best point infeasible twice
    ...     f = pen.fitness(np.array([0.0, 50.0]), np.array([1.0, 0.0]), np.ones(2, bool))
    >>> pen.weight
    20.0
    """

    def __init__(self, weight: float = 1e6, adaptive: bool = False, k: int = 5,
                 beta1: float = 2.0, beta2: float = 1.5) -> None:
        self.weight0 = _number("Penalty weight", weight)
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"Penalty k must be an integer >= 1 (batches), got {k!r}")
        self.beta1 = _number("Penalty beta1", beta1, 1.0)
        self.beta2 = _number("Penalty beta2", beta2, 1.0)
        if self.beta1 == self.beta2:
            raise ValueError("Penalty beta1 and beta2 must differ (equal factors can cycle); "
                             "e.g. beta1=2.0, beta2=1.5")
        self.adaptive, self.k = bool(adaptive), int(k)
        self.reset()

    def reset(self, budget: int | None = None) -> None:
        """Restore the initial weight and forget the window."""
        self.weight = self.weight0
        self._window: deque[bool] = deque(maxlen=self.k)  # was each batch's best feasible?

    def fitness(self, y: np.ndarray, violation: np.ndarray, ok: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            fit = np.where(ok, y + self.weight * violation, np.inf)
        if self.adaptive and np.isfinite(fit).any():
            self._window.append(bool(violation[int(np.argmin(fit))] <= 0))
            if len(self._window) == self.k and len(set(self._window)) == 1:
                w = self.weight / self.beta2 if self._window[0] else self.weight * self.beta1
                self.weight = min(max(w, 1e-6 * self.weight0), 1e6 * self.weight0)
                self._window.clear()
        return fit

    def __repr__(self) -> str:
        extra = f", adaptive=True, k={self.k}, beta1={self.beta1:g}, beta2={self.beta2:g}"
        return f"Penalty(weight={self.weight0:g}{extra if self.adaptive else ''})"


class Repair:
    """Evaluate a repaired point instead of the one asked (projection, rounding).

    Parameters
    ----------
    fn : callable
        Maps one user value (a 1-d array for real spaces, a dict otherwise) to a
        (hopefully) feasible one.  The result is clipped into the space's bounds (integers
        rounded) and re-encoded before it is evaluated.
    lamarckian : bool
        True: the optimizer is told the repaired point (it learns the repair).  False
        (Baldwinian): it is told its own point with the repaired point's fitness.  The
        history and ``Result`` always hold the point actually evaluated.
    weight : float
        Static penalty on whatever violation the repair leaves (a repair may be partial).

    Notes
    -----
    Lamarckian write-back changes what an optimizer *keeps* only if it uses the points it
    is told: PSO positions and every ``population`` do; the GA's working population and
    scipy's loop keep their own points.

    Example
    -------
    >>> from hybridlab import Problem, Space, minimize
    >>> scale_up = lambda x: x / x.sum() if 0 < x.sum() < 1 else x   # x0 + x1 >= 1
    >>> p = Problem(lambda x: float(x @ x), Space.box(2, 0, 1),
    ...             constraints=[lambda x: 1 - x.sum()], handler=Repair(scale_up))
    >>> r = minimize(p, "pso", budget=600, seed=0)
    >>> bool(r.feasible), round(r.y, 2)
    (True, 0.5)
    """

    def __init__(self, fn: Callable[[Any], Any], lamarckian: bool = True,
                 weight: float = 1e6) -> None:
        if not callable(fn):
            raise ValueError(f"Repair needs a callable fn(value) -> value, got {fn!r}")
        self.fn, self.lamarckian = fn, bool(lamarckian)
        self._penalty = Penalty(_number("Repair weight", weight))

    def reset(self, budget: int | None = None) -> None:
        """Nothing to forget."""

    def prepare(self, X: np.ndarray, values: Any, space: Space) -> tuple[np.ndarray, Any,
                                                                        np.ndarray]:
        """Repair each value: (evaluated unit points, their values, points to tell)."""
        try:
            if space.is_real:
                lo, hi = (np.array([getattr(d, a) for d in space.dims.values()])
                          for a in ("low", "high"))
                fixed = np.array([np.asarray(self.fn(v.copy()), dtype=float) for v in values])
                fixed = np.clip(fixed.reshape(X.shape), lo, hi)
            else:
                fixed = [_clip_dict(space, self.fn(dict(v))) for v in values]
            X_eval = space.encode_batch(fixed)
        except Exception as exc:
            raise ValueError(f"Repair fn {getattr(self.fn, '__name__', self.fn)!r} failed or "
                             f"returned no value of the space (same names or length): "
                             f"{exc}") from exc
        return X_eval, fixed, (X_eval if self.lamarckian else X)

    def fitness(self, y: np.ndarray, violation: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return self._penalty.fitness(y, violation, ok)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", repr(self.fn))
        return f"Repair({name}, lamarckian={self.lamarckian}, weight={self._penalty.weight0:g})"


def _clip_dict(space: Space, value: dict) -> dict:
    out = dict(value)
    for name, d in space.dims.items():
        if name in out and isinstance(d, Real):
            out[name] = min(max(float(out[name]), d.low), d.high)
        elif name in out and isinstance(d, Integer):
            out[name] = int(np.clip(np.rint(float(out[name])), d.low, d.high))
    return out


class FeasibilityRules:
    """Deb's feasibility rules (2000) as a fitness transform; no weight to tune.

    Feasible beats infeasible, feasible points are ordered by objective, infeasible ones by
    total violation: a feasible point is told ``y``, an infeasible one ``base + violation``
    with ``base`` the largest objective value seen in the run (this batch included,
    feasible or not).  ``base`` >= the worst feasible value, so every infeasible point ranks
    after every feasible one seen so far; it only grows, so infeasible points stay
    comparable across batches, even before anything is feasible.

    Notes
    -----
    Stateful: a point told ``base + v`` keeps that value, so a feasible point found later
    with a record-high objective (above the old ``base``) can rank after it.  ``base``
    rarely moves after the first batch.  Local search sees a jump at the boundary.

    Example
    -------
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
        return np.where(ok, np.where(violation <= self._eps(), y, base + violation), np.inf)

    def __repr__(self) -> str:
        return "FeasibilityRules()"


class EpsilonConstraint(FeasibilityRules):
    """ε-constraint relaxation (Takahama & Sakai, 2006).

    Points with total violation ``<= ε(t)`` count as feasible (told ``y``); the others rank
    after them by violation, as in :class:`FeasibilityRules`.  With ``t`` = evaluations so
    far / budget, ``ε(t) = eps0 * (1 - t / until) ** decay`` for ``t < until`` and 0 after,
    so the run ends under Deb's exact rules.

    Parameters
    ----------
    eps0 : float or None
        Initial ε (>= 0).  ``None`` takes it from the first batch: the 20 % quantile of its
        violations (Takahama & Sakai's ``θ = 0.2 N``).
    decay : float
        Exponent ``cp`` of the schedule (> 0; larger shrinks ε faster at first).
    until : float
        Fraction of the budget in (0, 1] at which ε reaches 0.

    Notes
    -----
    ε follows the evaluations counted by :meth:`fitness` since ``reset(budget)`` (with
    ``budget=None`` it stays ``eps0``).  ``Result`` counts only violation 0 as feasible.
    Values told under a larger ε are never re-scored: PSO's personal bests keep them and
    can stall on relaxed points (on g11 it found no feasible point for 5 of 8 seeds),
    while a GA forgets them; prefer a GA here.

    Example
    -------
    >>> h = EpsilonConstraint(eps0=1.0, decay=1.0, until=0.5)
    >>> h.reset(budget=4)
    >>> for _ in range(2):
    ...     _ = h.fitness(np.zeros(1), np.zeros(1), np.ones(1, bool))
    >>> h.epsilon
    0.0
    """

    def __init__(self, eps0: float | None = None, decay: float = 2.0,
                 until: float = 0.5) -> None:
        self.eps0 = None if eps0 is None else _number("eps0", eps0, strict=False)
        self.decay = _number("EpsilonConstraint decay", decay)
        self.until = _number("EpsilonConstraint until", until)
        if self.until > 1:
            raise ValueError(f"until is a fraction of the budget in (0, 1], got {until!r}")
        self.reset()

    def reset(self, budget: int | None = None) -> None:
        """Start the schedule again for a run of ``budget`` evaluations."""
        super().reset(budget)
        self.budget, self.n_seen, self._eps_start = budget, 0, self.eps0

    @property
    def epsilon(self) -> float:
        """The current ε (``inf`` before the first batch when ``eps0=None``)."""
        if self._eps_start is None:
            return math.inf
        t = self.n_seen / self.budget if self.budget else 0.0
        return self._eps_start * (1 - t / self.until) ** self.decay if t < self.until else 0.0

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
