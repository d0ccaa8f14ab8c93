"""Peer libraries as hybridlab optimizers: pycma, Nevergrad and Optuna on the unit box.

Studies put hybridlab's optimizers beside the field's usual references, and because the
adapters speak ask/tell on ``[0, 1]^dim`` like everything else, a peer can also be a stage
of a hybrid (``make("cmaes") >> LocalSearch()``).

* :class:`CMAES`: pycma's ``cma.CMAEvolutionStrategy``; registry name ``"cmaes"``.
* :class:`NGOpt`: any entry of ``nevergrad.optimizers.registry`` (NGOpt by default);
  ``"ngopt"``.
* :class:`OptunaSampler`: Optuna's TPE, CMA-ES or random sampler through ``study.ask``;
  ``"optuna_tpe"``, ``"optuna_cmaes"``.

The libraries are an optional extra (``pip install hybridlab[peers]``): importing this
module needs none of them; each adapter imports its library when it is built and says
which extra to install when it is missing.  :func:`register_peers` adds the names above
to :data:`hybridlab.optimizers.REGISTRY`; :func:`hybridlab.make` calls it by itself the
first time a spec names a peer.

Every adapter is seeded from the generator the driver hands to ``start`` (same seed,
same :class:`~hybridlab.Result`), writes no files, prints nothing, and leaves the
caller's global random state and logging settings as they were.
"""

from __future__ import annotations

import importlib
import logging
import math
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

from .optimizers._rng import _GLOBALS
from .optimizers.base import Optimizer, Population

__all__ = ["CMAES", "NGOpt", "OptunaSampler", "register_peers"]

_EXTRA = "pip install 'hybridlab[peers]'"


def _require(module: str, package: str, who: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{who} needs the {package!r} package, an optional extra of "
                          f"hybridlab: {_EXTRA} (or pip install {package})") from exc


def _import_nevergrad(who: str) -> ModuleType:
    """Nevergrad draws from the global ``np.random`` while it is imported (random scales
    of some registry entries): import it on a fixed private generator instead, so the
    caller's state is not advanced and those entries are the same in every process."""
    if "nevergrad" not in sys.modules:
        with _NumpyFence(np.random.RandomState(0)):
            return _require("nevergrad", "nevergrad", who)
    return _require("nevergrad", "nevergrad", who)


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _finite(y: np.ndarray, worst: float, default: float) -> tuple[np.ndarray, float]:
    """Replace non-finite values by the worst finite value seen (``default`` if none);
    return the values and the updated worst."""
    ok = np.isfinite(y)
    if ok.any():
        worst = max(worst, float(y[ok].max()))
    return np.where(ok, y, worst if math.isfinite(worst) else default), worst


class _CopiesParameters:
    """Copies (``copy.deepcopy``, as hybrids make of their stages, and pickle) carry the
    constructor parameters only: a started run holds library objects (threads, studies)
    that cannot be copied, and a copy is started afresh anyway."""

    _parameters: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        return {k: self.__dict__[k] for k in self._parameters}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


# ---------------------------------------------------------------------------------------
# pycma
# ---------------------------------------------------------------------------------------

