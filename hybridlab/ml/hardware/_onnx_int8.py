"""Int8 ONNX models for the edge: quantize with ONNX Runtime, then measure what was deployed.

* :func:`quantize_onnx` turns a float ``.onnx`` file into an int8 one with
  ``onnxruntime.quantization``: ``mode="dynamic"`` stores int8 weights and quantizes
  activations on the fly (no data needed); ``mode="static"`` calibrates activation ranges
  on example inputs and writes a QDQ model (``QuantizeLinear``/``DequantizeLinear`` pairs
  around int8 weights and activations, which ONNX Runtime fuses into integer kernels).
  The file is written atomically and its size is reported next to the float file's;
* :func:`onnx_accuracy` -- top-1 accuracy of an ONNX classifier run in ONNX Runtime;
* :func:`onnx_latency` -- latency of one ONNX Runtime call, median and interquartile
  range in microseconds, with the number of intra-op threads fixed by the measurement.

The int8 file is what ships, so its accuracy and latency are measured on the file itself,
in the runtime that will run it, not on a torch stand-in.

Needs ``pip install 'hybridlab[deploy]'`` (onnx and onnxruntime; imported when a function
is called, so the hardware room imports without them).

Example
-------
>>> import tempfile, torch
>>> from hybridlab.ml.hardware import export_onnx, onnx_accuracy, quantize_onnx
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
>>> folder = tempfile.mkdtemp()
>>> X = torch.randn(64, 16)
>>> y = model(X).argmax(1)
>>> path = export_onnx(model, X[:2], folder + "/mlp.onnx")
>>> info = quantize_onnx(path, folder + "/mlp.int8.onnx", mode="static", calibration=X)
>>> info["mode"], info["bytes_on_disk"] < info["float_bytes"]
('static', True)
>>> onnx_accuracy(info["path"], X, y) > 0.8
True
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from hybridlab.io import atomic_write

from ._onnx import _require, onnx_session

__all__ = ["onnx_accuracy", "onnx_latency", "quantize_onnx"]

_MODES = ("dynamic", "static")

def _as_array(x: Any) -> np.ndarray:
    """A float32, C-contiguous numpy copy-or-view of a tensor or array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def _calibration_inputs(calibration: Any, max_samples: int) -> np.ndarray:
    """The first ``max_samples`` example inputs of ``calibration`` as one float32 array."""
    if isinstance(calibration, DataLoader):
        parts, n = [], 0
        for batch in calibration:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            parts.append(_as_array(x))
            n += len(parts[-1])
            if n >= max_samples:
                break
        if not parts:
            raise ValueError("calibration DataLoader is empty; pass a few hundred example "
                             "inputs (e.g. the training images)")
        return np.concatenate(parts)[:max_samples]
    if hasattr(calibration, "tensors"):  # a TensorDataset
        calibration = calibration.tensors
    if isinstance(calibration, (tuple, list)):  # (X, y) or (X,)
        calibration = calibration[0]
    if not isinstance(calibration, (torch.Tensor, np.ndarray)):
        raise ValueError(f"calibration must be a float tensor or array of example inputs, a "
                         f"(X, y) tuple, a TensorDataset or a DataLoader; got "
                         f"{type(calibration).__name__}")
    x = _as_array(calibration)[:max_samples]
    if len(x) == 0:
        raise ValueError("calibration holds no examples; pass a few hundred example inputs "
                         "(e.g. the training images)")
    return x


class _CalibrationReader:
    """Feeds ``inputs`` to the calibrator as ``{input_name: batch}``, in batches of
    ``batch_size``; a model with a fixed batch axis gets whole batches of that size only.
    (An ``onnxruntime.quantization.CalibrationDataReader`` by its ``get_next`` method.)"""

    def __init__(self, input_name: str, inputs: np.ndarray, batch_size: int,
                 fixed_batch: int | None = None) -> None:
        size = fixed_batch or batch_size
        if fixed_batch and len(inputs) < fixed_batch:
            raise ValueError(f"the model's batch axis is fixed at {fixed_batch}, but "
                             f"calibration holds {len(inputs)} examples; pass at least "
                             f"{fixed_batch} (or export with a dynamic batch axis)")
        stop = len(inputs) - len(inputs) % size if fixed_batch else len(inputs)
        self._batches = ({input_name: inputs[i:i + size]} for i in range(0, stop, size))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def _graph_input(path: str) -> tuple[str, int | None]:
    """Name of the model's only input and its batch size (None when the axis is dynamic)."""
    model = _require("onnx").load(path, load_external_data=False)
    weights = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    if len(inputs) != 1:
        raise ValueError(f"static quantization here feeds one input, but the model has "
                         f"{len(inputs)} ({[i.name for i in inputs]}); build an "
                         f"onnxruntime.quantization.CalibrationDataReader for them and call "
                         f"onnxruntime.quantization.quantize_static directly")
    dims = inputs[0].type.tensor_type.shape.dim
    fixed = dims[0].dim_value if dims and dims[0].HasField("dim_value") else None
    return inputs[0].name, fixed or None


