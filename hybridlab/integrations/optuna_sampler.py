"""Optuna sampler: any hybridlab optimizer proposes the trials of an Optuna study.

Optuna runs the study (storage, dashboard, ``study.optimize``, pruners, ``n_jobs``);
:class:`HybridSampler` decides *which* parameters each trial gets, by handing out the
points of a hybridlab optimizer's ``ask()`` batches one trial at a time and telling the
optimizer the batch's values once every trial of the batch has finished.  With
``n_jobs=1`` it reproduces what :func:`hybridlab.minimize` does with the same optimizer,
seed and budget: the same trials, in the same order, with the same best value.

Needs Optuna (``pip install "hybridlab[peers]"``); importing
:mod:`hybridlab.integrations` does not import it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from ..conditional import Choice, ConditionalSpace
from ..optimizers.adapted import adapt
from ..optimizers.base import Optimizer, is_int
from ..registry import resolve
from ..space import Categorical, Dimension, Integer, Real, Space
from ..stepping import FailureRule, checked_ask, phase_labels

__all__ = ["HybridSampler", "suggest"]

logger = logging.getLogger(__name__)

#: system attributes written on each trial the optimizer proposed
PHASE_KEY = "hybridlab:phase"
POINT_KEY = "hybridlab:point"  # [batch number, index in the batch]
#: on a trial the optimizer did not propose: why ("batch pending" or "finished")
FALLBACK_KEY = "hybridlab:fallback"

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class HybridSampler(BaseSampler):
    """An Optuna sampler driven by a hybridlab optimizer.

    ``sample_relative`` hands out the points of the optimizer's current batch, one per
    trial (a new batch is asked for only after the previous one was told); when the
    last trial of a batch finishes (``after_trial``) the optimizer is told the batch's
    values.  Minimised studies are told the values as they are, maximised ones the
    negated values.  FAIL and PRUNED trials, and non-finite values, are told the worst
    value seen so far (``+inf`` before any), as :func:`hybridlab.minimize` does with
    ``on_error="penalize"``: a pruned trial's intermediate value is at a lower fidelity
    and is not used.

    Parameters
    ----------
    space : Space or mapping of name -> dimension
        The search space: a hybridlab :class:`~hybridlab.Space`, or a dict whose values
        are ``Real``/``Integer``/``Categorical`` or Optuna distributions
        (``FloatDistribution``/``IntDistribution`` without ``step``,
        ``CategoricalDistribution``).  The objective must suggest these parameters with
        the same distributions (``trial.suggest_float("lr", 1e-4, 1e-1, log=True)`` for
        ``Real(1e-4, 1e-1, log=True)``); :meth:`infer_relative_search_space` returns them.
        Categorical choices must be ``None``, bool, int, float or str (what Optuna
        stores).
    optimizer : str or Optimizer
        A spec string (``"default"``, ``"ga>>local"``, ``"pso"``, ...) or an optimizer
        object, which is used (and changed) as is, as :func:`hybridlab.minimize` does.
    seed : int, optional
        Seeds the optimizer through ``numpy.random.SeedSequence(seed)``, exactly as
        :func:`hybridlab.minimize` does, and the fallback ``RandomSampler(seed)``.
    budget : int, optional
        Number of trials the optimizer proposes (set it to ``n_trials``).  It is also the
        budget the optimizer plans with -- hybrids such as ``"ga>>local"`` split it
        between their stages, so give it.  Trials beyond it are sampled at random.

    Attributes
    ----------
    space : Space
    optimizer : Optimizer
    n_suggested, n_told, n_fallback : int
        Trials given an optimizer's point; trials told to the optimizer (whole batches);
        trials sampled by the random fallback instead.

    Notes
    -----
    * Parameters outside ``space`` (and space parameters suggested with other bounds)
      are sampled by ``RandomSampler(seed)``, independently.
    * With ``n_jobs > 1`` the optimizer still proposes one batch at a time: a trial that
      starts while the batch is handed out but not yet finished is sampled at random
      (system attribute ``"hybridlab:fallback"``) and is *not* told to the optimizer --
      the next batch depends on the current one's values.  Parallelism beyond the
      batch size therefore buys random trials.  The same holds once ``budget`` trials
      were proposed or the optimizer's ``stop()`` said it converged.
    * The optimizer lives in this object, not in the storage: a study resumed in a new
      process (or shared by several processes) starts a new optimizer in each.  A trial
      of the batch that never finishes keeps the batch from being told (heartbeat-failed
      stale trials count as failures).
    * Parameters of enqueued trials (``study.enqueue_trial``) override the proposed
      ones; the optimizer is told the point that was evaluated.
    * Call :meth:`close` when the study ends early (it is called for you once ``budget``
      trials were told) to release the optimizer's resources.
    * Multi-objective studies raise ``ValueError``.

    Example
    -------
    >>> import optuna
    >>> from hybridlab import Real, Space
    >>> from hybridlab.integrations import HybridSampler
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> space = Space({"x": Real(-3.0, 3.0), "y": Real(-3.0, 3.0)})
    >>> def objective(trial):
    ...     x, y = trial.suggest_float("x", -3.0, 3.0), trial.suggest_float("y", -3.0, 3.0)
    ...     return (x - 1.0) ** 2 + (y + 0.5) ** 2
    >>> sampler = HybridSampler(space, "ga>>local", seed=0, budget=60)
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(objective, n_trials=60)
    >>> sampler.n_told, study.best_value < 0.05
    (60, True)
    """

    def __init__(self, space: Space | Mapping[str, Any], optimizer: str | Optimizer = "default",
                 seed: int | None = None, budget: int | None = None) -> None:
        self.space = _to_space(space)
        self._distributions = _distributions(self.space)
        if budget is not None and (not is_int(budget) or budget < 1):
            raise ValueError(f"budget must be an integer >= 1 (trials) or None, got {budget!r}")
        if seed is not None and (not is_int(seed) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.optimizer = resolve(optimizer)
        self._opt = adapt(self.optimizer)  # the whole contract, also for a duck type
        self.seed = seed
        self.budget = None if budget is None else int(budget)
        self._random = RandomSampler(seed=seed)
        self._lock = threading.RLock()
        self._study: tuple[int, str] | None = None  # (storage id, study name) in use
        self._sign = 1.0  # -1.0 for a maximised study
        self._started = False
        self._finished = False
        self._batch = -1  # number of the current batch
        self._X = np.empty((0, self.space.dim))  # current batch, unit box
        self._configs: list[dict[str, Any]] = []
        self._phases: list[str] = []
        self._by_number: dict[int, int] = {}  # trial number -> index, until recorded
        self._y = np.empty(0)  # fitness (minimised; nan = failed), once done
        self._done = np.empty(0, dtype=bool)
        self._next = 0
        self._failures = FailureRule()
        self.n_suggested = 0
        self.n_told = 0
        self.n_fallback = 0
        self._warned = False

    def __repr__(self) -> str:
        name = getattr(self.optimizer, "name", type(self.optimizer).__name__)
        return (f"HybridSampler({name!r}, dim={self.space.dim}, seed={self.seed}, "
                f"suggested={self.n_suggested}, budget={self.budget})")

    # -- Optuna's sampler protocol -----------------------------------------------------
    def infer_relative_search_space(self, study: Study,
                                    trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """The Optuna distributions of ``space`` (the same for every trial)."""
        self._check_study(study)
        return dict(self._distributions)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        """The next point of the optimizer's batch, or ``{}`` (random fallback) while
        the batch is pending or once the optimizer is done."""
        self._check_study(study)
        if not search_space:
            return {}
        with self._lock:
            if not self._finished and self._next >= len(self._X):
                if not self._done.all():
                    self._sync(study)
                if self._done.all() and not self._finished:  # _sync may finish the run
                    self._new_batch()
            if self._finished or self._next >= len(self._X):
                return self._fallback(study, trial)
            i = self._next
            self._next += 1
            self._by_number[trial.number] = i
            self.n_suggested += 1
            config, phase, batch = dict(self._configs[i]), self._phases[i], self._batch
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, PHASE_KEY, phase)
        storage.set_trial_system_attr(trial._trial_id, POINT_KEY, [batch, i])
        return {k: v for k, v in config.items() if k in search_space}

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        """Parameters outside ``space``: sampled by ``RandomSampler(seed)``."""
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        """Record a proposed trial's value; tell the optimizer when its batch is in."""
        with self._lock:
            self._record(trial, state, values)

    def reseed_rng(self) -> None:
        """Reseed the random fallback (Optuna calls this with ``n_jobs > 1``); the
        optimizer's stream is untouched."""
        self._random.reseed_rng()

    def close(self) -> None:
        """Release the optimizer's resources (e.g. a local search's worker thread)."""
        self._opt.close()

    # -- internals ---------------------------------------------------------------------
    def _check_study(self, study: Study) -> None:
        self._raise_error_if_multi_objective(study)
        key = (id(study._storage), study.study_name)
        with self._lock:
            if self._study is None:
                self._study = key
                self._sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
            elif self._study != key:
                raise ValueError("this HybridSampler already drives another study; create "
                                 "one sampler per study")

    def _new_batch(self) -> None:
        if not self._started:
            rng = np.random.default_rng(np.random.SeedSequence(self.seed))
            self._opt.start(self.space.dim, rng, None, self.budget)
            self._started = True
        X = checked_ask(self._opt, self.space.dim)
        if self.budget is not None:
            X = X[: self.budget - self.n_told]
        self._batch += 1
        self._X = X
        self._configs = _configs(self.space, X)
        self._phases = phase_labels(self._opt, len(X))
        self._by_number = {}
        self._y = np.full(len(X), np.nan)
        self._done = np.zeros(len(X), dtype=bool)
        self._next = 0

    def _record(self, trial: FrozenTrial, state: TrialState,
                values: Sequence[float] | None) -> None:
        i = self._by_number.pop(trial.number, None)
        if i is None or self._done[i]:
            return  # not proposed by the optimizer (or an older batch)
        v = values[0] if state == TrialState.COMPLETE and values else math.nan
        self._y[i] = self._sign * v if math.isfinite(v) else math.nan
        self._done[i] = True
        self._X[i] = self._evaluated_point(i, trial.params)
        if self._done.all() and self._next >= len(self._X):
            self._tell_batch()

    def _sync(self, study: Study) -> None:
        """Record finished trials of the batch that ``after_trial`` did not see (e.g.
        trials failed as stale by Optuna's heartbeat)."""
        pending = self._by_number
        if not pending:
            return
        for t in study.get_trials(deepcopy=False, states=_FINISHED):
            if t.number in pending:
                self._record(t, t.state, t.values)

    def _evaluated_point(self, i: int, params: Mapping[str, Any]) -> np.ndarray:
        """The unit point that was evaluated: the proposed one, unless an enqueued trial
        fixed some parameters to other values."""
        x = self._X[i].copy()
        for j, (name, dim) in enumerate(self.space.dims.items()):
            if name in params and params[name] != self._configs[i][name]:
                try:
                    x[j] = dim.encode(params[name])
                except ValueError:  # outside the space: keep the proposed point
                    pass
        return x

    def _tell_batch(self) -> None:
        y = self._failures.fill(self._y, ~np.isnan(self._y))
        self._opt.tell(self._X, y)
        self.n_told += len(y)
        if self.budget is not None and self.n_told >= self.budget:
            self._finish()
        elif self._opt.stop():
            self._finish()

    def _finish(self) -> None:
        self._finished = True
        self.close()

    def _fallback(self, study: Study, trial: FrozenTrial) -> dict[str, Any]:
        reason = "finished" if self._finished else "batch pending"
        self.n_fallback += 1
        if not self._warned:
            self._warned = True
            logger.warning("HybridSampler: trial %d is sampled at random (%s); such trials "
                           "are not told to the optimizer", trial.number, reason)
        study._storage.set_trial_system_attr(trial._trial_id, FALLBACK_KEY, reason)
        return {}


