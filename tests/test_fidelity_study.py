"""Epochs as a fidelity (hybridlab.ml.train.EpochsObjective): resumed training equals
straight training; the study of hybridlab.casestudies.fidelity_study runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlab import AsyncHalving, Fidelity, MultiFidelity, Problem, minimize
from hybridlab.casestudies.fidelity_study import (
    METHODS,
    _cnn,
    _cnn_fit_kwargs,
    cnn_problem,
    epochs_to_reach,
    fidelity_study,
    summarise_reach,
)
from hybridlab.casestudies.hpo_cnn import SPACE, load_task
from hybridlab.ml.train import EpochsObjective

CFG = {"lr": 3e-3, "n_conv": 1, "channels": 4, "kernel": 3, "hidden": 0, "dropout": 0.0,
       "weight_decay": 1e-5, "batch_size": 64}


@pytest.fixture(scope="module")
def data():
    return load_task("noisy-small", seed=0)


def objective(data, **kwargs):
    return EpochsObjective(_cnn, data[0], data[1], fit_kwargs=_cnn_fit_kwargs, **kwargs)


def test_resumed_training_equals_straight_training(data, tmp_path):
    resumed = objective(data, cache_dir=tmp_path / "a")
    steps = [resumed(CFG, fidelity=r) for r in (1, 3, 5)]
    straight = objective(data, cache_dir=tmp_path / "b")
    assert straight(CFG, fidelity=5) == steps[-1]
    assert resumed.epochs_trained == 5 and straight.epochs_trained == 5
    fresh = objective(data, resume=False)
    assert fresh(CFG, fidelity=3) == steps[1] and fresh(CFG, fidelity=5) == steps[2]
    assert fresh.epochs_trained == 8  # retrained from scratch each time
    assert all(0.0 <= s <= 1.0 for s in steps)


def test_lower_fidelity_after_higher_retrains(data):
    f = objective(data)
    high = f(CFG, fidelity=3)
    low = f(CFG, fidelity=1)
    assert f.epochs_trained == 4 and low != high


def test_bad_fidelity_and_build(data):
    with pytest.raises(ValueError, match=">= 1 epoch"):
        objective(data)(CFG, fidelity=0.2)
    with pytest.raises(ValueError, match="build must be"):
        EpochsObjective(None, data[0], data[1])


def test_multifidelity_ga_costs_what_it_trains():
    problem, obj = cnn_problem(seed=0, max_epochs=9)
    res = minimize(problem, MultiFidelity("ga", 1, 9, eta=3), budget=80, seed=0)
    assert res.cost == pytest.approx(res.history["cost"].sum()) and res.cost <= 80
    assert obj.epochs_trained == res.cost  # resumed: the cost is exactly what was trained
    assert set(res.history["fidelity"]) <= {1.0, 3.0, 9.0}
    assert isinstance(problem, Problem) and problem.fidelity == Fidelity(1, 9, True)
    assert problem.space == SPACE


def test_asha_costs_what_it_trains():
    problem, obj = cnn_problem(seed=0, max_epochs=9)
    res = minimize(problem, AsyncHalving("ga", 1, 9, eta=3, workers=3), budget=36, seed=0)
    assert res.cost == pytest.approx(res.history["cost"].sum()) and res.cost <= 36
    assert obj.epochs_trained == res.cost  # promotions resume their lower rung's checkpoint
    assert res.history["fidelity"].nunique() >= 2


def test_study_and_epochs_to_reach():
    pytest.importorskip("optuna")  # the TPE methods
    curves = fidelity_study(seeds=[0], budget=60, max_epochs=9, pop_size=9, optuna=True,
                            progress=False)
    assert set(curves["method"]) == set(METHODS)
    assert (curves["wall"] > 0).all()
    assert (curves.groupby("method")["epochs"].max() <= 60).all()
    for _, g in curves.groupby("method"):
        assert np.all(np.diff(g["best_val"].to_numpy()) >= 0)
    table = epochs_to_reach(curves)
    ga = table[table["method"] == "ga"].iloc[0]
    assert ga["speedup"] == 1.0 and ga["final_best_val"] == ga["target_val"]
    assert ga["wall_speedup"] == 1.0 and ga["seconds_to_target"] > 0
    with pytest.raises(ValueError, match="unknown methods"):
        fidelity_study(seeds=[0], budget=10, methods=["bohb"], progress=False)


def test_summarise_reach_counts_a_miss_as_speedup_zero():
    table = pd.DataFrame({
        "seed": [0, 0, 1, 1, 2, 2], "method": ["ga", "mf", "ga", "mf", "ga", "mf"],
        "epochs_to_target": [100.0, 20.0, 100.0, np.nan, 100.0, 50.0],
        "speedup": [1.0, 5.0, 1.0, np.nan, 1.0, 2.0],
        "wall_speedup": [1.0, 3.0, 1.0, np.nan, 1.0, 1.0],
        "final_best_val": [0.9, 0.8, 0.9, 0.7, 0.9, 0.9], "seconds": [1.0] * 6})
    s = summarise_reach(table)
    assert s.loc["mf", "reached"] == 2 and s.loc["mf", "median_speedup"] == 2.0
    assert s.loc["mf", "min_speedup"] == 0.0 and s.loc["mf", "median_wall_speedup"] == 1.0
    assert s.loc["mf", "median_epochs_to_target"] == 35.0