class CMAES(Optimizer):
    """pycma's CMA-ES (``cma.CMAEvolutionStrategy``) in the unit box.

    Parameters
    ----------
    sigma0 : float
        Initial step size, in box widths (``0 < sigma0 <= 1``).
    popsize : int, optional
        Points per generation (>= 2); pycma's default ``4 + 3 ln(dim)`` when omitted.

    Notes
    -----
    * Box: pycma's ``bounds=[0, 1]`` (its ``BoundTransform``), so every asked point is
      inside the box.
    * Start: the mean starts at the best point of ``init`` when ``start`` is given one
      (the previous stage of a hybrid), else at a uniform random point.
    * Seeding: pycma draws from its own ``np.random.RandomState`` seeded from ``rng``
      (option ``randn``, ``seed=nan``): the global ``np.random`` is never seeded or read.
    * Quiet: ``verbose=-9, verb_log=0, verb_disp=0``; no ``outcmaes/`` files.
    * ``stop()`` is ``es.stop()``: True once pycma's termination criteria (``tolfun``,
      ``tolx``, ``tolflatfitness``, ...) fire; the driver then ends the run, or a
      hybrid moves to its next stage.  The criteria met are in :attr:`stop_reason_`.
    * Partial tells: pycma's ``tell`` needs the whole generation.  When fewer rows than
      asked come back (the budget or a hybrid's stage share trimmed the batch), the
      untold rows are asked again by the next ``ask`` and pycma is told once the
      generation is complete, so it never learns made-up values.
    * Failed evaluations arrive as the worst value seen (or ``+inf`` before any finite
      one); non-finite values are replaced by the worst finite value told so far (0
      while there is none).
    * ``es_`` is the live ``cma.CMAEvolutionStrategy`` after ``start``.

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> from hybridlab.peers import CMAES
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(5, -5, 5))
    >>> es = CMAES()
    >>> r = hl.minimize(p, es, budget=3000, seed=0)
    >>> r.stopped, es.stop_reason_, r.n_evals < 3000, bool(r.y < 1e-10)
    ('converged', {'tolfun': 1e-11}, True, True)
    """

    name = "cmaes"

    def __init__(self, sigma0: float = 0.3, popsize: int | None = None) -> None:
        if (isinstance(sigma0, bool) or not isinstance(sigma0, int | float | np.number)
                or not 0 < sigma0 <= 1):
            raise ValueError(f"sigma0 is a step size in box widths, 0 < sigma0 <= 1 (e.g. "
                             f"0.3); got {sigma0!r}")
        if popsize is not None and (not _is_int(popsize) or popsize < 2):
            raise ValueError(f"popsize must be an integer >= 2, or None for pycma's default "
                             f"4 + 3 ln(dim); got {popsize!r}")
        _require("cma", "cma", "CMAES")
        self.sigma0 = sigma0
        self.popsize = popsize

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        cma = _require("cma", "cma", "CMAES")
        x0 = init.X[0] if init is not None and len(init) else rng.random(self.dim)
        opts: dict[str, Any] = {
            "bounds": [0.0, 1.0], "seed": np.nan,
            "randn": np.random.RandomState(_seed(rng)).randn,
            "verbose": -9, "verb_log": 0, "verb_disp": 0, "verb_plot": 0,
        }
        if self.popsize is not None:
            opts["popsize"] = int(self.popsize)
        self.es_ = cma.CMAEvolutionStrategy(np.clip(x0, 0.0, 1.0), float(self.sigma0), opts)
        self.stop_reason_: dict[str, Any] = {}
        self._gen: np.ndarray | None = None  # the generation being evaluated
        self._gen_y = np.empty(0)
        self._worst = -math.inf

    def ask(self) -> np.ndarray:
        if self._gen is None:
            self._gen = np.asarray(self.es_.ask(), dtype=float)
            self._gen_y = np.empty(0)
        return self._gen[len(self._gen_y):]

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        if self._gen is None:
            raise RuntimeError("CMAES.tell() without a pending ask()")
        y, self._worst = _finite(np.asarray(y, dtype=float).reshape(-1), self._worst, 0.0)
        left = len(self._gen) - len(self._gen_y)
        if len(y) > left:
            raise RuntimeError(f"CMAES.tell() got {len(y)} values for {left} asked points")
        self._gen_y = np.concatenate([self._gen_y, y])
        if len(self._gen_y) == len(self._gen):
            self.es_.tell(list(self._gen), self._gen_y.tolist())
            self._gen = None

    def stop(self) -> bool:
        es = getattr(self, "es_", None)
        if es is None:
            return False
        self.stop_reason_ = dict(es.stop())
        return bool(self.stop_reason_)


# ---------------------------------------------------------------------------------------
# Nevergrad
# ---------------------------------------------------------------------------------------

