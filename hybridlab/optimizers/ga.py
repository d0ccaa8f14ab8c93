"""A real-coded genetic algorithm on DEAP's operators, with ask/tell stepping.

DEAP supplies the variation and selection operators (``selTournament``,
``cxSimulatedBinaryBounded``, ``mutPolynomialBounded``); hybridlab supplies the loop.  No
``deap.creator`` globals: the individual type is local to this module.  DEAP's operators
draw from the global :mod:`random` module, so the GA swaps its own state in around them
and leaves the caller's untouched (see :mod:`hybridlab.optimizers._rng`).
"""

from __future__ import annotations

import random

import numpy as np
from deap import base, tools

from ._rng import private_rng
from .base import Optimizer, Population

__all__ = ["GA"]


class _Fitness(base.Fitness):
    weights = (-1.0,)  # minimisation


class _Individual(list):
    """A list of genes with a DEAP fitness, built here instead of ``creator.create``."""

    __slots__ = ("fitness",)

    def __init__(self, genes: np.ndarray | list[float]) -> None:
        super().__init__(genes)
        self.fitness = _Fitness()


class GA(Optimizer):
    """Generational GA with tournament selection, SBX crossover, polynomial mutation
    and elitism, on the unit box.

    Parameters
    ----------
    pop_size : int
        Individuals per generation (each ``ask`` returns that many offspring).
    cxpb : float
        Probability that a pair of parents is crossed over.
    eta_cx, eta_mut : float
        Distribution indices of SBX crossover and polynomial mutation (larger = offspring
        closer to their parents).
    indpb : float, optional
        Per-gene mutation probability (default ``1 / dim``).
    mutpb : float
        Probability that an offspring is mutated.
    tournsize : int
        Tournament size of the parent selection.
    elitism : int
        Best individuals of the previous generation that survive unchanged.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import GA, Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(4, -5, 5))
    >>> r = minimize(p, GA(pop_size=40), budget=2000, seed=0)
    >>> r.y < 0.05
    True
    """

    name = "ga"

    def __init__(self, pop_size: int = 50, cxpb: float = 0.9, eta_cx: float = 15.0,
                 eta_mut: float = 20.0, indpb: float | None = None, mutpb: float = 1.0,
                 tournsize: int = 3, elitism: int = 2) -> None:
        self.pop_size = pop_size
        self.cxpb = cxpb
        self.eta_cx = eta_cx
        self.eta_mut = eta_mut
        self.indpb = indpb
        self.mutpb = mutpb
        self.tournsize = tournsize
        self.elitism = elitism
        self._check()

    def _check(self) -> None:
        if int(self.pop_size) != self.pop_size or self.pop_size < 2:
            raise ValueError(f"GA pop_size must be an integer >= 2, got {self.pop_size!r}")
        for name in ("cxpb", "mutpb"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"GA {name} is a probability in [0, 1], got {v!r}")
        if self.indpb is not None and not 0.0 < self.indpb <= 1.0:
            raise ValueError(f"GA indpb must be in (0, 1] or None (1/dim), got {self.indpb!r}")
        if self.eta_cx <= 0 or self.eta_mut <= 0:
            raise ValueError("GA eta_cx and eta_mut must be > 0 (typical: 10-30)")
        if int(self.tournsize) != self.tournsize or self.tournsize < 1:
            raise ValueError(f"GA tournsize must be an integer >= 1, got {self.tournsize!r}")
        if not 0 <= self.elitism < self.pop_size:
            raise ValueError(f"GA elitism must be in [0, pop_size), got {self.elitism!r}")

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self._private_rng = private_rng(random.Random(int(rng.integers(2**63))))
        n = int(self.pop_size)
        seeds = init.X[:n] if init is not None else np.empty((0, dim))
        fill = rng.random((n - len(seeds), dim))
        self._pending = [_Individual(row) for row in np.vstack([seeds, fill]).tolist()]
        self._parents: list[_Individual] = []

    def ask(self) -> np.ndarray:
        if not self._pending:
            self._pending = self._breed()
        return np.array(self._pending, dtype=float)

    def _breed(self) -> list[_Individual]:
        parents = self._parents
        n, indpb = int(self.pop_size), self.indpb or 1.0 / self.dim
        with self._private_rng:
            chosen = tools.selTournament(parents, n, tournsize=self.tournsize)
            kids = [_Individual(ind) for ind in chosen]
            for a, b in zip(kids[::2], kids[1::2], strict=False):
                if random.random() < self.cxpb:
                    tools.cxSimulatedBinaryBounded(a, b, self.eta_cx, 0.0, 1.0)
            for kid in kids:
                if random.random() < self.mutpb:
                    tools.mutPolynomialBounded(kid, self.eta_mut, 0.0, 1.0, indpb)
        return kids

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        told = self._pending[: len(y)]
        for ind, val in zip(told, np.asarray(y, dtype=float), strict=True):
            ind.fitness.values = (val,)
        self._pending = []
        n, k = int(self.pop_size), int(self.elitism)
        if not self._parents:  # the initial population
            self._parents = sorted(told, key=_key)
            return
        elite = sorted(self._parents, key=_key)[:k]
        self._parents = sorted(elite + sorted(told, key=_key)[: n - k], key=_key)

    def stop(self) -> bool:
        """Converged when the population has collapsed onto one point."""
        if len(self._parents) < 2 or _key(self._parents[0]) != _key(self._parents[-1]):
            return False
        P = np.asarray(self._parents, dtype=float)
        return bool(np.ptp(P, axis=0).max() < 1e-12)


def _key(ind: _Individual) -> float:
    return ind.fitness.values[0]
