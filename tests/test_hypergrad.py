"""Tests of hybridlab.ml.search: hypergradient-adapted lr and L2 strength, and the search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from hybridlab.ml.search import HypergradientClassifier, hypergradient_search

COLUMNS = ["trial", "lr0", "alpha0", "lr_final", "alpha_final", "score", "seconds",
           "best_so_far"]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def _noisy_problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Few samples, many noise features: unregularised SGD overfits."""
    X, y = make_classification(n_samples=80, n_features=200, n_informative=3, n_redundant=0,
                               n_clusters_per_class=1, flip_y=0.1, random_state=seed)
    return StandardScaler().fit_transform(X), y


# ---------------------------------------------------------------- the learning rate adapts
def test_lr_grows_from_far_too_small(digits):
    Xtr, Xte, ytr, yte = digits
    kw = dict(lr=1e-5, epochs=30, random_state=0)
    hg = HypergradientClassifier(**kw).fit(Xtr, ytr)
    plain = HypergradientClassifier(hyper_lr=0.0, hyper_alpha_lr=0.0, **kw).fit(Xtr, ytr)
    assert hg.lr_ > 1000 * 1e-5  # orders of magnitude
    assert np.all(plain.lr_path_ == 1e-5)
    assert hg.score(Xte, yte) > plain.score(Xte, yte) + 0.05
    assert hg.val_loss_[-1] < 0.5 * plain.val_loss_[-1]


def test_lr_shrinks_from_far_too_large(digits):
    Xtr, Xte, ytr, yte = digits
    kw = dict(lr=100.0, epochs=20, random_state=0)
    hg = HypergradientClassifier(**kw).fit(Xtr, ytr)
    plain = HypergradientClassifier(hyper_lr=0.0, **kw).fit(Xtr, ytr)
    assert hg.lr_ < 0.5 * 100.0
    assert hg.score(Xte, yte) > plain.score(Xte, yte)


@pytest.mark.parametrize("hyper_norm", ["running", "step"])
def test_lr_stays_positive_and_paths_match_steps(digits, hyper_norm):
    Xtr, _, ytr, _ = digits
    clf = HypergradientClassifier(lr=3.0, hyper_lr=0.5, momentum=0.9, hyper_norm=hyper_norm,
                                  epochs=3, random_state=0).fit(Xtr, ytr)
    assert clf.lr_path_.shape == clf.alpha_path_.shape == (clf.n_steps_,)
    assert np.all(clf.lr_path_ > 0) and np.all(clf.alpha_path_ > 0)
    assert clf.train_loss_.shape == clf.val_loss_.shape == (clf.n_epochs_,) == (3,)


# ---------------------------------------------------------------- the L2 strength adapts
@pytest.mark.parametrize("seed", [0, 1])
def test_alpha_grows_when_overfitting(seed):
    X, y = _noisy_problem(seed)
    kw = dict(lr=0.1, alpha=1e-4, batch_size=8, validation_fraction=0.25, epochs=60,
              random_state=seed)
    hg = HypergradientClassifier(hyper_alpha_lr=0.2, **kw).fit(X, y)
    fixed = HypergradientClassifier(hyper_alpha_lr=0.0, **kw).fit(X, y)
    assert hg.alpha_ > 10 * 1e-4
    assert np.all(fixed.alpha_path_ == 1e-4)
    assert hg.val_loss_[-1] < fixed.val_loss_[-1]


def test_alpha_shrinks_when_underfitting(digits):
    Xtr, Xte, ytr, yte = digits
    kw = dict(lr=0.1, alpha=1.0, hyper_lr=0.0, epochs=10, random_state=0)
    hg = HypergradientClassifier(**kw).fit(Xtr, ytr)
    fixed = HypergradientClassifier(hyper_alpha_lr=0.0, **kw).fit(Xtr, ytr)
    assert hg.alpha_ < 0.1
    assert hg.score(Xte, yte) > fixed.score(Xte, yte) + 0.05


# ---------------------------------------------------------------- estimator behaviour
def test_same_seed_same_result_different_seed_differs(digits):
    Xtr, Xte, ytr, _ = digits
    kw = dict(hidden=16, momentum=0.5, epochs=3)
    a = HypergradientClassifier(random_state=3, **kw).fit(Xtr, ytr)
    b = HypergradientClassifier(random_state=3, **kw).fit(Xtr, ytr)
    c = HypergradientClassifier(random_state=4, **kw).fit(Xtr, ytr)
    np.testing.assert_array_equal(a.lr_path_, b.lr_path_)
    np.testing.assert_array_equal(a.alpha_path_, b.alpha_path_)
    np.testing.assert_array_equal(a.predict_proba(Xte), b.predict_proba(Xte))
    assert not np.array_equal(a.lr_path_, c.lr_path_)


def test_early_stopping_restores_best_epoch():
    X, y = _noisy_problem(0)
    clf = HypergradientClassifier(lr=0.5, alpha=1e-6, hyper_alpha_lr=0.0, hyper_lr=0.0,
                                  batch_size=8, validation_fraction=0.25, epochs=200,
                                  early_stopping=True, patience=3, random_state=0).fit(X, y)
    assert clf.n_epochs_ < 200
    assert clf.best_epoch_ == int(np.argmin(clf.val_loss_))
    assert clf.n_epochs_ - 1 - clf.best_epoch_ == 3
    assert clf.lr_ == clf.lr_path_[-1]  # fixed lr, so the best epoch's lr is the same


