"""``HybridSearchCV``: any hybridlab optimizer as a scikit-learn hyperparameter search.

It is a :class:`~sklearn.model_selection._search.BaseSearchCV` subclass: scikit-learn
does the cross-validation, parallelism (``n_jobs``), scoring, ``error_score``, refit and
``cv_results_``; hybridlab decides which candidates to try next.  Each batch the
optimizer asks for is decoded into parameter dicts and handed to scikit-learn's
``evaluate_candidates``; the mean test scores go back to the optimizer through the one
driver (:func:`hybridlab.minimize`), so failed fits, seeding and history work as in any
other run.

With ``resource`` and a :class:`~hybridlab.fidelity.MultiFidelity` optimizer the search is
multi-fidelity, in the vocabulary of scikit-learn's ``HalvingRandomSearchCV``: a
candidate is first scored on a fraction of each training fold (``resource="n_samples"``)
or with a small value of an estimator parameter (``resource="max_iter"``), and only the
promising ones at full fidelity.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state

from hybridlab.conditional import ConditionalSpace
from hybridlab.driver import minimize
from hybridlab.problem import Problem
from hybridlab.registry import resolve
from hybridlab.space import Space

from ._energy_share import measured
from ._failed_rows import FailedBatches, all_fits_failed
from ._fidelity import _n_kept, _positive, _SubsampledTrain

__all__ = ["HybridSearchCV"]

class HybridSearchCV(BaseSearchCV):
    """Hyperparameter search driven by a hybridlab optimizer (hybrid or single).

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn estimator or pipeline.
    search_space : dict or Space
        Parameter names (``step__param`` for pipelines) to :class:`~hybridlab.Real`,
        :class:`~hybridlab.Integer`, :class:`~hybridlab.Categorical` or
        :class:`~hybridlab.conditional.Choice` (a categorical that switches sub-spaces,
        e.g. the model of a pipeline and that model's own parameters).
    optimizer : str or Optimizer, default="expensive"
        A registry name or hybrid spec (``"ga>>local"``, ``"bayes"``, ``"optuna_tpe"``)
        or an optimizer object (copied, never mutated), resolved by
        :func:`hybridlab.registry.resolve`.  The default, ``"expensive"``, is
        :func:`hybridlab.expensive`, the hybrid for few, costly evaluations (each one is
        ``cv`` fits); ``"default"`` means :func:`hybridlab.default`, as everywhere.
    n_iter : int, default=50
        Number of candidates evaluated (each costs ``cv`` fits).  With ``resource``, the
        number of full-fidelity-equivalent evaluations: the budget is ``n_iter *
        max_resources`` fidelity units, so a multi-fidelity optimizer scores more
        candidates, most of them cheaply, for the cost of ``n_iter`` full ones.
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in :class:`~sklearn.model_selection.GridSearchCV`.  With several scorers,
        ``refit`` names the one the optimizer maximises.
    random_state : int, RandomState or None
        Seeds the optimizer; the same seed gives the same candidates.
    init : list of dict, optional
        Candidates evaluated first (e.g. the estimator's defaults), counted in
        ``n_iter``; the optimizer starts from them.
    progress : bool, default=False
        Show a tqdm progress bar over the candidates with the best score so far.
    energy : bool, default=False
        Measure energy with codecarbon, offline (extra ``energy``;
        :class:`~hybridlab.energy.EnergyMonitor`): each batch of candidates as one
        measurement, shared among its candidates by their fit + score time, in
        ``cv_results_["energy_kwh"]``; the search's total in ``energy_kwh_`` and how
        codecarbon measured (counters or its load-times-TDP estimate) in
        ``energy_method_``.
    resource : str, optional
        What the fidelity of a multi-fidelity optimizer
        (:class:`~hybridlab.fidelity.MultiFidelity`) controls, as in scikit-learn's
        ``HalvingRandomSearchCV``: ``"n_samples"`` trains on the fraction ``fidelity /
        max_resources`` of each training fold (a random subset fixed by
        ``random_state``, stratified for classifiers, nested across fidelities; test
        folds stay whole), and an estimator parameter name (``"max_iter"``,
        ``"model__n_estimators"``) sets that parameter to the fidelity rounded to an
        int.  With an optimizer that is not multi-fidelity every candidate is scored at
        ``max_resources``.  Not in ``search_space``.
    min_resources, max_resources : float, optional
        The lowest and the full fidelity.  By default a multi-fidelity optimizer's first
        and last rung (given here, they must agree with it: ``max_resources`` its last
        rung, ``min_resources`` at most its first); with another optimizer,
        ``max_resources`` defaults to the estimator's current value of the parameter
        resource, or to 1 for ``"n_samples"`` (the whole training fold).

    Attributes
    ----------
    cv_results_, best_params_, best_score_, best_estimator_, best_index_, n_splits_,
    refit_time_, multimetric_, scorer_
        As in :class:`~sklearn.model_selection.GridSearchCV`.
    optimizer_result_ : hybridlab.Result
        The optimizer's run: ``history`` (one row per candidate, with its phase, e.g.
        ``lhs`` or ``bayes``), and ``plot()`` for the convergence curve.  Its ``y`` is
        the negated best mean CV score.  With ``resource``, ``history`` has ``fidelity``
        and ``cost`` columns and ``cost`` is the fidelity units spent (at most ``n_iter
        * max_resources``).
    optimizer_seconds_ : float
        Time spent outside scikit-learn's fitting and scoring: the optimizer's asks and
        tells and the driver's bookkeeping (the search's own overhead), wall clock.
    optimizer_cpu_seconds_ : float
        The same overhead as CPU time of the calling thread: unlike the wall clock, it
        does not grow when other processes compete for the cores.

    Notes
    -----
    With ``resource``, ``cv_results_`` has one row per evaluation (a candidate promoted
    through three fidelities has three rows) and two more columns: ``fidelity`` and
    ``n_resources`` (the parameter's value, or the training samples per fit, averaged
    over the folds).  ``best_index_``, ``best_params_``, ``best_score_`` and the refit
    consider the full-fidelity rows only (a callable ``refit`` sees all rows);
    ``rank_test_score`` ranks all rows, so compare rows of one fidelity.

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from hybridlab import Real
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HybridSearchCV(SVC(), {"C": Real(1e-2, 1e2, log=True)}, n_iter=8,
    ...                         cv=3, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"]), bool(search.best_score_ > 0.9)
    (8, True)

    Multi-fidelity: successive halving on the training-set size inside every population
    of a GA, for the cost of 6 full-data evaluations.

    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from hybridlab import GA, MultiFidelity
    >>> mf = HybridSearchCV(SGDClassifier(random_state=0),
    ...                     {"alpha": Real(1e-6, 1e-1, log=True)},
    ...                     MultiFidelity(GA(pop_size=9), 1, 9), n_iter=6,
    ...                     resource="n_samples", cv=3, random_state=0).fit(X, y)
    >>> np.unique(mf.cv_results_["fidelity"]).tolist()
    [1.0, 3.0, 9.0]
    >>> float(mf.cv_results_["fidelity"][mf.best_index_]), mf.optimizer_result_.cost <= 6 * 9
    (9.0, True)
    """

    def __init__(self, estimator: Any, search_space: Mapping[str, Any] | Space,
                 optimizer: Any = "expensive", n_iter: int = 50, *, scoring: Any = None,
                 n_jobs: int | None = None, refit: Any = True, cv: Any = None,
                 verbose: int = 0, pre_dispatch: Any = "2*n_jobs",
                 random_state: Any = None, error_score: Any = np.nan,
                 return_train_score: bool = False,
                 init: Sequence[Mapping[str, Any]] | None = None,
                 progress: bool = False, energy: bool = False,
                 resource: str | None = None,
                 min_resources: float | None = None,
                 max_resources: float | None = None) -> None:
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.search_space = search_space
        self.optimizer = optimizer
        self.n_iter = n_iter
        self.random_state = random_state
        self.init = init
        self.progress = progress
        self.energy = energy
        self.resource = resource
        self.min_resources = min_resources
        self.max_resources = max_resources

    # -- what the search runs on ------------------------------------------------------
    def _space(self) -> Space:
        if isinstance(self.search_space, Space):
            return self.search_space
        if not isinstance(self.search_space, Mapping) or not self.search_space:
            raise ValueError("search_space must be a non-empty dict of parameter name -> "
                             "Real/Integer/Categorical/Choice (or a hybridlab Space), got "
                             f"{self.search_space!r}")
        return ConditionalSpace(self.search_space)

    def _optimizer(self) -> Any:
        return resolve(self.optimizer, copy=True)

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(2**31 - 1)) \
            if not isinstance(self.random_state, Integral) else int(self.random_state)

    def _fidelity_range(self, optimizer: Any, space: Space) -> tuple[float, float] | None:
        """``(low, high)`` fidelity of a search with ``resource``; ``None`` without."""
        rungs = getattr(optimizer, "rungs", None)
        resource = self.resource
        if resource is None:
            if rungs is not None:
                raise ValueError(f"{getattr(optimizer, 'name', optimizer)} scores candidates "
                                 f"at several fidelities: set resource='n_samples' (a "
                                 f"fraction of each training fold) or resource='<estimator "
                                 f"parameter>' such as 'max_iter'")
            if self.min_resources is not None or self.max_resources is not None:
                raise ValueError("min_resources and max_resources need resource='n_samples' "
                                 "or resource='<estimator parameter>'")
            return None
        if not isinstance(resource, str) or not resource:
            raise ValueError(f"resource must be 'n_samples' or the name of an estimator "
                             f"parameter such as 'max_iter', got {resource!r}")
        if resource != "n_samples":
            names = self.estimator.get_params()
            if resource not in names:
                raise ValueError(f"resource={resource!r} is neither 'n_samples' nor a "
                                 f"parameter of {type(self.estimator).__name__}")
            if resource in space.names or (isinstance(self.search_space, Mapping)
                                           and resource in self.search_space):
                raise ValueError(f"resource={resource!r} is also in search_space: the "
                                 f"fidelity sets it, so leave it out of the space")
        lo = _positive("min_resources", self.min_resources)
        hi = _positive("max_resources", self.max_resources)
        if rungs is not None:
            first, last = float(rungs[0]), float(rungs[-1])
            if hi is not None and hi != last:
                raise ValueError(f"max_resources={hi:g} must be the optimizer's full fidelity "
                                 f"{last:g} (its last rung); leave it out to take it from "
                                 f"the optimizer")
            if lo is not None and lo > first:
                raise ValueError(f"min_resources={lo:g} must be at most the optimizer's "
                                 f"first rung {first:g}")
            return (first if lo is None else lo), last
        if hi is None:
            default = 1.0 if resource == "n_samples" else self.estimator.get_params()[resource]
            try:
                hi = _positive("max_resources", default)
            except ValueError:
                raise ValueError(f"set max_resources: the estimator's {resource}={default!r} "
                                 f"is not a positive number") from None
        lo = hi if lo is None else lo
        if lo > hi:
            raise ValueError(f"min_resources={lo:g} must be at most max_resources={hi:g}")
        return lo, hi

    def fit(self, X: Any, y: Any = None, **params: Any) -> HybridSearchCV:
        """Run the search (as :meth:`GridSearchCV.fit
        <sklearn.model_selection.GridSearchCV.fit>`); candidates whose every fit failed
        are in ``cv_results_`` where they were asked, with ``error_score``."""
        self._failed_batches = FailedBatches()
        self._energy, self._candidate_kwh = None, []
        if self.energy:
            from hybridlab.energy import EnergyMonitor

            self._energy, self._candidate_kwh = EnergyMonitor().start(), []
        try:
            super().fit(X, y, **params)
        finally:
            if self._energy is not None:
                self._energy.stop()
        if self._failed_batches.rows:
            self.cv_results_, where = self._failed_batches.merge(
                self.cv_results_, float(self.error_score))
            if hasattr(self, "best_index_"):
                self.best_index_ = int(where[self.best_index_])
        if self._energy is not None:  # asked order = cv_results_ order, failed rows too
            self.cv_results_["energy_kwh"] = np.asarray(self._candidate_kwh, float)
            self.energy_kwh_, self.energy_method_ = self._energy.kwh, self._energy.method
        return self

    def _check_input_parameters(self, X: Any, y: Any, split_params: Any) -> None:
        # scikit-learn's hook before the search (HalvingRandomSearchCV's too): the size
        # of each training fold, for the ``n_resources`` of a subsampled search
        if self.resource == "n_samples":
            self._train_sizes = [len(train) for train, _ in
                                 self._checked_cv_orig.split(X, y, **split_params)]

    def _at_fidelity(self, params: list[dict[str, Any]], r: float, high: float,
                     seed: int) -> tuple[list[dict[str, Any]], Any, dict[str, list]]:
        """The candidates, cv splitter and ``more_results`` of a batch at fidelity ``r``."""
        cv = None  # the search's own
        if self.resource == "n_samples":
            if r < high:
                cv = _SubsampledTrain(self._checked_cv_orig, r / high, seed,
                                      stratify=is_classifier(self.estimator))
            n_res = round(float(np.mean([_n_kept(r / high, n) for n in self._train_sizes])))
        else:
            n_res = round(float(r))
            params = [{**p, self.resource: n_res} for p in params]
        n = len(params)
        return params, cv, {"fidelity": [float(r)] * n, "n_resources": [n_res] * n}

    @staticmethod
    def _select_best_index(refit: Any, refit_metric: str, results: Mapping[str, Any]) -> int:
        """The best full-fidelity row (the highest fidelity there is); the usual rule
        without ``resource`` or with a callable ``refit``."""
        if "fidelity" not in results or callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        fid = np.asarray(results["fidelity"], float)
        rows = np.flatnonzero(fid == fid.max())
        rank = np.asarray(results[f"rank_test_{refit_metric}"])[rows]
        return int(rows[np.argmin(rank)])

    def _run_search(self, evaluate_candidates: Any, **kwargs: Any) -> None:
        n_iter = self.n_iter
        if not isinstance(n_iter, Integral) or isinstance(n_iter, bool) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}")
        space = self._space()
        optimizer = self._optimizer()
        fid_range = self._fidelity_range(optimizer, space)
        seed = self._seed()
        names = space.names

        def as_params(values: Any) -> list[dict[str, Any]]:
            if isinstance(values, np.ndarray):  # a plain real Space decodes to arrays
                return [dict(zip(names, map(float, row), strict=True)) for row in values]
            return list(values)

        raised: list[BaseException] = []
        fitting = [0.0, 0.0]  # wall and this thread's CPU seconds inside scikit-learn

        failed = self._failed_batches = FailedBatches()

        def objective(values: Any, fidelity: float | None = None) -> np.ndarray:
            params, cv, more = as_params(values), None, None
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                if fid_range is not None:
                    params, cv, more = self._at_fidelity(params, fidelity, fid_range[1], seed)
                try:
                    results = measured(self._energy, self._candidate_kwh,
                                       evaluate_candidates, params, cv=cv,
                                       more_results=more, **kwargs)
                except ValueError as exc:
                    if not all_fits_failed(exc):
                        raise
                    # every fit of this batch failed: failed candidates of the search,
                    # not the end of it (put back into cv_results_ by fit)
                    warnings.warn(str(exc), FitFailedWarning, stacklevel=2)
                    failed.failed(params, more)
                    return np.full(len(params), -float(self.error_score))
                finally:
                    fitting[0] += time.perf_counter() - t0
                    fitting[1] += time.thread_time() - c0
                failed.ok(len(params))
                key = self._score_key(results)
            except BaseException as exc:  # not a failed fit (those give error_score)
                raised.append(exc)
                raise
            return -np.asarray(results[key], float)[-len(params):]

        problem = Problem(objective, space, name=type(self.estimator).__name__,
                          vectorized="records", fidelity=fid_range)
        budget = int(n_iter) if fid_range is None else int(n_iter * fid_range[1] + 1e-9)
        unit = 1.0 if fid_range is None else fid_range[1]
        callbacks = [lambda progress: bool(raised)]
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=int(n_iter), desc=type(self.estimator).__name__,
                       unit="cand" if fid_range is None else "full eval")

            def advance(p: Any) -> None:
                done = p.n_evals if fid_range is None else round(p.spent / unit, 2)
                bar.update(done - bar.n)
                if np.isfinite(p.best_y):  # none yet before a full-fidelity score
                    bar.set_postfix(best=f"{-p.best_y:.4f}")

            callbacks.append(advance)
        cpu0 = time.thread_time()
        try:
            self.optimizer_result_ = minimize(problem, optimizer, budget, seed=seed,
                                              init=self.init, callbacks=callbacks)
        finally:
            if bar is not None:
                bar.close()
        self.optimizer_seconds_ = max(0.0, self.optimizer_result_.seconds - fitting[0])
        self.optimizer_cpu_seconds_ = max(0.0, time.thread_time() - cpu0 - fitting[1])
        if raised:
            raise raised[0]
        history = self.optimizer_result_.history
        if not history["status"].eq("ok").any():
            raise ValueError(f"all {self.optimizer_result_.n_evals} candidates failed to fit; "
                             "set error_score='raise' to see the first error")
        if fid_range is not None and not history["fidelity"].ge(fid_range[1]).any():
            warnings.warn(f"no candidate reached the full fidelity {fid_range[1]:g} within "
                          f"n_iter={n_iter}: best_params_ come from fidelity "
                          f"{history['fidelity'].max():g}; raise n_iter", stacklevel=3)

    def _score_key(self, results: Mapping[str, Any]) -> str:
        if "mean_test_score" in results:
            return "mean_test_score"
        if isinstance(self.refit, str) and f"mean_test_{self.refit}" in results:
            return f"mean_test_{self.refit}"
        raise ValueError("with several scorers, set refit='<scorer name>' so that the "
                         "optimizer knows which score to maximise")
