"""Ray Tune searcher: any hybridlab optimizer proposes Ray Tune trials.

Ray Tune runs trials (resources, parallelism, fault tolerance, schedulers such as ASHA);
:class:`HybridSearcher` decides *which* configurations to try, by handing out the points of
a hybridlab optimizer's ``ask()`` batches one trial at a time and telling the optimizer the
batch's values once every trial of the batch has completed.  It reproduces what
:func:`hybridlab.minimize` does with the same optimizer, seed and budget: the same seed
gives the same configurations, whatever order Tune's trials finish in.

Needs the ``ray`` extra (``pip install "hybridlab[ray]"``).
"""

from __future__ import annotations

import copy
import logging
import math
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from ..optimizers.adapted import adapt
from ..optimizers.base import Optimizer, Population, is_int
from ..registry import resolve
from ..space import Space
from ..stepping import FailureRule, checked_ask, encode_init

__all__ = ["HybridSearcher"]

logger = logging.getLogger(__name__)

#: what :meth:`HybridSearcher.save` writes: settings and evaluations, not the optimizer
#: (most optimizers cannot be pickled mid-run); :meth:`~HybridSearcher.restore` rebuilds
#: the optimizer's state by replaying the told batches
_STATE = ("_metric", "_mode", "seed", "budget", "_prototype", "_init", "_budget_hint",
          "_plan", "_told", "_finished", "_X", "_configs", "_y", "_done", "_next", "_trials",
          "_n_suggested", "_n_told", "_failures", "best_value", "best_config")