def _to_space(space: Any) -> Space:
    if isinstance(space, Space):
        return space
    if not isinstance(space, Mapping):
        raise ValueError(f"space must be a hybridlab Space or a dict of name -> dimension "
                         f"(Real/Integer/Categorical or Optuna distributions), got {space!r}")
    return Space({name: _dimension(name, d) for name, d in space.items()})


def _dimension(name: str, d: Any) -> Dimension:
    """A hybridlab dimension for an Optuna distribution (dimensions pass through)."""
    if isinstance(d, FloatDistribution | IntDistribution):
        step_ok = d.step is None if isinstance(d, FloatDistribution) else d.step == 1
        if not step_ok:
            raise ValueError(f"{name!r}: {d!r} has a step; HybridSampler supports steps only "
                             "as Categorical choices")
        kind = Real if isinstance(d, FloatDistribution) else Integer
        return kind(d.low, d.high, d.log)
    if isinstance(d, CategoricalDistribution):
        return Categorical(d.choices)
    return d  # Space checks it is a Real, Integer or Categorical


def _distributions(space: Space) -> dict[str, BaseDistribution]:
    out: dict[str, BaseDistribution] = {}
    for name, d in space.dims.items():
        if isinstance(d, Real):
            out[name] = FloatDistribution(float(d.low), float(d.high), log=d.log)
        elif isinstance(d, Integer):
            out[name] = IntDistribution(int(d.low), int(d.high), log=d.log)
        else:
            bad = [c for c in d.choices if not (c is None or isinstance(c, bool | int | float
                                                                         | str))]
            if bad:
                raise ValueError(f"{name!r}: Optuna stores categorical choices that are "
                                 f"None, bool, int, float or str, got {bad!r}")
            out[name] = CategoricalDistribution(d.choices)
    return out


