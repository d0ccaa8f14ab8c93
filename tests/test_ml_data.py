"""Data optimization: outlier clipping/removal, augmentation, the searchable pipeline."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from hybridlab.conditional import ConditionalSpace
from hybridlab.ml.data import (
    STEPS,
    Augment,
    DropOutliers,
    ImageAugment,
    OutlierClipper,
    augment_images,
    make_preprocessor,
    preprocessing_pipeline,
    preprocessing_space,
    shift_images,
)
from hybridlab.space import Real


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # tiny fits are dominated by BLAS thread start-up (50x slower with 2 threads here)
    with threadpool_limits(limits=1):
        yield


class _Record(ClassifierMixin, BaseEstimator):
    """Remembers what fit saw."""

    def fit(self, X, y, sample_weight=None):
        self.X_, self.y_, self.sample_weight_ = X, np.asarray(y), sample_weight
        self.classes_ = np.unique(self.y_)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class _RecordRegressor(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.X_, self.y_ = np.asarray(X), np.asarray(y)
        return self

    def predict(self, X):
        return np.zeros(len(X))


def _blobs(n=150, d=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d)) + 2.0 * y[:, None]
    return X, y


def _planted(n=150, n_out=8, d=3, seed=0):
    """n - n_out gaussian rows, then n_out rows far away (indices n - n_out .. n - 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[n - n_out:] = rng.normal(size=(n_out, d)) * 0.5 + rng.choice([-8.0, 8.0], (n_out, d))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


# ======================================================================================
# OutlierClipper
# ======================================================================================
def _with_nans(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_t(df=2, size=(150, 4)) * [1.0, 10.0, 0.1, 100.0]
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


@pytest.mark.parametrize("factor", [0.5, 1.5, 3.0])
def test_iqr_bounds_match_numpy_percentiles(factor):
    X = _with_nans()
    clip = OutlierClipper(method="iqr", factor=factor).fit(X)
    q1, q3 = np.nanpercentile(X, 25, axis=0), np.nanpercentile(X, 75, axis=0)
    np.testing.assert_allclose(clip.lower_, q1 - factor * (q3 - q1))
    np.testing.assert_allclose(clip.upper_, q3 + factor * (q3 - q1))
    Xt = clip.transform(X)
    np.testing.assert_array_equal(np.isnan(Xt), np.isnan(X))  # NaN kept
    np.testing.assert_allclose(Xt, np.clip(X, clip.lower_, clip.upper_))
    assert np.nanmax(Xt - clip.upper_) <= 0 and np.nanmin(Xt - clip.lower_) >= 0
    assert (Xt != X)[~np.isnan(X)].any()  # heavy tails: something was clipped


def test_zscore_and_winsorize_bounds_match_numpy():
    X = _with_nans()
    z = OutlierClipper(method="zscore", threshold=2.5).fit(X)
    mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    np.testing.assert_allclose(z.lower_, mean - 2.5 * std)
    np.testing.assert_allclose(z.upper_, mean + 2.5 * std)
    w = OutlierClipper(mode="winsorize", limits=(0.05, 0.9)).fit(X)
    np.testing.assert_allclose(w.lower_, np.nanpercentile(X, 5, axis=0))
    np.testing.assert_allclose(w.upper_, np.nanpercentile(X, 90, axis=0))
    Xt = w.transform(X)
    inside = ~np.isnan(X)
    assert np.isclose(np.mean(Xt[inside] == X[inside]), 0.85, atol=0.03)


@pytest.mark.parametrize("kw", [{}, {"method": "zscore"}, {"mode": "winsorize"}])
def test_clipper_constant_and_all_missing_columns(kw):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=50), np.full(50, 3.0), np.full(50, np.nan),
                         np.r_[np.zeros(45), np.ones(5)]])  # constant, empty, mostly 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (all-NaN slice, divide by 0)
        clip = OutlierClipper(**kw).fit(X)
        X_test = np.array([[100.0, -7.0, 5.0, 1.0], [np.nan, 9.0, np.nan, -4.0]])
        Xt = clip.transform(X_test)
    assert np.isnan(clip.lower_[2]) and np.isnan(clip.upper_[2])
    assert clip.lower_[1] == -np.inf and clip.upper_[1] == np.inf
    np.testing.assert_array_equal(Xt[:, 1:3], X_test[:, 1:3])  # passed through, NaN kept
    # the 45 x 0 / 5 x 1 column: zero IQR -> unchanged; winsorize -> [0, 1] (its 1% and
    # 99% quantiles); zscore -> mean -+ 3 std
    expected = {"iqr": [1.0, -4.0], "winsorize": [1.0, 0.0], "zscore": [1.0, 0.1 - 0.9]}
    key = "winsorize" if kw.get("mode") else kw.get("method", "iqr")
    np.testing.assert_allclose(Xt[:, 3], expected[key])
    assert Xt[0, 0] < 100.0 and np.isnan(Xt[1, 0])
    assert clip.get_feature_names_out().tolist() == ["x0", "x1", "x2", "x3"]