def _check_arguments(src: Path, mode: str, calibration: Any) -> None:
    if mode not in _MODES:
        raise ValueError(f"unknown mode {mode!r}; use mode='dynamic' (int8 weights, no data "
                         f"needed) or mode='static' (int8 weights and activations, needs "
                         f"calibration=example inputs)")
    if mode == "static" and calibration is None:
        raise ValueError("mode='static' needs calibration=example inputs (a float tensor or "
                         "array, e.g. a few hundred training images) to measure activation "
                         "ranges; or use mode='dynamic', which needs none")
    if mode == "dynamic" and calibration is not None:
        raise ValueError("calibration is only used by mode='static'; drop calibration= or "
                         "use mode='static'")
    if not src.is_file():
        raise ValueError(f"no ONNX model at {src}; export one first with "
                         f"hybridlab.ml.hardware.export_onnx(model, example, path)")


def quantize_onnx(src: str | os.PathLike, dst: str | os.PathLike, *, mode: str = "dynamic",
                  calibration: Any = None, per_channel: bool = True,
                  reduce_range: bool = False, preprocess: bool = True, batch_size: int = 32,
                  max_samples: int = 512) -> dict[str, Any]:
    """Quantize the float ONNX model ``src`` to int8 with ONNX Runtime and write ``dst``.

    ``mode="dynamic"`` (``onnxruntime.quantization.quantize_dynamic``) stores int8 weights;
    activations are quantized at run time from each batch's own range (``ConvInteger``,
    ``MatMulInteger``), so no data is needed.  ``mode="static"``
    (``quantize_static``) runs ``calibration`` through the model to fix each activation's
    range (min/max), then writes a QDQ model with int8 activations and weights
    (``QuantFormat.QDQ``, ``QuantType.QInt8``): the format ONNX Runtime's CPU kernels and
    other runtimes (TensorRT, QNN, OpenVINO) read.

    With ``preprocess=True`` the model first goes through
    ``onnxruntime.quantization.shape_inference.quant_pre_process``: symbolic shape
    inference gives the quantizer every tensor's shape (per-channel axes, which ops it can
    quantize), and ONNX Runtime's basic graph optimizations fold constants and fuse nodes
    (Conv + BatchNormalization, MatMul + Add), so that one int8 kernel and one scale cover
    each fused operator.  ONNX Runtime advises it and logs a warning without it.  torch's
    exporters already fold batch norm in eval mode, so on the digits SmallCNN it changes
    little (the int8 file of a ``torch.export`` export is 7 % smaller, of a TorchScript
    export 1 % larger); it matters for graphs exported unfused.

    Parameters
    ----------
    src : str or os.PathLike
        The float ``.onnx`` file (e.g. from :func:`export_onnx`).
    dst : str or os.PathLike
        Destination, written atomically: a failure at any step leaves no ``dst`` (or the
        previous one untouched).
    mode : {"dynamic", "static"}
        See above.
    calibration : tensor, ndarray, (X, y), TensorDataset or DataLoader, optional
        Example inputs for ``mode="static"`` (required there, refused otherwise); the
        first ``max_samples`` are fed in batches of ``batch_size``.
    per_channel : bool, default True
        One scale per output channel of each weight (more accurate for convolutions).
    reduce_range : bool, default False
        7-bit weights: avoids the int16 overflow of uint8 x int8 products on x86 CPUs
        without VNNI instructions, at some accuracy.
    preprocess : bool, default True
        Run ``quant_pre_process`` first (see above).
    batch_size, max_samples : int
        Calibration batch size and number of examples (``mode="static"`` only).

    Returns
    -------
    dict
        ``path`` (``pathlib.Path`` of ``dst``), ``bytes_on_disk`` (of ``dst``),
        ``float_bytes`` (of ``src``), ``ratio`` (the first over the second), ``mode``.

    Example
    -------
    >>> import tempfile, torch
    >>> from hybridlab.ml.hardware import export_onnx
    >>> folder = tempfile.mkdtemp()
    >>> net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
    ...                           torch.nn.Linear(256, 10))
    >>> src = export_onnx(net, torch.randn(2, 64), folder + "/net.onnx")
    >>> info = quantize_onnx(src, folder + "/net.int8.onnx")
    >>> info["mode"], info["ratio"] < 0.5
    ('dynamic', True)
    """
    src, dst = Path(src), Path(dst)
    _check_arguments(src, mode, calibration)
    if batch_size < 1 or max_samples < 1:
        raise ValueError(f"batch_size and max_samples must be >= 1, got batch_size="
                         f"{batch_size}, max_samples={max_samples}")
    inputs = _calibration_inputs(calibration, max_samples) if mode == "static" else None
    quantization = _require("onnxruntime.quantization")
    float_bytes = src.stat().st_size

    def write(tmp: str) -> None:
        with tempfile.TemporaryDirectory(prefix="hybridlab-int8-") as work:
            model = os.fspath(src)
            if preprocess:
                model = os.path.join(work, "preprocessed.onnx")
                try:
                    quantization.shape_inference.quant_pre_process(os.fspath(src), model)
                except Exception as exc:
                    raise RuntimeError(f"quant_pre_process failed on {src} ({exc}); pass "
                                       f"preprocess=False to quantize the model as exported"
                                       ) from exc
            if mode == "dynamic":
                quantization.quantize_dynamic(
                    model, tmp, weight_type=quantization.QuantType.QInt8,
                    per_channel=per_channel, reduce_range=reduce_range)
                return
            name, fixed = _graph_input(model)
            reader = _CalibrationReader(name, inputs, batch_size, fixed)
            quantization.quantize_static(
                model, tmp, reader, quant_format=quantization.QuantFormat.QDQ,
                activation_type=quantization.QuantType.QInt8,
                weight_type=quantization.QuantType.QInt8, per_channel=per_channel,
                reduce_range=reduce_range)

    atomic_write(dst, write)
    size = dst.stat().st_size
    return {"path": dst, "bytes_on_disk": size, "float_bytes": float_bytes,
            "ratio": size / float_bytes, "mode": mode}


