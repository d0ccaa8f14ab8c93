"""The fallback: int8 with torch.ao (deprecated by PyTorch), and a TorchScript runtime.

What exists on torch 2.13 (CPU build), checked when this module was written:

* ``torch.ao.quantization.quantize_dynamic`` (eager mode) -- works; int8 weights,
  activations quantized on the fly, for ``Linear`` / ``LSTM`` / ``GRU``. Convolutions are
  left in float. **Deprecated**: torch.ao.quantization emits a ``DeprecationWarning``
  ("torch.ao.quantization is deprecated ... migrate to torchao", pytorch/ao#2259).
* FX graph mode, ``torch.ao.quantization.quantize_fx.prepare_fx`` / ``convert_fx`` /
  ``prepare_qat_fx`` with ``get_default_qconfig_mapping("x86")`` -- works; static int8 for
  conv and linear layers (fused conv-relu / linear-relu), per-channel int8 weights, uint8
  activations. Same deprecation (plus a ``UserWarning`` that quantized tensor creation is
  deprecated, pytorch/pytorch#184982).
* PT2E (``torch.ao.quantization.quantize_pt2e`` with ``X86InductorQuantizer``) -- **gone**
  from torch: it moved to ``torchao.quantization.pt2e``, and torchao is not installed here
  (and is not installed by this module).

So :func:`quantize_static` and :func:`quantize_qat` use the FX path and
:func:`quantize_dynamic` the eager one; torch's deprecation warnings are left visible, and
each call adds a ``FutureWarning`` naming the replacement (:func:`quantize_int8` with
torchao, or ONNX Runtime). The path used is recorded on the returned model as
``model.quantization_path_``. These functions are the fallback, kept for what the
case studies recorded with them. When torch drops ``torch.ao.quantization`` these functions
raise ``ImportError`` with that explanation; the replacement is torchao's ``quantize_``
(dynamic) and ``prepare_pt2e`` / ``convert_pt2e`` (static).

Speed: an FX-quantized model run eagerly pays Python overhead per node (quantize,
dequantize, each quantized op), which at batch 1 costs more than the int8 kernels save.
:func:`freeze_for_inference` traces and freezes a model with TorchScript
(``torch.jit.trace`` + ``torch.jit.freeze``, itself deprecated in favour of torch.compile /
torch.export; :func:`compile_for_inference` is the replacement), which removes that
overhead; compare float and quantized models in the same runtime.

Example
-------
>>> import torch
>>> from torch import nn
>>> _ = torch.manual_seed(0)
>>> float_model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
>>> q = quantize_dynamic(float_model)
>>> q.quantization_path_
'eager dynamic int8 (torch.ao.quantization.quantize_dynamic): Linear'
>>> x = torch.randn(8, 16)
>>> bool((q(x) - float_model(x)).abs().max() < 0.05)
True
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from hybridlab.ml.train import Data, as_dataset, fit, make_loader

from ._prune import is_pruned, permanent_copy

__all__ = ["freeze_for_inference", "quantize_dynamic", "quantize_qat", "quantize_static"]

_MIGRATION = ("torch.ao.quantization is not available in this torch; install torchao and use "
              "torchao.quantization.quantize_ (dynamic) or torchao.quantization.pt2e "
              "prepare_pt2e/convert_pt2e (static)")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Run a torch.ao / TorchScript path: one ``FutureWarning`` from hybridlab names its
    replacement, and torch's own deprecation warnings are left visible (not silenced)."""
    warnings.warn("this function runs torch.ao.quantization / TorchScript, which PyTorch "
                  "deprecates; hybridlab keeps it as a fallback: use quantize_int8 "
                  "(torchao) and compile_for_inference, or ONNX Runtime "
                  "(hybridlab.ml.hardware.quantize_onnx)", FutureWarning, stacklevel=3)
    yield


def _float_copy(model: nn.Module) -> nn.Module:
    """An eval-mode deep copy with pruning masks folded in (the original is untouched)."""
    m = permanent_copy(model) if is_pruned(model) else copy.deepcopy(model)
    return m.cpu().eval()


