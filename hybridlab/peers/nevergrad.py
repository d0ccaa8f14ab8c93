"""Nevergrad optimizers (NGOpt by default) as ask/tell optimizers on the unit box."""

from __future__ import annotations

import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from types import ModuleType
from typing import Any

import numpy as np

from ..optimizers.base import Optimizer, Population, is_int
from ..optimizers.rng import global_names
from ._common import _CopiesParameters, _require, _seed

#: fallback warnings already shown in this process
_WARNED: set[str] = set()


def _import_nevergrad(who: str) -> ModuleType:
    """Nevergrad draws from the global ``np.random`` while it is imported (random scales
    of some registry entries): import it on a fixed private generator instead, so the
    caller's state is not advanced and those entries are the same in every process."""
    if "nevergrad" not in sys.modules:
        with _NumpyFence(np.random.RandomState(0)):
            return _require("nevergrad", "nevergrad", who)
    return _require("nevergrad", "nevergrad", who)



def _np_random_names() -> tuple[str, ...]:
    """``np.random`` functions that draw from (or reseed) the hidden global RandomState
    (the same list :mod:`hybridlab.optimizers.rng` swaps, found when hybridlab loads)."""
    return (*global_names(np.random.RandomState), "seed")


def _ignore_seed(*args: object, **kwargs: object) -> None:
    """``np.random.seed`` inside the fence: the adapter's generator is not reseeded."""


class _NumpyFence:
    """Within the block, ``np.random.*`` draws from the adapter's RandomState and
    ``np.random.seed(...)`` does nothing.

    Some Nevergrad optimizers draw from the global ``np.random``, and the pycma run inside
    NGOpt's ``CmaFmin2`` choice reseeds it from the clock (``seed='time'``): without the
    fence a run would neither be reproducible nor leave the caller's generator alone.
    Not thread-safe (like any use of the global generator).
    """

    __slots__ = ("_getter", "_mine", "_names", "_namespace", "_saved")

    def __init__(self, gen: np.random.RandomState) -> None:
        self._names = _np_random_names()
        self._namespace = vars(np.random)
        self._getter = itemgetter(*self._names)
        self._mine = {n: getattr(gen, n) for n in self._names if n != "seed"}
        self._mine["seed"] = _ignore_seed

    def __enter__(self) -> None:
        self._saved = dict(zip(self._names, self._getter(self._namespace), strict=True))
        self._namespace.update(self._mine)

    def __exit__(self, *exc: object) -> None:
        self._namespace.update(self._saved)


def _settle_threads(timeout: float = 60.0) -> None:
    """Wait until every Nevergrad recast thread is idle (blocked waiting for a value) or
    finished.  After a ``tell`` such a thread computes its next point concurrently with
    the caller: waiting keeps its draws from ``np.random`` inside the fence."""
    from nevergrad.optimization.recaster import _MessagingThread

    deadline = time.monotonic() + timeout
    for t in threading.enumerate():
        if isinstance(t, _MessagingThread):
            # a thread blocked in messages_tell.get() is listed among the condition's
            # waiters (``put`` removes it when it wakes the thread)
            while (t.is_alive() and not t.messages_tell.not_empty._waiters
                   and time.monotonic() < deadline):
                time.sleep(1e-5)


def _stop_threads(opt: Any) -> None:
    """Stop the background threads of Nevergrad's recast optimizers (``CmaFmin2``, scipy
    methods...) nested anywhere in ``opt``: a thread left waiting for a value keeps the
    interpreter from exiting."""
    from nevergrad.optimization.base import Optimizer as NgOptimizer

    seen: set[int] = set()
    todo = [opt]
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, NgOptimizer):
            thread = getattr(o, "_messaging_thread", None)
            if thread is not None:
                thread.stop()
                inner = getattr(thread, "_thread", None)
                if inner is not None:
                    inner.join(timeout=5.0)
            todo.extend(vars(o).values())
        elif isinstance(o, list | tuple):
            todo.extend(o)
        elif isinstance(o, dict):
            todo.extend(o.values())


