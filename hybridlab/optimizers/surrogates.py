"""Surrogate models of the objective for the model-based hybrids.

A surrogate here is anything with ``fit(X, y) -> self`` and ``predict(X) -> (mean, sd)``
on points of the unit box: :class:`~.gp.GP` (a Gaussian process, the default), or
:class:`MLPEnsemble`, a small neural-network ensemble (scikit-learn's
``MLPRegressor``), whose spread between members stands in for the uncertainty.
:func:`make_surrogate` turns a name into one.

Example
-------
>>> rng = np.random.default_rng(0)
>>> X = rng.random((40, 2)); y = (X ** 2).sum(1)
>>> mu, sd = make_surrogate("mlp", seed=0).fit(X, y).predict(X[:2])
>>> mu.shape, bool(np.all(sd >= 0))
((2,), True)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .gp import GP, tame_targets

__all__ = ["SURROGATES", "MLPEnsemble", "make_surrogate"]

#: the names :func:`make_surrogate` knows
SURROGATES = ("gp", "mlp")


class MLPEnsemble:
    """Bootstrap ensemble of small multi-layer perceptrons as a surrogate.

    Parameters
    ----------
    members : int
        Networks in the ensemble, each fitted on a bootstrap sample of the data.
    hidden : tuple of int
        Hidden layer sizes.
    alpha : float
        L2 penalty of each network.
    seed : int
        Seeds the bootstrap samples and the networks' initialisation.
    """

    def __init__(self, members: int = 5, hidden: tuple[int, ...] = (32, 32),
                 alpha: float = 1e-2, seed: int = 0) -> None:
        if members < 2:
            raise ValueError(f"MLPEnsemble members must be >= 2 (their spread is the "
                             f"uncertainty), got {members!r}")
        self.members, self.hidden, self.alpha, self.seed = members, hidden, alpha, seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> MLPEnsemble:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        X, y = np.asarray(X, float), tame_targets(np.asarray(y, float).reshape(-1))
        self._mean, self._std = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - self._mean) / self._std
        rng = np.random.default_rng(self.seed)
        self._nets = []
        for k in range(self.members):
            idx = rng.integers(len(y), size=len(y))
            net = MLPRegressor(hidden_layer_sizes=self.hidden, alpha=self.alpha,
                               solver="lbfgs", max_iter=300,
                               random_state=self.seed + k)
            with warnings.catch_warnings():
                # lbfgs stops at max_iter on a few dozen points: an early stop is a
                # smoother surrogate, not a failure
                warnings.simplefilter("ignore", ConvergenceWarning)
                self._nets.append(net.fit(X[idx], z[idx]))
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P = np.array([net.predict(np.atleast_2d(X)) for net in self._nets])
        return self._mean + self._std * P.mean(0), self._std * (P.std(0) + 1e-6)

    def __repr__(self) -> str:
        return f"MLPEnsemble(members={self.members}, hidden={self.hidden})"


def make_surrogate(model: Any, seed: int = 0) -> Any:
    """A fresh surrogate for a name of :data:`SURROGATES`, or the object itself (it must
    have ``fit`` and ``predict``)."""
    if model == "gp":
        return GP()
    if model == "mlp":
        return MLPEnsemble(seed=seed)
    if hasattr(model, "fit") and hasattr(model, "predict"):
        return model
    raise ValueError(f"surrogate model must be one of {SURROGATES} or an object with "
                     f"fit(X, y) and predict(X) -> (mean, sd), got {model!r}")
