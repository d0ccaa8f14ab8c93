"""Measure before you optimize: what models score *and* cost.

Tuning is only worth its budget when it beats two things: the untuned defaults and plain,
single-algorithm optimizers.  This module measures the first:

* :func:`measure` puts candidate models side by side on one table: cross-validated score
  (with its spread across folds, the noise any "improvement" must clear), held-out test
  score, fit time, batch and single-row prediction time, peak memory while fitting and the
  size of the pickled model.

The baselines (:func:`~hybridlab.ml.measure.optimizer_baselines`) and the plots live in
their own modules of the measure room.

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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import cross_validate

__all__ = ["MEASURE_COLUMNS", "measure"]

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