class NGOpt(_CopiesParameters, Optimizer):
    """A Nevergrad optimizer (NGOpt by default) through its ask/tell interface.

    Parameters
    ----------
    optimizer : str
        A name in ``nevergrad.optimizers.registry``: ``"NGOpt"`` (Nevergrad's algorithm
        selector), ``"CMA"``, ``"DE"``, ``"TwoPointsDE"``, ``"PSO"``, ``"OnePlusOne"``...
    num_workers : int
        Points per ``ask`` (Nevergrad's ``num_workers``; NGOpt's choice depends on it).
    fallback : str or None
        Registry name of the optimizer that takes over for the rest of the run when the
        first one raises (see Notes); ``None`` lets the error propagate.

    Attributes
    ----------
    fallback_ : dict or None
        After a run in which the optimizer failed: ``{"after": points told, "error":
        the exception text, "from": what failed, "to": the fallback}``; ``None``
        otherwise.
    choice_ : str
        What Nevergrad's optimizer says it runs (for NGOpt: the algorithm it selected).

    Notes
    -----
    * Search space: ``ng.p.Array(shape=(dim,)).set_bounds(0, 1)`` (initial value: the best
      point of ``init`` when a hybrid hands one over), budget: the one the driver
      announces (``10**6`` when unknown).
    * Known failure: with numpy 2.4, Nevergrad 1.0.12's NGOpt picks a metamodel (+
      ``CmaFmin2``) for bounded spaces with one worker (dim 2 to 10 at least, budgets
      300 to 2000) and the metamodel raises ``TypeError: only 0-dimensional arrays can
      be converted to Python scalars`` on its first model-based ask (after 13
      evaluations at dim 2-3, 36 at dim 5 with budget 300, 118 at dim 10).  The
      adapter catches any error of the optimizer, stops its threads, warns, records
      :attr:`fallback_`, and continues with ``fallback`` (``"CMA"``, Nevergrad's pycma
      wrapper, by default) started from the best point so far with the rest of the
      budget.
    * Determinism: Nevergrad draws from its parametrization's RandomState (seeded from
      ``rng``) but also from the global ``np.random``, and the pycma run inside
      ``CmaFmin2`` reseeds that from the clock.  Every Nevergrad call runs with
      ``np.random`` rebound to the adapter's own RandomState and ``np.random.seed`` made
      a no-op; before a call returns, the adapter waits until the background thread of
      any recast optimizer (``CmaFmin2``, Cobyla...) is idle again, so that thread's
      work, too, happens inside the fence.  The same seed gives the same run; the
      caller's global generator is left untouched.
    * Partial tells: untold points of a batch are asked again by the next ``ask``.
    * ``stop()`` is always False: ask/tell Nevergrad has no convergence signal (a recast
      optimizer that has finished, e.g. NGOpt's Cobyla choice for small budgets, returns
      random points with Nevergrad's ``FinishedUnderlyingOptimizerWarning``).  The seed
      changes nothing when the choice draws no random numbers (Cobyla).
    * ``+inf`` values (a failure before any finite value) and values above ``1e20`` are
      told as ``1e20``: Nevergrad clips losses from ``5e20`` on, with a warning each time.
    * Cost: about 1 ms per evaluation at dim 10 (Nevergrad's CMA, or NGOpt until
      and after its failure; 2000 evaluations), ten times pycma through :class:`CMAES`;
      report wall time beside quality in studies.

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> from hybridlab.peers import NGOpt
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> r = hl.minimize(p, NGOpt("CMA"), budget=300, seed=0)
    >>> r.n_evals, bool(r.y < 1e-2)
    (300, True)
    """

    _parameters = ("optimizer", "num_workers", "fallback")
    #: Loss told for ``+inf`` and cap on losses (Nevergrad warns and clips from 5e20 on).
    LARGE_LOSS = 1.0e20

    def __init__(self, optimizer: str = "NGOpt", num_workers: int = 1,
                 fallback: str | None = "CMA") -> None:
        if not is_int(num_workers) or num_workers < 1:
            raise ValueError(f"num_workers (points per ask) must be an integer >= 1, got "
                             f"{num_workers!r}")
        ng = _import_nevergrad("NGOpt")
        for arg, value in (("optimizer", optimizer), ("fallback", fallback)):
            if value is None and arg == "fallback":
                continue
            if not isinstance(value, str) or value not in ng.optimizers.registry:
                close = [k for k in ng.optimizers.registry
                         if isinstance(value, str) and k.lower() == value.lower()]
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"{arg} must be a name in nevergrad.optimizers.registry "
                                 f"such as 'NGOpt', 'CMA', 'DE', 'TwoPointsDE'; {hint}"
                                 f"got {value!r}")
        self.optimizer = optimizer
        self.num_workers = num_workers
        self.fallback = fallback

    @property
    def name(self) -> str:  # type: ignore[override]
        return "ngopt" if self.optimizer == "NGOpt" else f"ng_{self.optimizer.lower()}"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        self.close()
        super().start(dim, rng, init, budget)
        self._ng_module = _import_nevergrad("NGOpt")
        self._fence = _NumpyFence(np.random.RandomState(_seed(rng)))
        self._pending: list[Any] = []  # candidates asked from Nevergrad, not yet told
        self.fallback_: dict[str, Any] | None = None
        x0 = init.X[0] if init is not None and len(init) else None
        self._ng = self._build(self.optimizer, x0, budget)
        self.choice_ = self._describe(self._ng)

    def _build(self, name: str, x0: np.ndarray | None, budget: int | None) -> Any:
        ng = self._ng_module
        with warnings.catch_warnings(), self._fence:
            # set_bounds warns that [0, 1] is only one default sigma wide: Nevergrad's
            # bounded optimizers rescale the box themselves
            warnings.filterwarnings("ignore", message="Bounds are .* sigma away")
            param = (ng.p.Array(shape=(self.dim,)) if x0 is None
                     else ng.p.Array(init=np.clip(x0, 0.0, 1.0))).set_bounds(0.0, 1.0)
            param.random_state = np.random.RandomState(_seed(self.rng))
            return ng.optimizers.registry[name](parametrization=param,
                                                budget=budget or 10**6,
                                                num_workers=int(self.num_workers))

    def _describe(self, opt: Any) -> str:
        try:
            with self._calling():  # NGOpt builds its choice here, drawing random numbers
                info = opt._info()  # NGOpt: {"sub-optim": "..."}
        except Exception:  # informative only
            info = {}
        return str(info.get("sub-optim", type(opt).__name__))

    def _switch(self, exc: Exception) -> None:
        """The optimizer raised: hand the rest of the run to ``fallback``."""
        if self.fallback is None or self.fallback_ is not None:
            raise exc
        with self._fence:
            _stop_threads(self._ng)
        self.fallback_ = {"after": self.n_told, "error": f"{type(exc).__name__}: {exc}",
                          "to": self.fallback, "from": self.choice_}
        message = (f"nevergrad {self.optimizer} failed with {type(exc).__name__}: {exc}; "
                   f"continuing with {self.fallback!r} (when and after how many "
                   "evaluations: see .fallback_)")
        if message not in _WARNED:  # once per process, not once per run of a study
            _WARNED.add(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        best = self.population
        left = None if self.budget is None else max(1, self.budget - self.n_told)
        self._pending = []
        self._ng = self._build(self.fallback, best.X[0] if len(best) else None, left)
        self.choice_ = f"{self.fallback} (after {self.fallback_['from']} failed)"

    @contextmanager
    def _calling(self) -> Iterator[None]:
        """Around every Nevergrad call: the numpy fence, and pycma's InjectionWarning
        ("orphanated injected solution") silenced: Nevergrad's own CMA raises it on
        every one-point ask, and the user cannot act on it; and scipy's "COBYLA: Invalid
        RHOEND" (NGOpt's Cobyla passes an end radius above the start radius for small
        budgets, scipy corrects it to 1e-6 and says so on every run)."""
        with self._fence, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="orphanated injected solution")
            warnings.filterwarnings("ignore", message="COBYLA: Invalid RHOEND")
            try:
                yield
            finally:
                _settle_threads()

    def _refill(self) -> None:
        while len(self._pending) < self.num_workers:
            try:
                with self._calling():
                    self._pending.append(self._ng.ask())
            except Exception as exc:  # any failure: see _switch
                self._switch(exc)

    def ask(self) -> np.ndarray:
        if not self._pending:
            self._refill()
        return np.clip(np.array([c.value for c in self._pending], dtype=float), 0.0, 1.0)

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) > len(self._pending):
            raise RuntimeError(f"NGOpt.tell() got {len(y)} values for "
                               f"{len(self._pending)} asked points")
        told, self._pending = self._pending[: len(y)], self._pending[len(y):]
        y = np.where(np.isfinite(y), np.minimum(y, self.LARGE_LOSS), self.LARGE_LOSS)
        try:
            with self._calling():
                for cand, v in zip(told, y.tolist(), strict=True):
                    self._ng.tell(cand, v)
        except Exception as exc:  # any failure: see _switch
            self._switch(exc)

    def close(self) -> None:
        ng_opt = getattr(self, "_ng", None)
        if ng_opt is not None:
            with self._fence:
                _stop_threads(ng_opt)


# ---------------------------------------------------------------------------------------
# Optuna
# ---------------------------------------------------------------------------------------

