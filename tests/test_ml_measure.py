"""measure / optimizer_baselines: the tables' contract, error rows, and their plots."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_iris, make_classification
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hybridlab import Categorical, Real
from hybridlab.ml.measure import (
    BASELINE_COLUMNS,
    MEASURE_COLUMNS,
    measure,
    optimizer_baselines,
    plot_best_so_far,
    plot_measurements,
    summarize_baselines,
)

X, y = make_classification(160, 6, n_informative=4, n_clusters_per_class=1, random_state=0)
X[::9, 1] = np.nan  # only models with an imputer (or NaN support) can fit
X_train, X_test, y_train, y_test = X[:120], X[120:], y[:120], y[120:]
FAST = {"cv": 3, "repeats": 2, "latency_rows": 15, "max_threads": 1}  # 1: fast on busy CPUs


class Boom(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("boom\nsecond line")


def imputed_logreg():
    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())


@pytest.fixture(scope="module")
def table():
    models = {
        "dummy": DummyClassifier(),
        "logreg": imputed_logreg(),
        "no imputer": LogisticRegression(),  # raises on NaN
        "boom": Boom(),
    }
    return measure(models, X_train, y_train, X_test, y_test, **FAST)


@pytest.fixture(scope="module")
def frame():
    Xi, yi = load_iris(return_X_y=True)
    space = {"C": Real(1e-3, 1e2, log=True), "class_weight": Categorical([None, "balanced"])}
    return optimizer_baselines(LogisticRegression(max_iter=200), space, Xi, yi,
                               optimizers=("random", "ga", "local"), n_iter=5, cv=3,
                               seeds=(0, 1), max_threads=1)


def test_measure_has_one_row_per_model_and_typed_columns(table):
    assert table.index.tolist() == ["dummy", "logreg", "no imputer", "boom"]
    assert table.index.name == "model"
    assert table.columns.tolist() == [*MEASURE_COLUMNS, "error"]
    assert all(table[c].dtype == np.float64 for c in MEASURE_COLUMNS)
    assert table["error"].dtype == object


def test_measured_rows_are_complete_positive_and_ordered(table):
    ok = table.loc[["dummy", "logreg"]]
    assert (ok["error"] == "").all()
    assert ok[list(MEASURE_COLUMNS)].notna().all().all()
    for col in ("fit_s", "predict_ms_per_1k", "latency_ms_p50", "model_kb"):
        assert (ok[col] > 0).all(), col
    assert (ok["peak_fit_mb"] >= 0).all()
    assert (ok["latency_ms_p95"] >= ok["latency_ms_p50"]).all()
    assert (ok["cv_sd"] >= 0).all()
    # the dummy predicts the majority class; the pipeline learns something
    assert ok.loc["logreg", "cv_mean"] > ok.loc["dummy", "cv_mean"] + 0.1
    assert ok.loc["logreg", "test_score"] > ok.loc["dummy", "test_score"]


def test_a_model_that_fails_gets_an_error_row_not_a_crash(table):
    bad = table.loc[["no imputer", "boom"]]
    assert bad[list(MEASURE_COLUMNS)].isna().all().all()
    assert bad.loc["no imputer", "error"].startswith("ValueError:")
    assert "NaN" in bad.loc["no imputer", "error"]
    assert bad.loc["boom", "error"] == "RuntimeError: boom"  # first line only


def test_measure_scoring_and_errors_in_the_call_itself():
    t = measure({"logreg": imputed_logreg()}, X_train, y_train, X_test, y_test,
                scoring="neg_log_loss", **FAST)
    assert t.loc["logreg", "cv_mean"] < 0 and t.loc["logreg", "test_score"] < 0
    with pytest.raises(ValueError, match="non-empty"):
        measure({}, X_train, y_train, X_test, y_test)
    with pytest.raises(ValueError, match="latency_rows"):
        measure({"d": DummyClassifier()}, X_train, y_train, X_test, y_test, latency_rows=0)
    with pytest.raises(ValueError, match="max_threads"):
        measure({"d": DummyClassifier()}, X_train, y_train, X_test, y_test, max_threads=0.5)


def test_an_iterable_of_splits_serves_every_model():
    folds = ((np.arange(i, 120, 3), np.setdiff1d(np.arange(120), np.arange(i, 120, 3)))
             for i in range(3))  # a generator: read once
    t = measure({"a": imputed_logreg(), "b": imputed_logreg()}, X_train, y_train, X_test,
                y_test, **{**FAST, "cv": folds})
    assert t["cv_mean"].notna().all() and t.loc["a", "cv_mean"] == t.loc["b", "cv_mean"]


def test_measure_takes_dataframes_and_cycles_few_test_rows():
    cols = [f"f{i}" for i in range(X.shape[1])]
    Xtr, Xte = pd.DataFrame(X_train, columns=cols), pd.DataFrame(X_test[:3], columns=cols)
    t = measure({"logreg": imputed_logreg()}, Xtr, pd.Series(y_train), Xte, y_test[:3],
                **FAST)
    assert t.loc["logreg", "error"] == ""
    assert t.loc["logreg", "latency_ms_p95"] >= t.loc["logreg", "latency_ms_p50"] > 0


def test_baselines_have_one_row_per_trial(frame):
    assert frame.columns.tolist() == list(BASELINE_COLUMNS)
    assert len(frame) == 3 * 2 * 5
    sizes = frame.groupby(["optimizer", "seed"]).size()
    assert sizes.tolist() == [5] * 6
    for _, run in frame.groupby(["optimizer", "seed"]):
        assert run["trial"].tolist() == [1, 2, 3, 4, 5]
    assert frame["optimizer"].unique().tolist() == ["random", "ga", "local"]
    assert set(frame["params"].iloc[0]) == {"C", "class_weight"}
    assert (frame["seconds"] > 0).all()


def test_best_so_far_is_the_running_max_of_the_score(frame):
    assert frame["score"].between(0, 1).all()  # accuracy, i.e. -y of the history
    for _, run in frame.groupby(["optimizer", "seed"]):
        best = run["best_so_far"].to_numpy()
        assert np.all(np.diff(best) >= 0)
        np.testing.assert_array_equal(best, np.maximum.accumulate(run["score"].to_numpy()))


def test_seeds_change_the_candidates(frame):
    random = frame[frame["optimizer"] == "random"]
    c = [[p["C"] for p in run["params"]] for _, run in random.groupby("seed")]
    assert c[0] != c[1]


def test_summary_gives_best_cv_and_test_score_per_optimizer(frame):
    Xi, yi = load_iris(return_X_y=True)
    s = summarize_baselines(frame, LogisticRegression(max_iter=200), Xi, yi, Xi, yi,
                            max_threads=1)
    assert s.index.tolist() == ["random", "ga", "local"]
    assert (s["runs"] == 2).all()
    best = frame.groupby("optimizer")["score"].max()
    assert (s["best_cv_max"] == best[s.index]).all()
    assert (s["best_cv_min"] <= s["best_cv_median"]).all()
    assert (s["best_cv_median"] <= s["best_cv_max"]).all()
    assert s["test_median"].between(0.5, 1).all()
    assert "test_median" not in summarize_baselines(frame).columns
    with pytest.raises(ValueError, match="all of"):
        summarize_baselines(frame, LogisticRegression())


def test_figures_have_the_expected_axes(table, frame):
    fig = plot_measurements(table)
    assert len(fig.axes) == 4
    assert [a.get_title() for a in fig.axes][1] == "fit time (s)"
    fig2 = plot_best_so_far(frame)
    assert len(fig2.axes) == 1
    ax = fig2.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["random", "ga", "local"]
    assert len(ax.lines) == 3 and len(ax.collections) == 3  # median + seed band each
    fig3, own = plt.subplots(1, 2)
    assert plot_best_so_far(frame, ax=own[1]) is fig3 and len(own[1].lines) == 3
    plt.close("all")