def _np_random_names() -> tuple[str, ...]:
    """``np.random`` functions that draw from (or reseed) the hidden global RandomState
    (the same list :mod:`hybridlab.optimizers._rng` swaps, found when hybridlab loads)."""
    return (*_GLOBALS[np.random.RandomState][1], "seed")


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
        if not _is_int(num_workers) or num_workers < 1:
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
        warnings.warn(f"nevergrad {self.optimizer} ({self.choice_}) failed after "
                      f"{self.n_told} evaluations with {type(exc).__name__}: {exc}; "
                      f"continuing with {self.fallback!r} (see .fallback_)",
                      RuntimeWarning, stacklevel=3)
        best = self.population
        left = None if self.budget is None else max(1, self.budget - self.n_told)
        self._pending = []
        self._ng = self._build(self.fallback, best.X[0] if len(best) else None, left)
        self.choice_ = f"{self.fallback} (after {self.fallback_['from']} failed)"

    @contextmanager
    def _calling(self) -> Iterator[None]:
        """Around every Nevergrad call: the numpy fence, and pycma's InjectionWarning
        ("orphanated injected solution") silenced: Nevergrad's own CMA raises it on
        every one-point ask, and the user cannot act on it."""
        with self._fence, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="orphanated injected solution")
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

@contextmanager
def _quiet_optuna(optuna: ModuleType) -> Iterator[None]:
    """Optuna logs every trial at INFO: raise its level to WARNING for the block only,
    so the caller's setting is back as soon as the adapter returns."""
    old = optuna.logging.get_verbosity()
    if old >= logging.WARNING:
        yield
        return
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(old)


_SAMPLERS = ("tpe", "cmaes", "random")


