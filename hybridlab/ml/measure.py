"""Measure before you optimize: what models score *and* cost, and single-optimizer baselines.

Tuning is only worth its budget when it beats two things: the untuned defaults and plain,
single-algorithm optimizers.  This module measures both.

* :func:`measure` puts candidate models side by side on one table: cross-validated score
  (with its spread across folds, the noise any "improvement" must clear), held-out test
  score, fit time, batch and single-row prediction time, peak memory while fitting and the
  size of the pickled model.
* :func:`optimizer_baselines` runs :class:`~hybridlab.ml.search.HybridSearchCV` once per
  (optimizer, seed) on one estimator and search space and returns every trial as a tidy
  frame; :func:`summarize_baselines` condenses it to one row per optimizer (best CV score,
  and the test score of the best candidate refitted on the training data).
* :func:`plot_measurements` and :func:`plot_best_so_far` draw both (matplotlib Figures;
  nothing is shown).

Example
-------
>>> from sklearn.datasets import load_iris
>>> from sklearn.dummy import DummyClassifier
>>> from sklearn.linear_model import LogisticRegression
>>> from hybridlab.ml.measure import measure
>>> X, y = load_iris(return_X_y=True)
>>> table = measure({"dummy": DummyClassifier(), "logreg": LogisticRegression(max_iter=500)},
...                 X[::2], y[::2], X[1::2], y[1::2], cv=3, repeats=2, latency_rows=20)
>>> table.index.tolist(), bool(table.loc["logreg", "cv_mean"] > table.loc["dummy", "cv_mean"])
(['dummy', 'logreg'], True)
"""

from __future__ import annotations

import gc
import pickle
import time
import tracemalloc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import cross_validate

__all__ = [
    "BASELINE_COLUMNS",
    "MEASURE_COLUMNS",
    "measure",
    "optimizer_baselines",
    "plot_best_so_far",
    "plot_measurements",
    "summarize_baselines",
]

#: The numeric columns of :func:`measure`'s table, in order (an ``error`` column follows).
MEASURE_COLUMNS = (
    "cv_mean",
    "cv_sd",
    "test_score",
    "fit_s",
    "predict_ms_per_1k",
    "latency_ms_p50",
    "latency_ms_p95",
    "peak_fit_mb",
    "model_kb",
)
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
_STYLES = ("-", "--", "-.", ":")  # optimizers often share their first trials: keep all visible
_BATCH_ROWS = 1000  # predict_ms_per_1k: the test rows are cycled up to at least this many


