"""Capacitated facility location: a mixed problem with a known optimum (exact MILP).

``m`` facilities with fixed opening costs ``f_i`` and capacities ``s_i``, ``n``
customers with demands ``d_j``, and a cost ``c_ij`` per unit shipped from ``i`` to ``j``.
Open a set ``S`` of facilities and split each customer's demand over them (fractions
``x_ij``, summing to 1 per customer; demand may be split) to minimise
``sum_{i in S} f_i + sum_ij c_ij d_j x_ij`` subject to ``sum_j d_j x_ij <= s_i``.
:func:`facility_instance` draws an instance the way Cornuejols, Sridharan & Thizy (1991)
do, scaled down: points uniform in the unit square, ``d_j`` integer in 5..35, ``s_i``
integer in 10..160 rescaled so that ``sum s = ratio * sum d``,
``f_i = U(0, 90) + U(100, 110) sqrt(s_i)``, ``c_ij = 10 * distance``.  Its optimum
``f_opt`` is the full MILP solved exactly by :func:`scipy.optimize.milp` (HiGHS, relative
gap 0, with the strong linking ``x_ij <= y_i``); a 12 x 30 instance takes 0.05-0.4 s of CPU.

**The full mixed space** (:meth:`FacilityInstance.problem`) is the unit box of
``m + m n`` coordinates: ``u[:m]`` open facility ``i`` when ``u_i >= 0.5``; ``u[m:]``,
read as an ``(m, n)`` array ``w`` (row ``i``: facility ``i``), are assignment weights.
A **repair** inside the objective makes every point a plan that serves all demand: each
customer's fractions are its weights over the *open* facilities, normalised
(``x_ij = w_ij / sum_{k in S} w_kj``; an equal split when those weights are all 0).
Capacity is a **penalty**: each unit of overload (``max(0, load_i - s_i)``, summed) costs
``overload_weight = 2 max c``, an *exact* penalty when ``S`` can hold the demand (moving a
unit of overload to spare capacity costs at most ``max c``), so no penalised point is
below ``f_opt``.  An open set that cannot hold the demand (``sum_{S} s < sum d``,
``S`` empty included) also pays ``shortfall_penalty = sum f + max c * sum d``, more than
opening everything costs, and unserved demand (``S`` empty) counts as overload.  So the
objective is ``>= f_opt`` everywhere and equals the true cost on feasible plans: the gap
``y - f_opt`` is meaningful for any optimizer.

**The LP completion** (:meth:`FacilityInstance.complete`, for
:class:`~hybridlab.hybrid.Matheuristic`): given the open set of ``u[:m]``, the
min-cost transportation LP over ``S`` by :func:`scipy.optimize.linprog` (HiGHS); its
fractions are the weights (rows of closed facilities 0).  A set that cannot hold the
demand (or an LP that fails) gets no LP: the weights split each customer over ``S`` in
proportion to capacity (the least total overload), and the objective's penalties above
apply.  Solutions are cached per open set (``2^m`` at most).

Example
-------
>>> import hybridlab as hl
>>> inst = facility_instance(0, n_facilities=6, n_customers=12)
>>> inst.name, inst.dim, bool(abs(inst(inst.x_opt) - inst.f_opt) < 1e-6 * inst.f_opt)
('cflp-6x12-i0', 78, True)
>>> mh = inst.matheuristic(hl.GA(pop_size=30, eta_mut=2.0))
>>> r = hl.minimize(inst.problem(), mh, budget=150, seed=0)
>>> r.n_evals, bool(inst.gap(r.y) <= 1e-6 * inst.f_opt)
(150, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..hybrid.matheuristic import Matheuristic
from ..optimizers.base import Optimizer
from ..problem import Problem
from ..space import Space

__all__ = ["FacilityInstance", "facility_instance", "facility_suite"]


@dataclass(frozen=True, eq=False)
class FacilityInstance:
    """One capacitated facility location instance with its exact optimum.

    Callable on a unit point ``(dim,) -> float`` or a batch ``(k, dim) -> (k,)`` (the
    penalised cost of the module docstring); picklable (plain data), so it can go to a
    process pool.  Build with :func:`facility_instance`.

    Attributes
    ----------
    name : str
        ``"cflp-<m>x<n>-i<instance>"``.
    instance : int
        The seed it was drawn from.
    fixed, capacity : ndarray, shape (m,)
    demand : ndarray, shape (n,)
    unit_cost : ndarray, shape (m, n)
        Cost per unit shipped from facility ``i`` to customer ``j``.
    f_opt : float
        The MILP optimum.
    open_opt : ndarray of bool, shape (m,)
        The optimal open set.
    flow_opt : ndarray, shape (m, n)
        The optimal fractions ``x_ij``.
    """

    name: str
    instance: int
    fixed: np.ndarray = field(repr=False)
    capacity: np.ndarray = field(repr=False)
    demand: np.ndarray = field(repr=False)
    unit_cost: np.ndarray = field(repr=False)
    f_opt: float
    open_opt: np.ndarray = field(repr=False)
    flow_opt: np.ndarray = field(repr=False)
    _cache: dict[bytes, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_facilities(self) -> int:
        return len(self.fixed)

    @property
    def n_customers(self) -> int:
        return len(self.demand)

    @property
    def dim(self) -> int:
        """``m + m n``: open scores, then assignment weights."""
        return self.n_facilities * (1 + self.n_customers)

    @property
    def discrete(self) -> tuple[int, ...]:
        """The indices of the open/close coordinates (``0 .. m-1``)."""
        return tuple(range(self.n_facilities))

    @property
    def space(self) -> Space:
        return Space.box(self.dim, 0.0, 1.0)

    @property
    def overload_weight(self) -> float:
        """Penalty per unit of overload (or unserved demand): ``2 max c``."""
        return 2.0 * float(self.unit_cost.max())

    @property
    def shortfall_penalty(self) -> float:
        """Added when the open set cannot hold the demand: ``sum f + max c sum d``."""
        return float(self.fixed.sum() + self.unit_cost.max() * self.demand.sum())

    @property
    def x_opt(self) -> np.ndarray:
        """The MILP optimum as a unit point of the full space."""
        return np.concatenate([self.open_opt.astype(float), self.flow_opt.ravel()])

    def decode(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit points ``(k, dim)`` -> (open ``(k, m)`` bool, fractions ``(k, m, n)``)
        after the repair of the module docstring."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        m, n = self.n_facilities, self.n_customers
        is_open = X[:, :m] >= 0.5
        w = X[:, m:].reshape(-1, m, n) * is_open[:, :, None]
        total = w.sum(axis=1, keepdims=True)
        even = is_open[:, :, None] / np.maximum(is_open.sum(axis=1), 1)[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            flows = np.where(total > 0, w / total, even)
        return is_open, flows

    def __call__(self, x: np.ndarray) -> float | np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim not in (1, 2) or x.shape[-1] != self.dim:
            raise ValueError(f"{self.name}: expected x of shape ({self.dim},) or "
                             f"(k, {self.dim}), got {x.shape}")
        is_open, flows = self.decode(x)
        shipped = flows * self.demand  # (k, m, n) units
        load = shipped.sum(axis=2)
        overload = np.maximum(load - self.capacity, 0.0).sum(axis=1)
        unserved = self.demand.sum() - shipped.sum(axis=(1, 2))
        short = is_open @ self.capacity < self.demand.sum()
        y = (is_open @ self.fixed + (shipped * self.unit_cost).sum(axis=(1, 2))
             + self.overload_weight * (overload + np.maximum(unserved, 0.0))
             + self.shortfall_penalty * short)
        return float(y[0]) if x.ndim == 1 else y

    def gap(self, y: float | np.ndarray) -> float | np.ndarray:
        """``y - f_opt``: how far a value is above the optimum."""
        return y - self.f_opt

    def problem(self, vectorized: bool = True) -> Problem:
        """The full mixed problem over the unit box (vectorised by default)."""
        return Problem(self, self.space, name=self.name, vectorized=vectorized)

    def complete(self, z: np.ndarray) -> np.ndarray:
        """The LP completion: open scores ``z`` (``(m,)``, open at ``>= 0.5``) -> the
        ``m n`` assignment weights of the min-cost transport plan (see the module
        docstring for sets that cannot hold the demand)."""
        is_open = np.asarray(z, dtype=float).reshape(self.n_facilities) >= 0.5
        key = np.packbits(is_open).tobytes()
        if key not in self._cache:
            self._cache[key] = self._transport(is_open).ravel()
        return self._cache[key].copy()

    def _transport(self, is_open: np.ndarray) -> np.ndarray:
        m, n = self.n_facilities, self.n_customers
        w = np.zeros((m, n))
        S = np.flatnonzero(is_open)
        cap = self.capacity[S]
        if cap.sum() >= self.demand.sum() and len(S):
            res = linprog(**_transport_lp(self.unit_cost[S], self.demand, cap),
                          method="highs")
            if res.status == 0:
                w[S] = np.clip(res.x.reshape(len(S), n), 0.0, 1.0)
                return w
        if len(S):
            w[S] = (cap / cap.sum())[:, None]
        return w

    def matheuristic(self, outer: Optimizer | str = "ga") -> Matheuristic:
        """:class:`~hybridlab.hybrid.Matheuristic` with ``outer`` over the open scores
        and :meth:`complete` for the weights."""
        return Matheuristic(outer, self.complete, self.discrete)


def _transport_lp(cost: np.ndarray, demand: np.ndarray, cap: np.ndarray) -> dict[str, Any]:
    """linprog arguments: fractions ``x`` (``k x n``, row-major) of the open facilities."""
    k, n = cost.shape
    eye_n = sparse.identity(n, format="csr")
    return {"c": (cost * demand).ravel(),
            "A_ub": sparse.kron(sparse.identity(k), demand[None, :], format="csr"),
            "b_ub": cap,
            "A_eq": sparse.hstack([eye_n] * k, format="csr"),
            "b_eq": np.ones(n),
            "bounds": (0.0, 1.0)}


def _solve_milp(fixed: np.ndarray, capacity: np.ndarray, demand: np.ndarray,
                unit_cost: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The exact optimum: variables ``y`` (m, binary) then ``x`` (m n, row-major)."""
    m, n = unit_cost.shape
    mn = m * n
    c = np.concatenate([fixed, (unit_cost * demand).ravel()])
    assign = sparse.hstack([sparse.csr_matrix((n, m)),
                            sparse.hstack([sparse.identity(n)] * m)])
    cap_rows = sparse.hstack([-sparse.diags(capacity),
                              sparse.kron(sparse.identity(m), demand[None, :])])
    link = sparse.hstack([-sparse.kron(sparse.identity(m), np.ones((n, 1))),
                          sparse.identity(mn)])
    res = milp(c, integrality=np.r_[np.ones(m), np.zeros(mn)],
               bounds=Bounds(np.zeros(m + mn), np.ones(m + mn)),
               constraints=[LinearConstraint(assign, 1.0, 1.0),
                            LinearConstraint(cap_rows, -np.inf, 0.0),
                            LinearConstraint(link, -np.inf, 0.0)],
               # presolve off: faster here, and it avoids most of a stray line that HiGHS
               # prints to stdout when it repairs a presolved solution (ERGO-Code/HiGHS#2783)
               options={"mip_rel_gap": 0.0, "presolve": False})
    if res.status != 0:  # pragma: no cover - every drawn instance is feasible
        raise RuntimeError(f"the facility MILP was not solved: {res.message}")
    y = res.x[:m] > 0.5
    flows = np.clip(res.x[m:].reshape(m, n), 0.0, 1.0) * y[:, None]
    return float(res.fun), y, flows


