"""int8 quantization with torchao, PyTorch's quantization library (the ``compress`` extra).

Three modes, all on the CPU:

* ``"dynamic"`` -- ``quantize_(model, Int8DynamicActivationInt8WeightConfig())``: the
  weights of every ``nn.Linear`` stored in int8, activations quantized on the fly;
* ``"weight_only"`` -- ``Int8WeightOnlyConfig``: int8 linear weights, float arithmetic;
* ``"static"`` -- PT2E: ``torch.export`` the model, ``prepare_pt2e`` with the
  ``X86InductorQuantizer`` (convolutions *and* linear layers, per-channel weights),
  calibrate activation ranges on example batches, ``convert_pt2e``.

``quantize_`` changes only linear layers (torchao's configs target them), so a CNN's
convolutions stay float in the first two modes; the static mode covers both.  torchao's
int8 kernels are fast only once compiled: run eagerly, its tensor subclasses and the
static mode's quantize/dequantize pairs are slower than the float model.
:func:`compile_for_inference` compiles with Inductor's weight freezing, which turns a
static model's pairs into fused int8 oneDNN kernels -- the form to measure latency on.
Measured on the digits CNN at batch 1, one thread (``reports/deploy-stack``): static int8
855-1051 µs eager, 250-377 µs compiled, float 136 µs eager -- compiling cuts int8's time
about 3x, yet on a model this small neither beats eager float, and ONNX Runtime (19 µs)
is the fast path.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

__all__ = ["INT8_MODES", "compile_for_inference", "quantize_int8"]

#: The modes of :func:`quantize_int8`.
INT8_MODES = ("dynamic", "weight_only", "static")


class _CudaKernelsOnCpu(logging.Filter):
    """Drops torchao's "Failed to load .../_C_<kernel>.so" records on a torch without
    CUDA: those libraries hold CUDA kernels (mxfp8, CUTLASS) that the CPU paths here never
    use, and each record prints the file's absolute path at import time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return torch.cuda.is_available() or not record.getMessage().startswith(
            "Failed to load")


