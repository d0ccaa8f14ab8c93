"""HybridSearchCV with a multi-fidelity optimizer: ``resource`` as in HalvingRandomSearchCV."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_get_params_invariance, check_set_params

from hybridlab import GA, MultiFidelity, Real
from hybridlab.ml.search import HybridSearchCV
from hybridlab.ml.search._fidelity import _SubsampledTrain

X, y = make_classification(n_samples=90, n_features=6, n_informative=4, n_classes=3,
                           random_state=0)
SPACE = {"alpha": Real(1e-5, 1e-1, log=True)}


def mf(pop=9, low=1, high=9):
    return MultiFidelity(GA(pop_size=pop), low, high)


class SizeRecorder(ClassifierMixin, BaseEstimator):
    """Scores ``alpha - (training samples)``: the smaller the subsample, the higher."""

    def __init__(self, alpha=0.5):
        self.alpha = alpha

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_fit_ = len(X)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


SCORING = {"fit": lambda est, X_, y_: est.alpha - est.n_fit_,
           "n_test": lambda est, X_, y_: len(X_)}


def test_n_samples_subsamples_training_folds_only_and_best_is_full_fidelity():
    s = HybridSearchCV(SizeRecorder(), {"alpha": Real(0, 1)}, mf(), n_iter=6, cv=3,
                       scoring=SCORING, refit="fit", resource="n_samples",
                       random_state=0).fit(X, y)
    res = s.cv_results_
    fid = res["fidelity"]
    assert set(fid.tolist()) == {1.0, 3.0, 9.0}
    alpha = np.array([p["alpha"] for p in res["params"]])
    n_fit = alpha - res["mean_test_fit"]  # training samples of each fit (60 per fold)
    np.testing.assert_allclose(n_fit, np.select([fid == 1, fid == 3], [6, 20], 60))
    np.testing.assert_array_equal(res["n_resources"], np.round(n_fit))
    assert (res["mean_test_n_test"] == 30).all()  # test folds stay whole
    assert res["mean_test_fit"][fid < 9].max() > res["mean_test_fit"][fid == 9].max()
    full = np.flatnonzero(fid == 9)
    assert s.best_index_ == full[np.argmax(res["mean_test_fit"][full])]
    assert s.best_score_ == pytest.approx(-s.optimizer_result_.y)
    assert s.best_estimator_.n_fit_ == len(X)


def test_subsample_is_stratified_nested_and_deterministic():
    cv = StratifiedKFold(3)
    folds = {f: list(_SubsampledTrain(cv, f, seed=0, stratify=True).split(X, y))
             for f in (1 / 9, 1 / 3, 1.0)}
    for k, (train, test) in enumerate(cv.split(X, y)):
        small, mid, whole = (folds[f][k][0] for f in (1 / 9, 1 / 3, 1.0))
        assert (len(small), len(mid)) == (6, 20)
        np.testing.assert_array_equal(whole, train)
        assert set(small) <= set(mid) <= set(train)
        np.testing.assert_array_equal(folds[1.0][k][1], test)
        assert np.bincount(y[small]).tolist() == [2, 2, 2]
    again = list(_SubsampledTrain(cv, 1 / 3, seed=0, stratify=True).split(X, y))
    other = list(_SubsampledTrain(cv, 1 / 3, seed=1, stratify=True).split(X, y))
    assert all((a[0] == b[0]).all() for a, b in zip(again, folds[1 / 3], strict=True))
    assert any((a[0] != b[0]).any() for a, b in zip(again, other, strict=True))


def test_real_classifier_cost_accounting_and_history_match_cv_results():
    s = HybridSearchCV(SGDClassifier(random_state=0), SPACE, mf(), n_iter=6, cv=3,
                       resource="n_samples", random_state=0).fit(X, y)
    r, res = s.optimizer_result_, s.cv_results_
    assert r.cost <= 6 * 9 and r.cost == pytest.approx(r.history["cost"].sum())
    assert len(res["params"]) == r.n_evals > 6
    np.testing.assert_array_equal(res["fidelity"], r.history["fidelity"])
    np.testing.assert_allclose(-res["mean_test_score"], r.history["y"])
    assert res["fidelity"][s.best_index_] == 9
    full = res["fidelity"] == 9
    assert s.best_score_ == pytest.approx(np.nanmax(res["mean_test_score"][full]))
    assert s.best_score_ == pytest.approx(-r.y)


def test_parameter_resource_sets_the_rung_as_the_parameter():
    pipe = Pipeline([("scale", StandardScaler()), ("model", SGDClassifier(random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        s = HybridSearchCV(pipe, {"model__alpha": Real(1e-5, 1e-1, log=True)}, mf(),
                           n_iter=6, cv=3, resource="model__max_iter",
                           random_state=0).fit(X, y)
    res = s.cv_results_
    it = [p["model__max_iter"] for p in res["params"]]
    assert it == res["fidelity"].astype(int).tolist() == res["n_resources"].tolist()
    assert set(it) == {1, 3, 9}
    assert s.best_params_["model__max_iter"] == 9
    assert s.best_estimator_.named_steps["model"].max_iter == 9


def test_same_random_state_same_results_up_to_timing():
    def run(seed):
        return HybridSearchCV(SGDClassifier(random_state=0), SPACE, mf(), n_iter=4, cv=3,
                              resource="n_samples", random_state=seed).fit(X, y).cv_results_

    a, b, c = run(0), run(0), run(1)
    assert set(a) == set(b)
    for key in a:
        if "time" not in key:
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), key)
    assert a["params"] != c["params"]


def test_resource_with_a_plain_optimizer_scores_everything_at_full_fidelity():
    kw = {"n_iter": 5, "cv": 3, "random_state": 0, "optimizer": "random"}
    plain = HybridSearchCV(SGDClassifier(random_state=0), SPACE, **kw).fit(X, y)
    full = HybridSearchCV(SGDClassifier(random_state=0), SPACE, resource="n_samples",
                          **kw).fit(X, y)
    assert "fidelity" not in plain.cv_results_ and plain.optimizer_result_.cost is None
    assert full.cv_results_["fidelity"].tolist() == [1.0] * 5
    assert full.cv_results_["params"] == plain.cv_results_["params"]
    np.testing.assert_array_equal(full.cv_results_["mean_test_score"],
                                  plain.cv_results_["mean_test_score"])
    lr = HybridSearchCV(LogisticRegression(max_iter=300), {"C": Real(0.1, 10)},
                        resource="max_iter", **kw).fit(X, y)
    assert {p["max_iter"] for p in lr.cv_results_["params"]} == {300}
    assert lr.optimizer_result_.n_evals == 5 and lr.optimizer_result_.cost == 5 * 300


def test_budget_too_small_for_full_fidelity_warns():
    with pytest.warns(UserWarning, match="no candidate reached the full fidelity"):
        s = HybridSearchCV(SGDClassifier(random_state=0), SPACE, mf(), n_iter=1, cv=3,
                           resource="n_samples", random_state=0).fit(X, y)
    assert set(s.cv_results_["fidelity"].tolist()) == {1.0}


def test_clone_and_params_with_a_multi_fidelity_optimizer():
    opt = mf()
    s = HybridSearchCV(SGDClassifier(), SPACE, opt, n_iter=3, cv=3, resource="n_samples",
                       min_resources=1, max_resources=9, random_state=0)
    check_get_params_invariance("HybridSearchCV", s)
    check_set_params("HybridSearchCV", s)
    c = clone(s)
    params = c.get_params()
    assert (params["resource"], params["min_resources"], params["max_resources"]) == \
        ("n_samples", 1, 9)
    s.fit(X, y)
    assert not hasattr(opt, "inner") and opt.rungs.tolist() == [1.0, 3.0, 9.0]


@pytest.mark.parametrize(("kw", "match"), [
    ({"optimizer": mf()}, "set resource='n_samples'"),
    ({"max_resources": 9}, "need resource="),
    ({"resource": "nope"}, "neither 'n_samples' nor a parameter"),
    ({"resource": 3}, "resource must be"),
    ({"resource": "alpha"}, "also in search_space"),
    ({"resource": "n_samples", "optimizer": mf(), "max_resources": 27}, "full fidelity 9"),
    ({"resource": "n_samples", "optimizer": mf(low=3), "min_resources": 4}, "first rung 3"),
    ({"resource": "n_samples", "min_resources": -1}, "positive number"),
    ({"resource": "n_samples", "max_resources": "x"}, "positive number"),
    ({"resource": "n_samples", "min_resources": 2, "max_resources": 1}, "at most"),
    ({"resource": "loss"}, "set max_resources"),
])
def test_bad_fidelity_arguments_raise_value_error(kw, match):
    kw = {"optimizer": "random", "n_iter": 2, "cv": 3, "random_state": 0, **kw}
    with pytest.raises(ValueError, match=match):
        HybridSearchCV(SGDClassifier(), SPACE, **kw).fit(X, y)
