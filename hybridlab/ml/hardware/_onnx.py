"""Inference with ONNX Runtime: export a torch model, load it, and time both side by side.

* :func:`export_onnx` writes a model to an ``.onnx`` file (atomically: a crash leaves no
  half-written file) with a dynamic batch axis, and checks it with ``onnx.checker``;
* :func:`onnx_session` opens it in ONNX Runtime on the CPU, with as many threads as torch;
* :func:`compare_inference` times eager torch (under ``torch.inference_mode``) and ONNX
  Runtime at several batch sizes, interleaving the two so that background load hits both
  alike, and reports the largest difference between their outputs.

Needs ``pip install onnx onnxruntime onnxscript`` (imported when a function is called,
so the hardware room imports without them; ``onnxscript`` drives torch's
``torch.export``-based exporter; without it the older TorchScript exporter is used).

Example
-------
>>> import tempfile, torch
>>> from hybridlab.ml.hardware import compare_inference, export_onnx, onnx_session
>>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
>>> path = export_onnx(model, torch.randn(4, 8), tempfile.mkdtemp() + "/mlp.onnx")
>>> session = onnx_session(path)
>>> table = compare_inference(model, session, torch.randn(10, 8), batch_sizes=(1, 7), repeats=3)
>>> bool((table["max_abs_diff"] < 1e-4).all())
True
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from hybridlab.io import atomic_write
from hybridlab.torch_warnings import torch_internal_leafspec

if TYPE_CHECKING:
    import onnxruntime as ort

_PIP = "pip install onnx onnxruntime onnxscript"


def _require(name: str) -> Any:
    """Import ``onnx`` or ``onnxruntime``, or raise an ImportError naming the pip command
    (they are optional: the rest of the hardware room works without them)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"hybridlab.ml.hardware's ONNX functions need onnx and onnxruntime, "
                          f"the deploy extra: pip install 'hybridlab[deploy]' (or {_PIP}; "
                          f"missing: {exc.name})") from exc


__all__ = ["INFERENCE_COLUMNS", "compare_inference", "export_onnx", "onnx_session"]

#: Columns of :func:`compare_inference`'s table, in order.
INFERENCE_COLUMNS = (
    "runtime",
    "batch_size",
    "latency_ms_median",
    "latency_ms_p95",
    "samples_per_s",
    "speedup_vs_torch",
    "max_abs_diff",
)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hold back the exporter's progress lines (its loggers, below ERROR), and the one
    warning torch's own export code raises on every model (below)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with torch_internal_leafspec():  # torch.export copies LeafSpec; others pass
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | os.PathLike, *,
                opset: int | None = None, dynamo: bool | None = None,
                input_name: str = "input", output_name: str = "output") -> Path:
    """Export ``model`` (in eval mode) to ONNX with a dynamic batch axis; returns the path.

    Parameters
    ----------
    model : torch.nn.Module
        Exported in eval mode (dropout off, batch-norm running statistics); its mode is
        restored afterwards.  It is exported on the CPU (weights are copied off a GPU).
    example : torch.Tensor
        An input batch; its first axis becomes the dynamic ``batch`` axis.  A batch of 1 is
        repeated to 2 for the export (``torch.export`` would fix an axis of size 1).
    path : str or os.PathLike
        Destination ``.onnx`` file, written atomically; weights are stored inside it, which
        limits the model to 2 GB.
    opset : int, optional
        ONNX opset; the exporter's default otherwise.
    dynamo : bool, optional
        Only ``True`` (or None): torch's ``torch.export``-based exporter (needs
        ``onnxscript``), the one PyTorch keeps.  The TorchScript exporter
        (``dynamo=False``), which PyTorch deprecates, is no longer offered.
    input_name, output_name : str
        Names of the graph's input and output.

    Returns
    -------
    pathlib.Path

    Example
    -------
    >>> import tempfile, onnx, torch
    >>> path = export_onnx(torch.nn.Linear(3, 2), torch.randn(2, 3), tempfile.mkdtemp() + "/l.onnx")
    >>> onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0].dim_param != ""
    True
    """
    if dynamo is False:
        raise ValueError("dynamo=False (torch's TorchScript ONNX exporter, deprecated) is no "
                         "longer offered: leave dynamo out to use the dynamo exporter")
    _require("onnxscript")  # the dynamo exporter writes the graph with it
    path = Path(path)
    example = example.detach().cpu()
    if example.shape[0] == 1:
        example = example.repeat(2, *([1] * (example.dim() - 1)))
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model_cpu = model.cpu().eval() if device.type != "cpu" else model.eval()

    def write(tmp: str) -> None:
        with _quiet_exporter():
            program = torch.onnx.export(
                model_cpu, (example,), None, dynamo=True, opset_version=opset,
                input_names=[input_name], output_names=[output_name], verbose=False,
                dynamic_shapes=({0: torch.export.Dim("batch")},))
            program.save(tmp, external_data=False)
        _require("onnx").checker.check_model(tmp)

    try:
        atomic_write(path, write)
    finally:
        model.to(device).train(was_training)
    return path


