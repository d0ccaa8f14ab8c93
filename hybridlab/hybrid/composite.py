"""What every combinator shares: children, routing of asked rows, phases, budgets.

A combinator is itself an :class:`~hybridlab.optimizers.base.Optimizer`; it asks some of
its children for points, remembers which child proposed each row, and routes the values
back to that child on ``tell``.  Each child gets its own generator (spawned from the
combinator's), so a hybrid is as reproducible as its parts.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from ..optimizers.base import Optimizer, Population
from ..stepping import phase_labels

__all__ = ["Composite", "fresh"]


def fresh(prototype: Optimizer) -> Optimizer:
    """An unstarted copy of ``prototype`` (combinators keep prototypes, run copies)."""
    if not hasattr(prototype, "ask") or not hasattr(prototype, "tell"):
        raise ValueError(f"expected an optimizer (ask/tell), got {prototype!r}")
    return copy.deepcopy(prototype)


class Composite(Optimizer):
    """Base class of combinators: ``_collect`` asks children, ``tell`` routes back.

    Subclasses decide *which* children are asked (override :meth:`ask`) and what happens
    after values come back (override :meth:`_after_tell`).
    """

    #: children currently running (set by subclasses in ``start``)
    children: list[Optimizer]

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        self.close()
        super().start(dim, rng, init, budget)
        self.children = []
        self._owners = np.empty(0, dtype=int)
        self._phases: list[str] = []
        self._told_by: list[int] = []

    def _start_child(self, opt: Optimizer, init: Population | None, budget: int | None,
                     slot: int | None = None) -> int:
        """Start ``opt`` on a new child generator, appended or in place of child ``slot``
        (which is closed); return its index."""
        (child_rng,) = self.rng.spawn(1)
        opt.start(self.dim, child_rng, init, budget)
        if slot is None or slot >= len(self.children):
            self.children.append(opt)
            self._told_by.append(0)
            return len(self.children) - 1
        self.children[slot].close()
        self.children[slot], self._told_by[slot] = opt, 0
        return slot

    def _collect(self, requests: Sequence[tuple[int, int | None]]) -> np.ndarray:
        """Ask each child ``i`` in ``requests`` for points, keeping at most ``limit`` rows
        of its batch (``None``: all); remember owners and phase labels."""
        blocks, owners, phases = [], [], []
        for i, limit in requests:
            child = self.children[i]
            X = np.atleast_2d(np.asarray(child.ask(), dtype=float))
            if limit is not None:
                X = X[: max(int(limit), 1)]
            blocks.append(X)
            owners.append(np.full(len(X), i))
            phases += phase_labels(child, len(X))
        if not blocks:
            raise RuntimeError(f"{type(self).__name__} has no child to ask")
        self._owners = np.concatenate(owners)
        self._phases = phases
        return np.vstack(blocks)

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        X = np.asarray(X, dtype=float).reshape(-1, self.dim)
        y = np.asarray(y, dtype=float).reshape(-1)
        owners = self._owners[: len(y)]
        for i in dict.fromkeys(owners.tolist()):  # each owner once, in order
            rows = owners == i
            self.children[i].tell(X[rows], y[rows])
            self._told_by[i] += int(rows.sum())
        self._after_tell(owners, y)

    def _after_tell(self, owners: np.ndarray, y: np.ndarray) -> None:
        """Hook: switch phases, race, migrate... (default: nothing)."""

    @property
    def phase(self) -> list[str]:
        return self._phases

    def close(self) -> None:
        for child in getattr(self, "children", []):
            child.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self._parts()))})"

    def _parts(self) -> list[Optimizer]:  # pragma: no cover - overridden
        return []
