"""Hyperparameter-search methods side by side, at equal trial budgets.

:func:`compare_searches` tunes one estimator over one search space with several methods
(grid, random, Bayesian, hybrids, any registry name or hybrid spec, and optionally the
gradient-based :func:`~hybridlab.ml.search.hypergradient_search`), each for the same
number of trials and the same CV splits, and returns tidy per-trial and summary tables;
:func:`plot_searches` draws the best-so-far curves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv

from hybridlab.space import Categorical, Integer, Real

from ._search_cv import HybridSearchCV

__all__ = ["compare_searches", "grid_of_at_most", "plot_searches"]

#: display names of the methods understood besides registry names and hybrid specs
LABELS = {"grid": "grid", "random": "random", "optuna_tpe": "Bayesian (TPE)",
          "bayes": "Bayesian (GP-EI)", "expensive": "hybrid (expensive)",
          "default": "hybrid (default)"}


def grid_of_at_most(space: Mapping[str, Real | Integer | Categorical], n: int
                    ) -> dict[str, list[Any]]:
    """The largest grid with at most ``n`` points, levels spread evenly per dimension
    (in log space for log-scaled dimensions); categoricals get all their choices first.

    Example
    -------
    >>> g = grid_of_at_most({"C": Real(1e-2, 1e2, log=True), "k": Integer(1, 9)}, 9)
    >>> [round(c, 3) for c in g["C"]], g["k"]
    ([0.046, 1.0, 21.544], [2, 5, 8])
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    bad = [k for k, d in space.items() if not isinstance(d, Real | Integer | Categorical)]
    if bad:
        raise ValueError(f"grid search needs Real/Integer/Categorical dimensions; {bad} are "
                         "not (a Choice with sub-spaces has no grid: use the other methods)")
    levels = {k: len(d.choices) if isinstance(d, Categorical) else 1 for k, d in space.items()}
    if np.prod(list(levels.values())) > n:
        raise ValueError(f"the categoricals alone need {np.prod(list(levels.values()))} grid "
                         f"points, more than n={n}")
    while True:
        grow = [k for k, d in space.items() if not isinstance(d, Categorical)
                and (not isinstance(d, Integer) or levels[k] < d.high - d.low + 1)]
        if not grow:
            break
        name = min(grow, key=levels.get)
        trial = {**levels, name: levels[name] + 1}
        if np.prod(list(trial.values())) > n:
            break
        levels = trial
    grid = {}
    for name, d in space.items():
        u = (np.arange(levels[name]) + 0.5) / levels[name]
        grid[name] = list(dict.fromkeys(d.to_python(v) for v in d.decode(u)))
    return grid


