"""Trust-region Bayesian optimization (TuRBO-style): a model-based local phase with
restarts.

Global Bayesian optimization spends late evaluations exploring corners a 60-trial budget
never comes back to; a local search with a model spends them near the incumbent.
:class:`TrustRegion` does the second: a Gaussian process (:class:`~.gp.GP`) fitted on
*every* point seen (its own, a warm start's, a previous stage's), and each new point
chosen by expected improvement among candidates inside a box around the incumbent.  The
box is stretched along the axes the model finds long (its length scales), doubles after
``success_tol`` improvements in a row and halves after ``failure_tol`` failures; when it
has shrunk below ``min_length`` the region has collapsed, and the search *restarts*: a
few global expected-improvement steps over the whole box, on the same model, and the
next region is centred on the best of the points found from then on.  This is TuRBO-1
(Eriksson et al., NeurIPS 2019) with two changes for small budgets: expected improvement
instead of Thompson sampling, and restarts that keep the model instead of a fresh design.

Used alone it starts with a small Latin-hypercube design and ``global_steps`` global
expected-improvement steps (a global model-based phase handing its incumbent and model
to the local phase); after another stage (``"optuna_tpe >> trust_region"``) it starts
from that stage's points.

Example
-------
>>> import numpy as np
>>> from hybridlab import Problem, Space, minimize
>>> p = Problem(lambda x: float(np.sum((x - 0.3) ** 2)), Space.box(3, -1, 1))
>>> r = minimize(p, TrustRegion(), budget=30, seed=0)
>>> bool(r.y < 1e-3), r.n_evals
(True, 30)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from .base import Optimizer, Population, is_int
from .bayes import _single_threaded, expected_improvement
from .gp import GP

__all__ = ["TrustRegion"]


class TrustRegion(Optimizer):
    """TuRBO-style trust-region Bayesian optimization with model-keeping restarts.

    Parameters
    ----------
    n_init : int, optional
        Latin-hypercube points before the model takes over (default
        ``min(max(4, dim + 1), budget // 3)``); points handed in by ``init`` count
        towards it.
    global_steps : int
        Global expected-improvement steps (over the whole box) after the design and after
        every restart, before the trust region is centred on the incumbent.
    length, min_length, max_length : float
        Initial, collapse and largest edge of the trust region on the unit box (before
        the stretch by the length scales).
    success_tol : int
        Improvements in a row that double the region.
    failure_tol : int, optional
        Non-improving evaluations in a row that halve it (default ``max(4, dim)``, as in
        TuRBO with batches of one).
    candidates : int
        Candidate points per pick at which expected improvement is computed.
    batch_size : int
        Points per ask; the later points of a batch are picked by the kriging believer
        rule (the model's mean taken as the value of the points already picked).
    """

    name = "trust_region"

    def __init__(self, n_init: int | None = None, global_steps: int = 0, length: float = 0.8,
                 min_length: float = 2.0**-7, max_length: float = 1.6,
                 success_tol: int = 3, failure_tol: int | None = None,
                 candidates: int = 512, batch_size: int = 1) -> None:
        for arg, v, lo in (("n_init", n_init, 1), ("global_steps", global_steps, 0),
                           ("success_tol", success_tol, 1), ("failure_tol", failure_tol, 1),
                           ("candidates", candidates, 16), ("batch_size", batch_size, 1)):
            if v is not None and (not is_int(v) or v < lo):
                raise ValueError(f"TrustRegion {arg} must be an integer >= {lo}, got {v!r}")
        if not 0 < min_length < length <= max_length:
            raise ValueError(f"TrustRegion needs 0 < min_length < length <= max_length, got "
                             f"{min_length!r}, {length!r}, {max_length!r}")
        self.n_init, self.global_steps = n_init, global_steps
        self.length, self.min_length, self.max_length = length, min_length, max_length
        self.success_tol, self.failure_tol = success_tol, failure_tol
        self.candidates, self.batch_size = candidates, batch_size

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        n0 = self.n_init if self.n_init is not None else max(4, dim + 1)
        if self.n_init is None and budget is not None:
            n0 = max(2, min(n0, budget // 3))
        self._X = np.empty((0, dim)) if init is None else np.asarray(init.X, float)
        self._y = np.empty(0) if init is None else np.asarray(init.y, float)
        n_lhs = max(0, n0 - len(self._y))
        self._design = (qmc.LatinHypercube(d=dim, seed=int(rng.integers(2**32))).random(n_lhs)
                        if n_lhs else np.empty((0, dim)))
        self._fail_tol = self.failure_tol or max(4, dim)
        self._gp = GP()
        self._restart()
        self._origin = 0  # the region is centred on the best point from here on
        self.restarts = 0

    def _restart(self) -> None:
        self._L, self._succ, self._fail = float(self.length), 0, 0
        self._global_left = int(self.global_steps)

    # -- asking --------------------------------------------------------------------------
    def ask(self) -> np.ndarray:
        if len(self._design):
            X, self._design = self._design[: self.batch_size], self._design[self.batch_size:]
            self._phase = "design"
            return X
        finite = np.isfinite(self._y)
        if finite.sum() < 2:
            self._phase = "design"
            return self.rng.random((self.batch_size, self.dim))
        # the model's matrices are small: BLAS threads only cost here, and a lot when the
        # cores are busy with the objective (as in BayesOpt)
        with _single_threaded():
            return self._ask_model(finite)

    def _ask_model(self, finite: np.ndarray) -> np.ndarray:
        glob = self._global_left > 0
        self._phase = "tr-global" if glob else self.name
        X, y = self._X, np.where(finite, self._y, np.max(self._y[finite]))
        picks: list[np.ndarray] = []
        for _ in range(int(self.batch_size)):
            gp = self._gp.fit(X, y)
            cand = self.rng.random((self.candidates, self.dim)) if glob else \
                self._region_candidates(X, y, gp.length_scales)
            mu, sd = gp.predict(cand)
            x = cand[int(np.argmax(expected_improvement(mu, sd, float(np.min(y)))))]
            picks.append(x)
            if len(picks) < self.batch_size:  # the believer's value for the next pick
                X, y = np.vstack([X, x]), np.append(y, gp.predict(x[None, :])[0][0])
        return np.array(picks)

    def _region_candidates(self, X: np.ndarray, y: np.ndarray,
                           ls: np.ndarray) -> np.ndarray:
        """Uniform points in the region around the incumbent, each perturbing a random
        subset of the coordinates (about 20 of them in many dimensions).  (TuRBO draws
        scrambled Sobol points; with a few hundred candidates per pick the scrambling
        cost more than the model, for no measurable gain.)"""
        o = self._origin if self._origin < len(y) else 0
        centre = X[o + int(np.argmin(y[o:]))]
        w = ls / np.exp(np.mean(np.log(ls)))  # stretch by the length scales, volume kept
        half = np.clip(self._L * w / 2.0, 0.0, 0.5)
        lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
        n = int(self.candidates)
        pert = lo + (hi - lo) * self.rng.random((n, self.dim))
        mask = self.rng.random((n, self.dim)) <= min(1.0, 20.0 / self.dim)
        mask[np.arange(n), self.rng.integers(self.dim, size=n)] = True
        return np.where(mask, pert, centre)

    # -- telling -------------------------------------------------------------------------
    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        X = np.asarray(X, float).reshape(-1, self.dim)
        y = np.asarray(y, float).reshape(-1)
        finite = self._y[self._origin:][np.isfinite(self._y[self._origin:])]
        before = float(np.min(finite)) if finite.size else np.inf
        super().tell(X, y)
        self._X, self._y = np.vstack([self._X, X]), np.concatenate([self._y, y])
        if self._phase == "design":
            return
        if self._phase == "tr-global":
            self._global_left -= 1
            return
        improved = bool(np.any(y < before - 1e-3 * abs(before)))
        self._succ, self._fail = (self._succ + 1, 0) if improved else (0, self._fail + 1)
        if self._succ >= self.success_tol:
            self._L, self._succ = min(2.0 * self._L, self.max_length), 0
        elif self._fail >= self._fail_tol:
            self._L, self._fail = self._L / 2.0, 0
        if self._L < self.min_length:  # collapsed: global steps on the same model, anew
            self._restart()
            self._global_left = max(1, int(self.global_steps))
            self._origin = len(self._y)  # a new region around what the restart finds
            self.restarts += 1

    @property
    def phase(self) -> str:
        return self._phase
