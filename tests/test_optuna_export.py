"""Any hybridlab run as an Optuna study (hybridlab.integrations.optuna_export)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

import hybridlab as hl
from hybridlab.conditional import Choice, ConditionalSpace
from hybridlab.integrations import param_importances, to_optuna
from hybridlab.tracking import RunStore

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = hl.Space({"lr": hl.Real(1e-4, 1e-1, log=True), "layers": hl.Integer(1, 4),
                  "act": hl.Categorical(["relu", "tanh"]), "noise": hl.Real(0, 1)})


def objective(p):
    """lr matters most, layers a little, noise not at all; fails for tanh with 4 layers."""
    if p["act"] == "tanh" and p["layers"] == 4:
        raise RuntimeError("diverged")
    return (np.log10(p["lr"]) + 2.5) ** 2 + 0.05 * p["layers"] + 1e-4 * p["noise"]


def test_every_evaluation_becomes_a_trial_with_its_params_and_state():
    r = hl.minimize(hl.Problem(objective, SPACE), "ga", budget=80, seed=1)
    study = to_optuna(r, SPACE)
    assert len(study.trials) == 80 and study.direction == optuna.study.StudyDirection.MINIMIZE
    h = r.history
    for trial, (_, row) in zip(study.trials, h.iterrows(), strict=True):
        assert trial.user_attrs["eval"] == row["eval"]
        assert trial.params["layers"] == row["layers"] and trial.params["act"] == row["act"]
        assert trial.params["lr"] == pytest.approx(row["lr"])
        ok = row["status"] == "ok"
        assert trial.state == (optuna.trial.TrialState.COMPLETE if ok
                               else optuna.trial.TrialState.FAIL)
        assert (trial.value == row["y"]) if ok else trial.value is None
    assert (h["status"] != "ok").any()
    assert study.best_value == r.y and study.best_params["layers"] == r.x["layers"]


def test_fanova_ranks_the_parameter_that_matters_first():
    r = hl.minimize(hl.Problem(objective, SPACE), "random", budget=120, seed=0)
    imp = param_importances(to_optuna(r, SPACE), seed=0)
    assert imp.index[0] == "lr" and imp["lr"] > 0.5 and imp["noise"] < 0.05
    assert imp.sum() == pytest.approx(1.0)
    assert param_importances(to_optuna(r, SPACE), "mdi").index[0] == "lr"
    with pytest.raises(ValueError, match="evaluator must be one of"):
        param_importances(to_optuna(r, SPACE), "shap")


def test_a_stored_run_goes_to_optunas_rdb_storage(tmp_path):
    db = tmp_path / "runs.db"
    r = hl.minimize(hl.Problem(objective, SPACE, name="p"), "pso", budget=40, seed=2,
                    store=db, run="r")
    with RunStore(db, read_only=True) as store:
        frame = store.evaluations("r")
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    to_optuna(frame, SPACE, study_name="p/pso", storage=url)
    loaded = optuna.load_study(study_name="p/pso", storage=url)
    assert len(loaded.trials) == 40 and loaded.best_value == pytest.approx(r.y)


def test_conditional_spaces_keep_only_the_active_parameters():
    space = ConditionalSpace({"model": Choice({
        "linear": ("linear", {"c": hl.Real(0.01, 10, log=True)}),
        "tree": ("tree", {"depth": hl.Integer(1, 8)})})})
    problem = hl.Problem(lambda p: p.get("c", 1.0) + p.get("depth", 0), space)
    r = hl.minimize(problem, "random", budget=30, seed=0)
    study = to_optuna(r, space)
    for t in study.trials:
        label = t.params["model"]
        assert set(t.params) == {"model", "c" if label == "linear" else "depth"}


def test_a_history_without_the_space_is_refused():
    r = hl.minimize(hl.Problem(objective, SPACE), "random", budget=5, seed=0)
    with pytest.raises(ValueError, match="pass the space the run searched"):
        to_optuna(r, hl.Space({"other": hl.Real(0, 1)}))
    with pytest.raises(ValueError, match="missing columns"):
        to_optuna(r.history.drop(columns=["status"]), SPACE)
