"""Bayesian optimization: a Gaussian-process surrogate with expected improvement.

For expensive objectives (a cross-validated model fit, a training run) the few points one
can afford are best spent where a surrogate model expects improvement.  The surrogate is
scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor` (Matern 5/2
with one length scale per dimension, plus a white-noise term because CV scores are
noisy); expected improvement is maximised over random points of the unit box and
perturbations of the best points found so far.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
from scipy.stats import norm, qmc, rankdata

from .base import Optimizer, Population, is_int
from .engines import build, run
from .gp import tame_targets

__all__ = ["BayesOpt", "expected_improvement"]


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, best: float,
                         xi: float = 0.0) -> np.ndarray:
    """Expected improvement below ``best`` (minimisation) of a normal prediction.

    Example
    -------
    >>> float(expected_improvement(np.array([0.0]), np.array([1.0]), best=0.0)[0])
    0.398942...
    """
    sigma = np.maximum(sigma, 1e-12)
    z = (best - mu - xi) / sigma
    return (best - mu - xi) * norm.cdf(z) + sigma * norm.pdf(z)


def _lbfgs(maxiter: int):
    """L-BFGS-B for the kernel's hyperparameters with an iteration cap: a warm start
    from the last hyperparameters needs only a few iterations."""
    from scipy.optimize import minimize

    def optimize(obj_func, initial_theta, bounds):
        res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds,
                       options={"maxiter": maxiter})
        return res.x, res.fun

    return optimize


_CONTROLLER = None


def _single_threaded():
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:  # inspecting the loaded libraries once is enough
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


class BayesOpt(Optimizer):
    """GP-EI Bayesian optimization on the unit box.

    Parameters
    ----------
    n_init : int, optional
        Points of a scrambled Latin hypercube before the surrogate takes over (default
        ``max(5, 2 * dim)``, capped at a third of the budget).  Points of a warm start
        (``init``) count towards it.
    batch_size : int
        Points per ask.  With more than one, the later points of a batch are chosen by
        the *kriging believer* rule (the surrogate's mean is taken as the value of the
        points already picked), so a batch can be evaluated in parallel.
    candidates : int
        Points at which expected improvement is computed per pick: half uniform in the
        box, half gaussian perturbations of the five best points.
    xi : float
        Exploration margin of expected improvement, in units of the standardised ``y``.
    inner : str or Optimizer, optional
        A *nested* hybrid: after the candidates, maximise expected improvement further
        with this optimizer (a plain engine's name such as ``"local"``, or an object such
        as ``PSO() >> LocalSearch()`` or ``hybridlab.make("pso>>local")``), started from
        the ten best candidates, for ``inner_budget`` surrogate evaluations per pick (a
        copy is run by :func:`hybridlab.optimizers.engines.run`).  The acquisition is cheap and
        smooth, the kind of problem the population-then-gradient hybrids are made for;
        it pays off when the space has many dimensions (random candidates cover it
        thinly).
    inner_budget : int
        Surrogate evaluations of the inner optimizer per pick.
    inner_min_dim : int
        Use the inner optimizer only from this many dimensions on (below, 2000 random and
        local candidates already cover the box and the inner search only costs time).
    warp : {"none", "copula"}
        ``"copula"`` fits the surrogate to the normal scores of the values' ranks
        instead of the values: robust to plateaus, cliffs and outliers (a CV accuracy
        that collapses for bad hyperparameters), at the cost of the values' magnitudes.
    refit_every : int
        Re-optimise the kernel's hyperparameters every this many told points (warm
        started from the last ones, so a refit costs a few milliseconds); in between the
        surrogate is refitted with the last kernel.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum((x - 0.3) ** 2)), Space.box(2, -1, 1))
    >>> r = minimize(p, BayesOpt(), budget=25, seed=0)
    >>> bool(r.y < 1e-2)
    True
    """

    name = "bayes"

    def __init__(self, n_init: int | None = None, batch_size: int = 1, candidates: int = 2000,
                 xi: float = 0.01, refit_every: int = 2, inner: Any = None,
                 inner_budget: int = 400, inner_min_dim: int = 1, warp: str = "none"
                 ) -> None:
        for arg, v, lo in (("n_init", n_init, 1), ("batch_size", batch_size, 1),
                           ("candidates", candidates, 10), ("refit_every", refit_every, 1)):
            if v is not None and (not is_int(v) or v < lo):
                raise ValueError(f"BayesOpt {arg} must be an integer >= {lo}, got {v!r}")
        if not xi >= 0:
            raise ValueError(f"BayesOpt xi must be >= 0, got {xi!r}")
        if not is_int(inner_budget) or inner_budget < 10:
            raise ValueError(f"BayesOpt inner_budget must be an integer >= 10, got "
                             f"{inner_budget!r}")
        if inner is not None:
            build(inner, "BayesOpt inner")  # checks it early
        self.n_init, self.batch_size, self.candidates = n_init, batch_size, candidates
        self.xi, self.refit_every = float(xi), refit_every
        if not is_int(inner_min_dim) or inner_min_dim < 1:
            raise ValueError(f"BayesOpt inner_min_dim must be an integer >= 1, got "
                             f"{inner_min_dim!r}")
        self.inner, self.inner_budget, self.inner_min_dim = inner, inner_budget, inner_min_dim
        if warp not in ("none", "copula"):
            raise ValueError(f"BayesOpt warp must be 'none' or 'copula', got {warp!r}")
        self.warp = warp
        if inner is not None:
            self.name = f"bayes[{inner if isinstance(inner, str) else inner.name}]"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        n0 = self.n_init if self.n_init is not None else max(5, 2 * self.dim)
        if self.n_init is None and budget is not None:
            n0 = max(2, min(n0, budget // 3))
        self._X = np.empty((0, dim)) if init is None else np.asarray(init.X, float)
        self._y = np.empty(0) if init is None else np.asarray(init.y, float)
        n_lhs = max(0, n0 - len(self._y))
        seed = int(rng.integers(2**32))
        self._design = qmc.LatinHypercube(d=dim, seed=seed).random(n_lhs) if n_lhs else \
            np.empty((0, dim))
        self._gp = None
        self._fitted_at = -10**9
        self._phase = "lhs"

    def ask(self) -> np.ndarray:
        if len(self._design):
            X, self._design = self._design[: self.batch_size], self._design[self.batch_size:]
            self._phase = "lhs"
            return X
        # the surrogate's matrices are small: BLAS threads only cost here, and a lot when
        # the cores are busy with the objective (n_jobs workers)
        with _single_threaded():
            return self._ask_model()

    def _ask_model(self) -> np.ndarray:
        self._phase = self.name
        finite = np.isfinite(self._y)
        if finite.sum() < 2:
            return self.rng.random((self.batch_size, self.dim))
        X, y = self._X, np.where(finite, self._y, np.max(self._y[finite]))
        if self.warp == "copula":  # ranks -> normal scores: plateaus and cliffs flatten
            y = norm.ppf((rankdata(y) - 0.5) / len(y))
        picks: list[np.ndarray] = []
        for _ in range(int(self.batch_size)):
            gp, mean, std = self._fit(X, y, believer=bool(picks))
            cand = self._candidates(X, y)
            mu, sd = gp.predict(cand, return_std=True)
            best = float(np.min((y - mean) / std))
            ei = expected_improvement(mu, sd, best, self.xi)
            x = cand[int(np.argmax(ei))]
            if self.inner is not None and self.dim >= self.inner_min_dim:
                x = self._maximise_inner(gp, best, cand[np.argsort(-ei)[:10]], x)
            picks.append(x)
            X = np.vstack([X, x])
            y = np.append(y, mean + std * float(gp.predict(x[None, :])[0]))
        return np.array(picks)

    def _maximise_inner(self, gp, best: float, starts: np.ndarray,
                        x: np.ndarray) -> np.ndarray:
        """Nested hybrid: maximise EI with another hybridlab optimizer, from the best
        candidates.  ``log EI`` is the objective: EI itself is flat (zero) far from data."""
        def neg_log_ei(U: np.ndarray) -> np.ndarray:
            mu, sd = gp.predict(np.asarray(U), return_std=True)
            return -np.log(expected_improvement(mu, sd, best, self.xi) + 1e-300)

        opt = copy.deepcopy(build(self.inner, "BayesOpt inner"))
        rng = np.random.default_rng(np.random.SeedSequence(int(self.rng.integers(2**32))))
        x_best, y_best = run(opt, neg_log_ei, self.dim, int(self.inner_budget), rng,
                             init=starts)
        return np.clip(x_best, 0.0, 1.0) if np.isfinite(y_best) else x

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        self._X = np.vstack([self._X, np.asarray(X, float).reshape(-1, self.dim)])
        self._y = np.concatenate([self._y, np.asarray(y, float).reshape(-1)])

    @property
    def phase(self) -> str:
        return self._phase

    # -- the surrogate -------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray, believer: bool):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        y = tame_targets(y)
        mean, std = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - mean) / std
        refit = not believer and len(y) - self._fitted_at >= self.refit_every
        ard = len(y) >= 5 * self.dim  # one length scale per axis once data allow it
        if self._gp is None:  # the one cold start: a few restarts
            kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
                length_scale=0.3, length_scale_bounds=(0.03, 30.0), nu=2.5
            ) + WhiteKernel(1e-2, (1e-6, 1.0))
            self._ard, refit, restarts = False, True, 2
        else:  # warm start from the last hyperparameters: a few cheap iterations
            kernel, restarts = self._gp.kernel_, 0
            if refit and ard and not self._ard:  # isotropic -> one scale per axis
                amp, matern, white = kernel.k1.k1, kernel.k1.k2, kernel.k2
                kernel = amp * Matern(np.full(self.dim, matern.length_scale),
                                      matern.length_scale_bounds, nu=2.5) + white
                self._ard = True
        gp = GaussianProcessRegressor(
            kernel, normalize_y=False, optimizer=_lbfgs(60 if restarts else 15) if refit
            else None,
            n_restarts_optimizer=restarts, random_state=int(self.rng.integers(2**31)))
        with warnings.catch_warnings():
            # on a few points the marginal likelihood often peaks at a length-scale bound;
            # sklearn warns each fit, the bounded fit is what is wanted here
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(X, z)
        if not believer:
            self._gp = gp
            if refit:
                self._fitted_at = len(y)
        return gp, mean, std

    def _candidates(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        n = int(self.candidates)
        best = X[np.argsort(y, kind="stable")[:5]]
        centres = best[self.rng.integers(len(best), size=n // 2)]
        scale = self.rng.choice([0.02, 0.08, 0.2], size=(n // 2, 1))
        local = np.clip(centres + scale * self.rng.standard_normal((n // 2, self.dim)), 0, 1)
        return np.vstack([self.rng.random((n - n // 2, self.dim)), local])
