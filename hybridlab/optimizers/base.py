"""The ask/tell protocol every optimizer (and every hybrid) speaks.

All points live in the unit box ``[0, 1]^dim``.  The driver (:func:`hybridlab.minimize`)
owns the budget, the evaluations, failures and history; an optimizer only proposes points
(``ask``), learns their values (``tell``) and hands on what it found (``population``).

Writing your own optimizer takes a class with five members::

    class Walk(Optimizer):
        name = "walk"
        def start(self, dim, rng, init=None, budget=None):
            super().start(dim, rng, init, budget)
            self.x = rng.random(dim) if init is None else init.X[0]
        def ask(self):
            return np.clip(self.x + 0.1 * self.rng.standard_normal((4, self.dim)), 0, 1)
        def tell(self, X, y):
            super().tell(X, y)           # keeps self.population up to date
            self.x = self.population.X[0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["OPERATORS", "Optimizer", "OptimizerProtocol", "Population", "is_int"]


def is_int(v: object) -> bool:
    """True for Python and numpy integers, False for bools, floats and anything else
    (the check behind the "must be an integer" errors of the optimizers' arguments)."""
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


@dataclass(frozen=True)
class Population:
    """Points of the unit box with their values, best (lowest) first.

    Attributes
    ----------
    X : ndarray, shape (n, dim)
    y : ndarray, shape (n,)
    """

    X: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        X = np.atleast_2d(np.asarray(self.X, dtype=float))
        y = np.asarray(self.y, dtype=float).reshape(-1)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"Population: {X.shape[0]} points but {y.shape[0]} values")
        order = np.argsort(y, kind="stable")
        object.__setattr__(self, "X", X[order])
        object.__setattr__(self, "y", y[order])

    @classmethod
    def empty(cls, dim: int) -> Population:
        return cls(np.empty((0, dim)), np.empty(0))

    def __len__(self) -> int:
        return len(self.y)

    def best(self, k: int) -> Population:
        """The ``k`` best points (fewer if the population is smaller)."""
        return Population(self.X[:k], self.y[:k])

    def merge(self, other: Population, size: int | None = None) -> Population:
        """Union of two populations (duplicates dropped), truncated to ``size``."""
        X = np.vstack([self.X, other.X])
        y = np.concatenate([self.y, other.y])
        _, keep = np.unique(X, axis=0, return_index=True)
        keep.sort()
        merged = Population(X[keep], y[keep])
        return merged if size is None else merged.best(size)


@runtime_checkable
class OptimizerProtocol(Protocol):
    """Everything the driver, the stepping helpers and the combinators may use.

    :class:`Optimizer` gives each member a default, so an engine writes only ``start``,
    ``ask`` and ``tell``.  A duck-typed object (not a subclass) needs ``start``, ``ask``
    and ``tell``; the driver assumes the defaults of :class:`Optimizer` for the rest
    (see :class:`hybridlab.stepping.Adapted`).

    ``name``
        Names the optimizer in ``Result.optimizer``, run stores and specs.
    ``phase``
        Label of the points of the last ``ask`` in ``Result.history``: one string, or one
        per point (hybrids label each point with the stage that proposed it).
    ``start(dim, rng, init=None, budget=None)``
        Begin a run; ``init`` is a warm-start population, ``budget`` the number of
        evaluations (or fidelity-weighted evaluations) intended for this optimizer: a
        *hint* for schedules and budget splits, never a counter to enforce.
    ``ask()`` / ``tell(X, y)``
        Propose ``(n, dim)`` points of the unit box; learn their values (the driver may
        tell fewer rows than were asked: the last batch is trimmed to the budget;
        failures are told the worst value seen).
    ``population``
        The best points seen, best first: what a following stage starts from.
    ``stop()``
        Converged or stagnated (never because of the budget).
    ``close()``
        Release threads and other resources; called once when a run ends.
    ``inject(X, y)``
        Points evaluated elsewhere (migrants, refined points), not counted as told.
    ``rungs``, ``fidelity``, ``previous_fidelity``
        Multi-fidelity optimizers only: the fidelities they use (``None`` for a plain
        optimizer), the fidelity of the last ``ask``'s batch (``None``: full fidelity), and
        the fidelity its points were evaluated at before (``0.0``; a resumable objective
        then costs only the difference); either may be an array with one value per
        point, for batches that mix rungs (:class:`~hybridlab.hybrid.AsyncHalving`).
    ``decisions``
        Switching optimizers only (:class:`hybridlab.hybrid.Switch`): one dict per
        decision (evaluation, from, to, reason, the state measured); empty otherwise.  The
        driver copies it to ``Result.decisions``.
    """

    name: str
    rungs: np.ndarray | None
    fidelity: float | np.ndarray | None
    previous_fidelity: float | np.ndarray
    decisions: Sequence[dict[str, Any]]

    @property
    def phase(self) -> str | list[str]: ...
    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None: ...
    def ask(self) -> np.ndarray: ...
    def tell(self, X: np.ndarray, y: np.ndarray) -> None: ...
    @property
    def population(self) -> Population: ...
    def stop(self) -> bool: ...
    def close(self) -> None: ...
    def inject(self, X: np.ndarray, y: np.ndarray) -> None: ...


