"""HybridSearchCV keeps scikit-learn's search-CV contract."""

import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import check_get_params_invariance, check_set_params

from hybridlab import GA, Categorical, Integer, Real
from hybridlab.conditional import Choice
from hybridlab.ml.search import HybridSearchCV

X, y = load_iris(return_X_y=True)
SPACE = {"C": Real(1e-3, 1e2, log=True), "fit_intercept": Categorical([True, False])}


def search(**kw):
    kw = {"n_iter": 6, "cv": 3, "random_state": 0, "optimizer": "random", **kw}
    return HybridSearchCV(LogisticRegression(max_iter=300), SPACE, **kw)


def test_cv_results_have_gridsearchs_keys_and_one_row_per_candidate():
    s = search().fit(X, y)
    g = GridSearchCV(LogisticRegression(max_iter=300),
                     {"C": [0.1, 1.0], "fit_intercept": [True, False]}, cv=3).fit(X, y)
    assert set(s.cv_results_) == set(g.cv_results_)
    assert len(s.cv_results_["params"]) == 6 == s.optimizer_result_.n_evals
    i = s.best_index_
    assert s.best_params_ == s.cv_results_["params"][i]
    assert s.best_score_ == pytest.approx(s.cv_results_["mean_test_score"][i])
    assert s.best_score_ == pytest.approx(-s.optimizer_result_.y)
    assert s.score(X, y) == s.best_estimator_.score(X, y)
    assert list(s.classes_) == [0, 1, 2]


def test_same_seed_same_candidates_serial_or_parallel():
    a = search(optimizer="expensive").fit(X, y)
    b = search(optimizer="expensive", n_jobs=2).fit(X, y)
    c = search(optimizer="expensive", random_state=1).fit(X, y)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    np.testing.assert_allclose(a.cv_results_["mean_test_score"],
                               b.cv_results_["mean_test_score"])
    assert a.cv_results_["params"] != c.cv_results_["params"]


def test_clone_and_params_follow_the_estimator_contract():
    opt = GA(pop_size=4)
    s = search(optimizer=opt)
    check_get_params_invariance("HybridSearchCV", s)
    check_set_params("HybridSearchCV", s)
    c = clone(s)
    assert c.get_params()["n_iter"] == 6 and c.optimizer is not opt
    s.fit(X, y)
    assert not hasattr(opt, "rng"), "the optimizer given is a prototype: never started"
    assert s.get_params()["optimizer"] is opt
    s.set_params(estimator__max_iter=50, n_iter=4).fit(X, y)
    assert len(s.cv_results_["params"]) == 4


def test_pipeline_and_conditional_space_give_only_active_params():
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
    space = {
        "scale": Choice([StandardScaler(), MinMaxScaler(), "passthrough"]),
        "model": Choice({
            "logreg": (LogisticRegression(max_iter=300), {"C": Real(1e-2, 1e2, log=True)}),
            "tree": (DecisionTreeClassifier(random_state=0), {"max_depth": Integer(1, 6)}),
        }),
    }
    s = HybridSearchCV(pipe, space, optimizer="random", n_iter=12, cv=3,
                       random_state=0).fit(X, y)
    for p in s.cv_results_["params"]:
        kind = type(p["model"]).__name__
        expected = "model__C" if kind == "LogisticRegression" else "model__max_depth"
        assert {k for k in p if k.startswith("model__")} == {expected}
    assert isinstance(s.best_estimator_, Pipeline)
    best_model = s.best_estimator_.named_steps["model"]
    for k, v in s.best_params_.items():
        if k.startswith("model__"):
            assert best_model.get_params()[k.removeprefix("model__")] == v


