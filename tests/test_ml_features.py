"""Feature extraction in the data search space: LogRatioFeatures, feature_extractor and the
opt-in "features" step of preprocessing_pipeline / preprocessing_space."""

from math import comb

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_friedman1
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from hybridlab.conditional import ConditionalSpace
from hybridlab.ml.data import (
    DEFAULT_STEPS,
    FEATURE_KINDS,
    STEPS,
    LogRatioFeatures,
    feature_extractor,
    make_preprocessor,
    preprocessing_pipeline,
    preprocessing_space,
)
from hybridlab.ml.search import HybridSearchCV
from hybridlab.space import Real

N = 4  # columns of the small array


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _small(n=30, d=N, seed=0):
    return np.random.default_rng(seed).lognormal(size=(n, d)) * [1.0, 10.0, 100.0, 0.1][:d]


def _width(params):
    """Expected output width of the numeric branch for decoded ``prep__num__features``."""
    kind = params.get("prep__num__features", "passthrough")
    p = "prep__num__features__"
    if isinstance(kind, str):
        return N
    name = type(kind).__name__
    if name == "Pipeline":  # poly
        deg, inter = params[p + "poly__degree"], params[p + "poly__interaction_only"]
        if inter:
            return sum(comb(N, k) for k in range(1, deg + 1))
        return sum(comb(N + k - 1, k) for k in range(1, deg + 1))
    if name == "SplineTransformer":
        return N * (params[p + "n_knots"] + params[p + "degree"] - 1)
    assert name == "LogRatioFeatures"
    return 2 * N + (N * (N - 1) if params[p + "ratios"] else 0)


# ======================================================================================
# scikit-learn estimator checks
# ======================================================================================
@parametrize_with_checks([
    LogRatioFeatures(),
    LogRatioFeatures(ratios=False),
    LogRatioFeatures(log=False, eps=0.5),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ======================================================================================
# LogRatioFeatures
# ======================================================================================
def test_log_ratio_values_and_safe_denominator():
    X = np.array([[2.0, 0.0], [-3.0, 4.0], [1.0, -0.01]])
    t = LogRatioFeatures(eps=0.5).fit(X)
    np.testing.assert_allclose(t.scale_, [2.0, 4.01 / 3])
    out = t.transform(X)
    assert out.shape == (3, 2 + 2 + 2)
    np.testing.assert_array_equal(out[:, :2], X)
    np.testing.assert_allclose(out[:, 2:4], np.sign(X) * np.log1p(np.abs(X)))
    floor1 = 0.5 * 4.01 / 3  # |x1| below this is replaced by ±floor1 (+ for 0)
    np.testing.assert_allclose(out[:, 4], [2.0 / floor1, -3.0 / 4.0, 1.0 / -floor1])
    np.testing.assert_allclose(out[:, 5], [0.0 / 2.0, 4.0 / -3.0, -0.01 / 1.0])
    assert np.isfinite(t.transform(np.zeros((2, 2)))).all()


def test_log_ratio_names_pandas_and_nan():
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [3.0, 0.0, 1.0], "c": [1.0, 1.0, 2.0]})
    t = LogRatioFeatures().set_output(transform="pandas").fit(df)
    out = t.transform(df)
    assert list(out.columns[:6]) == ["a", "b", "c", "log1p(a)", "log1p(b)", "log1p(c)"]
    assert list(out.columns[6:]) == ["a/b", "a/c", "b/a", "b/c", "c/a", "c/b"]
    assert out.shape == (3, 12)
    assert set(out.columns[out.iloc[2].isna()]) == {"a", "log1p(a)", "a/b", "a/c", "b/a",
                                                     "c/a"}
    assert LogRatioFeatures(ratios=False).fit(df).transform(df).shape == (3, 6)
    assert LogRatioFeatures().fit(df[["a"]]).transform(df[["a"]]).shape == (3, 2)


# ======================================================================================
# feature_extractor and the width of each choice
# ======================================================================================
@pytest.mark.parametrize(("kind", "params", "width"), [
    ("none", {}, N),
    ("poly", {"degree": 2}, N + comb(N + 1, 2)),                         # 4 + 10
    ("poly", {"degree": 3}, N + comb(N + 1, 2) + comb(N + 2, 3)),        # 4 + 10 + 20
    ("poly", {"degree": 2, "interaction_only": True}, N + comb(N, 2)),   # 4 + 6
    ("poly", {"degree": 3, "interaction_only": True}, N + comb(N, 2) + comb(N, 3)),
    ("spline", {}, N * (5 + 3 - 1)),
    ("spline", {"n_knots": 3, "degree": 1}, N * 3),
    ("log_ratio", {"ratios": False}, 2 * N),
    ("log_ratio", {}, 2 * N + N * (N - 1)),
])
def test_each_choice_gives_the_expected_width(kind, params, width):
    X = _small()
    step = feature_extractor(kind, **params)
    if kind == "none":
        assert step == "passthrough"
    else:
        assert step.fit_transform(X).shape == (30, width)
    prep = make_preprocessor().set_params(num__features=step)  # in the pipeline slot
    out = prep.fit_transform(X)
    assert out.shape == (30, width) and np.isfinite(out).all()
    np.testing.assert_allclose(out.std(axis=0)[out.std(axis=0) > 0], 1.0)  # scaled after