def test_string_labels_and_mlp(digits):
    Xtr, Xte, ytr, yte = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    clf = HypergradientClassifier(hidden=32, activation="relu", lr=0.1, epochs=10,
                                  random_state=0).fit(Xtr, names[ytr])
    assert set(clf.classes_) == set(names)
    pred = clf.predict(Xte)
    assert pred.dtype == names.dtype
    assert np.mean(pred == names[yte]) > 0.9
    proba = clf.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)


def test_not_fitted_and_badly_scaled_input(digits):
    Xtr, _, ytr, _ = digits
    with pytest.raises(NotFittedError):
        HypergradientClassifier().predict(Xtr)
    clf = HypergradientClassifier(lr=1.0, epochs=2, random_state=0).fit(Xtr * 1e6, ytr)
    proba = clf.predict_proba(Xtr * 1e6)  # stable log-softmax: huge logits, no overflow
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(lr=-0.1), "lr is the initial learning rate"),
        (dict(lr=0.0), "lr is the initial learning rate"),
        (dict(lr=float("nan")), "lr is the initial learning rate"),
        (dict(hyper_lr=1.0), r"hyper_lr must be in \[0, 1\)"),
        (dict(hyper_lr=-0.1), r"hyper_lr must be in \[0, 1\)"),
        (dict(alpha=-1.0), "alpha"),
        (dict(alpha=0.0), "pass alpha > 0"),
        (dict(hyper_alpha_lr=-1.0), "hyper_alpha_lr"),
        (dict(hyper_norm="cosine"), "hyper_norm"),
        (dict(validation_fraction=0.0), r"open interval \(0, 1\)"),
        (dict(validation_fraction=1.0), r"open interval \(0, 1\)"),
        (dict(epochs=0), "epochs"),
        (dict(epochs=2.5), "epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(momentum=1.0), "momentum"),
        (dict(hidden=-1), "hidden"),
        (dict(activation="sigmoid"), "activation"),
        (dict(patience=0), "patience"),
        (dict(early_stopping="yes"), "early_stopping"),
    ],
)
def test_bad_params_raise_in_fit(params, match):
    clf = HypergradientClassifier(**params)  # __init__ never validates (sklearn convention)
    X, y = make_classification(n_samples=30, random_state=0)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_alpha_zero_is_fine_when_not_adapted(digits):
    Xtr, _, ytr, _ = digits
    clf = HypergradientClassifier(alpha=0.0, hyper_alpha_lr=0.0, epochs=1).fit(Xtr, ytr)
    assert clf.alpha_ == 0.0 and np.all(clf.alpha_path_ == 0.0)


# No check needed an xfail with scikit-learn 1.9.1: all 54 applicable checks pass
# (check_array_api_input is skipped by sklearn itself unless SCIPY_ARRAY_API is set).
@parametrize_with_checks(
    [
        HypergradientClassifier(epochs=10),
        HypergradientClassifier(epochs=10, hidden=8, activation="relu", momentum=0.9,
                                early_stopping=True, patience=2, hyper_norm="step"),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_clone_keeps_params():
    clf = HypergradientClassifier(lr=0.3, hyper_lr=0.05, hidden=4)
    assert clone(clf).get_params() == clf.get_params()


# ---------------------------------------------------------------- hypergradient_search
def test_search_columns_and_monotone_best(digits):
    Xtr, _, ytr, _ = digits
    df = hypergradient_search(Xtr, ytr, 5, epochs=3, seed=0)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == COLUMNS
    assert list(df.trial) == [0, 1, 2, 3, 4]
    assert df.best_so_far.is_monotonic_increasing
    np.testing.assert_allclose(df.best_so_far, df.score.cummax())
    assert df.lr0.between(1e-4, 1.0).all() and df.alpha0.between(1e-6, 1e-1).all()
    assert (df.lr_final > 0).all() and (df.seconds > 0).all()
    assert df.score.between(0, 1).all()
    again = hypergradient_search(Xtr, ytr, 5, epochs=3, seed=0)
    pd.testing.assert_frame_equal(df.drop(columns="seconds"), again.drop(columns="seconds"))


def test_search_with_cv_and_fixed_range(digits):
    Xtr, _, ytr, _ = digits
    df = hypergradient_search(Xtr[:300], ytr[:300], 2, cv=3, lr_range=(0.1, 0.1),
                              alpha_range=(1e-4, 1e-3), epochs=2, hidden=4, seed=1)
    assert list(df.columns) == COLUMNS
    assert (df.lr0 == 0.1).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_trials=0), "n_trials"),
        (dict(lr_range=(1.0, 0.1)), "lr_range"),
        (dict(alpha_range=(0.0, 1e-2)), "alpha_range"),
        (dict(lr=0.1), "sampled from lr_range"),
    ],
)
def test_search_bad_args(kwargs, match):
    X, y = make_classification(n_samples=40, random_state=0)
    kwargs = {"n_trials": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        hypergradient_search(X, y, **kwargs)
