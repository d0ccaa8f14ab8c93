"""Hardware room: devices, memory, mixed precision, batch sizes, serving, several processes.

* devices and threads -- :func:`select_device` (cuda / mps / cpu), :func:`set_threads`
  (:class:`ThreadSetting`), :func:`device_report`;
* memory -- :func:`memory_stats` (CUDA: allocated, reserved, peak; CPU: process RSS and its
  peak), :func:`reset_peak`, :func:`empty_cache`, :func:`limit_memory`;
* out of memory -- :func:`is_oom`, :func:`oom_advice` and the context manager
  :func:`explain_oom`, which turn an out-of-memory error into one that says what to try
  (smaller batch, gradient accumulation, bf16/fp16, freeing cached memory);
* mixed precision -- :func:`compare_precision` trains the same model in fp32, bf16 and fp16
  (where the device supports it) and reports time per step, throughput, loss and accuracy
  (:data:`PRECISION_COLUMNS`);
* batch sizes -- :func:`find_batch_size` (:class:`BatchSizeResult`, :data:`FINDER_COLUMNS`);
* serving -- :class:`DynamicBatcher` and :func:`measure_batching`
  (:data:`BATCHING_COLUMNS`);
* ONNX -- :func:`export_onnx`, :func:`onnx_session`, :func:`compare_inference`
  (:data:`INFERENCE_COLUMNS`; they need ``pip install onnx onnxruntime onnxscript``,
  imported when called);
* int8 ONNX for the edge -- :func:`quantize_onnx` (ONNX Runtime's dynamic or static QDQ
  int8), then :func:`onnx_accuracy` and :func:`onnx_latency` of the file that ships
  (``pip install 'hybridlab[deploy]'``, imported when called);
* several processes -- :func:`train_ddp` (:class:`DDPResult`, :func:`free_port`).

Small models to try these on are in :mod:`hybridlab.ml.train` (:class:`~hybridlab.ml.train.
TinyMLP`, :class:`~hybridlab.ml.train.TinyCNN`, :class:`~hybridlab.ml.train.SmallCNN`);
being top-level classes, they (or a :func:`functools.partial` of them) can be sent to the
worker processes of :func:`train_ddp`.

Example
-------
>>> import torch
>>> from hybridlab.ml.hardware import compare_precision, select_device
>>> from hybridlab.ml.train import TinyMLP
>>> select_device("cpu")
device(type='cpu')
>>> X, y = torch.randn(256, 8), torch.randint(0, 3, (256,))
>>> table = compare_precision(lambda: TinyMLP(8, 16, 3), (X, y), ("fp32", "fp16"),
...                           steps=5, batch_size=32, device="cpu")
>>> table["status"].tolist()
['ok', 'skipped']
"""

from ._batch_size import FINDER_COLUMNS, BatchSizeResult, find_batch_size
from ._batching import BATCHING_COLUMNS, DynamicBatcher, measure_batching
from ._devices import ThreadSetting, device_report, select_device, set_threads
from ._distributed import DDPResult, free_port, train_ddp
from ._memory import (
    empty_cache,
    explain_oom,
    is_oom,
    limit_memory,
    memory_stats,
    oom_advice,
    reset_peak,
)
from ._onnx import INFERENCE_COLUMNS, compare_inference, export_onnx, onnx_session
from ._onnx_int8 import onnx_accuracy, onnx_latency, quantize_onnx
from ._precision import PRECISION_COLUMNS, compare_precision

__all__ = [
    "BATCHING_COLUMNS",
    "FINDER_COLUMNS",
    "INFERENCE_COLUMNS",
    "PRECISION_COLUMNS",
    "BatchSizeResult",
    "DDPResult",
    "DynamicBatcher",
    "ThreadSetting",
    "compare_inference",
    "compare_precision",
    "device_report",
    "empty_cache",
    "explain_oom",
    "export_onnx",
    "find_batch_size",
    "free_port",
    "is_oom",
    "limit_memory",
    "measure_batching",
    "memory_stats",
    "onnx_accuracy",
    "onnx_latency",
    "onnx_session",
    "oom_advice",
    "quantize_onnx",
    "reset_peak",
    "select_device",
    "set_threads",
    "train_ddp",
]