def test_clipper_nan_in_test_only_dtype_and_names():
    X, _ = _blobs()
    df = pd.DataFrame(X.astype(np.float32), columns=list("abcd"))
    clip = OutlierClipper(factor=0.5).fit(df)
    test = df.copy()
    test.iloc[0, 1] = np.nan
    test.iloc[1, 0] = 1e6
    Xt = clip.transform(test)
    assert Xt.dtype == np.float32 and np.isnan(Xt[0, 1])
    assert Xt[1, 0] == pytest.approx(clip.upper_[0], rel=1e-6)
    assert list(clip.get_feature_names_out()) == list("abcd")
    assert clip.n_features_in_ == 4


@pytest.mark.parametrize("kw, match", [
    ({"method": "foo"}, "method must be one of"),
    ({"mode": "trim"}, "mode must be one of"),
    ({"factor": -1.0}, r"factor must be .*\[0.0"),
    ({"threshold": 0.0}, r"threshold must be .*\(0.0"),
    ({"limits": (0.9, 0.1)}, r"0 <= low < high <= 1"),
])
def test_clipper_bad_params(kw, match):
    with pytest.raises(ValueError, match=match):
        OutlierClipper(**kw).fit(np.ones((5, 2)))


# ======================================================================================
# DropOutliers
# ======================================================================================
@pytest.mark.parametrize("detector", ["iforest", "lof"])
def test_drop_outliers_removes_planted_rows(detector):
    X, y = _planted()
    model = DropOutliers(KNeighborsClassifier(), detector=detector, contamination=0.06,
                         random_state=0).fit(X, y)
    planted = np.zeros(len(X), dtype=bool)
    planted[-8:] = True
    recall = np.mean(~model.inlier_mask_[planted])
    assert recall >= 7 / 8
    assert model.n_removed_ == np.sum(~model.inlier_mask_) <= 0.08 * len(X)
    assert model.estimator_.n_samples_fit_ == len(X) - model.n_removed_
    # prediction uses every row, unchanged
    np.testing.assert_array_equal(model.predict(X), model.estimator_.predict(X))
    assert model.predict_proba(X).shape == (len(X), 2)
    np.testing.assert_array_equal(model.classes_, [0, 1])


def test_drop_outliers_with_nan_rows_and_sample_weight():
    X, y = _planted()
    X[np.random.default_rng(3).random(X.shape) < 0.05] = np.nan
    X[-1, 0] = np.nan  # a planted row with a NaN is still found (median fill)
    inner = make_pipeline(SimpleImputer(), LogisticRegression())
    model = DropOutliers(inner, contamination=0.06, random_state=0)
    model.fit(X, y, logisticregression__sample_weight=np.ones(len(X)))
    assert np.mean(~model.inlier_mask_[-8:]) >= 7 / 8
    assert model.score(X, y) > 0.8
    assert model.decision_function(X).shape == (len(X),)