def facility_instance(instance: int = 0, n_facilities: int = 12, n_customers: int = 30,
                      ratio: float = 3.0) -> FacilityInstance:
    """Draw instance ``instance`` (its seed) and solve it exactly.

    Parameters
    ----------
    instance : int
        Seed (``>= 0``); the same arguments give the same instance.
    n_facilities, n_customers : int
        ``m >= 2`` and ``n >= 1``; MILP time grows fast beyond ~20 x 50.
    ratio : float
        Total capacity over total demand (``>= 1``, so opening everything is feasible).

    Example
    -------
    >>> inst = facility_instance(3)
    >>> inst.name, inst.n_facilities, inst.n_customers, int(inst.open_opt.sum()) >= 1
    ('cflp-12x30-i3', 12, 30, True)
    """
    for label, v, low in (("instance", instance, 0), ("n_facilities", n_facilities, 2),
                          ("n_customers", n_customers, 1)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
            raise ValueError(f"{label} must be an integer >= {low}, got {v!r}")
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not ratio >= 1:
        raise ValueError(f"ratio (total capacity / total demand) must be a number >= 1, "
                         f"got {ratio!r}")
    rng = np.random.default_rng([int(instance), n_facilities, n_customers])
    fac, cust = rng.random((n_facilities, 2)), rng.random((n_customers, 2))
    demand = rng.integers(5, 36, n_customers).astype(float)
    raw = rng.integers(10, 161, n_facilities).astype(float)
    capacity = raw * ratio * demand.sum() / raw.sum()
    fixed = rng.uniform(0, 90, n_facilities) + rng.uniform(100, 110, n_facilities) \
        * np.sqrt(capacity)
    unit_cost = 10.0 * np.linalg.norm(fac[:, None, :] - cust[None, :, :], axis=2)
    f_opt, open_opt, flow_opt = _solve_milp(fixed, capacity, demand, unit_cost)
    return FacilityInstance(f"cflp-{n_facilities}x{n_customers}-i{instance}", int(instance),
                            fixed, capacity, demand, unit_cost, f_opt, open_opt, flow_opt)


def facility_suite(instances: Any = range(5), n_facilities: int = 12,
                   n_customers: int = 30, ratio: float = 3.0) -> list[FacilityInstance]:
    """:func:`facility_instance` for each seed in ``instances``; the list goes straight to
    :func:`hybridlab.study.compare`, which measures the gap to ``f_opt``.

    Example
    -------
    >>> [i.name for i in facility_suite(range(2), 6, 12)]
    ['cflp-6x12-i0', 'cflp-6x12-i1']
    """
    return [facility_instance(i, n_facilities, n_customers, ratio) for i in instances]