def quantize_dynamic(
    model: nn.Module,
    layers: set[type[nn.Module]] | None = None,
    dtype: torch.dtype = torch.qint8,
) -> nn.Module:
    """Dynamic int8 quantization of ``Linear`` / ``LSTM`` / ``GRU`` layers (eager mode).

    Weights are stored as int8; activations are quantized per batch at run time; other
    layers (convolutions) stay float. Works on a copy (pruning masks folded in); the copy's
    ``quantization_path_`` names the path and the layer types that were converted.

    Parameters
    ----------
    model : torch.nn.Module
        A float model (not modified).
    layers : set of module types, optional
        Default ``{nn.Linear, nn.LSTM, nn.GRU}``.
    dtype : torch.dtype, default torch.qint8
        ``torch.qint8`` or ``torch.float16``.

    Returns
    -------
    torch.nn.Module
        The quantized copy (CPU).
    """
    try:
        from torch.ao.quantization import quantize_dynamic as _qd
    except ImportError as exc:  # pragma: no cover - future torch
        raise ImportError(_MIGRATION) from exc
    layers = layers or {nn.Linear, nn.LSTM, nn.GRU}
    m = _float_copy(model)
    present = sorted({t.__name__ for t in layers if any(type(x) is t for x in m.modules())})
    with _quiet():
        q = _qd(m, layers, dtype=dtype)
    bits = "int8" if dtype == torch.qint8 else str(dtype).removeprefix("torch.")
    q.quantization_path_ = (f"eager dynamic {bits} (torch.ao.quantization.quantize_dynamic): "
                            f"{', '.join(present) or 'no layer converted'}")
    return q


def _calibration_batches(data: Data | torch.Tensor, max_samples: int,
                         batch_size: int = 256) -> Iterator[torch.Tensor]:
    if isinstance(data, torch.Tensor):
        X = data[:max_samples]
        for i in range(0, len(X), batch_size):
            yield X[i:i + batch_size]
        return
    seen = 0
    loader = make_loader(as_dataset(data, "calibration_data"), batch_size, shuffle=False,
                     generator=None, device=torch.device("cpu"))
    for batch in loader:
        xb = batch[0] if isinstance(batch, list | tuple) else batch
        xb = xb[:max_samples - seen]
        yield xb
        seen += len(xb)
        if seen >= max_samples:
            return


def _set_engine(backend: str) -> None:
    if backend not in torch.backends.quantized.supported_engines:
        raise ValueError(f"quantized backend {backend!r} is not supported here; use one of "
                         f"{torch.backends.quantized.supported_engines}")
    if torch.backends.quantized.engine != backend:
        torch.backends.quantized.engine = backend


def quantize_static(
    model: nn.Module,
    calibration_data: Data | torch.Tensor,
    backend: str = "x86",
    max_samples: int = 1024,
) -> nn.Module:
    """Static int8 post-training quantization with FX graph mode (conv and linear layers).

    ``prepare_fx`` with ``get_default_qconfig_mapping(backend)`` fuses conv/linear + relu,
    inserts observers, the calibration batches run through it (up to ``max_samples``
    inputs, no labels needed), and ``convert_fx`` produces int8 modules (per-channel int8
    weights, uint8 activations with calibrated scales). The model must be traceable by
    ``torch.fx`` (no data-dependent control flow).

    Parameters
    ----------
    model : torch.nn.Module
        A trained float model (not modified; pruning masks are folded in on a copy -- pruned
        weights quantize to exactly 0, so the sparsity survives).
    calibration_data : Dataset, (X, y) pair or tensor of inputs
        Representative inputs, e.g. (part of) the training set; never the test set.
    backend : str, default "x86"
        Quantized engine and qconfig: "x86" (fbgemm or onednn kernels chosen per op),
        "fbgemm", "onednn" or "qnnpack". Sets ``torch.backends.quantized.engine``
        (a process-wide setting) when it differs.
    max_samples : int, default 1024
        Calibration inputs used.

    Returns
    -------
    torch.fx.GraphModule
        The quantized model (CPU), with ``quantization_path_``.

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN, digits_data
    >>> from hybridlab.ml.train import fit
    >>> train, val, test = digits_data()
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN()
    >>> _ = fit(model, train, val, lr=3e-3, epochs=3)
    >>> q = quantize_static(model, train, max_samples=256)
    >>> q.quantization_path_
    'FX graph mode static int8 (torch.ao.quantization.quantize_fx, qconfig x86)'
    >>> X = test.tensors[0][:64]
    >>> bool((q(X).argmax(1) == model(X).argmax(1)).float().mean() > 0.9)
    True
    """
    try:
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    except ImportError as exc:  # pragma: no cover - future torch
        raise ImportError(_MIGRATION) from exc
    _set_engine(backend)
    m = _float_copy(model)
    batches = list(_calibration_batches(calibration_data, max_samples))
    if not batches:
        raise ValueError("calibration_data is empty")
    with _quiet():
        prepared = prepare_fx(m, get_default_qconfig_mapping(backend), (batches[0][:1],))
        with torch.no_grad():
            for xb in batches:
                prepared(xb)
        q = convert_fx(prepared)
    q.quantization_path_ = (f"FX graph mode static int8 (torch.ao.quantization.quantize_fx, "
                            f"qconfig {backend})")
    return q


def quantize_qat(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    epochs: int = 2,
    backend: str = "x86",
    **fit_kwargs: Any,
) -> nn.Module:
    """Quantization-aware training (FX ``prepare_qat_fx``), fine-tuned with ``fit``.

    Fake-quantization modules are inserted (``get_default_qat_qconfig_mapping(backend)``),
    the copy is trained ``epochs`` epochs with :func:`~hybridlab.ml.train.fit`
    (``**fit_kwargs``: ``lr`` -- use a small one, the model is already trained --,
    ``seed``...), then converted with ``convert_fx``. Its training history is stored as
    ``history_``.

    Returns
    -------
    torch.fx.GraphModule
        The int8 model (CPU), with ``quantization_path_`` and ``history_``.
    """
    try:
        from torch.ao.quantization import get_default_qat_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_qat_fx
    except ImportError as exc:  # pragma: no cover - future torch
        raise ImportError(_MIGRATION) from exc
    _set_engine(backend)
    m = _float_copy(model).train()
    example = next(_calibration_batches(train, 1))
    with _quiet():
        prepared = prepare_qat_fx(m, get_default_qat_qconfig_mapping(backend), (example,))
        history = fit(prepared, train, val, epochs=epochs, device="cpu", **fit_kwargs)
        q = convert_fx(prepared.eval())
    q.quantization_path_ = (f"FX graph mode QAT int8 (torch.ao.quantization.quantize_fx."
                            f"prepare_qat_fx, qconfig {backend}, {epochs} epochs)")
    q.history_ = history
    return q


class Frozen(nn.Module):
    """An ``nn.Module`` around a frozen TorchScript module (so ``latency`` etc. accept it)."""

    def __init__(self, scripted: torch.jit.ScriptModule, source: str) -> None:
        super().__init__()
        self.scripted = scripted
        self.source = source

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the frozen module."""
        return self.scripted(x)


def freeze_for_inference(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Trace and freeze ``model`` with TorchScript for CPU inference.

    ``torch.jit.trace`` on ``example`` (a batch of inputs) then ``torch.jit.freeze``
    (constants folded, conv/linear prepacked); removes the per-module Python overhead of
    eager and FX models, which dominates at small batch sizes. Deprecated in torch 2.13 in
    favour of ``torch.compile`` / ``torch.export`` (warnings caught), but it is the runtime
    that handles the FX-quantized modules. The model is traced in eval mode on a copy.

    Returns
    -------
    Frozen
        An ``nn.Module`` wrapping the frozen module.

    Example
    -------
    >>> import torch
    >>> from torch import nn
    >>> m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    >>> f = freeze_for_inference(m, torch.zeros(1, 4))
    >>> x = torch.randn(5, 4)
    >>> torch.allclose(f(x), m(x), atol=1e-6)
    True
    """
    m = _float_copy(model) if not hasattr(model, "quantization_path_") else model.eval()
    with _quiet(), torch.inference_mode():
        traced = torch.jit.trace(m, example[:1].cpu())
        frozen = torch.jit.freeze(traced.eval())
    return Frozen(frozen, getattr(model, "quantization_path_", "float"))
