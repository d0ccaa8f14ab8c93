"""A small, fast Gaussian process for the model-based hybrids.

The model-based hybrids (:class:`~hybridlab.optimizers.TrustRegion`,
:class:`~hybridlab.SurrogateAssisted`) refit a surrogate after every evaluation, and on
a budget of 60 evaluations the search's own time per trial matters next to a cheap
cross-validation.  scikit-learn's ``GaussianProcessRegressor`` spends most of its time
in validation and kernel bookkeeping (about 20 ms per trial in ``BayesOpt`` at 60 trials,
6 dimensions); this one does the same mathematics in a few numpy calls: a Matérn-5/2
kernel with one length scale per dimension, a signal variance and a noise variance,
fitted by L-BFGS-B on the log marginal likelihood with its analytic gradient, warm
started from the previous fit.  ``y`` is standardised inside.

Example
-------
>>> rng = np.random.default_rng(0)
>>> X = rng.random((30, 2)); y = np.sin(6 * X[:, 0]) + X[:, 1]
>>> gp = GP().fit(X, y)
>>> mu, sd = gp.predict(X[:3])
>>> bool(np.allclose(mu, y[:3], atol=0.05)), bool(np.all(sd < 0.1))
(True, True)
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.linalg.lapack import dpotrf, dpotri, dpotrs
from scipy.optimize import minimize

__all__ = ["GP", "HUGE", "tame_targets"]

_S5 = np.sqrt(5.0)
#: bounds of the log hyperparameters: length scales (on the unit box), signal and
#: noise variance (of the standardised y)
_LOG_LS = (np.log(0.01), np.log(20.0))
_LOG_SIGNAL = (np.log(0.05), np.log(100.0))
_LOG_NOISE = (np.log(1e-6), np.log(0.5))


def _matern(D2: np.ndarray, ls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matérn-5/2 correlation from squared differences ``D2`` (n, m, d), and the common
    factor ``G`` of its derivatives (``dK/dlog l_i = G * D2_i / l_i**2``).  One
    matrix-vector product: summing a (n, m, d) array over its last axis is slower."""
    n, m, d = D2.shape
    r2 = (D2.reshape(-1, d) @ ls**-2.0).reshape(n, m)
    r = np.sqrt(r2)
    e = np.exp(-_S5 * r)
    return (1.0 + _S5 * r + 5.0 / 3.0 * r2) * e, 5.0 / 3.0 * (1.0 + _S5 * r) * e


#: Beyond this magnitude ``np.std`` of a few values overflows; such targets are tamed.
HUGE = 1e150


def tame_targets(y: np.ndarray) -> np.ndarray:
    """Values a surrogate can standardise: ``y`` itself unless some ``|y| > HUGE`` (an
    objective returning 1e308, where ``np.std`` overflows to NaN).  Those are clipped to
    one span beyond the rest (largest + (max - min) of the others, or smallest minus it),
    keeping their order relative to the rest; if every value is huge, their ranks.

    Example
    -------
    >>> tame_targets(np.array([1.0, 3.0, 1e308]))
    array([1., 3., 5.])
    """
    y = np.asarray(y, dtype=float)
    huge = ~(np.abs(y) <= HUGE)
    if not huge.any():
        return y
    rest = y[~huge]
    if rest.size == 0:
        from scipy.stats import rankdata

        return rankdata(y)
    lo, hi = float(rest.min()), float(rest.max())
    span = hi - lo or 1.0
    return np.where(huge, np.where(y > 0, hi + span, lo - span), y)


