"""CMA-ES as an engine: pycma's ask/tell in the unit box, with IPOP and BIPOP restarts.

Registry names ``"cma"`` (one run), ``"ipop"`` (IPOP-CMA-ES, Auger & Hansen 2005: the
population doubles at each restart) and ``"bipop"`` (BIPOP-CMA-ES, Hansen 2009: restarts
alternate between a doubling large population and short runs with a small population and
step size, whichever regime has used fewer evaluations).  A run restarts whenever pycma's
own termination criteria fire (``es.stop()``), until the driver's budget ends, so
:meth:`CMA.stop` stays False while restarts remain.

In a hybrid, ``start(init=...)`` puts the mean on the best handed point and derives the
step size from the spread of the best handed points, so ``"ga>>cma"`` refines what the GA
found and ``"cma>>local"`` polishes CMA's best.  A switching hybrid can read
:attr:`CMA.conditioning` and :attr:`CMA.n_restarts`.

:class:`hybridlab.peers.CMAES` (``"cmaes"``, ``"ipop_cmaes"``) is the older adapter, kept
unchanged so that studies which name it give the same results.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Optimizer, Population, is_int

__all__ = ["CMA", "RESTARTS", "bipop", "ipop"]

#: the restart schemes of :class:`CMA` (``None``: a single run)
RESTARTS = (None, "ipop", "bipop")
#: the smallest initial step size derived from a handed population (box widths)
SIGMA_MIN = 1e-3
#: pycma options :class:`CMA` sets itself
_RESERVED = ("bounds", "seed", "randn", "popsize", "verbose", "verb_log", "verb_disp",
             "verb_plot")


def _cma() -> Any:
    try:
        import cma
    except ImportError as exc:  # a core dependency; only a broken install lacks it
        raise ImportError("CMA needs pycma: pip install cma") from exc
    return cma


def _check(sigma0: Any, popsize: Any, restarts: Any, incpopsize: Any, max_restarts: Any,
           options: Any) -> None:
    if restarts not in RESTARTS:
        raise ValueError(f"restarts must be one of {list(RESTARTS)} (None: one run); got "
                         f"{restarts!r}")
    if (isinstance(sigma0, bool) or not isinstance(sigma0, int | float | np.number)
            or not 0 < sigma0 <= 1):
        raise ValueError(f"sigma0 is a step size in box widths, 0 < sigma0 <= 1 (e.g. 0.3); "
                         f"got {sigma0!r}")
    if popsize is not None and (not is_int(popsize) or popsize < 2):
        raise ValueError(f"popsize must be an integer >= 2, or None for pycma's default "
                         f"4 + 3 ln(dim); got {popsize!r}")
    if (isinstance(incpopsize, bool) or not isinstance(incpopsize, int | float)
            or not incpopsize >= 1):
        raise ValueError(f"incpopsize must be a number >= 1 (IPOP: 2); got {incpopsize!r}")
    if max_restarts is not None and (not is_int(max_restarts) or max_restarts < 0):
        raise ValueError(f"max_restarts must be an integer >= 0, or None to restart until "
                         f"the budget ends; got {max_restarts!r}")
    if options is not None and not isinstance(options, dict):
        raise ValueError(f"options must be a dict of pycma options or None; got {options!r}")
    clash = sorted(set(options or {}) & set(_RESERVED))
    if clash:
        raise ValueError(f"options {clash} are set by CMA itself; use its arguments "
                         "(sigma0, popsize) and the driver's seed instead")


class CMA(Optimizer):
    """CMA-ES (pycma's ``cma.CMAEvolutionStrategy``) in the unit box, with restarts.

    Parameters
    ----------
    restarts : {None, "ipop", "bipop"}
        None: one run; :meth:`stop` turns True when pycma's termination criteria fire.
        ``"ipop"``: restart from a uniform random point with the population multiplied
        by ``incpopsize``.  ``"bipop"``: before each restart, compare the evaluations used
        by the large-population runs (the first run counts as small) with those of the
        small-population runs: the regime that used fewer runs next.  A large run
        multiplies the population again; a small run draws ``u, v`` uniform in ``[0, 1]``
        and uses ``int(popsize0 * m ** (u ** 2))`` points (``m``: the last large
        multiplier), step ``sigma0 * 0.01 ** v`` and at most half the large runs'
        evaluations (Hansen 2009, as pycma's ``fmin(bipop=True)``).
    sigma0 : float
        Initial step size in box widths, ``0 < sigma0 <= 1``.
    popsize : int, optional
        Points per generation (>= 2) of the first run; pycma's ``4 + 3 ln(dim)`` if None.
    incpopsize : float
        Population growth at each large restart (2).
    max_restarts : int, optional
        At most this many restarts (None: until the budget ends).
    options : dict, optional
        Further pycma options, e.g. ``{"CMA_diagonal": True, "tolfun": 1e-12}``; the box,
        seeding, population and verbosity are set by this class.

    Attributes
    ----------
    es_ : cma.CMAEvolutionStrategy
        The live run after ``start``.
    restarts_ : list of dict
        One per restart: evaluations told before it (``after``), pycma's ``reason``, the
        ``regime`` ("large" or "small"), ``popsize`` and ``sigma0`` of the new run.
    stop_reason_ : dict
        pycma's termination criteria once the last allowed run has stopped.

    Notes
    -----
    * Box: pycma's ``bounds=[0, 1]`` (its ``BoundTransform``): every asked point is in
      the box.  One batch is one generation, so a process pool evaluates it in parallel.
    * Start: without ``init`` the mean is a uniform random point and the step ``sigma0``.
      With ``init`` (a hybrid's previous stage) the mean is its best point and the step
      is the root-mean-square spread per axis of its best ``popsize`` points, clipped to
      ``[1e-3, sigma0]``; restarts start afresh (uniform point, ``sigma0``).
    * Seeding: pycma samples from a ``np.random.RandomState`` seeded from ``rng``
      (option ``randn``); restart points and BIPOP's draws come from ``rng``.  The
      global ``np.random`` state is never seeded or read.
    * Partial tells: pycma needs whole generations; untold rows are asked again.
    * Failures: non-finite values are told as the worst finite value seen (0 before any).
    * :meth:`inject`: when the best offered point beats everything the current run has
      seen, it is put into the next generation (pycma's ``es.inject``), where it costs one
      evaluation and pulls the mean towards it; otherwise it only joins
      :attr:`population`.

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(5, -5, 5))
    >>> r = hl.minimize(p, CMA(restarts="bipop"), budget=3000, seed=0)
    >>> r.n_evals, bool(r.y < 1e-10)
    (3000, True)
    """

    name = "cma"

    def __init__(self, restarts: str | None = None, sigma0: float = 0.3,
                 popsize: int | None = None, incpopsize: float = 2.0,
                 max_restarts: int | None = None,
                 options: dict[str, Any] | None = None) -> None:
        _check(sigma0, popsize, restarts, incpopsize, max_restarts, options)
        self.restarts = restarts
        self.sigma0 = sigma0
        self.popsize = popsize
        self.incpopsize = incpopsize
        self.max_restarts = max_restarts
        self.options = options
        if restarts is not None:
            self.name = restarts

    # -- read-only state for switching hybrids --------------------------------------
    @property
    def n_restarts(self) -> int:
        """Restarts so far (0 before the first)."""
        return len(getattr(self, "restarts_", ()))

    @property
    def conditioning(self) -> float:
        """Condition number of the current run's covariance matrix (1 for an isotropic
        one; large on ill-conditioned problems); NaN before ``start``."""
        es = getattr(self, "es_", None)
        if es is None:
            return math.nan
        number = getattr(es.sm, "condition_number", None)
        if number is None:  # a sampler without it: the ratio of the axis lengths
            d = np.asarray(es.D, dtype=float)
            number = float(d.max() / d.min()) ** 2
        return float(number)

    @property
    def sigma(self) -> float:
        """The current run's overall step size (box widths); NaN before ``start``."""
        es = getattr(self, "es_", None)
        return math.nan if es is None else float(es.sigma)

    # -- the contract -----------------------------------------------------------------
    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self._randn = np.random.RandomState(int(rng.integers(2**31 - 1))).randn
        popsize = None if self.popsize is None else int(self.popsize)
        if init is not None and len(init):
            k = max(2, popsize or 4 + int(3 * math.log(self.dim)))
            spread = float(np.sqrt(np.mean(np.var(init.X[:k], axis=0)))) if len(init) > 1 \
                else float(self.sigma0)
            x0, sigma = init.X[0], float(np.clip(spread, SIGMA_MIN, self.sigma0))
        else:
            x0, sigma = rng.random(self.dim), float(self.sigma0)
        self.restarts_: list[dict[str, Any]] = []
        self.stop_reason_: dict[str, Any] = {}
        self._new_es(x0, sigma, popsize, None)
        self._popsize0 = int(self.es_.popsize)
        self._maxiter0 = float(self.es_.opts["maxiter"])
        self._evals = {"small": [], "large": []}  # BIPOP's accounting, per regime
        self._regime = "small"  # the first run counts as small (pycma's fmin)
        self._n_large = 0
        self._worst = -math.inf
        self._gen: np.ndarray | None = None  # the generation being evaluated
        self._gen_y = np.empty(0)
        self._offered: np.ndarray | None = None  # an injected point for the next ask

    def ask(self) -> np.ndarray:
        if self._gen is None:
            self._maybe_restart()
            if self._offered is not None:
                es, x = self.es_, self._offered
                es.inject([es.gp.geno(x, from_bounds=es.boundary_handler.inverse)],
                          force=True)
                self._offered = None
            self._gen = np.asarray(self.es_.ask(), dtype=float)
            self._gen_y = np.empty(0)
        return self._gen[len(self._gen_y):].copy()

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        if self._gen is None:
            raise RuntimeError("CMA.tell() without a pending ask()")
        y = np.asarray(y, dtype=float).reshape(-1)
        ok = np.isfinite(y)
        if ok.any():
            self._worst = max(self._worst, float(y[ok].max()))
        y = np.where(ok, y, self._worst if math.isfinite(self._worst) else 0.0)
        left = len(self._gen) - len(self._gen_y)
        if len(y) > left:
            raise RuntimeError(f"CMA.tell() got {len(y)} values for {left} asked points")
        self._gen_y = np.concatenate([self._gen_y, y])
        if len(self._gen_y) == len(self._gen):
            self.es_.tell(list(self._gen), self._gen_y.tolist())
            self._run_best = min(self._run_best, float(self._gen_y.min()))
            self._gen = None

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        super().inject(X, y)
        y = np.asarray(y, dtype=float).reshape(-1)
        ok = np.isfinite(y)
        if not ok.any():
            return
        i = int(np.argmin(np.where(ok, y, np.inf)))
        if y[i] < self._run_best:
            self._offered = np.clip(np.asarray(X, dtype=float).reshape(-1, self.dim)[i],
                                    0.0, 1.0)

    def stop(self) -> bool:
        if getattr(self, "es_", None) is None or self._gen is not None:
            return False
        self._maybe_restart()
        return bool(self.stop_reason_)

    # -- runs and restarts --------------------------------------------------------------
    def _new_es(self, x0: np.ndarray, sigma: float, popsize: int | None,
                maxiter: float | None) -> None:
        opts: dict[str, Any] = dict(self.options or {})
        opts.update({"bounds": [0.0, 1.0], "seed": np.nan, "randn": self._randn,
                     "verbose": -9, "verb_log": 0, "verb_disp": 0, "verb_plot": 0})
        if popsize is not None:
            opts["popsize"] = popsize
        if maxiter is not None:
            opts["maxiter"] = maxiter
        self.es_ = _cma().CMAEvolutionStrategy(np.clip(x0, 0.0, 1.0), sigma, opts)
        self._run_best = math.inf

    def _maybe_restart(self) -> None:
        """Start the next run if the current one has stopped and a restart remains;
        else keep pycma's reasons in :attr:`stop_reason_`."""
        reason = dict(self.es_.stop())
        if not reason:
            return
        if self.restarts is None or (self.max_restarts is not None
                                     and self.n_restarts >= self.max_restarts):
            self.stop_reason_ = reason
            return
        self._evals[self._regime].append(int(self.es_.countevals))
        small, large = sum(self._evals["small"]), sum(self._evals["large"])
        sigma, maxiter = float(self.sigma0), None
        if self.restarts == "bipop" and small < max(1, large):
            self._regime = "small"
            u, v = self.rng.random(2)
            multiplier = self.incpopsize ** self._n_large
            popsize = max(2, int(self._popsize0 * multiplier ** (u ** 2)))
            sigma *= 0.01 ** v
            maxiter = max(1.0, min(self._maxiter0, 0.5 * large / popsize))
        else:
            self._regime = "large"
            self._n_large += 1
            popsize = round(self._popsize0 * self.incpopsize ** self._n_large)
        self.restarts_.append({"after": self.n_told, "reason": reason,
                               "regime": self._regime, "popsize": popsize, "sigma0": sigma})
        self._new_es(self.rng.random(self.dim), sigma, popsize, maxiter)


def ipop(**kwargs: Any) -> CMA:
    """IPOP-CMA-ES: ``CMA(restarts="ipop", ...)`` (registry name ``"ipop"``).

    >>> ipop(popsize=8).name
    'ipop'
    """
    kwargs.setdefault("restarts", "ipop")
    return CMA(**kwargs)


def bipop(**kwargs: Any) -> CMA:
    """BIPOP-CMA-ES: ``CMA(restarts="bipop", ...)`` (registry name ``"bipop"``).

    >>> bipop().name
    'bipop'
    """
    kwargs.setdefault("restarts", "bipop")
    return CMA(**kwargs)