def compare_searches(estimator: Any, space: Mapping[str, Any], X: Any, y: Any,
                     methods: Sequence[str] = ("grid", "random", "optuna_tpe", "bayes",
                                               "expensive"),
                     n_trials: int = 30, seeds: Sequence[int] = (0, 1, 2), cv: Any = 5,
                     X_test: Any = None, y_test: Any = None, scoring: Any = None,
                     n_jobs: int | None = None,
                     extra: Mapping[str, Callable[[int, Any], pd.DataFrame]] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every method for ``n_trials`` trials per seed on the same CV splits.

    Parameters
    ----------
    estimator, space
        What :class:`HybridSearchCV` takes.
    methods : sequence of str
        ``"grid"`` (the largest grid of at most ``n_trials`` points; deterministic, run
        once and repeated for every seed) or any :class:`HybridSearchCV` optimizer
        (registry name or hybrid spec: ``"random"``, ``"optuna_tpe"``, ``"bayes"``,
        ``"expensive"`` (:class:`HybridSearchCV`'s default), ``"ga>>local"`` ...).
    n_trials : int
        Candidates per search.
    seeds : sequence of int
        One search per method and seed; the seed also shuffles the CV splits, which are
        the same for every method of that seed.
    cv : int or splitter
        An int means ``StratifiedKFold(cv, shuffle=True, random_state=seed)`` for
        classifiers (``KFold`` otherwise).
    X_test, y_test : optional
        Held-out data: each search's refitted best model is scored on it.
    extra : mapping of name to callable, optional
        Methods that are not searches over ``space``, e.g. gradient-based HPO:
        ``fn(seed, cv) -> DataFrame`` with one row per trial and a ``score`` column
        (and optionally ``seconds`` and ``test_score`` on its last row).

    Returns
    -------
    trials : DataFrame
        One row per (method, seed, trial): ``score``, ``best_so_far``.
    summary : DataFrame
        One row per method: best CV score (mean and sd over seeds), test score, wall
        seconds per search, the search's own overhead per trial (ms).

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> trials, summary = compare_searches(LogisticRegression(max_iter=200),
    ...     {"C": Real(1e-3, 1e2, log=True)}, X, y, methods=("grid", "random"),
    ...     n_trials=4, seeds=(0,), cv=3)
    >>> sorted(summary["method"]), len(trials)
    (['grid', 'random'], 8)
    """
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=(0,)")
    rows, summary = [], []
    for method in list(methods) + list(extra or {}):
        for seed in seeds:
            splits = _splits(cv, estimator, seed)
            t0 = time.perf_counter()
            if extra and method in extra:
                frame = extra[method](seed, splits)
                scores = frame["score"].to_numpy(float)
                overhead, test = np.nan, frame.get("test_score", pd.Series([np.nan])).iloc[-1]
            elif method == "grid":
                if seed != seeds[0]:  # deterministic: repeat the first seed's run
                    rows.extend({**r, "seed": seed} for r in rows if r["method"] == "grid"
                                and r["seed"] == seeds[0])
                    summary.append({**summary[-1], "seed": seed})
                    continue
                s = GridSearchCV(clone(estimator), grid_of_at_most(space, n_trials),
                                 cv=splits, scoring=scoring, n_jobs=n_jobs).fit(X, y)
                scores, overhead = s.cv_results_["mean_test_score"], np.nan
                test = s.score(X_test, y_test) if X_test is not None else np.nan
            else:
                s = HybridSearchCV(clone(estimator), space, optimizer=method,
                                   n_iter=n_trials, cv=splits, scoring=scoring,
                                   n_jobs=n_jobs, random_state=seed)
                s.fit(X, y)
                scores = s.cv_results_["mean_test_score"]
                overhead = s.optimizer_seconds_ / n_trials
                test = s.score(X_test, y_test) if X_test is not None else np.nan
            wall = time.perf_counter() - t0
            best = np.fmax.accumulate(np.where(np.isnan(scores), -np.inf, scores))
            label = LABELS.get(method, method)
            rows.extend({"method": label, "seed": seed, "trial": i + 1, "score": sc,
                         "best_so_far": b} for i, (sc, b) in enumerate(zip(scores, best,
                                                                            strict=True)))
            summary.append({"method": label, "seed": seed, "trials": len(scores),
                            "best_cv": best[-1], "test": test, "seconds": wall,
                            "overhead_ms": 1000 * overhead})
    per_seed = pd.DataFrame(summary)
    table = (per_seed.groupby("method", sort=False)
             .agg(trials=("trials", "first"), best_cv=("best_cv", "mean"),
                  best_cv_sd=("best_cv", "std"), test=("test", "mean"),
                  seconds=("seconds", "mean"), overhead_ms=("overhead_ms", "mean"))
             .reset_index())
    return pd.DataFrame(rows), table


def _splits(cv: Any, estimator: Any, seed: int) -> Any:
    if isinstance(cv, int):
        from sklearn.base import is_classifier
        from sklearn.model_selection import KFold

        kind = StratifiedKFold if is_classifier(estimator) else KFold
        return kind(cv, shuffle=True, random_state=seed)
    return check_cv(cv)


def plot_searches(trials: pd.DataFrame, ax: Any = None, title: str | None = None) -> Any:
    """Best-so-far CV score per trial: median over seeds with the min-max band.

    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for method, g in trials.groupby("method", sort=False):
        curve = g.pivot_table(index="trial", columns="seed", values="best_so_far")
        line, = ax.plot(curve.index, curve.median(axis=1), label=method, lw=2)
        ax.fill_between(curve.index, curve.min(axis=1), curve.max(axis=1),
                        color=line.get_color(), alpha=0.15)
    ax.set_xlabel("trial (one candidate = one CV evaluation)")
    ax.set_ylabel("best CV score so far")
    ax.set_title(title or "equal-budget search: median over seeds, band = min..max")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return ax.figure
