"""Sequential integration: run one optimizer, then the next from where it stopped."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..optimizers.base import Optimizer, Population
from .composite import Composite, fresh

__all__ = ["Sequential", "then"]


class Sequential(Composite):
    """Stages run one after another; each starts from the population of the last.

    Spelled ``a >> b``.  A stage ends when it has used its share of the budget or when
    it says it converged (``stop()``); the next stage is started with the best points
    seen so far (``init``) and the rest of the budget.

    Parameters
    ----------
    *stages : Optimizer
        Two or more optimizers (prototypes: they are copied, never mutated).
    split : float or sequence of float, optional
        With two stages, the first stage's fraction of the budget (default 0.5).  With
        more, one fraction per stage, summing to 1 (default: equal shares).  Without a
        known budget only ``stop()`` ends a stage.

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(4, -5, 5))
    >>> r = hl.minimize(p, hl.PSO() >> hl.LocalSearch(), budget=600, seed=0)
    >>> sorted(set(r.history["phase"])), bool(r.y < 1e-8)
    (['local', 'pso'], True)
    """


    def __init__(self, *stages: Optimizer, split: float | Sequence[float] | None = None
                 ) -> None:
        if len(stages) < 2:
            raise ValueError("Sequential needs at least two stages, e.g. Sequential(GA(), "
                             "LocalSearch()) or GA() >> LocalSearch()")
        self.stages = tuple(fresh(s) for s in stages)
        self.split = split
        self._fractions = _fractions(split, len(stages))

    def _parts(self) -> list[Optimizer]:
        return list(self.stages)

    @property
    def name(self) -> str:  # type: ignore[override]
        return ">>".join(getattr(s, "name", "?") for s in self.stages)

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self._ends = None if budget is None else np.rint(
            np.cumsum(self._fractions) * budget).astype(int)
        self._stage = 0
        self._launch(init)

    def _launch(self, init: Population | None) -> None:
        share = None
        if self._ends is not None:
            share = max(1, int(self._ends[self._stage]) - self.n_told)
        self._start_child(fresh(self.stages[self._stage]), init, share)

    def _left_in_stage(self) -> int | None:
        if self._ends is None or self._stage == len(self.stages) - 1:
            return None
        return max(1, int(self._ends[self._stage]) - self.n_told)

    def ask(self) -> np.ndarray:
        return self._collect([(self._stage, self._left_in_stage())])

    def _after_tell(self, owners: np.ndarray, y: np.ndarray) -> None:
        if self._stage == len(self.stages) - 1:
            return
        used_up = self._ends is not None and self.n_told >= self._ends[self._stage]
        if used_up or self.children[self._stage].stop():
            self.children[self._stage].close()
            self._stage += 1
            self._launch(self.population)

    def stop(self) -> bool:
        return self._stage == len(self.stages) - 1 and self.children[-1].stop()


def then(a: Optimizer, b: Optimizer) -> Sequential:
    """``a >> b``; ``a >> b >> c`` gives one Sequential of three equal stages."""
    if isinstance(a, Sequential) and a.split is None:
        return Sequential(*a.stages, b)
    return Sequential(a, b)


def _fractions(split: float | Sequence[float] | None, n: int) -> np.ndarray:
    if split is None:
        return np.full(n, 1.0 / n)
    if np.isscalar(split):
        if n != 2:
            raise ValueError(f"a single split fraction needs two stages, got {n}; give one "
                             "fraction per stage")
        split = (float(split), 1.0 - float(split))
    f = np.asarray(split, dtype=float)
    if f.shape != (n,) or (f <= 0).any() or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"split must be a fraction in (0, 1) for two stages, or {n} positive "
                         f"fractions summing to 1; got {split!r}")
    return f
