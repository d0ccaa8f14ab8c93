"""Nested integration: local refinement of the best points inside a global search."""

from __future__ import annotations

import numpy as np

from ..optimizers.base import Optimizer, Population
from .composite import Composite, fresh

__all__ = ["Memetic"]

MODES = ("lamarckian", "baldwinian")


class Memetic(Composite):
    """A global optimizer whose best ``top`` points are refined by a local optimizer
    every ``every`` generations.

    Each refinement is a fresh copy of ``local_opt`` started from one point with
    ``local_budget`` evaluations.  What the global search learns from it:

    * ``"lamarckian"``: the refined point and its value replace the global optimizer's
      worst member (the acquired trait is inherited);
    * ``"baldwinian"``: the *original* point is re-scored with the refined value (only
      the fitness landscape is smoothed; the genotype is unchanged).

    Parameters
    ----------
    global_opt, local_opt : Optimizer
    every : int
        Global generations (asks) between refinement rounds.
    top : int
        Best points of the global population refined in each round.
    local_budget : int, optional
        Evaluations per refinement (default ``10 * dim``).
    mode : {"lamarckian", "baldwinian"}

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> m = hl.Memetic(hl.GA(pop_size=20), hl.LocalSearch(), every=5, top=1)
    >>> r = hl.minimize(p, m, budget=600, seed=0)
    >>> sorted(set(r.history["phase"])), bool(r.y < 1e-6)
    (['ga', 'local'], True)
    """

    def __init__(self, global_opt: Optimizer, local_opt: Optimizer, every: int = 5,
                 top: int = 1, local_budget: int | None = None,
                 mode: str = "lamarckian") -> None:
        for label, v in (("every", every), ("top", top)):
            if int(v) != v or v < 1:
                raise ValueError(f"Memetic {label} must be an integer >= 1, got {v!r}")
        if local_budget is not None and (int(local_budget) != local_budget or local_budget < 1):
            raise ValueError(f"local_budget must be an integer >= 1 or None, got {local_budget!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        self.global_opt = fresh(global_opt)
        self.local_opt = fresh(local_opt)
        self.every = int(every)
        self.top = int(top)
        self.local_budget = local_budget
        self.mode = mode

    def _parts(self) -> list[Optimizer]:
        return [self.global_opt, self.local_opt]

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"memetic({self.global_opt.name},{self.local_opt.name})"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self._start_child(fresh(self.global_opt), init, budget)
        self._generation = 0
        self._queue: list[tuple[np.ndarray, float]] = []  # points waiting for refinement
        self._local: int | None = None  # index of the running refinement
        self._origin: tuple[np.ndarray, float] | None = None
        self._lb = self.local_budget or 10 * dim

    def ask(self) -> np.ndarray:
        if self._local is None and self._queue:
            x, y = self._queue.pop(0)
            self._origin = (x, y)
            self._local = self._start_child(fresh(self.local_opt), Population(x[None], [y]),
                                            self._lb, slot=1)
        if self._local is not None:
            return self._collect([(self._local, self._lb - self._told_by[self._local])])
        return self._collect([(0, None)])

    def _after_tell(self, owners: np.ndarray, y: np.ndarray) -> None:
        if self._local is None:
            self._generation += 1
            if self._generation % self.every == 0:
                best = self.children[0].population.best(self.top)
                self._queue = list(zip(best.X, best.y, strict=True))
            return
        local = self.children[self._local]
        if self._told_by[self._local] >= self._lb or local.stop():
            self._finish_refinement(local)

    def _finish_refinement(self, local: Optimizer) -> None:
        refined = local.population.best(1)
        local.close()
        x0, y0 = self._origin
        if len(refined) and refined.y[0] < y0:
            x = refined.X if self.mode == "lamarckian" else x0[None]
            self.children[0].inject(x, refined.y[:1])
        self._local, self._origin = None, None

    def stop(self) -> bool:
        return self._local is None and not self._queue and self.children[0].stop()