def onnx_session(path: str | os.PathLike, *, threads: int | None = None,
                 providers: Sequence[str] = ("CPUExecutionProvider",)) -> ort.InferenceSession:
    """Open an ONNX model in ONNX Runtime (CPU by default) with full graph optimisation.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.onnx`` file.
    threads : int, optional
        Intra-op threads; ``torch.get_num_threads()`` by default, so that a comparison with
        torch uses the same number of cores.
    providers : sequence of str
        Execution providers, first preferred (``"CUDAExecutionProvider"`` needs the
        ``onnxruntime-gpu`` package).

    Example
    -------
    >>> import tempfile, torch
    >>> path = export_onnx(torch.nn.Linear(3, 2), torch.randn(2, 3), tempfile.mkdtemp() + "/l.onnx")
    >>> onnx_session(path).get_providers()
    ['CPUExecutionProvider']
    """
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or torch.get_num_threads())
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(os.fspath(path), sess_options=options,
                                providers=list(providers))


def compare_inference(model: nn.Module, session: ort.InferenceSession,
                      example_batch: torch.Tensor, batch_sizes: Sequence[int] = (1, 32, 256),
                      repeats: int = 50, *, warmup: int = 5) -> pd.DataFrame:
    """Latency of eager torch vs ONNX Runtime at each batch size, and their disagreement.

    Batches of each size are built by cycling through the rows of ``example_batch``.  Each
    of ``repeats`` rounds times one torch call (``model.eval()`` under
    ``torch.inference_mode``) and then one ONNX Runtime call on the same batch.

    Parameters
    ----------
    model : torch.nn.Module
        The exported model (put in eval mode; its mode is restored).
    session : onnxruntime.InferenceSession
        From :func:`onnx_session`.
    example_batch : torch.Tensor
        Real inputs to cycle through.
    batch_sizes : sequence of int
        Batch sizes to time.
    repeats, warmup : int
        Timed and untimed rounds per batch size.

    Returns
    -------
    pandas.DataFrame
        Rows per (runtime, batch size) with :data:`INFERENCE_COLUMNS`: latency median and
        95th percentile (ms), ``samples_per_s`` (from the median), ``speedup_vs_torch``
        (torch median over this runtime's) and ``max_abs_diff`` (largest absolute difference
        from torch's output; 0 for torch).

    Example
    -------
    >>> import tempfile, torch
    >>> model = torch.nn.Linear(3, 2)
    >>> path = export_onnx(model, torch.randn(2, 3), tempfile.mkdtemp() + "/l.onnx")
    >>> session = onnx_session(path)
    >>> compare_inference(model, session, torch.randn(5, 3), (1, 4), repeats=2)["runtime"].tolist()
    ['torch', 'onnxruntime', 'torch', 'onnxruntime']
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    was_training = model.training
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    input_name = session.get_inputs()[0].name
    base = example_batch.detach().cpu()
    rows = []
    try:
        for b in batch_sizes:
            x = base[torch.arange(int(b)) % len(base)].contiguous()
            x_dev, x_np = x.to(device), x.numpy()
            t_torch, t_ort = [], []
            for r in range(warmup + repeats):
                t0 = time.perf_counter()
                with torch.inference_mode():
                    out_torch = model(x_dev)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t1 = time.perf_counter()
                out_ort = session.run(None, {input_name: x_np})[0]
                t2 = time.perf_counter()
                if r >= warmup:
                    t_torch.append(t1 - t0)
                    t_ort.append(t2 - t1)
            diff = float(np.max(np.abs(out_torch.float().cpu().numpy() - out_ort)))
            for runtime, times, err in (("torch", t_torch, 0.0), ("onnxruntime", t_ort, diff)):
                ms = 1e3 * np.asarray(times)
                rows.append({"runtime": runtime, "batch_size": int(b),
                             "latency_ms_median": float(np.median(ms)),
                             "latency_ms_p95": float(np.percentile(ms, 95)),
                             "samples_per_s": 1e3 * int(b) / float(np.median(ms)),
                             "max_abs_diff": err})
    finally:
        model.train(was_training)
    table = pd.DataFrame(rows)
    torch_ms = table[table["runtime"] == "torch"].set_index("batch_size")["latency_ms_median"]
    table["speedup_vs_torch"] = table["batch_size"].map(torch_ms) / table["latency_ms_median"]
    return table.reindex(columns=list(INFERENCE_COLUMNS))
