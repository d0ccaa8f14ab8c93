"""Optuna samplers (TPE, Gaussian process, CMA-ES, random) as ask/tell optimizers on the
unit box."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from ..optimizers.base import Optimizer, Population, is_int
from ._common import _CopiesParameters, _require, _seed


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


_SAMPLERS = ("tpe", "gp", "cmaes", "random")


class OptunaSampler(_CopiesParameters, Optimizer):
    """An Optuna sampler (TPE, GP, CMA-ES or random) through Optuna's ask/tell interface.

    The model-based samplers (TPE and GP) are components like any other: a stage of a
    hybrid (``"optuna_tpe >> local"``), a member of a portfolio, the engine inside
    :class:`~hybridlab.MultiFidelity` (model-based successive halving, BOHB-style).

    Parameters
    ----------
    sampler : {"tpe", "gp", "cmaes", "random"}
        ``optuna.samplers.TPESampler``, ``GPSampler`` (Gaussian process with log EI;
        needs torch), ``CmaEsSampler`` (needs the ``cmaes`` package) or
        ``RandomSampler``.
    batch_size : int
        Trials per ``ask`` (>= 1).  With TPE and ``batch_size > 1`` the sampler uses
        ``constant_liar=True`` so a batch does not collapse on one point; the GP sampler
        treats the running trials of a batch as pending (Optuna's own handling).
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
        if not is_int(batch_size) or batch_size < 1:
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
            elif self.sampler == "gp":
                sampler = samplers.GPSampler(**kwargs)
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
