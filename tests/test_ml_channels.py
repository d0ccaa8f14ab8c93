"""Structural pruning (hybridlab.ml.compress: prune_channels, progressive_channel_prune)."""

from __future__ import annotations

import copy

import pytest
import torch

pytest.importorskip("torch_pruning")

from hybridlab.ml.compress import channel_counts, progressive_channel_prune, prune_channels
from hybridlab.ml.train import SmallCNN, accuracy, digits_data, fit

torch.set_num_threads(1)
EXAMPLE = torch.zeros(1, 1, 8, 8)


@pytest.fixture(scope="module")
def data():
    return digits_data()


@pytest.fixture(scope="module")
def trained(data):
    train, val, _ = data
    torch.manual_seed(0)
    model = SmallCNN(channels=(16, 32), hidden=128)
    fit(model, train, val, lr=3e-3, epochs=4, seed=0)
    return model


def test_channels_are_removed_and_the_output_kept(trained):
    model = prune_channels(copy.deepcopy(trained), EXAMPLE, 0.5)
    assert model.features[0].weight.shape == (8, 1, 3, 3)
    assert model.features[3].weight.shape == (16, 8, 3, 3)
    assert model.head[-1].weight.shape == (10, 64)
    before, after = channel_counts(trained, EXAMPLE), channel_counts(model, EXAMPLE)
    assert after["params"] < 0.35 * before["params"] and after["macs"] < 0.35 * before["macs"]
    assert model(torch.randn(5, 1, 8, 8)).shape == (5, 10)


def test_zero_removes_nothing_and_bad_arguments_name_the_fix(trained):
    model = copy.deepcopy(trained)
    assert channel_counts(prune_channels(model, EXAMPLE, 0.0), EXAMPLE) == \
        channel_counts(trained, EXAMPLE)
    for bad in (1.0, -0.1, True, "half"):
        with pytest.raises(ValueError, match=r"fraction of channels to remove in \[0, 1\)"):
            prune_channels(model, EXAMPLE, bad)
    with pytest.raises(ValueError, match="importance must be one of"):
        prune_channels(model, EXAMPLE, 0.3, importance="weights")


def test_kept_channels_are_original_ones_and_the_strongest_stays(trained):
    model = prune_channels(copy.deepcopy(trained), EXAMPLE, 0.5)
    old = trained.features[0].weight.detach().flatten(1)
    new = model.features[0].weight.detach().flatten(1)
    match = (new[:, None, :] == old[None, :, :]).all(dim=2)  # new row i is old row j
    assert match.any(dim=1).all()
    assert match[:, old.norm(dim=1).argmax()].any()


@pytest.mark.parametrize("importance", ["l2", "l1"])
def test_progressive_pruning_fine_tunes_back(trained, data, importance):
    train, val, _ = data
    model, table = progressive_channel_prune(copy.deepcopy(trained), EXAMPLE, train, val,
                                             target=0.5, steps=2, schedule="linear",
                                             importance=importance, lr=1e-3, seed=0)
    assert table["step"].tolist() == [0, 1, 2]
    assert table["target_ratio"].tolist() == pytest.approx([0.0, 0.25, 0.5])
    assert table["params"].is_monotonic_decreasing and table["epochs"].tolist() == [0, 1, 2]
    assert table["params"].iloc[-1] < 0.35 * table["params"].iloc[0]
    assert table["val_accuracy"].iloc[-1] == pytest.approx(accuracy(model, val))
    assert table["val_accuracy"].iloc[-1] > table["val_accuracy"].iloc[0] - 0.1


def test_progressive_pruning_is_deterministic(trained, data):
    train, val, _ = data
    runs = [progressive_channel_prune(copy.deepcopy(trained), EXAMPLE, train, val, target=0.4,
                                      steps=2, lr=1e-3, seed=3)[1] for _ in range(2)]
    assert runs[0].equals(runs[1])


def test_a_pruned_model_saves_smaller_and_reloads_the_same(trained, tmp_path):
    model = prune_channels(copy.deepcopy(trained), EXAMPLE, 0.5).eval()
    torch.save(trained.state_dict(), tmp_path / "dense.pt")
    torch.save(model, tmp_path / "pruned.pt")  # the module: its shapes changed
    back = torch.load(tmp_path / "pruned.pt", weights_only=False).eval()
    x = torch.randn(7, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(back(x), model(x))
    assert (tmp_path / "pruned.pt").stat().st_size < 0.5 * (tmp_path / "dense.pt").stat().st_size
