"""Logging a run to TensorBoard (hybridlab.integrations.TensorBoardLogger), read back."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import hybridlab as hl
from hybridlab.integrations import TensorBoardLogger


def _read(folder):
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return acc


def flaky(x):
    if x[0] > 0.8:
        raise RuntimeError("crash")
    return float(np.sum(x**2))


def test_every_evaluation_its_phase_and_the_best_so_far_are_logged(tmp_path):
    p = hl.Problem(flaky, hl.Space.box(2, -1, 1))
    r = hl.minimize(p, "ga>>local", budget=80, seed=0,
                    callbacks=[TensorBoardLogger(tmp_path / "run", {"seed": 0})])
    acc = _read(tmp_path / "run")
    h = r.history
    ok = h[h["status"] == "ok"]
    values = acc.Scalars("value")
    assert [e.step for e in values] == ok["eval"].tolist()
    assert np.allclose([e.value for e in values], ok["y"], rtol=1e-6)
    best = acc.Scalars("best_so_far")
    assert best[-1].value == pytest.approx(r.y) and best[-1].step == 80
    phases = {t.split("/", 1)[1] for t in acc.Tags()["scalars"] if t.startswith("value/")}
    assert phases == set(h["phase"]) and (h["status"] != "ok").any()


def test_the_best_point_is_written_as_hparams(tmp_path):
    space = hl.Space({"lr": hl.Real(1e-3, 1, log=True), "act": hl.Categorical(["a", "b"])})
    p = hl.Problem(lambda q: (np.log10(q["lr"]) + 1) ** 2 + (q["act"] == "b"), space)
    hl.minimize(p, "random", budget=20, seed=0,
                callbacks=[TensorBoardLogger(tmp_path / "run", {"optimizer": "random"})])
    files = list((tmp_path / "run").rglob("events.out.tfevents.*"))
    assert files
    tags = set()
    for f in files:
        acc = EventAccumulator(str(f.parent))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    assert {"hparam/best_y", "hparam/n_evals"} <= tags


def test_a_training_run_logs_each_epochs_metrics(tmp_path):
    import torch

    from hybridlab.ml.train import TinyMLP, fit

    torch.manual_seed(0)
    X, y = torch.randn(128, 4), torch.randint(0, 3, (128,))
    data = torch.utils.data.TensorDataset(X, y)
    history = fit(TinyMLP(4, 8, 3), data, data, epochs=3, seed=0,
                  callbacks=[TensorBoardLogger(tmp_path / "fit")])
    acc = _read(tmp_path / "fit")
    loss = acc.Scalars("train/train_loss")
    assert [e.step for e in loss] == [1, 2, 3]
    assert np.allclose([e.value for e in loss], history["train_loss"], rtol=1e-6)
    assert "train/val_accuracy" in acc.Tags()["scalars"]


def test_a_study_logs_one_run_per_cell(tmp_path):
    from hybridlab.benchmarks import suite
    from hybridlab.study import compare

    problems = suite(dims=(2,), instances=1, functions=["sphere"])
    compare(["random", "ga"], problems, budget=30, seeds=2, progress=False,
            callbacks=lambda o, p, s: [TensorBoardLogger(tmp_path / o / p / f"seed{s}")])
    runs = sorted({f.parent.relative_to(tmp_path).as_posix()
                   for f in tmp_path.rglob("events.out.tfevents.*")
                   if f.parent.name.startswith("seed")})
    assert runs == [f"{o}/sphere-d2-i1/seed{s}" for o in ("ga", "random") for s in (0, 1)]
    assert len(_read(tmp_path / "ga" / "sphere-d2-i1" / "seed1").Scalars("value")) == 30
    with pytest.raises(ValueError, match="callbacks"):
        compare(["random"], problems, budget=10, seeds=1, progress=False, callbacks=[1])