class _EnumConstantNote(logging.Filter):
    """Drops torch's one record that torchao's import calls ``register_constant()`` on an
    Enum (its ``KernelPreference``): torch 2.13 logs that this is deprecated, a note to
    torchao's authors that a user of either cannot act on.  Only during the import."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "register_constant() on Enum subclasses is deprecated" not in \
            record.getMessage()


def _torchao() -> Any:
    quiet = [(logging.getLogger("torchao"), _CudaKernelsOnCpu()),
             (logging.getLogger("torch.utils._pytree"), _EnumConstantNote())]
    for log, f in quiet:
        log.addFilter(f)
    try:
        import torchao
    except ImportError as exc:  # an optional extra
        raise ImportError("int8 quantization with torchao needs it: pip install "
                          "'hybridlab[compress]'") from exc
    finally:
        for log, f in quiet:
            log.removeFilter(f)
    return torchao


def _batches(calibration: Any) -> Iterable[torch.Tensor]:
    """Input batches from a tensor, an ``(X, y)`` pair or a loader of either."""
    if isinstance(calibration, torch.Tensor):
        return calibration.split(64)
    if isinstance(calibration, tuple | list) and len(calibration) == 2 \
            and isinstance(calibration[0], torch.Tensor):
        return calibration[0].split(64)
    return (b[0] if isinstance(b, tuple | list) else b for b in calibration)


def quantize_int8(model: nn.Module, mode: str = "dynamic", *,
                  calibration: Any = None) -> nn.Module:
    """An int8 copy of ``model`` (left unchanged), quantized by torchao.

    Parameters
    ----------
    model : torch.nn.Module
        A float model on the CPU; it is copied.
    mode : {"dynamic", "weight_only", "static"}
        See the module docstring.
    calibration : tensor, (X, y) or loader, required for ``"static"``
        Input batches on which activation ranges are observed (a few hundred samples);
        the first batch also serves as the example input of ``torch.export`` (its batch
        dimension is exported as dynamic).

    Returns
    -------
    torch.nn.Module
        In eval mode; for ``"static"``, the converted ``torch.fx.GraphModule`` (call
        :func:`compile_for_inference` before timing it).

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN(channels=(8, 16), hidden=32).eval()
    >>> x = torch.randn(64, 1, 8, 8)
    >>> q = quantize_int8(model, "static", calibration=x)
    >>> bool((q(x) - model(x)).abs().max() < 0.05)
    True
    """
    if mode not in INT8_MODES:
        raise ValueError(f"mode must be one of {INT8_MODES}, got {mode!r}")
    if mode == "static" and calibration is None:
        raise ValueError("mode='static' needs calibration= example inputs (a tensor, an "
                         "(X, y) pair or a loader) to observe activation ranges")
    _torchao()
    float_model = copy.deepcopy(model).cpu().eval()
    if mode != "static":
        from torchao.quantization import (
            Int8DynamicActivationInt8WeightConfig,
            Int8WeightOnlyConfig,
            quantize_,
        )

        config = (Int8DynamicActivationInt8WeightConfig() if mode == "dynamic"
                  else Int8WeightOnlyConfig())
        quantize_(float_model, config)
        return float_model
    return _static(float_model, _batches(calibration))


def _static(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """PT2E static int8 with the X86 Inductor quantizer."""
    from torchao.quantization.pt2e import allow_exported_model_train_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86

    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        raise ValueError("calibration= holds no batch")
    if len(first) < 2:  # export specialises a batch of 1; two rows keep the dimension free
        first = torch.cat([first, first])
    exported = torch.export.export(model, (first,),
                                   dynamic_shapes=({0: torch.export.Dim.AUTO},)).module()
    quantizer = x86.X86InductorQuantizer()
    quantizer.set_global(x86.get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        prepared(first)
        for x in batches:
            prepared(x)
    converted = convert_pt2e(prepared)
    # exported in eval mode (dropout off); eval()/train() on the result are then harmless
    # calls that code such as accuracy() makes, which an exported model refuses
    allow_exported_model_train_eval(converted)
    return converted


def compile_for_inference(model: nn.Module, example: torch.Tensor) -> Callable[..., Any]:
    """``torch.compile(model)`` with Inductor's weight freezing, compiled on ``example``.

    Freezing constant-folds the weights into the graph, which is what turns a static
    int8 model's quantize/dequantize pairs into int8 oneDNN kernels.  It is an Inductor
    setting read while compiling, so every compilation (the first call here, and a first
    call with a new input shape later) runs with it set; calls after that run the
    compiled code directly.  Compiling takes seconds to a minute on a laptop CPU.

    Example
    -------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 2)).eval()
    >>> fast = compile_for_inference(model, torch.zeros(1, 4))
    >>> bool(torch.allclose(fast(torch.ones(1, 4)), model(torch.ones(1, 4))))
    True
    """
    frozen = _Frozen(torch.compile(model))
    frozen(example)
    return frozen


class _Frozen:
    """A compiled model whose compilations all run with Inductor's freezing on."""

    def __init__(self, compiled: Callable[..., Any]) -> None:
        self.compiled = compiled
        self.shapes: set[tuple] = set()

    def __call__(self, x: torch.Tensor) -> Any:
        shape = tuple(x.shape)
        if shape in self.shapes:
            with torch.no_grad():
                return self.compiled(x)
        import torch._inductor.config as inductor_config

        with inductor_config.patch(freezing=True), torch.no_grad(), \
                warnings.catch_warnings():
            # Inductor's own lowering of quantized weights copies a tensor with
            # torch.tensor(tensor) (torch/_inductor/mkldnn_lowerings.py) and warns about it
            # at every compilation; nothing a caller can change, so that one is filtered.
            warnings.filterwarnings("ignore", message="To copy construct from a tensor",
                                    category=UserWarning, module="torch._inductor")
            out = self.compiled(x)
        self.shapes.add(shape)
        return out