def test_space_choices_decode_to_the_expected_width():
    space = preprocessing_space(steps=("features",))
    assert list(space) == ["prep__num__features"]
    assert space["prep__num__features"].labels == list(FEATURE_KINDS)
    cs = ConditionalSpace(space)
    X, prep = _small(), make_preprocessor()
    seen = set()
    for u in np.random.default_rng(0).random((24, cs.dim)):
        params = cs.decode(u)
        local = {k.removeprefix("prep__"): clone(v, safe=False) for k, v in params.items()}
        out = clone(prep).set_params(**local).fit_transform(X)
        assert out.shape == (30, _width(params)), params
        seen.add(type(params["prep__num__features"]).__name__)
    assert seen == {"str", "Pipeline", "SplineTransformer", "LogRatioFeatures"}


def test_poly_standardizes_its_own_input():
    X = _small()
    poly = feature_extractor("poly", degree=3)
    a = clone(poly).fit_transform(X)
    b = clone(poly).fit_transform(X * 1000.0 + 5.0)  # same columns in other units
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_defaults_are_unchanged_without_the_step():
    assert DEFAULT_STEPS == ("impute", "outliers", "scale", "select", "reduce", "detector",
                             "augment")
    assert STEPS == ("impute", "outliers", "features", "scale", "select", "reduce",
                     "detector", "augment")
    assert "prep__num__features" not in preprocessing_space()
    assert list(preprocessing_space(steps=STEPS))[2] == "prep__num__features"
    X = _small()
    X[::7, 1] = np.nan
    expected = StandardScaler().fit_transform(SimpleImputer(strategy="median").fit_transform(X))
    np.testing.assert_allclose(make_preprocessor().fit_transform(X), expected)


# ======================================================================================
# bad arguments
# ======================================================================================
@pytest.mark.parametrize(("call", "match"), [
    (lambda: feature_extractor("cubic"), r"kind must be one of \['none', 'poly'"),
    (lambda: feature_extractor("poly", n_knots=3), r"takes \['degree', 'interaction_only'\]"),
    (lambda: feature_extractor("none", degree=2), "takes no parameters"),
    (lambda: LogRatioFeatures(eps=0.0).fit(_small()), r"eps must be a finite number in \(0"),
    (lambda: LogRatioFeatures(eps=np.inf).fit(_small()), "eps must be a finite number"),
    (lambda: LogRatioFeatures(log=False, ratios=False).fit(_small()), "add no columns"),
    (lambda: LogRatioFeatures(ratios="yes").fit(_small()), "ratios must be True or False"),
    (lambda: feature_extractor("poly", degree=-1).fit(_small()), "degree"),
    (lambda: preprocessing_space(steps=("feature",)), r"unknown step\(s\) \['feature'\]"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ======================================================================================
# searched with HybridSearchCV
# ======================================================================================
def _search(seed):
    X, y = make_friedman1(n_samples=80, noise=0.5, random_state=1)
    space = {**preprocessing_space(task="regression", steps=("features",)),
             "model__estimator__estimator__alpha": Real(1e-3, 1e2, log=True)}
    search = HybridSearchCV(preprocessing_pipeline(Ridge()), space, "random", n_iter=10,
                            cv=3, random_state=seed)
    return search.fit(X, y)


def test_features_step_searched_by_hybrid_search_cv_is_deterministic():
    a, b, c = _search(0), _search(0), _search(1)
    kinds = [repr(p["prep__num__features"]) for p in a.cv_results_["params"]]
    assert kinds == [repr(p["prep__num__features"]) for p in b.cv_results_["params"]]
    np.testing.assert_array_equal(a.cv_results_["mean_test_score"],
                                  b.cv_results_["mean_test_score"])
    assert not np.array_equal(a.cv_results_["mean_test_score"],
                              c.cv_results_["mean_test_score"])
    assert len({k.split("(")[0] for k in kinds}) >= 3  # several choices were tried
    assert np.isfinite(a.cv_results_["mean_test_score"]).all()
    assert a.best_estimator_.predict(np.zeros((2, 10))).shape == (2,)
    # on friedman1 a ridge model gains from new features: the best candidate has some
    assert a.best_params_["prep__num__features"] != "passthrough"
