"""Particle swarm on the unit box, stepped by ask/tell on PySwarms' backend operators.

Only PySwarms' *backend* is used (``Swarm``, the ``Star``/``Ring`` topologies, the
boundary and velocity handlers); the loop is ours.  Two PySwarms side effects are fenced off:

* its ``Reporter`` calls ``logging.config.dictConfig`` whenever one is built (at import, in
  every topology/handler): it takes over the root logger and creates ``./report.log``.  We
  build those objects with ``dictConfig`` silenced.
* its operators draw from the global ``np.random`` (pyswarms #235).  The velocity update
  (``compute_velocity``, the one operator that draws on every step) is written out here
  with the same expressions, drawing from the swarm's own ``RandomState``: the same numbers
  as PySwarms' operator run under that state, without swapping the global generator.  The
  ``"random"`` boundary strategy also draws: around it each :class:`PSO` swaps in its own
  ``RandomState`` and restores the caller's after (not thread-safe: don't step two such
  swarms in threads of one process; process pools are fine).  The other operators
  (``compute_pbest``, the topologies' ``compute_gbest``, the other boundary strategies)
  draw nothing and run unguarded.
"""

from __future__ import annotations

import logging.config
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from numbers import Real

import numpy as np

from ..schedules import Schedule
from .base import Optimizer, Population, is_int
from .rng import private_rng

__all__ = ["PSO"]

Coefficient = float | Callable[[float], float]


@contextmanager
def _no_log_config() -> Iterator[None]:
    """Silence ``logging.config.dictConfig`` (PySwarms' Reporter calls it on construction)."""
    original = logging.config.dictConfig
    logging.config.dictConfig = lambda *args, **kwargs: None
    try:
        yield
    finally:
        logging.config.dictConfig = original


with _no_log_config():
    from pyswarms.backend.handlers import BoundaryHandler, VelocityHandler
    from pyswarms.backend.operators import compute_pbest
    from pyswarms.backend.swarms import Swarm
    from pyswarms.backend.topology import Ring, Star

    BOUNDS_STRATEGIES = tuple(sorted(BoundaryHandler("nearest").strategies))


