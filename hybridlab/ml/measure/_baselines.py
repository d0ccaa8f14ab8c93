"""Single-optimizer baselines: what plain, one-algorithm searches reach on a problem.

Tuning is only worth its budget when it beats plain, single-algorithm optimizers.
:func:`optimizer_baselines` runs :class:`~hybridlab.ml.search.HybridSearchCV` once per
(optimizer, seed) on one estimator and search space and returns every trial as a tidy frame;
:func:`summarize_baselines` condenses it to one row per optimizer (best CV score, and the
test score of the best candidate refitted on the training data).
:func:`~hybridlab.ml.measure.plot_best_so_far` draws the frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import check_scoring

from hybridlab.ml.search import HybridSearchCV

from ._measure import _reusable_cv, _thread_limit

__all__ = ["BASELINE_COLUMNS", "optimizer_baselines", "summarize_baselines"]

#: Columns of :func:`optimizer_baselines`'s frame, in order.
BASELINE_COLUMNS = (
    "optimizer",
    "seed",
    "trial",
    "score",
    "best_so_far",
    "seconds",
    "elapsed_s",
    "phase",
    "status",
    "params",
)


def _labelled(optimizers: Any) -> list[tuple[str, Any]]:
    if isinstance(optimizers, Mapping):
        items = [(str(k), v) for k, v in optimizers.items()]
    elif isinstance(optimizers, str):
        items = [(optimizers, optimizers)]
    else:
        items = [(o if isinstance(o, str) else type(o).__name__, o) for o in optimizers]
    if not items:
        raise ValueError("optimizers is empty: give at least one, e.g. ('random', 'ga')")
    labels = [k for k, _ in items]
    if len(set(labels)) != len(labels):
        raise ValueError(f"optimizer labels must be unique, got {labels}; pass a dict "
                         "{label: optimizer} to name them")
    return items


def optimizer_baselines(estimator: Any, space: Mapping[str, Any], X: Any, y: Any,
                        optimizers: Sequence[Any] | Mapping[str, Any] = (
                            "random", "ga", "pso", "local", "bayes"),
                        n_iter: int = 30, cv: Any = 5, seeds: Iterable[int] = (0, 1, 2),
                        n_jobs: int | None = None, *, scoring: Any = None,
                        max_threads: int | None = None) -> pd.DataFrame:
    """Every trial of single-algorithm searches, one run per (optimizer, seed).

    Each run is a :class:`~hybridlab.ml.search.HybridSearchCV` with ``refit=False`` on
    ``X, y``: the same estimator, space, budget and folds, only the optimizer and its seed
    change, so the curves compare the algorithms.

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn estimator or pipeline.
    space : dict
        The search space, as :class:`~hybridlab.ml.search.HybridSearchCV` takes it
        (``Real``, ``Integer``, ``Categorical``, ``Choice``; ``step__param`` names).
    X, y : array-like
        Training data: the searches never see a test set.
    optimizers : sequence or mapping, default ("random", "ga", "pso", "local", "bayes")
        Registry names or hybrid specs (labelled by themselves), optimizer objects
        (labelled by class name), or a dict ``{label: optimizer}``.
    n_iter : int, default 30
        Candidates per run (each costs ``cv`` fits).
    cv : int, cross-validation generator or iterable, default 5
        As in scikit-learn; an int gives the unshuffled (Stratified)KFold, so every run
        sees the same folds (as does a splitter with a fixed ``random_state``).
    seeds : iterable of int, default (0, 1, 2)
        Optimizer seeds; each optimizer runs once per seed.
    n_jobs : int or None
        Parallel CV fits within a run (scikit-learn's ``n_jobs``).
    scoring : str, callable or None, keyword-only
        One scorer, as in scikit-learn; None uses the estimator's ``score``.
    max_threads : int or None, keyword-only
        Cap the native thread pools (OpenMP, BLAS) during the searches with
        ``threadpoolctl`` (see :func:`~hybridlab.ml.measure.measure`) in this process
        (joblib workers started by ``n_jobs`` set their own); None leaves them.  Small fits
        on a busy machine often run several times faster with 1.

    Returns
    -------
    pandas.DataFrame
        One row per trial, in run order.  Columns: ``optimizer`` (label), ``seed``,
        ``trial`` (1-based), ``score`` (mean CV score, the negated ``y`` of
        ``optimizer_result_.history``; NaN when every fold failed), ``best_so_far``
        (running maximum of ``score`` within the run, NaN before its first success),
        ``seconds`` (wall time of the trial: scikit-learn evaluates a batch of candidates
        in one call, so a batch's time is split evenly between its candidates),
        ``elapsed_s`` (seconds since the run started, at the end of the trial's batch),
        ``phase`` (which part of the optimizer proposed it, e.g. ``lhs``), ``status``
        (``ok`` or why not) and ``params`` (the candidate's parameter dict).  A run has
        ``n_iter`` rows unless its optimizer stopped early (``Result.stopped``).

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from hybridlab import Real
    >>> X, y = load_iris(return_X_y=True)
    >>> f = optimizer_baselines(LogisticRegression(max_iter=300),
    ...                         {"C": Real(1e-3, 1e2, log=True)}, X, y,
    ...                         optimizers=("random", "ga"), n_iter=4, cv=3, seeds=(0, 1))
    >>> len(f), f.groupby(["optimizer", "seed"]).size().tolist()
    (16, [4, 4, 4, 4])
    """
    items = _labelled(optimizers)
    cv = _reusable_cv(cv)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one, e.g. (0, 1, 2)")
    frames = []
    with _thread_limit(max_threads):
        for label, opt in items:
            for seed in seeds:
                search = HybridSearchCV(estimator, space, optimizer=opt, n_iter=n_iter, cv=cv,
                                        scoring=scoring, n_jobs=n_jobs, refit=False,
                                        random_state=seed).fit(X, y)
                h = search.optimizer_result_.history
                params = list(search.cv_results_["params"])
                if len(params) != len(h):  # pragma: no cover - HybridSearchCV keeps them equal
                    raise RuntimeError(f"{len(params)} candidates but {len(h)} history rows")
                score = -h["y"].to_numpy(dtype=float)
                frames.append(pd.DataFrame({
                    "optimizer": label,
                    "seed": seed,
                    "trial": h["eval"].to_numpy(dtype=np.int64),
                    "score": score,
                    "best_so_far": np.fmax.accumulate(score) if len(score) else score,
                    "seconds": h["seconds"].to_numpy(dtype=float),
                    "elapsed_s": h["time"].to_numpy(dtype=float),
                    "phase": h["phase"].astype(str).to_numpy(),
                    "status": h["status"].astype(str).to_numpy(),
                    "params": params,
                }))
    out = pd.concat(frames, ignore_index=True)
    out["seed"] = out["seed"].astype(np.int64)
    return out[list(BASELINE_COLUMNS)]


def summarize_baselines(frame: pd.DataFrame, estimator: Any = None, X_train: Any = None,
                        y_train: Any = None, X_test: Any = None, y_test: Any = None,
                        scoring: Any = None, *, max_threads: int | None = None) -> pd.DataFrame:
    """One row per optimizer: the best CV score of its runs and, optionally, test scores.

    Parameters
    ----------
    frame : DataFrame
        What :func:`optimizer_baselines` returned.
    estimator, X_train, y_train, X_test, y_test : optional
        Give all of them to add test scores: in each run, the best candidate (first trial
        with the run's highest CV score) is set on a clone of ``estimator``, fitted on the
        training data and scored on the test data.
    scoring : str, callable or None
        The scorer of the test scores; use the one the searches used.
    max_threads : int or None, keyword-only
        Cap the native thread pools during the refits (see
        :func:`~hybridlab.ml.measure.measure`).

    Returns
    -------
    pandas.DataFrame
        Indexed by optimizer (in the frame's order), columns ``runs``, ``best_cv_median``,
        ``best_cv_min``, ``best_cv_max`` (over seeds, of each run's best CV score),
        ``trial_of_best_median`` (trial at which a run first reached its best),
        ``search_s_median`` (a run's summed trial ``seconds``), then, with test data,
        ``test_median``, ``test_min`` and ``test_max``.

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from hybridlab import Real
    >>> X, y = load_iris(return_X_y=True)
    >>> est, space = LogisticRegression(max_iter=300), {"C": Real(1e-3, 1e2, log=True)}
    >>> f = optimizer_baselines(est, space, X[::2], y[::2], optimizers=("random",),
    ...                         n_iter=4, cv=3, seeds=(0,))
    >>> s = summarize_baselines(f, est, X[::2], y[::2], X[1::2], y[1::2])
    >>> s.columns.tolist()[-3:], bool(s.loc["random", "test_median"] > 0.8)
    (['test_median', 'test_min', 'test_max'], True)
    """
    given = [v is not None for v in (estimator, X_train, y_train, X_test, y_test)]
    if any(given) and not all(given):
        raise ValueError("give all of estimator, X_train, y_train, X_test, y_test (for test "
                         "scores) or none of them")
    missing = {"optimizer", "seed", "trial", "score", "seconds", "params"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}: pass what "
                         "optimizer_baselines returned")
    runs = []
    for (label, seed), run in frame.groupby(["optimizer", "seed"], sort=False):
        rec: dict[str, Any] = {"optimizer": label, "seed": seed, "best_cv": np.nan,
                               "trial_of_best": np.nan, "test": np.nan,
                               "search_s": float(run["seconds"].sum())}
        if run["score"].notna().any():
            best = run.sort_values("trial").loc[run["score"].idxmax()]
            rec.update(best_cv=float(best["score"]), trial_of_best=float(best["trial"]))
            if all(given):
                params = {k: clone(v, safe=False) for k, v in best["params"].items()}
                model = clone(estimator).set_params(**params)
                with _thread_limit(max_threads):
                    model.fit(X_train, y_train)
                scorer = check_scoring(model, scoring=scoring)
                rec["test"] = float(scorer(model, X_test, y_test))
        runs.append(rec)
    g = pd.DataFrame.from_records(runs).groupby("optimizer", sort=False)
    out = pd.DataFrame({
        "runs": g.size(),
        "best_cv_median": g["best_cv"].median(),
        "best_cv_min": g["best_cv"].min(),
        "best_cv_max": g["best_cv"].max(),
        "trial_of_best_median": g["trial_of_best"].median(),
        "search_s_median": g["search_s"].median(),
    })
    if all(given):
        out["test_median"] = g["test"].median()
        out["test_min"] = g["test"].min()
        out["test_max"] = g["test"].max()
    out.index.name = "optimizer"
    return out
