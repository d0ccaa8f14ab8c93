"""Duck-typed optimizers seen through the whole contract.

An object with ``start``, ``ask`` and ``tell`` that does not subclass
:class:`~hybridlab.optimizers.base.Optimizer` still runs: :func:`adapt` wraps it in
:class:`Adapted`, which gives the defaults of the base class for the members it lacks
(``stop``, ``close``, ``inject``, ``phase``, ``rungs``...).  The loops wrap; everything
else calls the contract directly.

>>> import numpy as np
>>> class Walk:
...     def start(self, dim, rng, init=None, budget=None):
...         self.x = np.full(dim, 0.5)
...     def ask(self):
...         return self.x[None, :]
...     def tell(self, X, y):
...         pass
>>> opt = adapt(Walk())
>>> opt.name, opt.stop(), opt.rungs is None
('walk', False, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import Optimizer, Population

__all__ = ["Adapted", "adapt"]


class Adapted(Optimizer):
    """A duck-typed optimizer (``start``, ``ask``, ``tell``, not an :class:`Optimizer`)
    seen through the whole contract: its own members where it has them, the defaults of
    :class:`Optimizer` otherwise.  Only the loops wrap objects (:func:`adapt`); the
    object itself is what the user passed and is what changes.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def rungs(self) -> np.ndarray | None:  # type: ignore[override]
        return getattr(self.inner, "rungs", None)

    @property
    def fidelity(self) -> float | None:  # type: ignore[override]
        return getattr(self.inner, "fidelity", None)

    @property
    def previous_fidelity(self) -> float:  # type: ignore[override]
        return getattr(self.inner, "previous_fidelity", 0.0)

    @property
    def decisions(self) -> Sequence[dict[str, Any]]:  # type: ignore[override]
        return getattr(self.inner, "decisions", ())

    @property
    def name(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "name", type(self.inner).__name__.lower())

    @property
    def phase(self) -> str | list[str]:
        return getattr(self.inner, "phase", None) or type(self.inner).__name__.lower()

    @property
    def population(self) -> Population:
        return self.inner.population

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        self.inner.start(dim, rng, init, budget)

    def ask(self) -> np.ndarray:
        return self.inner.ask()

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        self.inner.tell(X, y)

    def stop(self) -> bool:
        stop = getattr(self.inner, "stop", None)
        return bool(stop()) if callable(stop) else False

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        inject = getattr(self.inner, "inject", None)
        if callable(inject):
            inject(X, y)


def adapt(opt: Any) -> Optimizer:
    """``opt`` itself if it is an :class:`Optimizer`, else :class:`Adapted` around it."""
    return opt if isinstance(opt, Optimizer) else Adapted(opt)