def _configs(space: Space, X: np.ndarray) -> list[dict[str, Any]]:
    """Unit points -> trial params (dicts of Python values within the bounds)."""
    values = space.decode_batch(X)
    if not space.is_real:
        return list(values)
    lo = np.array([d.low for d in space.dims.values()], dtype=float)
    hi = np.array([d.high for d in space.dims.values()], dtype=float)
    values = np.clip(values, lo, hi)  # Optuna refuses a value one ulp outside
    return [{n: float(v) for n, v in zip(space.names, row, strict=True)} for row in values]


def suggest(trial: Any, space: Space | Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of ``space`` drawn with ``trial.suggest_*``: Optuna's define-by-run
    form of a hybridlab space, for comparing with Optuna's own samplers on one space.

    ``Real``/``Integer`` (with ``log``) become ``suggest_float``/``suggest_int``,
    ``Categorical`` ``suggest_categorical``; a :class:`~hybridlab.conditional.Choice`
    suggests its label, then only the chosen option's own parameters, and returns the
    option's value under its name (what :meth:`ConditionalSpace.decode` gives).

    Example
    -------
    >>> import optuna
    >>> from hybridlab.space import Integer, Real, Space
    >>> space = Space({"lr": Real(1e-4, 1e-1, log=True), "layers": Integer(1, 3)})
    >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    >>> sorted(suggest(study.ask(), space))
    ['layers', 'lr']
    """
    params = space.params if isinstance(space, ConditionalSpace) else \
        space.dims if isinstance(space, Space) else dict(space)
    out: dict[str, Any] = {}
    for name, d in params.items():
        if isinstance(d, Choice):
            label = trial.suggest_categorical(name, list(d.labels))
            option = d.options[list(d.labels).index(label)]
            out[name] = option.value
            out.update(suggest(trial, option.subspace))
        elif isinstance(d, Real):
            out[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
        elif isinstance(d, Integer):
            out[name] = trial.suggest_int(name, int(d.low), int(d.high), log=d.log)
        elif isinstance(d, Categorical):
            out[name] = trial.suggest_categorical(name, list(d.choices))
        else:
            raise ValueError(f"no Optuna distribution for {name}: {d!r}; use Real, "
                             f"Integer, Categorical or Choice")
    return out
