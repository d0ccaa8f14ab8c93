"""Tests of hybridlab.ml.compress: pruning, quantization, honest sizes, distillation."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import copy
import itertools

import pytest
import torch
from torch import nn

from hybridlab.ml.compress import (
    distill,
    distillation_loss,
    freeze_for_inference,
    load_compressed,
    make_permanent,
    one_shot_prune,
    param_counts,
    permanent_copy,
    progressive_prune,
    prune_global,
    prune_structured,
    quantize_dynamic,
    quantize_qat,
    quantize_static,
    save_compressed,
    saved_size,
    sparsity,
    sparsity_schedule,
)
from hybridlab.ml.train import SmallCNN, accuracy, digits_data, fit

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    return digits_data(seed=0)


@pytest.fixture(scope="module")
def trained(digits):
    train, val, _ = digits
    torch.manual_seed(0)
    model = SmallCNN(channels=(16, 32), hidden=128)
    fit(model, train, val, lr=3e-3, epochs=10, seed=0, device="cpu")  # int8 runs on the CPU
    return model


def _cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return SmallCNN(channels=(16, 32), hidden=128)


# ---- pruning -------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", [0.0, 0.33, 0.5, 0.9, 1.0])
def test_prune_global_reaches_sparsity(amount):
    model = prune_global(_cnn(), amount)
    report = sparsity(model)
    n = int(report.layers.params.sum())
    assert abs(report.overall - amount) <= 1 / n
    # global: layers are pruned unevenly, but the masks hold exactly the requested count
    masks = [m.weight_mask for m in model.modules() if hasattr(m, "weight_mask")]
    assert sum(int((mk == 0).sum()) for mk in masks) == round(amount * n)


def test_prune_global_is_l1_and_cumulative():
    model = _cnn()
    weights = torch.cat([p.detach().abs().flatten() for n, p in model.named_parameters()
                         if n.endswith("weight")])
    prune_global(model, 0.4)
    kept = torch.cat([m.weight.detach().abs().flatten() for m in model.modules()
                      if hasattr(m, "weight_mask")])
    # every surviving weight is at least as large as the largest pruned one
    threshold = weights.sort().values[round(0.4 * len(weights)) - 1]
    assert kept[kept != 0].min() >= threshold
    prune_global(model, 0.7)  # amount is the total, not an increment
    assert sparsity(model).overall == pytest.approx(0.7, abs=1e-4)
    with pytest.raises(ValueError, match="cannot be undone"):
        prune_global(model, 0.5)


def test_prune_global_layers_subset():
    model = prune_global(_cnn(), 0.5, layers=["head.2"])
    table = sparsity(model).layers.set_index("layer")
    assert table.loc["head.2", "sparsity"] == pytest.approx(0.5, abs=1e-4)
    assert (table.drop("head.2").zeros == 0).all()
    with pytest.raises(ValueError, match="not a prunable layer"):
        prune_global(_cnn(), 0.5, layers=["nope"])


def test_prune_structured_zeroes_whole_channels():
    model = prune_structured(_cnn(), 0.5, dim=0)
    conv = model.features[0].weight.detach()  # (16, 1, 3, 3)
    per_channel = conv.flatten(1).abs().sum(1)
    assert int((per_channel == 0).sum()) == 8
    # every channel is either entirely zero or has no structural zeros from the mask
    mask = model.features[0].weight_mask.flatten(1)
    assert set(mask.mean(1).tolist()) <= {0.0, 1.0}
    lin = model.head[2].weight.detach()
    assert int((lin.abs().sum(1) == 0).sum()) == 64
    assert not hasattr(model.head[5], "weight_mask")  # output layer kept
    x = torch.randn(3, 1, 8, 8)
    out = model.features[0](x)
    assert torch.all(out[:, per_channel == 0] == model.features[0].bias[per_channel == 0]
                     .detach()[None, :, None, None])


def test_make_permanent_removes_reparametrisation():
    model = prune_global(_cnn(), 0.6)
    x = torch.randn(4, 1, 8, 8)
    before = model(x)
    make_permanent(model)
    names = [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
    assert not any(n.endswith(("_orig", "_mask")) for n in names)
    assert all(not m._forward_pre_hooks for m in model.modules())
    assert torch.allclose(model(x), before)
    assert sparsity(model).overall == pytest.approx(0.6, abs=1e-4)


def test_sparsity_schedule_values():
    cubic = sparsity_schedule(0.9, 4, "cubic")
    assert cubic == pytest.approx([0.9 * (1 - 0.75**3), 0.9 * (1 - 0.5**3),
                                   0.9 * (1 - 0.25**3), 0.9])
    assert sparsity_schedule(0.9, 3, "linear") == pytest.approx([0.3, 0.6, 0.9])
    assert sparsity_schedule(0.5, 1) == [0.5]
    assert all(a < b for a, b in itertools.pairwise(cubic))
    # cubic prunes front-loaded: ahead of linear at every intermediate step
    lin = sparsity_schedule(0.9, 4, "linear")
    assert all(c > li for c, li in zip(cubic[:-1], lin[:-1], strict=True))
    with pytest.raises(ValueError):
        sparsity_schedule(0.9, 4, "exp")


def test_progressive_and_one_shot_prune(trained, digits):
    train, val, test = digits
    model, table = progressive_prune(copy.deepcopy(trained), train, val, target=0.8, steps=3,
                                     finetune_epochs=1, lr=1e-3, seed=0)
    assert table.step.tolist() == [0, 1, 2, 3]
    assert table.target_sparsity.iloc[1:].tolist() == pytest.approx(
        sparsity_schedule(0.8, 3, "cubic"))
    assert table.sparsity.iloc[1:].to_numpy() == pytest.approx(
        table.target_sparsity.iloc[1:].to_numpy(), abs=1e-3)
    assert table.epochs.iloc[-1] == 3
    assert sparsity(model).overall == pytest.approx(0.8, abs=1e-3)
    assert accuracy(model, test) > 0.9
    shot, t1 = one_shot_prune(copy.deepcopy(trained), train, val, target=0.8,
                              finetune_epochs=3, lr=1e-3)
    assert t1.sparsity.tolist() == pytest.approx([0.0, 0.8], abs=1e-3)
    assert accuracy(shot, test) > 0.85


# ---- quantization ----------------------------------------------------------------------------
def _agreement(a: nn.Module, b: nn.Module, X: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():  # each model where it lives (distill may train on a GPU)
        la, lb = (m(X.to(next((p.device for p in m.parameters()), "cpu"))).cpu()
                  for m in (a, b))
    return float((la.argmax(1) == lb.argmax(1)).float().mean()), float((la - lb).abs().max())


def test_quantize_static_close_to_float(trained, digits):
    train, _, test = digits
    q = quantize_static(trained, train)
    assert "FX graph mode static int8" in q.quantization_path_
    X = test.tensors[0]
    agree, diff = _agreement(trained, q, X)
    assert agree >= 0.95
    logits = trained(X).detach()
    assert diff < 0.2 * float(logits.abs().max())
    assert accuracy(q, test) >= accuracy(trained, test) - 0.02
    assert any(".quantized" in type(m).__module__ for m in q.modules())
    assert next(iter(trained.parameters())).dtype == torch.float32  # original untouched
    f = freeze_for_inference(q, X[:1])
    assert torch.equal(f(X[:32]), q(X[:32]))


def test_quantize_dynamic_and_qat(trained, digits):
    train, val, test = digits
    X = test.tensors[0]
    d = quantize_dynamic(trained)
    assert d.quantization_path_.endswith("Linear")
    agree, _ = _agreement(trained, d, X)
    assert agree >= 0.95
    q = quantize_qat(trained, train, val, epochs=1, lr=1e-4, seed=0)
    assert "QAT" in q.quantization_path_ and len(q.history_) == 1
    assert accuracy(q, test) >= accuracy(trained, test) - 0.03


def test_quantize_pruned_keeps_zeros(trained, digits):
    train, _, _ = digits
    pruned = prune_global(copy.deepcopy(trained), 0.7)
    q = quantize_static(pruned, train, max_samples=256)
    assert param_counts(q) == param_counts(pruned)
    assert hasattr(pruned.features[0], "weight_mask")  # the input model is not modified


# ---- sizes -----------------------------------------------------------------------------------
def test_param_counts():
    model = _cnn()
    total = sum(p.numel() for p in model.parameters())
    assert param_counts(model) == {"total": total, "nonzero": total}
    prune_global(model, 0.5)
    counts = param_counts(model)
    weights = sum(m.weight.numel() for m in model.modules() if hasattr(m, "weight_mask"))
    assert counts["total"] == total
    assert counts["nonzero"] == total - round(0.5 * weights)


def test_saved_size_measures_the_file(tmp_path):
    model = _cnn()
    plain = saved_size(model, compress=False)
    torch.save(model.state_dict(), tmp_path / "model.pt")  # the zip records the file name
    assert plain["bytes_on_disk"] == os.path.getsize(tmp_path / "model.pt")
    dense = saved_size(model)
    assert dense["bytes_on_disk"] > 0.85 * plain["bytes_on_disk"]  # LZMA barely helps floats
    pruned = saved_size(prune_global(model, 0.9))
    assert pruned["nonzero"] < 0.2 * pruned["params"]
    # 10% of float32 values + 1 bit per weight: well under a third of the dense file
    assert pruned["bytes_on_disk"] < 0.3 * dense["bytes_on_disk"]
    assert saved_size(model, compress=False)["bytes_on_disk"] == plain["bytes_on_disk"]


@pytest.mark.parametrize("method", ["sparse", "lzma"])
def test_compressed_round_trip_exact(tmp_path, method):
    model = prune_global(_cnn(1), 0.8)
    path = tmp_path / "m.hlcz"
    size = save_compressed(model, path, method=method)
    assert size == os.path.getsize(path)
    fresh = _cnn(2)
    load_compressed(path, fresh)
    ref = permanent_copy(model).state_dict()
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, ref[k]), k
    pruned_target = prune_global(_cnn(3), 0.1)  # reparametrised targets are folded first
    load_compressed(path, pruned_target)
    assert torch.equal(pruned_target.head[2].weight, ref["head.2.weight"])


def test_compressed_round_trip_quantized(tmp_path, trained, digits):
    train, _, test = digits
    q = quantize_static(prune_global(copy.deepcopy(trained), 0.7), train, max_samples=256)
    path = tmp_path / "q.hlcz"
    save_compressed(q, path)
    fresh = quantize_static(_cnn(5), train, max_samples=64)
    load_compressed(path, fresh)
    X = test.tensors[0]
    assert torch.equal(fresh(X), q(X))
    base = saved_size(trained)["bytes_on_disk"]
    assert os.path.getsize(path) < 0.3 * base
    with open(tmp_path / "bad", "wb") as f:
        f.write(b"nope")
    with pytest.raises(ValueError, match="not a hybridlab compact"):
        load_compressed(tmp_path / "bad", fresh)


# ---- distillation ----------------------------------------------------------------------------
def test_distillation_loss_properties():
    torch.manual_seed(0)
    s = torch.randn(16, 10, dtype=torch.float64, requires_grad=True)
    t = torch.randn(16, 10, dtype=torch.float64)
    y = torch.randint(0, 10, (16,))
    ce = nn.functional.cross_entropy(s, y)
    assert torch.allclose(distillation_loss(s, t, y, alpha=0.0), ce)
    # soft term: >= 0, exactly 0 with zero gradient when the student equals the teacher
    s_eq = t.clone().requires_grad_(True)
    loss = distillation_loss(s_eq, t, y, temperature=3.0, alpha=1.0)
    loss.backward()
    assert abs(float(loss.detach())) < 1e-12 and float(s_eq.grad.abs().max()) < 1e-12
    assert float(distillation_loss(s, t, y, alpha=1.0).detach()) > 0
    # mixture is linear in alpha; gradients are correct (finite differences)
    a, b = distillation_loss(s, t, y, alpha=1.0), ce
    assert torch.allclose(distillation_loss(s, t, y, alpha=0.3), 0.3 * a + 0.7 * b)
    assert torch.autograd.gradcheck(
        lambda z: distillation_loss(z, t, y, temperature=2.0, alpha=0.5), (s,))
    with pytest.raises(ValueError):
        distillation_loss(s, t, y, temperature=0.0)


def test_distill_trains_student(trained, digits):
    train, val, test = digits
    torch.manual_seed(0)
    student = SmallCNN(channels=(8,), hidden=32)
    h = distill(student, trained, train, val, temperature=4.0, alpha=0.7, epochs=8, lr=1e-2,
                seed=0)
    assert list(h.epoch) == list(range(1, 9))
    assert h.val_accuracy.notna().all()  # val keeps integer labels: accuracy is reported
    acc = accuracy(student, test)
    assert acc > 0.85
    # the student learned the teacher's function, not only the labels
    agree, _ = _agreement(student, trained, test.tensors[0])
    assert agree > 0.85
    with pytest.raises(ValueError, match="loss_fn"):
        distill(student, trained, train, val, loss_fn=nn.functional.cross_entropy)