class Flaky(ClassifierMixin, BaseEstimator):
    """Fails to fit when ``bad`` is True."""

    def __init__(self, bad=False, c=1.0):
        self.bad, self.c = bad, c

    def fit(self, X, y):
        if self.bad:
            raise RuntimeError("bad candidate")
        self.classes_ = np.unique(y)
        self.majority_ = np.bincount(y).argmax()
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_failed_fits_follow_error_score_and_the_search_goes_on():
    space = {"bad": Categorical([True, False]), "c": Real(0, 1)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = HybridSearchCV(Flaky(), space, optimizer="random", n_iter=10, cv=3,
                           random_state=0).fit(X, y)
    scores = s.cv_results_["mean_test_score"]
    bad = np.array([p["bad"] for p in s.cv_results_["params"]])
    assert len(scores) == 10 and bad.any() and (~bad).any()
    assert np.isnan(scores[bad]).all() and np.isfinite(scores[~bad]).all()
    assert any("fits failed" in str(w.message) for w in caught)
    assert s.best_params_["bad"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s0 = HybridSearchCV(Flaky(), space, optimizer="random", n_iter=10, cv=3,
                            random_state=0, error_score=0.0).fit(X, y)
    assert (s0.cv_results_["mean_test_score"][bad] == 0.0).all()


class SlowFlaky(Flaky):
    """Flaky, 20 ms a fit: a search that lasts long enough to overlap another thread."""

    def fit(self, X, y):
        time.sleep(0.02)
        return super().fit(X, y)


def test_a_batch_whose_fits_all_fail_keeps_its_row_in_cv_results():
    # the warm start is a batch of one whose every fit fails; it stays row 0
    space = {"bad": Categorical([True, False]), "c": Real(0, 1)}
    init = [{"bad": True, "c": 0.5}]
    for error_score in (np.nan, 0.0):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            s = HybridSearchCV(Flaky(), space, optimizer="random", n_iter=7, cv=3,
                               init=init, random_state=0, error_score=error_score).fit(X, y)
        assert any("All the 3 fits failed" in str(w.message) for w in caught)
        res = s.cv_results_
        assert len(res["params"]) == 7 == len(res["mean_test_score"]) == len(res["param_c"])
        assert res["params"][0] == init[0] and bool(res["param_bad"][0])
        assert res["param_c"][0] == 0.5 and res["split2_test_score"][0] == \
            pytest.approx(error_score, nan_ok=True)
        assert np.isnan(res["mean_fit_time"][0])  # scikit-learn kept no time for it
        assert s.best_params_ == res["params"][s.best_index_]
        assert s.best_score_ == pytest.approx(res["mean_test_score"][s.best_index_])
        ok = np.isfinite(res["mean_test_score"]) & (res["mean_test_score"] != error_score)
        assert res["rank_test_score"][s.best_index_] == 1
        assert (res["rank_test_score"][~ok] == res["rank_test_score"].max()).all()


def test_a_failing_grid_search_in_another_thread_still_raises():
    # regression: HybridSearchCV used to replace scikit-learn's all-fits-failed check
    # for the whole process while it ran
    space = {"bad": Categorical([True, False]), "c": Real(0, 1)}
    other: list[str] = []

    def grid_searches(stop):
        while not stop.is_set():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    GridSearchCV(Flaky(bad=True), {"c": [0.1]}, cv=3).fit(X, y)
                other.append("no error")
            except ValueError as exc:
                other.append("raised" if "fits failed" in str(exc) else str(exc))

    stop = threading.Event()
    t = threading.Thread(target=grid_searches, args=(stop,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t.start()
        try:
            HybridSearchCV(SlowFlaky(), space, optimizer="local", n_iter=12, cv=3,
                           init=[{"bad": True, "c": 0.5}], random_state=0).fit(X, y)
        finally:
            stop.set()
            t.join()
    assert len(other) >= 3 and set(other) == {"raised"}


def test_error_score_raise_and_all_failing_raise():
    with pytest.raises(RuntimeError, match="bad candidate"):
        HybridSearchCV(Flaky(bad=True), {"c": Real(0, 1)}, n_iter=3, cv=3,
                       error_score="raise", random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="all 3 candidates failed"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        HybridSearchCV(Flaky(bad=True), {"c": Real(0, 1)}, n_iter=3, cv=3,
                       random_state=0).fit(X, y)
    # scikit-learn is left as it was: GridSearchCV raises as usual
    with pytest.raises(ValueError, match="fits failed"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GridSearchCV(Flaky(bad=True), {"c": [0.1]}, cv=3).fit(X, y)


def test_multimetric_needs_refit_to_name_the_score():
    s = search(scoring={"acc": "accuracy", "f1": "f1_macro"}, refit="f1").fit(X, y)
    assert s.best_score_ == pytest.approx(np.nanmax(s.cv_results_["mean_test_f1"]))
    with pytest.raises(ValueError, match="refit"):
        search(scoring={"acc": "accuracy", "f1": "f1_macro"}, refit=False).fit(X, y)


def test_warm_start_candidates_come_first():
    s = search(init=[{"C": 1.0, "fit_intercept": True}]).fit(X, y)
    assert s.cv_results_["params"][0] == {"C": 1.0, "fit_intercept": True}
    assert s.optimizer_result_.history["phase"].iloc[0] == "init"


@pytest.mark.parametrize("kw, match", [
    ({"n_iter": 0}, "n_iter"),
    ({"n_iter": 2.5}, "n_iter"),
    ({"optimizer": "nope"}, "unknown optimizer"),
    ({"optimizer": 3}, "ask/tell"),
])
def test_bad_arguments_raise_value_error(kw, match):
    with pytest.raises(ValueError, match=match):
        search(**kw).fit(X, y)
    with pytest.raises(ValueError, match="search_space"):
        HybridSearchCV(LogisticRegression(), {}, n_iter=2).fit(X, y)


def test_progress_bar_counts_candidates(capsys):
    s = search(progress=True).fit(X, y)
    err = capsys.readouterr().err
    assert "6/6" in err and "best=" in err
    assert len(s.cv_results_["params"]) == 6


def test_energy_per_candidate_is_measured_and_adds_up():
    pytest.importorskip("codecarbon")
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    s = HybridSearchCV(SVC(), {"C": Real(1e-2, 1e2, log=True)}, optimizer="ga", n_iter=12,
                       cv=3, random_state=0, energy=True).fit(X, y)
    kwh = s.cv_results_["energy_kwh"]
    assert len(kwh) == len(s.cv_results_["params"]) == 12 and (kwh >= 0).all()
    assert 0 < kwh.sum() <= s.energy_kwh_ * (1 + 1e-9)  # the batches are part of the search
    assert s.energy_method_.split(":")[0] in ("RAPL", "estimate", "Intel Power Gadget",
                                             "powermetrics")
    plain = HybridSearchCV(SVC(), {"C": Real(1e-2, 1e2, log=True)}, optimizer="ga",
                           n_iter=12, cv=3, random_state=0).fit(X, y)
    assert plain.best_params_ == s.best_params_ and "energy_kwh" not in plain.cv_results_
