"""The default deployment paths call no deprecated torch API: quantization through torchao
and ONNX Runtime, latency through torch.compile, export through the dynamo exporter,
pruning through torch-pruning -- run here with deprecation warnings as errors."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("torch_pruning")
pytest.importorskip("torchao")

from hybridlab.ml.compress import (
    compile_for_inference,
    prune_channels,
    quantize_int8,
)
from hybridlab.ml.hardware import export_onnx, onnx_accuracy, quantize_onnx
from hybridlab.ml.train import SmallCNN


def test_default_deploy_paths_raise_no_deprecation(tmp_path):
    # Inductor's own import of torch.utils.mkldnn defines TorchScript methods and warns
    # once at import time; that is torch importing itself, not a path hybridlab calls, so
    # it is imported before the check starts.
    import torch._inductor.compile_fx

    torch.manual_seed(0)
    x = torch.randn(64, 1, 8, 8)
    y = torch.randint(0, 10, (64,))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        model = SmallCNN(channels=(8, 16), hidden=32).eval()
        for mode in ("dynamic", "weight_only", "static"):
            q = quantize_int8(model, mode, calibration=x if mode == "static" else None)
            assert q(x[:2]).shape == (2, 10)
        compiled = compile_for_inference(quantize_int8(model, "static", calibration=x), x[:1])
        assert compiled(x[:1]).shape == (1, 10)
        small = prune_channels(SmallCNN(channels=(8, 16), hidden=32).eval(), x[:1], 0.5)
        src = export_onnx(small, x[:2], tmp_path / "small.onnx")
        for mode in ("dynamic", "static"):
            out = quantize_onnx(src, tmp_path / f"{mode}.onnx", mode=mode,
                                calibration=x if mode == "static" else None)
            assert 0.0 <= onnx_accuracy(out["path"], x, y) <= 1.0
