"""Parallel integration: several optimizers share the budget, optionally racing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..optimizers.base import Optimizer, Population
from .composite import Composite, fresh

__all__ = ["Portfolio", "either"]


class Portfolio(Composite):
    """Arms run side by side; every ask gathers one batch from each active arm.

    Spelled ``a | b``.  Batches of all arms are evaluated together, so a process pool or
    cluster executor is kept full.  Each arm has a share of the budget (``weights``); an
    arm that used its share, or converged, drops out and its remaining share goes to the
    others.

    Parameters
    ----------
    *arms : Optimizer
    weights : sequence of float, optional
        Budget shares (normalised); equal by default.
    race : bool
        Shift budget away from arms that stop improving: after ``patience`` rounds
        without improving its own best, an arm that is not the leader is dropped and its
        remaining share is handed to the others.
    patience : int
        Rounds without improvement before a racing arm is dropped.

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> r = hl.minimize(p, hl.GA() | hl.PSO(), budget=800, seed=0)
    >>> sorted(set(r.history["phase"]))
    ['ga', 'pso']
    """


    def __init__(self, *arms: Optimizer, weights: Sequence[float] | None = None,
                 race: bool = False, patience: int = 10) -> None:
        if len(arms) < 2:
            raise ValueError("Portfolio needs at least two arms, e.g. GA() | PSO()")
        w = np.ones(len(arms)) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (len(arms),) or (w <= 0).any() or not np.isfinite(w).all():
            raise ValueError(f"weights must be {len(arms)} positive numbers, got {weights!r}")
        if int(patience) != patience or patience < 1:
            raise ValueError(f"patience must be an integer >= 1 (rounds), got {patience!r}")
        self.arms = tuple(fresh(a) for a in arms)
        self.weights = weights
        self.race = race
        self.patience = patience
        self._w = w / w.sum()

    def _parts(self) -> list[Optimizer]:
        return list(self.arms)

    @property
    def name(self) -> str:  # type: ignore[override]
        return "|".join(getattr(a, "name", "?") for a in self.arms)

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        n = len(self.arms)
        self._share = None if budget is None else np.maximum(1, np.floor(self._w * budget))
        for i, arm in enumerate(self.arms):
            self._start_child(fresh(arm), init,
                              None if self._share is None else int(self._share[i]))
        self.active = np.ones(n, dtype=bool)
        self._best = np.full(n, np.inf)
        self._stale = np.zeros(n, dtype=int)

    def _left(self, i: int) -> int | None:
        return None if self._share is None else int(self._share[i]) - self._told_by[i]

    def ask(self) -> np.ndarray:
        return self._collect([(i, self._left(i)) for i in np.flatnonzero(self.active)])

    def _after_tell(self, owners: np.ndarray, y: np.ndarray) -> None:
        for i in np.flatnonzero(self.active):
            mine = y[owners == i]
            if mine.size and mine.min() < self._best[i]:
                self._best[i], self._stale[i] = mine.min(), 0
            else:
                self._stale[i] += 1
        for i in np.flatnonzero(self.active):
            left = self._left(i)
            out = (left is not None and left <= 0) or self.children[i].stop()
            if self.race and not out and self._stale[i] >= self.patience:
                out = self.active.sum() > 1 and i != self._leader()
            if out:
                self._drop(i)

    def _leader(self) -> int:
        return int(np.argmin(np.where(self.active, self._best, np.inf)))

    def _drop(self, i: int) -> None:
        if self.active.sum() == 1:  # the last arm keeps running (the driver owns the budget)
            if self._share is not None:
                self._share[i] += max(0, (self.budget or 0) - self.n_told)
            return
        self.active[i] = False
        self.children[i].close()
        if self._share is not None:  # hand the unused share to the others, by weight
            left = max(0.0, self._share[i] - self._told_by[i])
            self._share[i] = self._told_by[i]
            w = np.where(self.active, self._w, 0.0)
            self._share += np.floor(left * w / w.sum())

    def stop(self) -> bool:
        return bool(all(self.children[i].stop() for i in np.flatnonzero(self.active)))


def either(a: Optimizer, b: Optimizer) -> Portfolio:
    """``a | b``; ``a | b | c`` gives one Portfolio of three equal arms."""
    if isinstance(a, Portfolio) and a.weights is None and not a.race:
        return Portfolio(*a.arms, b)
    return Portfolio(a, b)