def onnx_accuracy(path: str | os.PathLike, X: Any, y: Any, *, threads: int = 1,
                  batch_size: int = 256) -> float:
    """Top-1 accuracy of the ONNX classifier in ``path``, run in ONNX Runtime on the CPU.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.onnx`` file whose only input takes ``X``'s rows and whose first output is
        ``(batch, n_classes)`` scores (logits or probabilities).
    X : torch.Tensor or numpy.ndarray
        Inputs, fed as float32 in batches of ``batch_size``.
    y : torch.Tensor or numpy.ndarray
        Integer labels, one per row of ``X``.
    threads : int, default 1
        Intra-op threads of the session.
    batch_size : int, default 256

    Returns
    -------
    float
        Share of rows whose highest score is at the label.

    Example
    -------
    >>> import tempfile, torch
    >>> from hybridlab.ml.hardware import export_onnx
    >>> path = export_onnx(torch.nn.Identity(), torch.randn(2, 3), tempfile.mkdtemp() + "/i.onnx")
    >>> onnx_accuracy(path, torch.eye(3), torch.tensor([0, 1, 1]))
    0.6666666666666666
    """
    _require("onnxruntime")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    X = _as_array(X)
    labels = (y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y))
    if len(X) != len(labels) or len(X) == 0:
        raise ValueError(f"X and y must hold the same, non-zero number of rows; got "
                         f"{len(X)} and {len(labels)}")
    session = onnx_session(path, threads=threads)
    name = session.get_inputs()[0].name
    hits = 0
    for start in range(0, len(X), batch_size):
        scores = session.run(None, {name: X[start:start + batch_size]})[0]
        hits += int((scores.argmax(axis=1) == labels[start:start + batch_size]).sum())
    return hits / len(X)


def onnx_latency(path: str | os.PathLike, example: Any, *, threads: int = 1,
                 repeats: int = 200, warmup: int = 20) -> dict[str, Any]:
    """Latency of one ONNX Runtime call on ``example``: median and IQR in microseconds.

    The session is opened here with its intra-op threads pinned to ``threads`` (session
    options, one inter-op thread), so the measurement does not depend on torch's or the
    process's thread settings; ``threads=1`` is the single-core edge case.  After
    ``warmup`` untimed calls, each of ``repeats`` calls is timed with
    ``time.perf_counter_ns``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.onnx`` file.
    example : torch.Tensor or numpy.ndarray
        One input batch, fed as float32 as is: a batch of one row measures batch-1 latency.
    threads : int, default 1
        Intra-op threads of the session.
    repeats, warmup : int
        Timed and untimed calls.

    Returns
    -------
    dict
        ``median_us``, ``iqr_us`` (75th minus 25th percentile), ``p25_us``, ``p75_us``,
        ``batch_size``, ``threads``, ``repeats``.

    Example
    -------
    >>> import tempfile, torch
    >>> from hybridlab.ml.hardware import export_onnx
    >>> path = export_onnx(torch.nn.Linear(3, 2), torch.randn(2, 3), tempfile.mkdtemp() + "/l.onnx")
    >>> t = onnx_latency(path, torch.randn(1, 3), repeats=20, warmup=2)
    >>> t["batch_size"], t["median_us"] > 0, t["iqr_us"] >= 0
    (1, True, True)
    """
    _require("onnxruntime")
    if repeats < 1 or warmup < 0 or threads < 1:
        raise ValueError(f"need repeats >= 1, warmup >= 0 and threads >= 1; got repeats="
                         f"{repeats}, warmup={warmup}, threads={threads}")
    session = onnx_session(path, threads=threads)
    feed = {session.get_inputs()[0].name: _as_array(example)}
    for _ in range(warmup):
        session.run(None, feed)
    times = np.empty(repeats, dtype=np.int64)
    for r in range(repeats):
        t0 = time.perf_counter_ns()
        session.run(None, feed)
        times[r] = time.perf_counter_ns() - t0
    p25, median, p75 = np.percentile(times / 1e3, [25, 50, 75])
    return {"median_us": float(median), "iqr_us": float(p75 - p25), "p25_us": float(p25),
            "p75_us": float(p75), "batch_size": int(feed[next(iter(feed))].shape[0]),
            "threads": int(threads), "repeats": int(repeats)}
