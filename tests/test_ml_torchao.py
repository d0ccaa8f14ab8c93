"""int8 quantization with torchao (hybridlab.ml.compress.quantize_int8)."""

from __future__ import annotations

import copy
import time

import pytest
import torch

pytest.importorskip("torchao")

from hybridlab.ml.compress import compile_for_inference, quantize_int8
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
    fit(model, train, val, lr=3e-3, epochs=6, seed=0, device="cpu")
    return model.eval()


@pytest.mark.parametrize("mode", ["dynamic", "weight_only"])
def test_linear_weights_become_int8_and_accuracy_holds(trained, digits, mode):
    test = digits[2]
    before = copy.deepcopy(trained.state_dict())
    q = quantize_int8(trained, mode)
    assert "Int8" in type(q.head[2].weight).__name__  # a torchao int8 tensor
    assert type(trained.head[2].weight) is torch.nn.Parameter  # the original untouched
    assert all(torch.equal(before[k], v) for k, v in trained.state_dict().items())
    assert abs(accuracy(q, test) - accuracy(trained, test)) <= 0.01


def test_static_int8_covers_convolutions_and_any_batch(trained, digits):
    train, _, test = digits
    calibration = train.tensors[0][:512]
    q = quantize_int8(trained, "static", calibration=calibration)
    ops = {str(n.target) for n in q.graph.nodes if n.op == "call_function"}
    assert any("quantize_per_channel" in op for op in ops)  # conv and linear weights
    x = test.tensors[0][:7]
    assert q(x).shape == (7, 10) and q(x[:1]).shape == (1, 10)
    assert abs(accuracy(q, test) - accuracy(trained, test)) <= 0.02


def test_compiled_static_model_gives_the_same_outputs(trained, digits):
    train, _, test = digits
    q = quantize_int8(trained, "static",
                      calibration=(train.tensors[0][:256], train.tensors[1][:256]))
    x = test.tensors[0][:1]
    t0 = time.perf_counter()
    fast = compile_for_inference(q, x)
    assert time.perf_counter() - t0 < 120
    with torch.no_grad():
        assert torch.allclose(fast(x), q(x), atol=0.05)


def test_bad_arguments_name_the_fix(trained):
    with pytest.raises(ValueError, match="mode must be one of"):
        quantize_int8(trained, "int4")
    with pytest.raises(ValueError, match="needs calibration="):
        quantize_int8(trained, "static")


@pytest.mark.parametrize("mode", ["dynamic", "weight_only"])
def test_int8_weights_save_smaller_and_reload_the_same(trained, mode, tmp_path):
    q = quantize_int8(trained, mode)
    torch.save(trained.state_dict(), tmp_path / "float.pt")
    torch.save(q.state_dict(), tmp_path / "int8.pt")
    back = quantize_int8(SmallCNN(channels=(16, 32), hidden=128).eval(), mode)
    back.load_state_dict(torch.load(tmp_path / "int8.pt", weights_only=False), assign=True)
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(back(x), q(x))
    float_bytes = (tmp_path / "float.pt").stat().st_size
    assert (tmp_path / "int8.pt").stat().st_size < 0.55 * float_bytes


def test_static_int8_round_trips_through_torch_export(trained, digits, tmp_path):
    calib = digits[0].tensors[0][:64]
    q = quantize_int8(trained, "static", calibration=calib)
    x = digits[2].tensors[0][:3]
    torch.export.save(torch.export.export(q, (x,)), tmp_path / "int8.pt2")
    back = torch.export.load(tmp_path / "int8.pt2").module()
    with torch.no_grad():
        assert torch.equal(back(x), q(x))



def test_torchao_import_drops_only_the_notes_meant_for_its_authors():
    import logging

    from hybridlab.ml.compress._torchao import _EnumConstantNote, _torchao

    def record(msg):
        return logging.LogRecord("torch.utils._pytree", logging.WARNING, "", 0, msg, (), None)

    note = ("<enum 'KernelPreference'> is an Enum subclass ... Calling register_constant() "
            "on Enum subclasses is deprecated and will be an error in a future release.")
    assert not _EnumConstantNote().filter(record(note))
    assert _EnumConstantNote().filter(record("any other record"))
    _torchao()
    assert not logging.getLogger("torch.utils._pytree").filters  # only during the import
    assert not logging.getLogger("torchao").filters
