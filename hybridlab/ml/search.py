"""``HybridSearchCV``: any hybridlab optimizer as a scikit-learn hyperparameter search.

It is a :class:`~sklearn.model_selection._search.BaseSearchCV` subclass: scikit-learn
does the cross-validation, parallelism (``n_jobs``), scoring, ``error_score``, refit and
``cv_results_``; hybridlab decides which candidates to try next.  Each batch the
optimizer asks for is decoded into parameter dicts and handed to scikit-learn's
``evaluate_candidates``; the mean test scores go back to the optimizer through the one
driver (:func:`hybridlab.minimize`), so failed fits, seeding and history work as in any
other run.
"""

from __future__ import annotations

import copy
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state

from ..conditional import ConditionalSpace
from ..driver import minimize
from ..optimizers import make
from ..problem import Problem
from ..space import Space

__all__ = ["HybridSearchCV"]

_patch_lock = threading.Lock()
_patch_depth = 0


@contextmanager
def _lenient_batches() -> Iterator[None]:
    """Let a batch in which every fit failed count as failed candidates.

    scikit-learn raises "All the N fits failed" when every fit of one
    ``evaluate_candidates`` call fails: right for a grid evaluated in one call, wrong for
    a search that evaluates one candidate at a time (one bad candidate would end it).
    While a search runs, that check warns instead (the candidates get ``error_score``,
    as failed candidates of a grid do); :class:`HybridSearchCV` raises at the end if
    every candidate failed.
    """
    global _patch_depth
    from sklearn.exceptions import FitFailedWarning
    from sklearn.model_selection import _search

    with _patch_lock:
        if _patch_depth == 0:
            original = _search._warn_or_raise_about_fit_failures

            def lenient(results: Any, error_score: Any) -> None:
                try:
                    original(results, error_score)
                except ValueError as exc:
                    warnings.warn(str(exc), FitFailedWarning, stacklevel=2)

            lenient.original = original  # type: ignore[attr-defined]
            _search._warn_or_raise_about_fit_failures = lenient
        _patch_depth += 1
    try:
        yield
    finally:
        with _patch_lock:
            _patch_depth -= 1
            if _patch_depth == 0:
                fn = _search._warn_or_raise_about_fit_failures
                _search._warn_or_raise_about_fit_failures = fn.original


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
    optimizer : str or Optimizer, default="default"
        A registry name or hybrid spec (``"ga>>local"``, ``"bayes"``, ``"optuna_tpe"``)
        or an optimizer object (copied, never mutated).  ``"default"`` here means
        :func:`hybridlab.hybrid.expensive`, the hybrid for few, costly evaluations.
    n_iter : int, default=50
        Number of candidates evaluated (each costs ``cv`` fits).
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

    Attributes
    ----------
    cv_results_, best_params_, best_score_, best_estimator_, best_index_, n_splits_,
    refit_time_, multimetric_, scorer_
        As in :class:`~sklearn.model_selection.GridSearchCV`.
    optimizer_result_ : hybridlab.Result
        The optimizer's run: ``history`` (one row per candidate, with its phase, e.g.
        ``lhs`` or ``bayes``), and ``plot()`` for the convergence curve.  Its ``y`` is
        the negated best mean CV score.
    optimizer_seconds_ : float
        Time spent outside scikit-learn's fitting and scoring: the optimizer's asks and
        tells and the driver's bookkeeping (the search's own overhead), wall clock.
    optimizer_cpu_seconds_ : float
        The same overhead as CPU time of the calling thread: unlike the wall clock, it
        does not grow when other processes compete for the cores.

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
    """

    def __init__(self, estimator: Any, search_space: Mapping[str, Any] | Space,
                 optimizer: Any = "default", n_iter: int = 50, *, scoring: Any = None,
                 n_jobs: int | None = None, refit: Any = True, cv: Any = None,
                 verbose: int = 0, pre_dispatch: Any = "2*n_jobs",
                 random_state: Any = None, error_score: Any = np.nan,
                 return_train_score: bool = False,
                 init: Sequence[Mapping[str, Any]] | None = None,
                 progress: bool = False) -> None:
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.search_space = search_space
        self.optimizer = optimizer
        self.n_iter = n_iter
        self.random_state = random_state
        self.init = init
        self.progress = progress

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
        opt = self.optimizer
        if isinstance(opt, str):
            return make("expensive" if opt.strip() == "default" else opt)
        if not hasattr(opt, "ask") or not hasattr(opt, "tell"):
            raise ValueError(f"optimizer must be a registry name, a hybrid spec or an "
                             f"ask/tell optimizer, got {opt!r}")
        return copy.deepcopy(opt)

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(2**31 - 1)) \
            if not isinstance(self.random_state, Integral) else int(self.random_state)

    def _run_search(self, evaluate_candidates: Any, **kwargs: Any) -> None:
        n_iter = self.n_iter
        if not isinstance(n_iter, Integral) or isinstance(n_iter, bool) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}")
        space = self._space()
        optimizer = self._optimizer()
        names = space.names

        def as_params(values: Any) -> list[dict[str, Any]]:
            if isinstance(values, np.ndarray):  # a plain real Space decodes to arrays
                return [dict(zip(names, map(float, row), strict=True)) for row in values]
            return list(values)

        raised: list[BaseException] = []
        fitting = [0.0, 0.0]  # wall and this thread's CPU seconds inside scikit-learn

        def objective(values: Any) -> np.ndarray:
            params = as_params(values)
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                results = evaluate_candidates(params, **kwargs)
                fitting[0] += time.perf_counter() - t0
                fitting[1] += time.thread_time() - c0
                key = self._score_key(results)
            except BaseException as exc:  # not a failed fit (those give error_score)
                raised.append(exc)
                raise
            return -np.asarray(results[key], float)[-len(params):]

        problem = Problem(objective, space, name=type(self.estimator).__name__,
                          vectorized="records")
        callbacks = [lambda progress: bool(raised)]
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=int(n_iter), desc=type(self.estimator).__name__, unit="cand")

            def advance(p: Any) -> None:
                bar.update(p.n_evals - bar.n)
                bar.set_postfix(best=f"{-p.best_y:.4f}")

            callbacks.append(advance)
        cpu0 = time.thread_time()
        try:
            with _lenient_batches():
                self.optimizer_result_ = minimize(
                    problem, optimizer, int(n_iter), seed=self._seed(), init=self.init,
                    callbacks=callbacks)
        finally:
            if bar is not None:
                bar.close()
        self.optimizer_seconds_ = max(0.0, self.optimizer_result_.seconds - fitting[0])
        self.optimizer_cpu_seconds_ = max(0.0, time.thread_time() - cpu0 - fitting[1])
        if raised:
            raise raised[0]
        if not self.optimizer_result_.history["status"].eq("ok").any():
            raise ValueError(f"all {self.optimizer_result_.n_evals} candidates failed to fit; "
                             "set error_score='raise' to see the first error")

    def _score_key(self, results: Mapping[str, Any]) -> str:
        if "mean_test_score" in results:
            return "mean_test_score"
        if isinstance(self.refit, str) and f"mean_test_{self.refit}" in results:
            return f"mean_test_{self.refit}"
        raise ValueError("with several scorers, set refit='<scorer name>' so that the "
                         "optimizer knows which score to maximise")
