"""The island model: copies of one optimizer evolve apart and exchange their best."""

from __future__ import annotations

import numpy as np

from ..optimizers.base import Optimizer, Population
from .composite import Composite, fresh

__all__ = ["Islands"]

TOPOLOGIES = ("ring", "complete", "random")


#: the most islands one :class:`Islands` builds (each is a full copy of its optimizer)
MAX_ISLANDS = 256


class Islands(Composite):
    """``n_islands`` independent copies of ``opt``; every ``migrate_every`` rounds each
    island sends its ``n_migrants`` best points to its neighbours, which take them in
    through :meth:`~hybridlab.optimizers.base.Optimizer.inject` (GA and PSO replace
    their worst members).  Spelled ``opt * n``.

    Parameters
    ----------
    opt : Optimizer
        Prototype of every island (copied).
    n_islands : int
        2 to :data:`MAX_ISLANDS` (256): each island is a full copy of ``opt`` with its own
        population, and more islands than that only exhaust memory (``ga * 10**6`` in a
        spec would build a million GAs before the first evaluation).
    migrate_every : int
        Rounds (asks of every island) between migrations.
    n_migrants : int
        Best points each island sends.
    topology : {"ring", "complete", "random"}
        Island ``i`` sends to ``i + 1`` (ring), to all others (complete), or to one other
        island drawn at random at each migration.

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> r = hl.minimize(p, hl.GA(pop_size=20) * 3, budget=600, seed=0)
    >>> sorted(set(r.history["phase"]))
    ['ga[0]', 'ga[1]', 'ga[2]']
    """

    def __init__(self, opt: Optimizer, n_islands: int = 4, migrate_every: int = 5,
                 n_migrants: int = 2, topology: str = "ring") -> None:
        for label, v, low in (("n_islands", n_islands, 2), ("migrate_every", migrate_every, 1),
                              ("n_migrants", n_migrants, 1)):
            if int(v) != v or v < low:
                raise ValueError(f"Islands {label} must be an integer >= {low}, got {v!r}")
        if n_islands > MAX_ISLANDS:
            raise ValueError(f"Islands n_islands must be at most {MAX_ISLANDS} (each island "
                             f"is a full copy of the optimizer), got {n_islands!r}")
        if topology not in TOPOLOGIES:
            raise ValueError(f"unknown topology {topology!r}; choose one of {list(TOPOLOGIES)}")
        self.opt = fresh(opt)
        self.n_islands = int(n_islands)
        self.migrate_every = int(migrate_every)
        self.n_migrants = int(n_migrants)
        self.topology = topology

    def _parts(self) -> list[Optimizer]:
        return [self.opt]

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{getattr(self.opt, 'name', '?')}*{self.n_islands}"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        share = None if budget is None else max(1, budget // self.n_islands)
        for _ in range(self.n_islands):
            self._start_child(fresh(self.opt), init, share)
        self._round = 0

    def ask(self) -> np.ndarray:
        X = self._collect([(i, None) for i in range(self.n_islands)])
        base = getattr(self.opt, "name", "island")
        self._phases = [f"{base}[{i}]" for i in self._owners]
        return X

    def _after_tell(self, owners: np.ndarray, y: np.ndarray) -> None:
        self._round += 1
        if self._round % self.migrate_every == 0:
            self.migrate()

    def migrate(self) -> None:
        """Send each island's best points to its neighbours (called every
        ``migrate_every`` rounds; call it yourself to force a migration)."""
        n = self.n_islands
        bests = [c.population.best(self.n_migrants) for c in self.children]
        for i, best in enumerate(bests):
            finite = np.isfinite(best.y)
            if not finite.any():  # nothing worth sending (failed evaluations only)
                continue
            best = Population(best.X[finite], best.y[finite])
            if self.topology == "ring":
                targets = [(i + 1) % n]
            elif self.topology == "complete":
                targets = [j for j in range(n) if j != i]
            else:
                targets = [int((i + 1 + self.rng.integers(n - 1)) % n)]
            for j in targets:
                self.children[j].inject(best.X, best.y)

    def stop(self) -> bool:
        return all(c.stop() for c in self.children)