class OptunaSampler(_CopiesParameters, Optimizer):
    """An Optuna sampler (TPE, CMA-ES or random) through Optuna's ask/tell interface.

    Parameters
    ----------
    sampler : {"tpe", "cmaes", "random"}
        ``optuna.samplers.TPESampler``, ``CmaEsSampler`` (needs the ``cmaes`` package)
        or ``RandomSampler``.
    batch_size : int
        Trials per ``ask`` (>= 1).  With TPE and ``batch_size > 1`` the sampler uses
        ``constant_liar=True`` so a batch does not collapse on one point.
    sampler_kwargs : dict, optional
        Extra keyword arguments for the sampler (e.g. ``{"n_startup_trials": 20}``); the
        seed is set by the adapter.

    Notes
    -----
    * One in-memory study, ``direction="minimize"``, one ``FloatDistribution(0, 1)`` per
      dimension (parameters ``x0, x1, ...``), sampler seeded from ``rng``.
    * Points handed in by ``start(init=...)`` (the previous stage of a hybrid) or
      :meth:`inject` are added to the study as completed trials (``study.add_trials``):
      TPE models them at no evaluation cost.  CMA-ES is warm-started from ``init``
      when it has at least 10 points (``source_trials``, WS-CMA-ES: mean and
      covariance of the best 10 %); Optuna's ``x0`` is deprecated since 4.9.
    * Failed evaluations: a finite value (the driver's worst value seen) is told as is;
      ``+inf``/NaN are told as ``TrialState.FAIL``.
    * Partial tells: untold trials of a batch are asked again by the next ``ask``.
    * Logging: Optuna's INFO line per trial is silenced only while the adapter calls
      Optuna; ``optuna.logging`` verbosity is restored after every call.
    * Cost: TPE's cost per trial grows with the number of trials; report wall time.

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> from hybridlab.peers import OptunaSampler
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(2, -5, 5))
    >>> r = hl.minimize(p, OptunaSampler("tpe"), budget=60, seed=0)
    >>> r.n_evals, r.optimizer
    (60, 'optuna_tpe')
    """

    _parameters = ("sampler", "batch_size", "sampler_kwargs")

    def __init__(self, sampler: str = "tpe", batch_size: int = 1,
                 sampler_kwargs: dict[str, Any] | None = None) -> None:
        if sampler not in _SAMPLERS:
            raise ValueError(f"sampler must be one of {_SAMPLERS}, got {sampler!r}")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size (trials per ask) must be an integer >= 1, got "
                             f"{batch_size!r}")
        if sampler_kwargs is not None and not isinstance(sampler_kwargs, dict):
            raise ValueError(f"sampler_kwargs must be a dict of keyword arguments for the "
                             f"sampler or None, got {sampler_kwargs!r}")
        if sampler_kwargs and "seed" in sampler_kwargs:
            raise ValueError("sampler_kwargs must not contain 'seed': the adapter seeds the "
                             "sampler from the run's seed (pass seed= to minimize)")
        _require("optuna", "optuna", "OptunaSampler")
        if sampler == "cmaes":
            _require("cmaes", "cmaes", "OptunaSampler('cmaes')")
        self.sampler = sampler
        self.batch_size = batch_size
        self.sampler_kwargs = sampler_kwargs

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"optuna_{self.sampler}"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        optuna = self._optuna = _require("optuna", "optuna", "OptunaSampler")
        self._keys = [f"x{i}" for i in range(self.dim)]
        fd = optuna.distributions.FloatDistribution(0.0, 1.0)
        self._dists = dict.fromkeys(self._keys, fd)
        kwargs = dict(self.sampler_kwargs or {})
        kwargs["seed"] = _seed(rng)
        handed = self._trials(init.X, init.y) if init is not None else []
        samplers = optuna.samplers
        with warnings.catch_warnings(), _quiet_optuna(optuna):
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if self.sampler == "tpe":
                if self.batch_size > 1:
                    kwargs.setdefault("constant_liar", True)
                sampler = samplers.TPESampler(**kwargs)
            elif self.sampler == "cmaes":
                if len(handed) >= 10 and not {"x0", "sigma0"} & kwargs.keys():
                    kwargs.setdefault("source_trials", handed)  # WS-CMA-ES warm start
                sampler = samplers.CmaEsSampler(**kwargs)
            else:
                sampler = samplers.RandomSampler(**kwargs)
            self.study_ = optuna.create_study(direction="minimize", sampler=sampler)
            self.study_.add_trials(handed)
        self._pending: list[Any] = []

    def _trials(self, X: np.ndarray, y: np.ndarray) -> list[Any]:
        """Completed trials for the points with finite values."""
        create = self._optuna.trial.create_trial
        return [create(params=dict(zip(self._keys, np.clip(x, 0, 1).tolist(), strict=True)),
                       distributions=self._dists, value=float(v))
                for x, v in zip(X, y, strict=True) if math.isfinite(v)]

    def ask(self) -> np.ndarray:
        if not self._pending:
            with _quiet_optuna(self._optuna):
                self._pending = [self.study_.ask(self._dists)
                                 for _ in range(int(self.batch_size))]
        return np.array([[t.params[k] for k in self._keys] for t in self._pending],
                        dtype=float)

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) > len(self._pending):
            raise RuntimeError(f"OptunaSampler.tell() got {len(y)} values for "
                               f"{len(self._pending)} asked points")
        told, self._pending = self._pending[: len(y)], self._pending[len(y):]
        fail = self._optuna.trial.TrialState.FAIL
        with _quiet_optuna(self._optuna):
            for trial, v in zip(told, y.tolist(), strict=True):
                if math.isfinite(v):
                    self.study_.tell(trial, v)
                else:
                    self.study_.tell(trial, state=fail)

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        """Add points evaluated elsewhere to the study as completed trials."""
        super().inject(X, y)
        with _quiet_optuna(self._optuna):
            self.study_.add_trials(self._trials(np.asarray(X, dtype=float).reshape(-1, self.dim),
                                                np.asarray(y, dtype=float).reshape(-1)))


# ---------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------

def _optuna_tpe(**kwargs: Any) -> OptunaSampler:
    return OptunaSampler("tpe", **kwargs)


def _optuna_cmaes(**kwargs: Any) -> OptunaSampler:
    return OptunaSampler("cmaes", **kwargs)


#: registry name -> factory, added by :func:`register_peers`
PEERS = {"cmaes": CMAES, "ngopt": NGOpt, "optuna_tpe": _optuna_tpe,
         "optuna_cmaes": _optuna_cmaes}


def register_peers() -> None:
    """Add ``"cmaes"``, ``"ngopt"``, ``"optuna_tpe"`` and ``"optuna_cmaes"`` to
    :data:`hybridlab.optimizers.REGISTRY` (the libraries are imported only when one of
    them is built).  :func:`hybridlab.make` calls this by itself for a spec naming a peer.

    >>> from hybridlab.optimizers import REGISTRY
    >>> register_peers()
    >>> "cmaes" in REGISTRY and "optuna_tpe" in REGISTRY
    True
    """
    from .optimizers import REGISTRY, register

    for key, factory in PEERS.items():
        if key not in REGISTRY:  # a name the user registered first stays theirs
            register(key, factory)