# -- measure ----------------------------------------------------------------------------
def _n_rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def _take(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a DataFrame, array or list, keeping the type (2-D for one row)."""
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if isinstance(X, np.ndarray):
        return X[idx]
    return [X[i] for i in idx]


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _peak_fit_mb(model: Any, X: Any, y: Any) -> float:
    """Peak memory traced by ``tracemalloc`` while fitting a clone of ``model`` (MB)."""
    est = clone(model)
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        est.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0.0, (peak - base) / 1e6)


def _reusable_cv(cv: Any) -> Any:
    """An iterable of splits is read once: keep it as a list so every model gets the folds."""
    if cv is None or isinstance(cv, int | np.integer) or hasattr(cv, "split"):
        return cv
    return list(cv)


@contextmanager
def _thread_limit(max_threads: int | None) -> Iterator[None]:
    if max_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=_check_positive_int("max_threads", max_threads)):
        yield


def _measure_one(model: Any, X_train: Any, y_train: Any, X_test: Any, y_test: Any, cv: Any,
                 scoring: Any, latency_idx: np.ndarray, batch_idx: np.ndarray,
                 repeats: int) -> dict[str, float]:
    clock = time.perf_counter
    clone(model).fit(X_train, y_train)  # warm-up (lazy imports, caches); fails fast
    peak_mb = _peak_fit_mb(model, X_train, y_train)

    fit_times = []
    for _ in range(repeats):
        fitted = clone(model)
        t0 = clock()
        fitted.fit(X_train, y_train)
        fit_times.append(clock() - t0)

    cv_scores = cross_validate(clone(model), X_train, y_train, cv=cv, scoring=scoring,
                               error_score="raise")["test_score"]
    test_score = float(check_scoring(fitted, scoring=scoring)(fitted, X_test, y_test))

    batch = _take(X_test, batch_idx)
    fitted.predict(batch)  # warm-up
    batch_times = []
    for _ in range(repeats):
        t0 = clock()
        fitted.predict(batch)
        batch_times.append(clock() - t0)

    rows = [_take(X_test, latency_idx[i:i + 1]) for i in range(len(latency_idx))]
    fitted.predict(rows[0])  # warm-up
    latency = np.empty(len(rows))
    for i, row in enumerate(rows):
        t0 = clock()
        fitted.predict(row)
        latency[i] = clock() - t0

    return {
        "cv_mean": float(np.mean(cv_scores)),
        "cv_sd": float(np.std(cv_scores)),
        "test_score": test_score,
        "fit_s": float(np.median(fit_times)),
        "predict_ms_per_1k": float(np.median(batch_times)) * 1e3 * 1000 / len(batch_idx),
        "latency_ms_p50": float(np.percentile(latency, 50)) * 1e3,
        "latency_ms_p95": float(np.percentile(latency, 95)) * 1e3,
        "peak_fit_mb": peak_mb,
        "model_kb": len(pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL)) / 1e3,
    }


def measure(models: Mapping[str, Any], X_train: Any, y_train: Any, X_test: Any, y_test: Any,
            cv: Any = 5, scoring: Any = None, latency_rows: int = 200, repeats: int = 5,
            random_state: int | None = 0, *, max_threads: int | None = None) -> pd.DataFrame:
    """Score *and* cost of each model: CV and test score, fit and predict time, memory, size.

    Each model is measured on its own, serially, in this order: one untimed warm-up fit
    (lazy imports and caches; a model that cannot fit fails here, fast), one fit under
    ``tracemalloc``, ``repeats`` timed fits, cross-validation, then prediction timings
    with the last fitted model.  Every fit is on a fresh ``clone``.

    Parameters
    ----------
    models : mapping of str to estimator
        Row label to an unfitted scikit-learn estimator or :class:`~sklearn.pipeline.Pipeline`.
        Data with missing values needs models that take NaN (e.g. HistGradientBoosting) or
        pipelines with an imputer: this function never preprocesses.
    X_train, y_train, X_test, y_test : array-like or DataFrame / Series
        Training data (cross-validation and fits) and held-out data (test score and
        prediction timings).
    cv : int, cross-validation generator or iterable, default 5
        As in :func:`sklearn.model_selection.cross_validate` (an int gives scikit-learn's
        unshuffled (Stratified)KFold).  Pass one splitter object to compare with other
        runs on the same folds.
    scoring : str, callable or None, default None
        One scorer, as in scikit-learn (None: the estimator's ``score``: accuracy for
        classifiers, R² for regressors).  Higher is better.
    latency_rows : int, default 200
        Number of single-row ``predict`` calls timed for the latency percentiles; the rows
        are drawn from ``X_test`` in a random order (cycled when it has fewer rows).
    repeats : int, default 5
        Timed fits for ``fit_s`` and timed batch predictions for ``predict_ms_per_1k``
        (medians of these).
    random_state : int or None, default 0
        Seeds the order of the latency rows.  Estimators' own ``random_state`` is left as
        given: set it there for reproducible scores.
    max_threads : int or None, keyword-only
        Cap the native thread pools (OpenMP, BLAS) during the measurements with
        ``threadpoolctl``, e.g. 1 to compare every model on one core; None leaves them.

    Returns
    -------
    pandas.DataFrame
        One row per model, indexed by its label (index name ``model``), float64 columns:

        ``cv_mean``, ``cv_sd``
            Mean and standard deviation (``ddof=0``, as ``std_test_score`` in
            scikit-learn's ``cv_results_``) of the fold scores on the training data.
        ``test_score``
            Score on the test data of the model fitted on all training data.
        ``fit_s``
            Median wall-clock seconds of ``repeats`` fits on all training data (not the
            CV fits; no ``tracemalloc`` running).
        ``predict_ms_per_1k``
            Batch throughput: median milliseconds of one ``predict`` call on the test rows
            cycled up to at least 1000 rows, per 1000 rows.
        ``latency_ms_p50``, ``latency_ms_p95``
            Median and 95th percentile of single-row ``predict`` wall time in ms
            (the per-call overhead of input validation and pipelines dominates it).
        ``peak_fit_mb``
            Peak memory traced by :mod:`tracemalloc` during one fit, above what was
            allocated before it, in MB (10⁶ bytes).  It counts allocations made through
            Python's allocator, NumPy arrays included; memory that native libraries
            allocate themselves (OpenMP buffers, liblinear/libsvm, BLAS workspaces) is not
            seen, so compiled models may be under-counted.
        ``model_kb``
            Size of the fitted model pickled with the highest protocol, in kB (10³ bytes).

        and ``error`` (str): empty when the row is complete, else the exception
        (``"ValueError: ..."``) of the first step that raised; all numbers of that row are
        then NaN (cross-validation runs with ``error_score="raise"``, so a model that fails
        on one fold fails its row).

    Raises
    ------
    ValueError
        ``models`` is empty or not a mapping, ``X_test`` is empty, or ``latency_rows`` or
        ``repeats`` is not a positive integer.

    Notes
    -----
    Timings are wall-clock and depend on the machine and its load; compare rows measured
    in one call.  Models that use threads (HistGradientBoosting's OpenMP, ``n_jobs``) get
    every core they are allowed, so their ``fit_s`` is not a single-core cost unless
    ``max_threads=1``; on a busy machine OpenMP threads that wait for each other can even
    be slower than one.  When ``tracemalloc`` is already tracing, it is left on but its
    peak is reset.

    Example
    -------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> X[::7, 0] = np.nan                       # LogisticRegression cannot take NaN
    >>> t = measure({"hgb": HistGradientBoostingClassifier(max_iter=20),
    ...              "logreg": LogisticRegression()},
    ...             X[:150], y[:150], X[150:], y[150:], cv=3, repeats=1, latency_rows=10)
    >>> t.loc["hgb", "error"], t.loc["logreg", "error"].split(":")[0]
    ('', 'ValueError')
    >>> bool(t.loc["hgb", "latency_ms_p95"] >= t.loc["hgb", "latency_ms_p50"])
    True
    """
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty dict {label: estimator}, got "
                         f"{type(models).__name__}")
    latency_rows = _check_positive_int("latency_rows", latency_rows)
    repeats = _check_positive_int("repeats", repeats)
    n_test = _n_rows(X_test)
    if n_test < 1:
        raise ValueError("X_test has no rows: prediction timings need at least one")
    cv = _reusable_cv(cv)
    rng = np.random.default_rng(random_state)
    latency_idx = np.resize(rng.permutation(n_test), latency_rows)
    batch_idx = np.resize(np.arange(n_test), max(n_test, _BATCH_ROWS))

    records = []
    with _thread_limit(max_threads):
        for label, model in models.items():
            try:
                row: dict[str, Any] = _measure_one(model, X_train, y_train, X_test, y_test, cv,
                                                   scoring, latency_idx, batch_idx, repeats)
                row["error"] = ""
            except Exception as exc:  # one failing model must not sink the table
                first = str(exc).strip().splitlines()
                row = dict.fromkeys(MEASURE_COLUMNS, np.nan)
                row["error"] = f"{type(exc).__name__}: {first[0] if first else ''}".strip()
            records.append({"model": str(label), **row})
    table = pd.DataFrame.from_records(records, index="model")
    table[list(MEASURE_COLUMNS)] = table[list(MEASURE_COLUMNS)].astype("float64")
    table["error"] = table["error"].astype(object)
    return table


# -- optimizer baselines ----------------------------------------------------------------
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
        ``threadpoolctl`` (see :func:`measure`) in this process (joblib workers started
        by ``n_jobs`` set their own); None leaves them.  Small fits on a busy machine
        often run several times faster with 1.

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
    from .search import HybridSearchCV

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
        Cap the native thread pools during the refits (see :func:`measure`).

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


# -- plots ------------------------------------------------------------------------------
def plot_measurements(df: pd.DataFrame) -> Any:
    """Four panels of horizontal bars, one bar group per model of :func:`measure`'s table.

    Panels: score (dots, since the axis is zoomed to the scores: CV mean with ±1 sd error
    bars, and test score), fit time (s, log scale), single-row latency p50 and p95 (ms,
    log scale), and memory (peak fit memory and pickled model size, both in MB, log
    scale).  Rows with an error have no bars.

    Parameters
    ----------
    df : DataFrame
        What :func:`measure` returned (at least its numeric columns).

    Returns
    -------
    matplotlib.figure.Figure
        With four axes sharing the model axis; not shown (call ``plt.show()`` or let
        Jupyter display it).

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({c: [1.0, 2.0] for c in MEASURE_COLUMNS}, index=["a", "b"])
    >>> len(plot_measurements(df).axes)
    4
    """
    import matplotlib.pyplot as plt

    missing = set(MEASURE_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"df lacks columns {sorted(missing)}: pass what measure() returned")
    labels = [str(i) for i in df.index]
    pos = np.arange(len(labels))

    def legend(ax: Any) -> None:
        handles, names = ax.get_legend_handles_labels()
        order = sorted(range(len(names)), key=lambda i: names[i] == "test")  # CV first
        ax.legend([handles[i] for i in order], [names[i] for i in order], loc="upper center",
                  bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small", frameon=False,
                  handlelength=1.2, columnspacing=1.0)

    h = 0.38
    fig, axes = plt.subplots(1, 4, figsize=(14, 1.6 + 0.45 * max(len(labels), 2)),
                             sharey=True, layout="constrained")
    ax = axes[0]  # dots, not bars: the score axis does not start at 0
    ax.errorbar(df["cv_mean"], pos - h / 3, xerr=df["cv_sd"], fmt="o", capsize=3,
                label="CV mean ± sd")
    ax.plot(df["test_score"], pos + h / 3, "D", label="test")
    ax.set(title="score", yticks=pos, yticklabels=labels)
    legend(ax)

    axes[1].barh(pos, df["fit_s"], 0.6, color="C2")
    axes[1].set(title="fit time (s)", xscale="log")

    axes[2].barh(pos - h / 2, df["latency_ms_p50"], h, color="C4", label="p50")
    axes[2].barh(pos + h / 2, df["latency_ms_p95"], h, color="C6", label="p95")
    axes[2].set(title="single-row predict (ms)", xscale="log")
    legend(axes[2])

    axes[3].barh(pos - h / 2, df["peak_fit_mb"], h, color="C5", label="peak fit memory")
    axes[3].barh(pos + h / 2, df["model_kb"] / 1e3, h, color="C8", label="pickled model")
    axes[3].set(title="memory (MB)", xscale="log")
    legend(axes[3])
    for a in axes:
        a.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()  # first model on top, as in the table
    return fig


def plot_best_so_far(frame: pd.DataFrame, ax: Any = None) -> Any:
    """Median best-so-far CV score per optimizer against trials, with the seeds' range.

    Parameters
    ----------
    frame : DataFrame
        What :func:`optimizer_baselines` returned.
    ax : matplotlib Axes, optional
        Draw into it; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of ``ax``: one line per optimizer (median over seeds) and a shaded band
        from the worst to the best seed.  A run that stopped early keeps its last value.

    Example
    -------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"optimizer": ["a"] * 4, "seed": [0, 0, 1, 1],
    ...                   "trial": [1, 2, 1, 2], "best_so_far": [0.5, 0.7, 0.6, 0.6]})
    >>> fig = plot_best_so_far(f)
    >>> len(fig.axes), len(fig.axes[0].lines)
    (1, 1)
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    missing = {"optimizer", "seed", "trial", "best_so_far"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}: pass what "
                         "optimizer_baselines returned")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    n_seeds = frame.groupby("optimizer", sort=False)["seed"].nunique()
    for i, (label, run) in enumerate(frame.groupby("optimizer", sort=False)):
        wide = run.pivot_table(index="trial", columns="seed", values="best_so_far",
                               aggfunc="last").sort_index().ffill()
        color = f"C{i % 10}"
        ax.plot(wide.index, wide.median(axis=1), color=color, label=str(label),
                linestyle=_STYLES[i % len(_STYLES)], linewidth=2.4 - 0.3 * (i % 4))
        if wide.shape[1] > 1:
            ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color=color,
                            alpha=0.15, linewidth=0)
    seeds = n_seeds.max() if len(n_seeds) else 0
    band = f"; band: min–max over {seeds} seeds" if seeds > 1 else ""
    ax.set(xlabel="trial (candidates evaluated)", ylabel="best CV score so far",
           title=f"median best-so-far{band}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure
