"""Surrogate-assisted evolution: a model screens every population before any real
evaluation.

The classic hybrid of a population method and a model of the objective (Jin, 2005;
"individual-based evolution control"): the inner optimizer (a GA, a swarm, any hybrid)
asks for a whole population as usual; a surrogate fitted on every point evaluated so far
ranks it by a lower confidence bound, and only the best ``1/screen`` of it is evaluated
for real.  The inner optimizer is then told the whole population: the real values of
the evaluated points, and for the others the surrogate's prediction, never better than
the worst real value of the batch (a screened-out point must not outrank one that was
measured).  The population method thus runs ``screen`` times as many generations on the
same number of evaluations, which is what a budget of a few dozen trials needs.

Example
-------
>>> import numpy as np
>>> import hybridlab as hl
>>> p = hl.Problem(lambda x: float(np.sum((x - 0.2) ** 2)), hl.Space.box(4, -1, 1))
>>> r = hl.minimize(p, hl.SurrogateAssisted(hl.GA(pop_size=20)), budget=60, seed=0)
>>> r.n_evals, bool(r.y < 0.05)
(60, True)
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ..optimizers.base import Optimizer, Population, is_int
from ..optimizers.engines import build
from ..optimizers.surrogates import make_surrogate
from ..stepping import phase_labels

__all__ = ["SurrogateAssisted"]


class SurrogateAssisted(Optimizer):
    """Pre-screening of each population by a surrogate model.

    Parameters
    ----------
    optimizer : Optimizer or str
        The population method (a prototype, copied; or a plain engine's name).
    model : {"gp", "mlp"} or object
        The surrogate: :class:`~hybridlab.optimizers.gp.GP`, a neural-network ensemble
        (:class:`~hybridlab.optimizers.surrogates.MLPEnsemble`), or any object with
        ``fit(X, y)`` and ``predict(X) -> (mean, sd)``.
    screen : int
        Candidates per real evaluation: the best ``ceil(n / screen)`` of a population of
        ``n`` by the surrogate are evaluated.
    kappa : float
        Weight of the surrogate's uncertainty in the lower confidence bound
        ``mean - kappa * sd`` that ranks the candidates.
    min_data : int, optional
        Points evaluated for real before the surrogate screens (default
        ``max(5, dim + 1)``): the first populations are evaluated until then.
    """

    def __init__(self, optimizer: Any = "ga", model: Any = "gp", screen: int = 4,
                 kappa: float = 1.0, min_data: int | None = None) -> None:
        self.optimizer = build(optimizer, "optimizer")
        make_surrogate(model)  # checks it early
        for arg, v in (("screen", screen), ("min_data", min_data)):
            if v is not None and (not is_int(v) or v < 1):
                raise ValueError(f"SurrogateAssisted {arg} must be an integer >= 1, got "
                                 f"{v!r}")
        if not kappa >= 0:
            raise ValueError(f"SurrogateAssisted kappa must be >= 0, got {kappa!r}")
        self.model, self.screen, self.kappa, self.min_data = model, screen, kappa, min_data

    @property
    def name(self) -> str:  # type: ignore[override]
        model = self.model if isinstance(self.model, str) else type(self.model).__name__
        return f"sa({getattr(self.optimizer, 'name', 'optimizer')},{model})"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self.inner = copy.deepcopy(self.optimizer)
        hint = None if budget is None else int(budget) * int(self.screen)
        self.inner.start(dim, rng, init, hint)
        self._X = np.empty((0, dim)) if init is None else np.asarray(init.X, float)
        self._y = np.empty(0) if init is None else np.asarray(init.y, float)
        self._model = make_surrogate(copy.deepcopy(self.model), seed=int(rng.integers(2**31)))
        self._need = self.min_data if self.min_data is not None else max(5, dim + 1)
        self._batch: dict[str, Any] | None = None
        self.screened = 0  # candidates the surrogate spared an evaluation

    def ask(self) -> np.ndarray:
        if self._batch is None:
            self._new_batch()
        b = self._batch
        left = b["chosen"][b["told"]:]
        self._labels = [b["labels"][i] for i in left]
        return b["X"][left]

    def _new_batch(self) -> None:
        X = np.atleast_2d(np.asarray(self.inner.ask(), dtype=float))
        labels = phase_labels(self.inner, len(X))
        pred = np.full(len(X), np.nan)
        finite = np.isfinite(self._y)
        n_real = max(math.ceil(len(X) / self.screen), self._need - int(finite.sum()))
        if n_real >= len(X):
            chosen = np.arange(len(X))
        elif finite.sum() < 2:  # no model yet: the first points (a random population)
            chosen = np.arange(n_real)
        else:
            y = self._y[finite]
            mu, sd = self._model.fit(self._X[finite], y).predict(X)
            pred = mu
            chosen = np.sort(np.argsort(mu - self.kappa * sd, kind="stable")[:n_real])
            labels = [f"{lab}+sa" for lab in labels]
        self._batch = {"X": X, "labels": labels, "chosen": chosen, "told": 0,
                       "y": np.full(len(X), np.nan), "pred": pred}

    @property
    def phase(self) -> list[str]:  # type: ignore[override]
        return self._labels

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        X = np.asarray(X, float).reshape(-1, self.dim)
        y = np.asarray(y, float).reshape(-1)
        self._X, self._y = np.vstack([self._X, X]), np.concatenate([self._y, y])
        b = self._batch
        idx = b["chosen"][b["told"]: b["told"] + len(y)]
        b["y"][idx], b["told"] = y, b["told"] + len(y)
        if b["told"] < len(b["chosen"]):
            return  # the driver trimmed a batch: the rest is asked next
        real = b["y"][b["chosen"]]
        worst = float(np.max(real[np.isfinite(real)])) if np.isfinite(real).any() else np.inf
        pred, rest = b["pred"], np.isnan(b["y"])
        if rest.any() and np.isnan(pred[rest]).any():  # screened before a model existed
            finite = np.isfinite(self._y)
            pred = np.full(len(pred), worst)
            if finite.sum() >= 2:
                pred[rest] = self._model.fit(self._X[finite], self._y[finite]).predict(
                    b["X"][rest])[0]
        told = np.where(rest, np.maximum(pred, worst), b["y"])
        self.screened += int(len(told) - len(b["chosen"]))
        self.inner.tell(b["X"], told)
        self._batch = None

    def stop(self) -> bool:
        return self._batch is None and self.inner.stop()

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return (f"SurrogateAssisted({self.optimizer!r}, model={self.model!r}, "
                f"screen={self.screen})")
