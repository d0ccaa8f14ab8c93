"""Logging a run to MLflow (hybridlab.integrations.MLflowLogger), read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mlflow")

import hybridlab as hl
from hybridlab.integrations import MLflowLogger


def flaky(x):
    if x[0] > 0.8:
        raise RuntimeError("crash")
    return float(np.sum(x**2))


@pytest.fixture(scope="module")
def uri(tmp_path_factory):
    """One SQLite store for the module: creating MLflow's tables takes seconds."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


def _metric(logger, name):
    return sorted(logger.client.get_metric_history(logger.run_id, name),
                  key=lambda m: m.step)


def test_a_run_is_logged_and_read_back(uri, tmp_path):
    logger = MLflowLogger(uri, experiment="t",
                          params={"optimizer": "ga>>local", "seed": 0})
    p = hl.Problem(flaky, hl.Space.box(2, -1, 1))
    r = hl.minimize(p, "ga>>local", budget=80, seed=0, callbacks=[logger])
    h = r.history
    ok = h[h["status"] == "ok"]
    values = _metric(logger, "value")
    assert [m.step for m in values] == ok["eval"].tolist() and (h["status"] != "ok").any()
    assert np.allclose([m.value for m in values], ok["y"])
    best = _metric(logger, "best_so_far")
    assert best[-1].value == pytest.approx(r.y) and best[-1].step == 80
    run = logger.client.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.info.experiment_id
    assert {f"value/{ph}" for ph in set(h["phase"])} <= set(run.data.metrics)
    assert run.data.params["optimizer"] == "ga>>local"
    assert float(run.data.params["x0"]) == pytest.approx(r.x[0])
    assert run.data.metrics["best_y"] == pytest.approx(r.y)
    # the history is an artifact, the same table
    local = logger.client.download_artifacts(logger.run_id, "history.csv", str(tmp_path))
    back = pd.read_csv(local)
    assert len(back) == 80 and np.allclose(back["y"].fillna(-1), h["y"].fillna(-1))
    assert (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").is_dir()


def test_a_failed_run_is_marked_failed_and_keeps_what_was_logged(uri):
    def boom(progress):
        if progress.n_evals >= 20:
            raise RuntimeError("stop here")
        return False

    logger = MLflowLogger(uri)
    p = hl.Problem(lambda x: float(np.sum(x**2)), hl.Space.box(2, -1, 1))
    with pytest.raises(RuntimeError, match="stop here"):
        hl.minimize(p, "random", budget=50, seed=0, callbacks=[logger, boom])
    assert logger.client.get_run(logger.run_id).info.status == "FAILED"
    assert len(_metric(logger, "value")) >= 20


def test_a_training_run_logs_each_epochs_metrics(uri):
    import torch

    from hybridlab.ml.train import TinyMLP, fit

    torch.manual_seed(0)
    X, y = torch.randn(128, 4), torch.randint(0, 3, (128,))
    data = torch.utils.data.TensorDataset(X, y)
    logger = MLflowLogger(uri, run_name="fit")
    history = fit(TinyMLP(4, 8, 3), data, data, epochs=3, seed=0, callbacks=[logger])
    loss = _metric(logger, "train/train_loss")
    assert [m.step for m in loss] == [1, 2, 3]
    assert np.allclose([m.value for m in loss], history["train_loss"])
    run = logger.client.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "fit"


def test_bad_arguments_raise_and_the_default_store_is_local():
    with pytest.raises(ValueError, match="experiment"):
        MLflowLogger(experiment="")
    assert "sqlite:///mlruns/mlflow.db" in repr(MLflowLogger())
