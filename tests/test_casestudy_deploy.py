"""Case study 2's deployable artifacts (hybridlab.casestudies.deploy)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("torch_pruning")
pytest.importorskip("torchao")

from hybridlab.casestudies.deploy import (
    VARIANTS,
    build_artifacts,
    measure_files,
    targets,
)
from hybridlab.ml.train import SmallCNN, digits_data, fit

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    return digits_data(seed=0)


@pytest.fixture(scope="module")
def base(data):
    train, val, _ = data
    torch.manual_seed(0)
    model = SmallCNN(channels=(16, 32), hidden=128)
    fit(model, train, val, optimizer="adam", lr=3e-3, epochs=2, seed=0, device="cpu")
    return model.eval()


def test_four_files_measured_where_they_run(base, data, tmp_path):
    files, models = build_artifacts(base, data, 0.5, tmp_path, steps=1, finetune_epochs=1)
    assert list(files) == list(VARIANTS) and all(p.is_file() for p in files.values())
    assert set(models) == {"baseline", "pruned"}
    t = measure_files(files, data, repeats=5, rounds=2).set_index("variant")
    size = t["bytes_on_disk"]
    assert size["pruned"] < 0.5 * size["baseline"] and size["int8"] < 0.5 * size["baseline"]
    assert size["pruned + int8"] < min(size["pruned"], size["int8"])
    assert t["test_accuracy"].between(0.3, 1.0).all() and (t["ort_b1_us"] > 0).all()
    checks = targets(t.reset_index())
    assert set(checks) == {"size", "accuracy", "latency b1"}
    assert checks["size"][0] == (size["pruned + int8"] <= 0.3 * size["baseline"])

