"""One technique at a time: variants, paired deltas, the corrected t-test."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hybridlab import Real
from hybridlab.conditional import Choice
from hybridlab.ml.data import effects, one_at_a_time, plot_effects
from hybridlab.ml.data._effects import _corrected_ttest

X, y = load_iris(return_X_y=True)
X = X * np.array([1000.0, 1.0, 1.0, 0.001])  # scales that matter to k-NN


def test_one_at_a_time_gives_one_variant_per_option_and_skips_the_baseline():
    pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())
    space = {"standardscaler": Choice({"none": "passthrough", "std": StandardScaler()}),
             "kneighborsclassifier__n_neighbors": Real(1, 10)}
    assert list(one_at_a_time(space)) == ["standardscaler=none", "standardscaler=std"]
    assert list(one_at_a_time(space, baseline=pipe)) == ["standardscaler=none"]


class Broken(ClassifierMixin, BaseEstimator):
    def __init__(self, fail=False):
        self.fail = fail

    def fit(self, X, y):
        if self.fail:
            raise RuntimeError("cannot fit")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_effects_measures_paired_deltas_on_the_same_folds():
    pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())
    df = effects(pipe, {"no scaling": {"standardscaler": "passthrough"},
                        "same": {"kneighborsclassifier__n_neighbors": 5}}, X, y,
                 X_test=X, y_test=y)
    base, noscale, same = df.itertuples(index=False)
    assert base.delta == 0 and same.delta == 0 and same.p_value == 1.0
    assert noscale.delta < -0.05 and noscale.p_value < 0.05  # k-NN needs scaling here
    assert noscale.delta == pytest.approx(noscale.cv_mean - base.cv_mean)
    assert 0 < base.test <= 1 and base.fit_s > 0


def test_failing_variant_is_a_row_not_a_crash():
    df = effects(Broken(), {"fails": {"fail": True}}, X, y)
    assert np.isnan(df.loc[1, "cv_mean"]) and "cannot fit" in df.loc[1, "error"]
    with pytest.raises(ValueError, match="dict of name"):
        effects(Broken(), [("fails", {})], X, y)


def test_corrected_ttest_is_more_conservative_than_the_plain_one():
    from scipy import stats

    rng = np.random.default_rng(0)
    diff = 0.01 + 0.01 * rng.standard_normal(10)
    plain = stats.ttest_1samp(diff, 0).pvalue
    assert _corrected_ttest(diff, 30, 120) > plain
    assert _corrected_ttest(np.zeros(5), 30, 120) == 1.0


def test_plot_effects_draws_one_bar_per_variant():
    df = effects(make_pipeline(StandardScaler(), KNeighborsClassifier()),
                 {"a": {"standardscaler": "passthrough"},
                  "b": {"kneighborsclassifier__n_neighbors": 3}}, X, y)
    fig = plot_effects(df)
    assert len(fig.axes[0].patches) == 2


class Noisy(Broken):
    def fit(self, X, y):
        if self.fail:
            import warnings

            warnings.warn("solver stopped early", UserWarning, stacklevel=2)
        return super().fit(X, y)


def test_a_variants_warnings_are_kept_in_its_row_once():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes to the caller
        df = effects(Noisy(), {"warns": {"fail": True}}, X, y)
    assert df.loc[0, "warnings"] == ""
    assert df.loc[1, "warnings"] == "UserWarning: solver stopped early"  # once, not per fold
