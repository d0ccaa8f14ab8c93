"""pycma's CMA-ES as an ask/tell optimizer on the unit box (registry name ``"cmaes"``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..optimizers.base import Optimizer, Population, is_int
from ._common import _finite, _require, _seed


class CMAES(Optimizer):
    """pycma's CMA-ES (``cma.CMAEvolutionStrategy``) in the unit box.

    Parameters
    ----------
    sigma0 : float
        Initial step size, in box widths (``0 < sigma0 <= 1``).
    popsize : int, optional
        Points per generation (>= 2); pycma's default ``4 + 3 ln(dim)`` when omitted.
    restarts : int
        IPOP-CMA-ES (Auger & Hansen 2005): when pycma's termination criteria fire, start
        again from a uniform random point with the population multiplied by
        ``incpopsize``, up to ``restarts`` times (0: plain CMA-ES; registry name
        ``"ipop_cmaes"`` uses 9).  Each restart is recorded in :attr:`restarts_`.
    incpopsize : float
        Population growth factor at each restart (IPOP's 2).

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

    def __init__(self, sigma0: float = 0.3, popsize: int | None = None, restarts: int = 0,
                 incpopsize: float = 2.0) -> None:
        if (isinstance(sigma0, bool) or not isinstance(sigma0, int | float | np.number)
                or not 0 < sigma0 <= 1):
            raise ValueError(f"sigma0 is a step size in box widths, 0 < sigma0 <= 1 (e.g. "
                             f"0.3); got {sigma0!r}")
        if popsize is not None and (not is_int(popsize) or popsize < 2):
            raise ValueError(f"popsize must be an integer >= 2, or None for pycma's default "
                             f"4 + 3 ln(dim); got {popsize!r}")
        if not is_int(restarts) or restarts < 0:
            raise ValueError(f"restarts must be an integer >= 0 (0: no restarts, IPOP uses "
                             f"9); got {restarts!r}")
        if not isinstance(incpopsize, int | float) or not incpopsize >= 1:
            raise ValueError(f"incpopsize must be a number >= 1 (IPOP: 2); got {incpopsize!r}")
        _require("cma", "cma", "CMAES")
        self.sigma0 = sigma0
        self.popsize = popsize
        self.restarts = restarts
        self.incpopsize = incpopsize

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        x0 = init.X[0] if init is not None and len(init) else rng.random(self.dim)
        self._randn = np.random.RandomState(_seed(rng)).randn
        self._new_es(x0, None if self.popsize is None else int(self.popsize))
        self.stop_reason_: dict[str, Any] = {}
        self.restarts_: list[dict[str, Any]] = []
        self._gen: np.ndarray | None = None  # the generation being evaluated
        self._gen_y = np.empty(0)
        self._worst = -math.inf

    def _new_es(self, x0: np.ndarray, popsize: int | None) -> None:
        cma = _require("cma", "cma", "CMAES")
        opts: dict[str, Any] = {
            "bounds": [0.0, 1.0], "seed": np.nan, "randn": self._randn,
            "verbose": -9, "verb_log": 0, "verb_disp": 0, "verb_plot": 0,
        }
        if popsize is not None:
            opts["popsize"] = popsize
        self.es_ = cma.CMAEvolutionStrategy(np.clip(x0, 0.0, 1.0), float(self.sigma0), opts)

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
        if self.stop_reason_ and self._gen is None and len(self.restarts_) < self.restarts:
            popsize = round(es.popsize * self.incpopsize)
            self.restarts_.append({"after": self.n_told, "reason": self.stop_reason_,
                                   "popsize": popsize})
            self._new_es(self.rng.random(self.dim), popsize)
            self.stop_reason_ = {}
        return bool(self.stop_reason_)


# ---------------------------------------------------------------------------------------
# Nevergrad
# ---------------------------------------------------------------------------------------