def test_drop_outliers_detector_none_is_plain_fit_and_deterministic():
    X, y = _planted()
    off = DropOutliers(LogisticRegression(), detector=None).fit(X, y)
    plain = LogisticRegression().fit(X, y)
    assert off.n_removed_ == 0 and off.inlier_mask_.all()
    np.testing.assert_allclose(off.estimator_.coef_, plain.coef_)
    a = DropOutliers(Ridge(), random_state=3).fit(X, y.astype(float))
    b = DropOutliers(Ridge(), random_state=3).fit(X, y.astype(float))
    np.testing.assert_array_equal(a.inlier_mask_, b.inlier_mask_)
    assert not hasattr(a, "classes_") and not hasattr(a, "predict_proba")  # regressor


def test_drop_outliers_detector_instance_and_params_reachable():
    X, y = _planted()
    model = DropOutliers(LogisticRegression(), detector=IsolationForest(contamination=0.2),
                         random_state=0)
    model.set_params(detector__contamination=0.1, estimator__C=0.5)
    model.fit(X, y)
    assert model.n_removed_ == 15 and model.estimator_.C == 0.5
    assert model.detector_.random_state == 0  # seeded from the wrapper


def test_drop_outliers_never_deletes_a_class():
    X, y = _planted(n_out=3)
    y[-3:] = 2  # the only members of class 2 are the far-away rows
    model = DropOutliers(LogisticRegression(), contamination=0.05, random_state=0).fit(X, y)
    assert model.inlier_mask_[-3:].all()
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


def test_drop_outliers_transform_passes_all_rows():
    X, _ = _planted()
    model = DropOutliers(PCA(n_components=2), random_state=0).fit(X)
    assert model.n_removed_ > 0
    assert model.transform(X).shape == (len(X), 2)
    assert model.get_feature_names_out().tolist() == ["pca0", "pca1"]


@pytest.mark.parametrize("kw, match", [
    ({"detector": "foo"}, "detector must be .iforest., .lof., None or an outlier"),
    ({"detector": object()}, "outlier detector with fit_predict"),
    ({"contamination": 0.0}, r"contamination must be .*\(0.0, 0.5\]"),
    ({"contamination": 0.6}, r"contamination .*detector=None"),
    ({"detector": None, "contamination": 1.0}, r"contamination must be"),
])
def test_drop_outliers_bad_params(kw, match):
    X, y = _blobs()
    with pytest.raises(ValueError, match=match):
        DropOutliers(LogisticRegression(), **kw).fit(X, y)


def test_drop_outliers_needs_numeric_x():
    X = np.array([["a", "b"]] * 10, dtype=object)
    with pytest.raises(ValueError, match="encode categorical columns first"):
        DropOutliers(LogisticRegression()).fit(X, [0, 1] * 5)


# ======================================================================================
# Augment
# ======================================================================================
def test_augment_noise_sizes_constant_column_and_scale():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.full(200, 5.0), rng.choice([0.0, 100.0], 200),
                         rng.normal(size=200)])
    X[0, 2] = np.nan
    y = rng.integers(0, 3, 200)
    model = Augment(_Record(), method="noise", noise=0.1, factor=5, random_state=0)
    model.fit(X, y, sample_weight=np.arange(200.0))
    seen = model.estimator_
    assert model.n_synthetic_ == 1000 and seen.X_.shape == (1200, 3)
    np.testing.assert_array_equal(seen.X_[:200], X)  # real rows first, untouched
    synth = seen.X_[200:]
    assert (synth[:, 0] == 5.0).all()  # zero std: no noise
    resid = synth[:, 1] - np.where(synth[:, 1] > 50, 100.0, 0.0)
    assert np.std(resid) == pytest.approx(0.1 * np.std(X[:, 1]), rel=0.15)
    assert np.isnan(synth).any(axis=0).tolist() == [False, False, True]  # NaN propagates
    assert len(seen.y_) == len(seen.sample_weight_) == 1200
    assert set(seen.y_[200:]) <= set(y)


