"""compare_searches and grid_of_at_most."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from hybridlab import Categorical, Integer, Real
from hybridlab.ml.search import compare_searches, grid_of_at_most, plot_searches

X, y = load_iris(return_X_y=True)
SPACE = {"C": Real(1e-3, 1e2, log=True), "fit_intercept": Categorical([True, False])}


def test_grid_has_at_most_n_points_and_covers_categoricals():
    for n in (2, 5, 10, 31):
        g = grid_of_at_most(SPACE, n)
        assert len(g["fit_intercept"]) == 2
        assert 2 <= np.prod([len(v) for v in g.values()]) <= n
    g = grid_of_at_most({"k": Integer(1, 3), "x": Real(0, 1)}, 100)
    assert g["k"] == [1, 2, 3] and len(g["x"]) == 33
    with pytest.raises(ValueError, match="categoricals alone"):
        grid_of_at_most(SPACE, 1)
    with pytest.raises(ValueError, match="positive integer"):
        grid_of_at_most(SPACE, 0)


def test_compare_searches_runs_equal_budgets_on_the_same_splits():
    def extra(seed, cv):
        return pd.DataFrame({"score": [0.5, 0.9, 0.7]})

    trials, summary = compare_searches(
        LogisticRegression(max_iter=300), SPACE, X, y, methods=("grid", "random", "bayes"),
        n_trials=6, seeds=(0, 1), cv=3, X_test=X, y_test=y, extra={"fake": extra})
    assert list(summary["method"]) == ["grid", "random", "Bayesian (GP-EI)", "fake"]
    counts = trials.groupby(["method", "seed"]).size()
    assert counts.drop("fake").eq(6).all() and counts["fake"].eq(3).all()
    for _, g in trials.groupby(["method", "seed"]):
        assert g["best_so_far"].is_monotonic_increasing
    grid = trials[trials["method"] == "grid"]
    assert grid[grid.seed == 0]["score"].tolist() == grid[grid.seed == 1]["score"].tolist()
    fake = summary.set_index("method").loc["fake"]
    assert fake["best_cv"] == 0.9 and np.isnan(fake["test"])
    assert (summary.set_index("method").drop("fake")["test"] > 0.8).all()
    fig = plot_searches(trials)
    assert len(fig.axes[0].lines) == 4


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_trials"):
        compare_searches(LogisticRegression(), SPACE, X, y, n_trials=0)
    with pytest.raises(ValueError, match="seeds"):
        compare_searches(LogisticRegression(), SPACE, X, y, seeds=())