class PSO(Optimizer):
    """Particle swarm optimisation in ``[0, 1]^dim`` (global best or local best).

    Parameters
    ----------
    n_particles : int
        Swarm size (>= 2); each ``ask`` proposes one point per particle.
    topology : {"star", "ring"}
        ``"star"``: every particle follows the swarm's best (gbest PSO).  ``"ring"``: each
        follows the best of its ``k`` nearest particles in the ``p``-norm, neighbours
        recomputed every step (PySwarms' ``Ring``, as in its ``LocalBestPSO``).
    w, c1, c2 : float or callable
        Inertia, cognitive and social coefficients (defaults: Clerc's constriction values).
        A callable ``f(progress) -> float`` is a schedule, with ``progress`` the fraction
        of the budget told so far (0 when the budget is unknown), read at every step; see
        :mod:`hybridlab.schedules`.  The classic linearly decreasing inertia of Shi &
        Eberhart (1998, 1999) is ``PSO(w=Linear(0.9, 0.4), c1=2.0, c2=2.0)``: large
        inertia explores early, small inertia refines late.
    k, p : int
        Ring only: neighbours per particle (``1 <= k < n_particles``) and Minkowski norm.
    bounds_strategy : str
        PySwarms ``BoundaryHandler`` strategy for particles leaving the box: one of
        ``"intermediate", "nearest", "periodic", "random", "reflective", "shrink"``.
    velocity_clamp : float or None
        Velocities are clamped to ``[-velocity_clamp, velocity_clamp]`` (box widths).

    Notes
    -----
    Given ``init`` (a :class:`Population`, best first), its best points become the first
    particles; the rest start uniformly at random.  A tell of fewer points than were asked
    (the driver trims the last batch) updates those particles only.  Failed evaluations
    (``inf``, NaN) never become personal or global bests.

    :meth:`inject` (migrants, locally refined points) follows pagmo's ``fair_replace``:
    the injected points replace the personal bests of the particles with the worst
    personal bests that they beat (the best injected point against the worst particle,
    and so on), so the swarm keeps its size and its best; the swarm best is updated when
    an injected point is better.  A replaced particle also *moves* to its new personal
    best (keeping its velocity), unless its position is still out for evaluation (after
    ``ask``, or before the first ``tell``): then only its memory changes, and the point
    being evaluated is kept.  Injected points are not counted in ``n_told``; non-finite
    ones are ignored; a copy of a personal best with a better value re-scores it
    (Baldwinian learning); with more points than particles only the best can enter.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import PSO, Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(3, -5, 5))
    >>> r = minimize(p, PSO(n_particles=20, topology="ring"), budget=1000, seed=0)
    >>> r.n_evals, bool(r.y < 1e-3)
    (1000, True)
    >>> from hybridlab.schedules import Linear
    >>> r = minimize(p, PSO(w=Linear(0.9, 0.4), c1=2.0, c2=2.0), budget=1000, seed=0)
    >>> bool(r.y < 1e-3)
    True
    """

    name = "pso"

    def __init__(self, n_particles: int = 30, topology: str = "star", w: Coefficient = 0.7298,
                 c1: Coefficient = 1.49618, c2: Coefficient = 1.49618, k: int = 3, p: int = 2,
                 bounds_strategy: str = "reflective", velocity_clamp: float | None = 0.5) -> None:
        self.n_particles = n_particles
        self.topology = topology
        self.w = w
        self.c1 = c1
        self.c2 = c2
        self.k = k
        self.p = p
        self.bounds_strategy = bounds_strategy
        self.velocity_clamp = velocity_clamp
        self._check()

    def _check(self) -> None:
        n, k, vc = self.n_particles, self.k, self.velocity_clamp
        if not is_int(n) or n < 2:
            raise ValueError(f"n_particles must be an integer >= 2, got {n!r}")
        if self.topology not in ("star", "ring"):
            raise ValueError(f"topology must be 'star' (global best) or 'ring' (local best), "
                             f"got {self.topology!r}")
        for name in ("w", "c1", "c2"):
            v = getattr(self, name)
            if not callable(v) and not (isinstance(v, Real) and math.isfinite(v)
                                        and (name == "w" or v >= 0)):
                raise ValueError(f"{name} must be a finite number{'' if name == 'w' else ' >= 0'}"
                                 f" or a schedule f(progress) -> float, got {v!r}")
            if isinstance(v, Schedule) and name != "w" and min(v.start, v.end) < 0:
                raise ValueError(f"{name} schedule must stay >= 0, got {v!r}")
        if self.topology == "ring" and (not is_int(k) or not 1 <= k < n):
            raise ValueError(f"ring topology needs an integer k with 1 <= k < n_particles "
                             f"({n}), got k={k!r}")
        if self.topology == "ring" and not (isinstance(self.p, Real) and self.p >= 1):
            raise ValueError(f"p (Minkowski norm of the ring) must be >= 1, got {self.p!r}")
        if self.bounds_strategy not in BOUNDS_STRATEGIES:
            raise ValueError(f"bounds_strategy must be one of {list(BOUNDS_STRATEGIES)}, "
                             f"got {self.bounds_strategy!r}")
        if vc is not None and not (isinstance(vc, Real) and 0 < vc < math.inf):
            raise ValueError(f"velocity_clamp must be a positive number (fraction of the box) "
                             f"or None, got {vc!r}")

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self._check()
        n, d = int(self.n_particles), self.dim
        X = self.rng.random((n, d))
        if init is not None and len(init):
            m = min(n, len(init))
            X[:m] = np.clip(init.best(m).X, 0.0, 1.0)
        V = 0.1 * self.rng.uniform(-1.0, 1.0, (n, d))
        self._state = np.random.RandomState(int(self.rng.integers(2**32)))
        self._private_rng = private_rng(self._state)
        with _no_log_config():
            self._topology = Star() if self.topology == "star" else Ring(static=False)
            self._bh = BoundaryHandler(strategy=self.bounds_strategy)
            self._vh = VelocityHandler(strategy="unmodified")
        self._bounds = (np.zeros(d), np.ones(d))
        vc = self.velocity_clamp
        self._clamp = None if vc is None else (-float(vc), float(vc))
        self._scheduled = any(callable(v) for v in (self.w, self.c1, self.c2))
        self._swarm = Swarm(position=X, velocity=V, options=self._options(),
                            pbest_pos=X.copy(), pbest_cost=np.full(n, np.inf),
                            current_cost=np.full(n, np.inf))
        self._pending = True  # positions not yet evaluated: the next ask returns them as-is

    def _options(self) -> dict[str, float]:
        t = min(1.0, self.n_told / self.budget) if self.budget else 0.0
        return {k: float(v(t)) if callable(v) else float(v)
                for k, v in (("w", self.w), ("c1", self.c1), ("c2", self.c2))}

    def ask(self) -> np.ndarray:
        s = self._swarm
        if not self._pending:
            if self._scheduled:
                s.options = self._options()
            s.velocity = self._velocity(s)
            if self.bounds_strategy == "reflective":  # the default, written out below
                pos = self._reflect(s.position + s.velocity)
            elif self.bounds_strategy == "random":  # the one strategy that draws
                with self._private_rng:
                    pos = self._topology.compute_position(s, self._bounds, self._bh)
            else:
                pos = self._topology.compute_position(s, self._bounds, self._bh)
            # 'shrink'/'intermediate' leave the first out-of-box step unrepaired: clip
            s.position = np.clip(pos, 0.0, 1.0)
            self._pending = True
        return s.position.copy()

    def _velocity(self, s: Swarm) -> np.ndarray:
        """PySwarms' ``compute_velocity`` (with the ``"unmodified"`` handler) term for
        term, its two uniform draws taken from the swarm's own ``RandomState``."""
        size, o, state = s.position.shape, s.options, self._state
        cognitive = o["c1"] * state.uniform(0, 1, size) * (s.pbest_pos - s.position)
        social = o["c2"] * state.uniform(0, 1, size) * (s.best_pos - s.position)
        velocity = (o["w"] * s.velocity) + cognitive + social
        if self._clamp is None:
            return velocity
        low, high = self._clamp
        below, above = velocity <= low, velocity >= high
        velocity = np.where(below, low, velocity)
        return np.where(above, high, velocity)

    def _reflect(self, pos: np.ndarray) -> np.ndarray:
        """PySwarms' ``"reflective"`` boundary strategy on the whole array: mirror every
        coordinate out of the box at the bound it crossed, again until all are inside
        (the same expressions, one ``np.where`` per round instead of index lists)."""
        low, high = self._bounds
        while True:
            below, above = pos < low, pos > high
            if not (below.any() or above.any()):
                return pos
            pos = np.where(below, 2 * low - pos, np.where(above, 2 * high - pos, pos))

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        X = np.asarray(X, dtype=float).reshape(-1, self.dim)
        y = np.asarray(y, dtype=float).reshape(-1)
        s = self._swarm
        n = s.n_particles
        m = min(len(y), n)  # extra points (if any) only reach `population`
        if m == n:
            cost = np.where(np.isnan(y[:n]), np.inf, y[:n])
            pos = np.clip(X[:n], 0.0, 1.0)
        else:
            cost = np.full(n, np.inf)  # untold particles learn nothing this step
            cost[:m] = np.where(np.isnan(y[:m]), np.inf, y[:m])
            pos = s.position.copy()
            pos[:m] = np.clip(X[:m], 0.0, 1.0)
        s.position, s.current_cost = pos, cost
        s.pbest_pos, s.pbest_cost = compute_pbest(s)  # these draw nothing: no guard
        self._gbest(s)
        if not np.isfinite(s.best_cost):  # nothing finite yet: Star leaves best_pos empty
            s.best_pos = s.pbest_pos.copy()
        self._pending = False

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        """Let points evaluated elsewhere replace the worst personal bests they beat (see
        Notes).  Not counted in ``n_told``; the swarm keeps ``n_particles`` particles."""
        super().inject(X, y)
        X = np.clip(np.asarray(X, dtype=float).reshape(-1, self.dim), 0.0, 1.0)
        y = np.asarray(y, dtype=float).reshape(-1)
        s = self._swarm
        n = s.n_particles
        order = np.argsort(y, kind="stable")
        order = order[np.isfinite(y[order])]  # best first, non-finite dropped
        pbest_pos, pbest_cost = s.pbest_pos.copy(), s.pbest_cost.copy()  # best_pos may be a view
        known = {tuple(row): i for i, row in enumerate(pbest_pos.tolist())
                 if np.isfinite(pbest_cost[i])}
        fresh, rescored = [], False
        for k in order:
            key = tuple(X[k].tolist())
            i = known.get(key)
            if i is None:
                known[key] = -1  # later copies of this point are ignored
                fresh.append(k)
            elif i >= 0 and y[k] < pbest_cost[i]:  # re-scored (Baldwinian learning)
                pbest_cost[i], rescored = y[k], True
        # worst personal best first; among equals (e.g. all inf before the first tell) the
        # last particles, as `init` puts its points first
        worst = np.lexsort((-np.arange(n), -pbest_cost))
        replaced: list[int] = []
        for k in fresh:  # best first: the j-th best point against the j-th worst particle
            j = len(replaced)
            if j == n or not y[k] < pbest_cost[worst[j]]:
                break  # the rest of the injected are worse, the rest of the swarm better
            pbest_pos[worst[j]], pbest_cost[worst[j]] = X[k], y[k]
            replaced.append(int(worst[j]))
        if not (replaced or rescored):
            return
        s.pbest_pos, s.pbest_cost = pbest_pos, pbest_cost
        if not self._pending:  # positions evaluated: the replaced particles move there
            position, current = s.position.copy(), s.current_cost.copy()
            position[replaced], current[replaced] = pbest_pos[replaced], pbest_cost[replaced]
            s.position, s.current_cost = position, current
        self._gbest(s)

    def _gbest(self, s: Swarm) -> None:
        """The topology's best (Star: the swarm's; Ring: each neighbourhood's)."""
        if self.topology == "ring":
            s.best_pos, s.best_cost = self._topology.compute_gbest(s, p=self.p, k=self.k)
        else:
            s.best_pos, s.best_cost = self._topology.compute_gbest(s)

    def stop(self) -> bool:
        """True when the swarm has collapsed to a point and stopped moving."""
        s = getattr(self, "_swarm", None)
        if s is None or self._pending:
            return False
        if float(np.abs(s.velocity).max()) >= 1e-9:  # the cheaper test first
            return False
        return float(np.ptp(s.position, axis=0).max()) < 1e-9