#: The implementations of ``a >> b``, ``a | b`` and ``a * n``, keyed by operator.  The
#: combinators live a layer above this module, so :mod:`hybridlab.hybrid` fills this
#: table when it is imported (``import hybridlab`` always imports it).
OPERATORS: dict[str, Callable[..., Any]] = {}


def _operator(symbol: str) -> Callable[..., Any]:
    try:
        return OPERATORS[symbol]
    except KeyError:
        raise RuntimeError(f"'{symbol}' between optimizers is implemented by "
                           f"hybridlab.hybrid: import hybridlab first") from None


class Optimizer:
    """Base class with the bookkeeping every optimizer needs.

    Subclasses override :meth:`start` (calling ``super().start``), :meth:`ask` and
    :meth:`tell` (calling ``super().tell`` to keep :attr:`population`), and optionally
    :meth:`stop` and :meth:`close`.

    ``start`` receives ``budget``: the number of evaluations the driver (or an enclosing
    hybrid) intends to give this optimizer, or ``None`` when unknown.  It is a hint for
    schedules, never a counter the optimizer must enforce: the driver trims the last
    batch and may tell fewer points than were asked.

    ``phase`` names the optimizer in ``Result.history``; hybrids set it per point.
    """

    name: str = "optimizer"
    #: How many of the best points ``population`` keeps.
    archive_size: int = 100
    #: Multi-fidelity optimizers only (see :class:`OptimizerProtocol`).
    rungs: np.ndarray | None = None
    fidelity: float | np.ndarray | None = None
    previous_fidelity: float | np.ndarray = 0.0
    #: Switching optimizers only (see :class:`OptimizerProtocol`).
    decisions: Sequence[dict[str, Any]] = ()

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self.dim = int(dim)
        self.rng = rng
        self.budget = budget
        self.n_told = 0
        self._population = Population.empty(self.dim) if init is None else init.best(
            self.archive_size)
        self._told: list[tuple[np.ndarray, np.ndarray]] = []
        self._n_unmerged = 0

    def ask(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        X = np.asarray(X, dtype=float).reshape(-1, self.dim)
        y = np.asarray(y, dtype=float).reshape(-1)
        self.n_told += len(y)
        # merging is deferred (it sorts): most runs never read the population mid-run
        self._told.append((X, y))
        self._n_unmerged += len(y)
        if self._n_unmerged > 20 * self.archive_size:
            self._merge_told()

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        """Offer points evaluated elsewhere: migrants from another island, points refined
        by a local search.  They are not counted as told.  The default only adds them to
        :attr:`population`; optimizers with a working set (GA, PSO) let them replace their
        worst members."""
        X = np.asarray(X, dtype=float).reshape(-1, self.dim)
        y = np.asarray(y, dtype=float).reshape(-1)
        self._told.append((X, y))
        self._n_unmerged += len(y)

    def _merge_told(self) -> None:
        if self._told:
            X = np.vstack([x for x, _ in self._told])
            y = np.concatenate([v for _, v in self._told])
            if len(y) > 2 * self.archive_size:  # only the best can enter the archive
                keep = np.argpartition(y, 2 * self.archive_size)[: 2 * self.archive_size]
                X, y = X[keep], y[keep]
            self._population = self._population.merge(Population(X, y), self.archive_size)
            self._told, self._n_unmerged = [], 0

    @property
    def population(self) -> Population:
        """Best points seen by this optimizer (and those it was started from)."""
        self._merge_told()
        return self._population

    @property
    def phase(self) -> str | list[str]:
        """Label(s) of the points of the last ``ask`` for the history."""
        return self.name

    def stop(self) -> bool:
        """True when converged or stagnated (never because of the budget)."""
        return False

    def close(self) -> None:
        """Release threads or other resources; called by the driver when a run ends."""

    # -- composition: a >> b, a | b, a * n (implemented in hybridlab.hybrid) -------------
    def __rshift__(self, other: Optimizer) -> Optimizer:
        """``a >> b``: :class:`~hybridlab.hybrid.Sequential`."""
        return _operator(">>")(self, other)

    def __or__(self, other: Optimizer) -> Optimizer:
        """``a | b``: :class:`~hybridlab.hybrid.Portfolio`."""
        return _operator("|")(self, other)

    def __mul__(self, n: int) -> Optimizer:
        """``a * n``: :class:`~hybridlab.hybrid.Islands`."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            return NotImplemented
        return _operator("*")(self, int(n))

    __rmul__ = __mul__

    def __repr__(self) -> str:
        params = {k: v for k, v in vars(self).items() if not k.startswith("_")
                  and k not in ("dim", "rng", "budget", "n_told")}
        inner = ", ".join(f"{k}={v!r}" for k, v in params.items()
                          if isinstance(v, int | float | str | bool | tuple | None))
        return f"{type(self).__name__}({inner})"