def test_augment_mixup_classifier_keeps_labels_within_class():
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 40)
    X = rng.random((80, 2)) + np.where(y == "b", 10.0, 0.0)[:, None]
    model = Augment(_Record(), method="mixup", factor=2, alpha=1.0, random_state=1)
    seen = model.fit(X, y).estimator_
    Xs, ys = seen.X_[80:], seen.y_[80:]
    assert len(ys) == 160 and set(ys) == {"a", "b"}
    in_b = (Xs >= 10).all(axis=1)
    in_a = (Xs <= 1).all(axis=1)
    np.testing.assert_array_equal(in_b, ys == "b")  # mixes stay inside their class's box
    np.testing.assert_array_equal(in_a, ys == "a")


def test_augment_mixup_regressor_mixes_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    w = np.array([1.0, -2.0, 0.5])
    seen = Augment(_RecordRegressor(), method="mixup", random_state=0).fit(X, X @ w).estimator_
    np.testing.assert_allclose(seen.y_, seen.X_ @ w)  # convex mixes keep y = Xw
    assert not np.isin(seen.y_[60:], X @ w).all()  # targets were actually mixed


def test_augment_deterministic_off_and_dataframe():
    X, y = _blobs()
    a = Augment(_Record(), random_state=4).fit(X, y).estimator_.X_
    b = Augment(_Record(), random_state=4).fit(X, y).estimator_.X_
    c = Augment(_Record(), random_state=5).fit(X, y).estimator_.X_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    off = Augment(_Record(), method=None).fit(X, y)
    assert off.n_synthetic_ == 0 and off.estimator_.X_ is X
    df = pd.DataFrame(X, columns=list("pqrs"))
    model = Augment(LogisticRegression(), factor=0.5, random_state=0).fit(df, y)
    assert list(model.feature_names_in_) == list("pqrs") and model.n_features_in_ == 4
    assert model.score(df, y) > 0.8


@pytest.mark.parametrize("kw, match", [
    ({"method": "foo"}, "method must be one of"),
    ({"factor": -1.0}, "factor must be .*synthetic rows per real row"),
    ({"noise": -0.1}, "noise must be"),
    ({"alpha": 0.0}, r"alpha must be .*Beta"),
])
def test_augment_bad_params(kw, match):
    X, y = _blobs()
    with pytest.raises(ValueError, match=match):
        Augment(LogisticRegression(), **kw).fit(X, y)


# ======================================================================================
# images
# ======================================================================================
@pytest.mark.parametrize("dy", [-2, 0, 1, 3])
@pytest.mark.parametrize("dx", [-3, 0, 2])
def test_shift_moves_one_hot_pixel_exactly(dy, dx):
    img = np.zeros((1, 8, 8))
    img[0, 3, 4] = 1.0
    out = shift_images(img, dy, dx)
    assert out.sum() == 1.0 and out[0, 3 + dy, 4 + dx] == 1.0


def test_shift_zero_fill_not_wrap():
    ones = np.ones((2, 5, 6))
    out = shift_images(ones, [1, -2], [-2, 3])
    assert (out[0, 0] == 0).all() and (out[0, :, -2:] == 0).all()
    assert out[0, 1:, :-2].all() and out[0].sum() == 4 * 4
    assert (out[1, -2:] == 0).all() and (out[1, :, :3] == 0).all() and out[1].sum() == 3 * 3
    corner = np.zeros((1, 4, 4))
    corner[0, 0, 0] = 1.0
    assert shift_images(corner, -1, 0).sum() == 0.0  # moved out, does not reappear
    assert shift_images(corner, 0, 9).sum() == 0.0  # shift beyond the width


