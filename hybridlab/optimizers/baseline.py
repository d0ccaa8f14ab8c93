"""Reference searches for every study: random search, grid, Latin hypercube."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import qmc

from .base import Optimizer, Population

__all__ = ["Grid", "LatinHypercube", "RandomSearch"]


def _check_batch(name: str, batch_size: int) -> None:
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"{name} batch_size must be an integer >= 1, got {batch_size!r}")


class RandomSearch(Optimizer):
    """Uniform random points of the unit box, ``batch_size`` per ask.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import Problem, RandomSearch, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -1, 1))
    >>> minimize(p, RandomSearch(batch_size=10), budget=100, seed=0).n_evals
    100
    """

    name = "random"

    def __init__(self, batch_size: int = 10) -> None:
        _check_batch("RandomSearch", batch_size)
        self.batch_size = batch_size

    def ask(self) -> np.ndarray:
        return self.rng.random((int(self.batch_size), self.dim))


class LatinHypercube(Optimizer):
    """Batches of a scrambled Latin hypercube (``scipy.stats.qmc``): each batch of
    ``batch_size`` points covers every axis evenly.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import LatinHypercube, Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -1, 1))
    >>> minimize(p, LatinHypercube(batch_size=20), budget=40, seed=0).n_evals
    40
    """

    name = "lhs"

    def __init__(self, batch_size: int = 20) -> None:
        _check_batch("LatinHypercube", batch_size)
        self.batch_size = batch_size

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self._sampler = qmc.LatinHypercube(d=dim, rng=rng)

    def ask(self) -> np.ndarray:
        return self._sampler.random(int(self.batch_size))


class Grid(Optimizer):
    """Full factorial grid with ``levels`` cell centres per axis, in batches.

    Centres ``(i + 0.5) / levels`` fall in the middle of an Integer's or a Categorical's
    slice when ``levels`` equals its number of values.  ``stop()`` is True once the grid is
    exhausted.  Refuses grids of more than ``max_points`` points (a 10-d grid with 10
    levels has 10^10 points).

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import Grid, Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -1, 1))
    >>> r = minimize(p, Grid(levels=5), budget=100, seed=0)
    >>> r.n_evals, r.stopped
    (25, 'converged')
    """

    name = "grid"

    def __init__(self, levels: int = 5, batch_size: int = 25,
                 max_points: int = 10_000_000) -> None:
        if int(levels) != levels or levels < 1:
            raise ValueError(f"Grid levels must be an integer >= 1, got {levels!r}")
        _check_batch("Grid", batch_size)
        self.levels = levels
        self.batch_size = batch_size
        self.max_points = max_points

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        size = int(self.levels) ** dim
        if size > self.max_points:
            raise ValueError(f"Grid of {self.levels}^{dim} = {size} points exceeds "
                             f"max_points={self.max_points}; use fewer levels, or random/lhs")
        axis = (np.arange(self.levels) + 0.5) / self.levels
        self._points = itertools.product(axis, repeat=dim)
        self._left = size

    def ask(self) -> np.ndarray:
        n = min(int(self.batch_size), max(self._left, 1))
        batch = list(itertools.islice(self._points, n))
        if not batch:  # exhausted but asked again: repeat the centre (stop() is True)
            return np.full((1, self.dim), 0.5)
        self._left -= len(batch)
        return np.array(batch, dtype=float)

    def stop(self) -> bool:
        return self._left <= 0