class GP:
    """Gaussian-process regression with a Matérn-5/2 ARD kernel, fitted by marginal
    likelihood.

    Parameters
    ----------
    refit_every : int
        Re-optimise the hyperparameters after at least this many new points and at least
        an eighth more (warm started from the last ones: with 60 points, every 7th);
        in between, the last hyperparameters are reused.
    noise : bool
        Fit a noise variance (for noisy objectives such as CV scores); ``False`` fixes it
        at 1e-6 of the standardised variance.

    Attributes
    ----------
    length_scales : ndarray, shape (d,)
        The fitted length scales (on the unit box).
    """

    def __init__(self, refit_every: int = 1, noise: bool = True) -> None:
        if refit_every < 1:
            raise ValueError(f"GP refit_every must be >= 1, got {refit_every!r}")
        self.refit_every, self.noise = int(refit_every), bool(noise)
        self._theta: np.ndarray | None = None
        self._fitted_n = -10**9

    def fit(self, X: np.ndarray, y: np.ndarray) -> GP:
        """Fit to points ``X`` (n, d) in the unit box and finite values ``y`` (n,)."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(X) or not np.all(np.isfinite(y)):
            raise ValueError("GP.fit needs one finite value per point")
        y = tame_targets(y)
        self._mean, self._std = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - self._mean) / self._std
        d = X.shape[1]
        D2 = (X[:, None, :] - X[None, :, :]) ** 2
        if self._theta is None or len(self._theta) != d + 2:
            self._theta = np.concatenate([np.full(d, np.log(0.3)), [0.0, np.log(1e-2)]])
            self._fitted_n = -10**9
        if len(y) - self._fitted_n >= max(self.refit_every, self._fitted_n // 8) \
                and len(y) >= 3:
            self._theta = self._optimise(D2, z, self._theta)
            self._fitted_n = len(y)
        self._X, self._z = X, z
        self._factor(D2, self._theta)
        return self

    @property
    def length_scales(self) -> np.ndarray:
        return np.exp(self._theta[:-2])

    def _bounds(self, d: int) -> list[tuple[float, float]]:
        noise = _LOG_NOISE if self.noise else (_LOG_NOISE[0], _LOG_NOISE[0])
        return [_LOG_LS] * d + [_LOG_SIGNAL, noise]

    def _optimise(self, D2: np.ndarray, z: np.ndarray, theta0: np.ndarray) -> np.ndarray:
        bounds = self._bounds(D2.shape[-1])
        theta0 = np.clip(theta0, [b[0] for b in bounds], [b[1] for b in bounds])
        res = minimize(self._nll, theta0, args=(D2, z), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": 50})
        return res.x if np.all(np.isfinite(res.x)) else theta0

    @staticmethod
    def _nll(theta: np.ndarray, D2: np.ndarray, z: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood and its gradient in the log hyperparameters
        (LAPACK directly: this runs some thirty times per fit)."""
        n, d = len(z), D2.shape[-1]
        s2, s2n = np.exp(theta[d]), np.exp(theta[d + 1])
        ls = np.exp(theta[:d])
        C, G = _matern(D2, ls)
        K = s2 * C
        K.flat[:: n + 1] += s2n + 1e-8
        L, info = dpotrf(K, lower=1, clean=1)
        if info:
            return 1e10, np.zeros_like(theta)
        alpha, _ = dpotrs(L, z, lower=1)
        Kinv, _ = dpotri(L, lower=1)
        Kinv = Kinv + Kinv.T - np.diag(np.diag(Kinv))  # dpotri fills the lower half
        nll = 0.5 * z @ alpha + np.log(np.diag(L)).sum() + 0.5 * n * np.log(2 * np.pi)
        W = np.outer(alpha, alpha) - Kinv
        grad = np.empty_like(theta)
        grad[:d] = -0.5 * ((W * (s2 * G)).reshape(-1) @ D2.reshape(-1, d)) / ls**2
        grad[d] = -0.5 * np.sum(W * (s2 * C))
        grad[d + 1] = -0.5 * s2n * np.trace(W)
        return float(nll), grad

    def _factor(self, D2: np.ndarray, theta: np.ndarray) -> None:
        d = D2.shape[-1]
        C = _matern(D2, np.exp(theta[:d]))[0]
        self._s2, s2n = np.exp(theta[d]), np.exp(theta[d + 1])
        K = self._s2 * C + (s2n + 1e-8) * np.eye(len(self._z))
        jitter = 1e-8
        while True:
            try:
                self._L = np.linalg.cholesky(K + jitter * np.eye(len(K)))
                break
            except np.linalg.LinAlgError:
                jitter *= 10
        self._alpha = cho_solve((self._L, True), self._z)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (of the latent function) at ``X``, in
        the units of ``y``."""
        ls = self.length_scales
        A, B = np.atleast_2d(np.asarray(X, dtype=float)) / ls, self._X / ls
        r2 = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2.0 * A @ B.T
        r = np.sqrt(np.maximum(r2, 0.0))  # the Matérn-5/2 of _matern, without (m, n, d)
        Kx = self._s2 * (1.0 + _S5 * r + 5.0 / 3.0 * r**2) * np.exp(-_S5 * r)
        mu = Kx @ self._alpha
        v = solve_triangular(self._L, Kx.T, lower=True)
        var = np.maximum(self._s2 - np.sum(v**2, axis=0), 1e-12)
        return self._mean + self._std * mu, self._std * np.sqrt(var)

    def __repr__(self) -> str:
        return f"GP(refit_every={self.refit_every}, noise={self.noise})"