def test_augment_images_random_shifts_and_layout():
    img = np.zeros((3, 8, 8))
    img[:, 3, 4] = 1.0
    out, y = augment_images(img, [7, 8, 9], shifts=2, factor=40, random_state=0)
    assert out.shape == (123, 8, 8) and y.tolist() == [7, 8, 9] * 41
    np.testing.assert_array_equal(out[:3], img)  # originals first
    pos = np.argwhere(out[3:] == 1.0)
    assert len(pos) == 120 and np.allclose(out[3:].sum(axis=(1, 2)), 1.0)
    offsets = {(r - 3, c - 4) for _, r, c in pos}
    assert offsets == {(a, b) for a in range(-2, 3) for b in range(-2, 3)}
    again, _ = augment_images(img, [7, 8, 9], shifts=2, factor=40, random_state=0)
    np.testing.assert_array_equal(out, again)


def test_augment_images_flips_and_noise():
    img = np.zeros((1, 8, 8))
    img[0, 2, 0] = 1.0
    out, _ = augment_images(img, None, shifts=0, flips=True, factor=30, random_state=0)
    cols = {int(np.argwhere(o)[0, 1]) for o in out[1:]}
    assert cols == {0, 7}  # kept or mirrored left-right
    noisy, _ = augment_images(img, None, shifts=0, noise=0.2, factor=5, random_state=0)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0 and not np.allclose(noisy[1], img[0])
    with pytest.raises(ValueError, match="/ 16"):
        augment_images(img * 16, None, noise=0.1)
    for bad in ({"shifts": -1}, {"factor": 1.5}):
        with pytest.raises(ValueError, match="integer >= 0"):
            augment_images(img, None, **bad)


def test_image_augment_on_digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    model = ImageAugment(LogisticRegression(max_iter=300), shifts=1, factor=1,
                         random_state=0).fit(X[:200], y[:200])
    assert model.n_synthetic_ == 200 and model.estimator_.n_features_in_ == 64
    assert model.predict(X[200:]).shape == (100,)
    assert model.score(X[200:], y[200:]) > 0.75
    with pytest.raises(ValueError, match=r"set image_shape"):
        ImageAugment(LogisticRegression(), image_shape=(4, 4)).fit(X, y)