class HybridSearcher(Searcher):
    """A Ray Tune ``Searcher`` driven by a hybridlab optimizer.

    ``suggest`` hands out the points of the optimizer's current batch one by one (asking
    for a new batch only after the previous one is fully told), returns ``None`` while
    the batch's trials are still running (Tune asks again later), and ``FINISHED`` once
    ``budget`` trials were suggested or the optimizer's ``stop()`` says it converged.
    ``on_trial_complete`` records each trial's metric; when the whole batch is in, the
    optimizer is told.  Trials that error, report no metric, or a NaN/inf metric get the
    worst value seen so far (``+inf`` before any), as in :func:`hybridlab.minimize`.

    Parameters
    ----------
    space : Space or mapping of name -> dimension
        The search space.  A trial's config is its decoded point as a ``dict`` of Python
        values (name -> value; for an all-real space the decoded array is mapped to the
        dimension names).  Constants from Tune's ``param_space`` are merged in by Tune.
    optimizer : str or Optimizer
        A spec string (``"default"``, ``"ga>>local"``, ``"pso"``, ...) or an optimizer
        object, which is used (and changed) as is, as :func:`hybridlab.minimize` does.
    metric, mode : str, optional
        The reported metric and ``"min"`` or ``"max"``.  They may be given to
        ``tune.TuneConfig`` instead when the ``Tuner`` has a ``param_space`` (Tune passes
        them to a searcher only then).  With ``"max"`` the optimizer minimises the negated
        metric.
    seed : int, optional
        Seeds the optimizer through ``numpy.random.SeedSequence(seed)``, exactly as
        :func:`hybridlab.minimize` does.
    budget : int, optional
        Number of trials to suggest (set it to Tune's ``num_samples``).  It is also the
        budget the optimizer plans with -- hybrids such as ``"ga>>local"`` split it
        between their stages, so give it.  When omitted, Tune's ``num_samples`` is used
        as the plan if Tune passes it (it does when a ``param_space`` is given), and
        ``num_samples`` alone ends the search.
    points_to_evaluate : sequence of dict, optional
        Configurations to try first (a warm start, counted in the budget); they are
        handed to the optimizer as its starting population, like ``minimize(init=...)``.

    Attributes
    ----------
    optimizer : Optimizer
    best_config : dict or None
        The best configuration completed so far.
    best_value : float
        Its metric (in the metric's own sign; ``nan`` before any).
    n_suggested, n_told : int
        Trials suggested, and trials told to the optimizer (whole batches).

    Notes
    -----
    Early-stopping schedulers (``ASHAScheduler``, ``HyperBandScheduler``, ...) work: a
    stopped trial is completed with its last reported result, so the optimizer sees
    the metric at the fidelity the trial reached.  ``max_concurrent_trials`` larger than
    the optimizer's batch gives no extra parallelism: the next batch depends on the
    current one's values.  For cheap trials pass ``reuse_actors=True`` to
    ``tune.TuneConfig``: starting one actor per trial costs seconds.

    Example
    -------
    >>> from ray import tune
    >>> from hybridlab import Real, Space
    >>> from hybridlab.integrations import HybridSearcher
    >>> def trainable(config):
    ...     tune.report({"loss": (config["lr"] - 0.1) ** 2 + config["wd"]})
    >>> space = Space({"lr": Real(1e-3, 1.0, log=True), "wd": Real(0.0, 0.1)})
    >>> searcher = HybridSearcher(space, "ga>>local", metric="loss", mode="min",
    ...                           seed=0, budget=24)
    >>> tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
    ...     search_alg=searcher, num_samples=24, reuse_actors=True))  # doctest: +SKIP
    >>> best = tuner.fit().get_best_result().config  # doctest: +SKIP
    """

    def __init__(self, space: Space | Mapping[str, Any], optimizer: str | Optimizer = "default",
                 metric: str | None = None, mode: str | None = None, seed: int | None = None,
                 budget: int | None = None,
                 points_to_evaluate: Sequence[Mapping[str, Any]] | None = None) -> None:
        if not isinstance(space, Space):
            space = Space(space)
        _check_metric_mode(metric, mode)
        if budget is not None and (not is_int(budget) or budget < 1):
            raise ValueError(f"budget must be an integer >= 1 (trials) or None, got {budget!r}")
        opt = resolve(optimizer)
        super().__init__(metric=metric, mode=mode)
        self.space = space
        self.optimizer = opt
        self._opt = adapt(opt)  # the whole contract, also for a duck type
        self._prototype = optimizer if isinstance(optimizer, str) else _pristine(opt)
        self.seed = seed
        self.budget = None if budget is None else int(budget)
        self._init = None if points_to_evaluate is None else encode_init(
            space, points_to_evaluate, "points_to_evaluate")
        self._budget_hint: int | None = None
        self._plan: int | None = None  # the budget handed to optimizer.start
        self._told: list[tuple[np.ndarray, np.ndarray]] = []  # batches told: X, fitness
        self._stage = "new"  # -> "init" (points_to_evaluate) -> "run"
        self._finished = False
        self._X = np.empty((0, space.dim))  # the current batch, unit box
        self._configs: list[dict[str, Any]] = []
        self._y = np.empty(0)  # its fitness (minimised; nan = failed)
        self._done = np.empty(0, dtype=bool)
        self._next = 0  # next point of the batch to hand out
        self._trials: dict[str, int] = {}  # trial id -> index in the current batch
        self._n_suggested = 0
        self._n_told = 0
        self._failures = FailureRule()
        self.best_value = math.nan
        self.best_config: dict[str, Any] | None = None

    def __repr__(self) -> str:
        name = getattr(self.optimizer, "name", type(self.optimizer).__name__)
        return (f"HybridSearcher({name!r}, dim={self.space.dim}, metric={self.metric!r}, "
                f"mode={self.mode!r}, suggested={self._n_suggested}, budget={self.budget})")

    @property
    def n_suggested(self) -> int:
        """Trials suggested so far."""
        return self._n_suggested

    @property
    def n_told(self) -> int:
        """Trials whose values the optimizer has been told (whole batches)."""
        return self._n_told

    # -- Tune's protocol ---------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None,
                              config: dict[str, Any], **spec: Any) -> bool:
        """Take ``metric``/``mode`` from ``tune.TuneConfig`` (those given here win) and
        ``num_samples`` as the optimizer's planning budget when ``budget`` is None.

        Returns False when ``config`` holds Tune search-space definitions: the space is
        this searcher's, so Tune then refuses them with its own message.  Constants in
        ``config`` are fine (Tune merges them into every trial's config).
        """
        _check_metric_mode(metric, mode)
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        n = spec.get("num_samples")
        if self.budget is None and self._stage == "new" and is_int(n) and n > 0:
            self._budget_hint = int(n)
        return not _has_domains(config)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        """The next point of the current batch as a config, ``None`` while the batch's
        trials are still running, or ``Searcher.FINISHED``."""
        if self._finished or (self.budget is not None and self._n_suggested >= self.budget):
            return Searcher.FINISHED
        if self._next >= len(self._X):
            if not self._done.all():
                return None  # wait for the batch: the next one depends on its values
            self._new_batch()
            if self._finished:
                return Searcher.FINISHED
        i = self._next
        self._next += 1
        self._trials[trial_id] = i
        self._n_suggested += 1
        return dict(self._configs[i])

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None,
                          error: bool = False) -> None:
        """Record the trial's metric; tell the optimizer when its batch is complete.

        Unknown trial ids (trials this searcher did not suggest) are ignored.
        """
        i = self._trials.pop(trial_id, None)
        if i is None:
            return
        self._y[i] = self._fitness(result, error)
        self._done[i] = True
        if self._done.all() and self._next >= len(self._X):
            self._tell_batch()

    def save(self, checkpoint_path: str) -> None:
        """Pickle the searcher's state to ``checkpoint_path`` (Tune calls this at each
        experiment checkpoint).

        The state is the settings and the evaluations so far, not the optimizer: most
        optimizers cannot be pickled mid-run (a local search waits inside scipy in a
        thread), so :meth:`restore` rebuilds the optimizer's state by replaying the told
        batches, as :mod:`hybridlab.tracking` resumes a run.
        """
        if self._prototype is None:
            raise NotImplementedError("HybridSearcher.save: the optimizer object could not "
                                      "be copied at construction, so it cannot be rebuilt")
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        """Restore a state written by :meth:`save` (into a searcher with the same space).

        Raises ``RuntimeError`` if the rebuilt optimizer does not propose the stored
        batches again (a different hybridlab version or a non-deterministic optimizer).
        """
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))

    def get_state(self) -> dict[str, Any]:
        return {"dim": self.space.dim, **{k: getattr(self, k) for k in _STATE}}

    def set_state(self, state: dict[str, Any]) -> None:
        if state["dim"] != self.space.dim:
            raise ValueError(f"the saved searcher had a {state['dim']}-d space; this one "
                             f"has {self.space.dim} dimensions")
        for k in _STATE:
            setattr(self, k, state[k])
        proto = self._prototype
        self.optimizer = resolve(proto, copy=True)
        self._opt = adapt(self.optimizer)
        if not self._finished:
            self._replay()

    def _replay(self) -> None:
        """Bring a fresh optimizer to the saved state by asking and telling again."""
        saved = {k: getattr(self, k) for k in ("_X", "_configs", "_y", "_done", "_next",
                                                "_trials", "_n_suggested", "_told")}
        self._stage, self._n_told, self._told = "new", 0, []
        self._X = np.empty((0, self.space.dim))
        batches = list(saved["_told"])
        X_now = saved["_X"]
        pending = len(X_now) > 0 and not (saved["_done"].all() and
                                          saved["_next"] >= len(X_now))
        if pending:
            batches.append((X_now, None))
        for X, y in batches:
            self._n_suggested = self._n_told
            self._new_batch()
            if not np.array_equal(self._X, X):
                raise RuntimeError("HybridSearcher.restore: the rebuilt optimizer proposed "
                                   f"other points than the saved run at trial {self._n_told}")
            if y is not None:
                self._told.append((X, y))
                self._apply(X, y)
        for k, v in saved.items():
            setattr(self, k, v)

    def close(self) -> None:
        """Release the optimizer's resources (e.g. a local search's worker thread)."""
        self._opt.close()

    # -- internals ---------------------------------------------------------------------
    def _fitness(self, result: dict[str, Any] | None, error: bool) -> float:
        """The value to minimise, or nan for a failed trial."""
        if error or not result or self.metric not in result:
            return math.nan
        try:
            v = float(result[self.metric])
        except (TypeError, ValueError):
            return math.nan
        if not math.isfinite(v):
            return math.nan
        return -v if self.mode == "max" else v

    def _new_batch(self) -> None:
        if self._stage == "new":
            if self.metric is None or self.mode is None:
                raise ValueError("HybridSearcher needs metric and mode: pass them to "
                                 "HybridSearcher(...) (tune.TuneConfig's metric and mode "
                                 "reach a searcher only when the Tuner has a param_space)")
            if self._init is not None:
                self._stage = "init"
                self._set_batch(self._init)
                return
            self._start(None)
        if self.budget is not None and self._n_told >= self.budget:
            self._finish()
            return
        self._set_batch(checked_ask(self._opt, self.space.dim))

    def _start(self, init: Population | None) -> None:
        plan = self.budget if self.budget is not None else self._budget_hint
        self._plan = None if plan is None else max(plan - self._n_told, 1)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed))
        self._opt.start(self.space.dim, rng, init, self._plan)
        self._stage = "run"

    def _set_batch(self, X: np.ndarray) -> None:
        if self.budget is not None:
            X = X[: self.budget - self._n_suggested]
        self._X = X
        self._configs = _configs(self.space, X)
        self._y = np.full(len(X), np.nan)
        self._done = np.zeros(len(X), dtype=bool)
        self._next = 0

    def _tell_batch(self) -> None:
        y = self._y.copy()
        ok = ~np.isnan(y)
        if ok.any():
            i = int(np.argmin(np.where(ok, y, np.inf)))
            if not (self.best_config is not None and y[i] >= self._best_fitness()):
                self.best_config = dict(self._configs[i])
                self.best_value = float(-y[i] if self.mode == "max" else y[i])
        y = self._failures.fill(y, ok)
        self._told.append((self._X, y))
        self._apply(self._X, y)

    def _apply(self, X: np.ndarray, y: np.ndarray) -> None:
        """Tell a complete batch (or start the optimizer from the warm-start batch)."""
        self._n_told += len(y)
        if self._stage == "init":
            self._start(Population(X, y))
        else:
            self._opt.tell(X, y)
            if self.budget is None or self._n_told < self.budget:
                if self._opt.stop():
                    self._finish()
                    return
        if self.budget is not None and self._n_told >= self.budget:
            self._finish()

    def _best_fitness(self) -> float:
        return -self.best_value if self.mode == "max" else self.best_value

    def _finish(self) -> None:
        self._finished = True
        self.close()


def _pristine(opt: Any) -> Any:
    """A copy of an optimizer object before it starts (what restore rebuilds from)."""
    try:
        return copy.deepcopy(opt)
    except Exception:  # an object that cannot be copied: save is then unavailable
        return None


def _check_metric_mode(metric: Any, mode: Any) -> None:
    if mode not in (None, "min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    if metric is not None and not isinstance(metric, str):
        raise ValueError(f"metric must be the name of one reported metric, got {metric!r}")


def _configs(space: Space, X: np.ndarray) -> list[dict[str, Any]]:
    """Unit points -> trial configs (dicts of Python values)."""
    if len(X) == 0:
        return []
    values = space.decode_batch(X)
    if space.is_real:
        return [{n: float(v) for n, v in zip(space.names, row, strict=True)} for row in values]
    return list(values)


def _has_domains(config: Any) -> bool:
    """True if a Tune ``param_space`` holds search-space definitions (``tune.uniform``,
    ``tune.grid_search``, ...) rather than constants."""
    from ray.tune.search.variant_generator import parse_spec_vars

    if not config:
        return False
    _, domains, grids = parse_spec_vars(config)
    return bool(domains or grids)