# ======================================================================================
# scikit-learn estimator checks
# ======================================================================================
@parametrize_with_checks([
    OutlierClipper(),
    OutlierClipper(method="zscore"),
    OutlierClipper(mode="winsorize"),
    DropOutliers(LogisticRegression(), detector=IsolationForest(n_estimators=10)),
    DropOutliers(Ridge(), detector="lof"),
    Augment(LogisticRegression(), method="mixup"),
    Augment(Ridge(), method="noise"),
    Augment(Ridge(), method="mixup"),
    ImageAugment(LogisticRegression(), image_shape=None, shifts=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ======================================================================================
# pipeline + search space
# ======================================================================================
def _messy_frame(n=150, seed=0, nan_in_train=True):
    rng = np.random.default_rng(seed)
    X, y = _blobs(n, d=4, seed=seed)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["const"] = 1.0
    df["empty"] = np.nan
    df["color"] = rng.choice(["red", "green", "blue"], n).astype(object)
    if nan_in_train:
        df.loc[rng.random(n) < 0.1, "a"] = np.nan
        df.loc[rng.random(n) < 0.1, "color"] = np.nan
    return df, y


def _cloned(params):
    return {k: clone(v, safe=False) for k, v in params.items()}


def test_space_param_names_and_options():
    space = ConditionalSpace(preprocessing_space())
    params = {n.split("[")[0] for n in space.names}
    assert {"prep__num__impute", "prep__num__impute__n_neighbors",
            "prep__num__outliers__factor", "prep__num__scale", "select__percentile",
            "select__estimator__C", "reduce__n_components", "model__detector__contamination",
            "model__estimator__method"} <= params
    assert preprocessing_space(steps=STEPS)["select"].labels == ["none", "kbest", "l1",
                                                                  "tree", "rfe"]
    assert set(preprocessing_space(steps=("scale",))) == {"prep__num__scale"}
    width = ConditionalSpace(preprocessing_space(n_features=7))
    assert "select__k[select=kbest]" in width.names
    assert width.dims["select__k[select=kbest]"].high == 7
    reg = preprocessing_space(task="regression", steps=("select",))
    assert "estimator__alpha" in reg["select"].options[2].subspace


@pytest.mark.parametrize("kw, match", [
    ({"task": "clustering"}, "task must be"),
    ({"steps": ("impute", "bogus")}, r"unknown step\(s\) \['bogus'\]"),
    ({"n_features": 0}, "n_features must be a positive int"),
])
def test_space_bad_params(kw, match):
    with pytest.raises(ValueError, match=match):
        preprocessing_space(**kw)


def test_random_points_fit_on_messy_data():
    df, y = _messy_frame()
    train, test, y_train, y_test = df.iloc[:110], df.iloc[110:].copy(), y[:110], y[110:]
    test.loc[test.index[:5], "b"] = np.nan  # a column complete in training
    space = preprocessing_space()
    space["model__estimator__estimator__C"] = Real(1e-2, 1e2, log=True)
    cs = ConditionalSpace(space)
    base = preprocessing_pipeline(LogisticRegression(max_iter=300), random_state=0)
    rng = np.random.default_rng(0)
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence / constant-feature noise
        for u in rng.random((30, cs.dim)):
            params = cs.decode(u)
            pipe = clone(base).set_params(**_cloned(params))
            pipe.fit(train, y_train)
            pred = pipe.predict(test)
            assert pred.shape == (40,) and set(pred) <= {0, 1}, params
            assert 0.0 <= pipe.score(test, y_test) <= 1.0
            seen.update((k, type(v).__name__) for k, v in params.items()
                        if k in ("prep__num__impute", "select", "reduce", "model__detector"))
    assert len(seen) >= 12  # the 30 points really exercised many different steps


def test_regression_space_fits():
    df, y = _messy_frame(100)
    target = df["b"].to_numpy() * 2 + y
    cs = ConditionalSpace(preprocessing_space(task="regression", n_features=7))
    base = preprocessing_pipeline(Ridge(), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for u in np.random.default_rng(1).random((8, cs.dim)):
            pipe = clone(base).set_params(**_cloned(cs.decode(u))).fit(df, target)
            assert np.isfinite(pipe.predict(df)).all()


@pytest.mark.parametrize("label", ["mean", "median", "most_frequent", "knn", "iterative"])
def test_imputers_keep_column_count(label):
    df, _ = _messy_frame(60, nan_in_train=False)
    option = preprocessing_space(steps=("impute",))["prep__num__impute"]
    imputer = clone(next(o.value for o in option.options if o.label == label))
    prep = make_preprocessor().set_params(num__impute=imputer)
    train = prep.fit_transform(df)  # "empty" is all-NaN, "const" is constant
    test = df.copy()
    test.loc[test.index[:3], ["a", "empty"]] = [[np.nan, 4.0]] * 3  # NaN in test only
    out = prep.transform(test)
    assert train.shape == (60, 9) and out.shape == (60, 9)  # 6 numeric + 3 colors
    assert not np.isnan(out).any() and not np.isnan(train).any()
    imputer.set_params(add_indicator=True)
    with_ind = make_preprocessor().set_params(num__impute=imputer)
    assert with_ind.fit_transform(df).shape[1] == with_ind.transform(test).shape[1]


def test_pipeline_defaults_and_numpy_input():
    X, y = _blobs()
    X[::7, 1] = np.nan
    pipe = preprocessing_pipeline(LogisticRegression(), random_state=0).fit(X, y)
    params = pipe.get_params()
    assert params["select"] == "passthrough" and params["model__detector"] is None
    assert params["model__estimator__method"] is None
    assert pipe.named_steps["prep"].transform(X).shape == (150, 4)
    assert pipe.score(X, y) > 0.8
    pipe.set_params(model__detector="iforest", model__estimator__method="mixup",
                    model__estimator__estimator__C=0.5).fit(X, y)
    model = pipe.named_steps["model"]
    assert model.n_removed_ == 8 and model.estimator_.n_synthetic_ == 150 - 8
    assert model.estimator_.estimator_.C == 0.5
    np.testing.assert_array_equal(pipe.classes_, [0, 1])
