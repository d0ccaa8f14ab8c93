"""Batch-size finder: :func:`find_batch_size`, the batch size that training can afford.

It doubles the batch and times forward + backward steps until the step runs out of memory,
passes a memory limit, or throughput stops improving, then backs off to the last size that
paid; the :class:`BatchSizeResult` holds the choice and the table of every size tried.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn

from ._devices import _sync, select_device
from ._memory import empty_cache, is_oom

__all__ = ["FINDER_COLUMNS", "BatchSizeResult", "find_batch_size"]

_MB = 1024**2

#: Columns of :attr:`BatchSizeResult.table`, in order.
FINDER_COLUMNS = ("batch_size", "samples_per_s", "step_ms", "memory_mb", "status", "chosen")


@dataclass
class BatchSizeResult:
    """What :func:`find_batch_size` found.

    Attributes
    ----------
    batch_size : int
        The chosen batch size.
    table : pandas.DataFrame
        One row per size tried (:data:`FINDER_COLUMNS`); ``status`` is ``"ok"`` (faster than
        every smaller size by more than ``plateau``), ``"plateau"`` (not), ``"over_limit"``
        (past ``memory_limit_mb``) or ``"oom"``; ``chosen`` marks the choice.
    device : torch.device
    stopped_by : str
        ``"oom"``, ``"over_limit"``, ``"plateau"`` or ``"max_batch"``.
    memory_note : str
        How ``memory_mb`` was measured on this device.
    """

    batch_size: int
    table: pd.DataFrame
    device: torch.device
    stopped_by: str
    memory_note: str = ""

    def __repr__(self) -> str:
        return (f"BatchSizeResult(batch_size={self.batch_size}, stopped_by={self.stopped_by!r}, "
                f"tried={self.table['batch_size'].tolist()})")


def _default_loss(out: Any) -> torch.Tensor:
    if isinstance(out, tuple | list):
        out = out[0]
    return out.float().pow(2).mean()


class _SavedBytes:
    """Count the bytes of the distinct storages autograd saves for backward."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.storages: dict[int, int] = {}

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        try:
            storage = t.untyped_storage()
            key, nbytes = storage.data_ptr(), storage.nbytes()
        except (RuntimeError, NotImplementedError):  # sparse, mkldnn, ...
            key, nbytes = id(t), t.numel() * t.element_size()
        if key not in self.exclude:
            self.storages[key] = nbytes
        return t

    @staticmethod
    def unpack(t: torch.Tensor) -> torch.Tensor:
        return t

    @property
    def total(self) -> int:
        return sum(self.storages.values())


def _measure_batch(model: nn.Module, x: torch.Tensor, loss_fn: Callable, dev: torch.device,
                   repeats: int, timer: Callable[[], float], param_bytes: int,
                   param_ptrs: set[int]) -> tuple[float, float]:
    """(median seconds per forward + backward step, memory in MB)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    times, memory = [], math.nan
    for r in range(repeats + 1):  # the first step warms up and, on the CPU, measures memory
        for p in params:
            p.grad = None
        _sync(dev)
        t0 = timer()
        if r == 0 and dev.type != "cuda":
            counter = _SavedBytes(param_ptrs)
            with torch.autograd.graph.saved_tensors_hooks(counter.pack, counter.unpack):
                loss = loss_fn(model(x))
            loss.backward()
            memory = (counter.total + 2 * param_bytes) / _MB
        else:
            loss = loss_fn(model(x))
            loss.backward()
        _sync(dev)
        if r > 0:
            times.append(timer() - t0)
        del loss
    if dev.type == "cuda":
        memory = torch.cuda.max_memory_allocated(dev) / _MB
    return statistics.median(times), memory


def find_batch_size(
    model: nn.Module,
    sample_shape: Sequence[int],
    loss_fn: Callable[[Any], torch.Tensor] | None = None,
    *,
    start: int = 8,
    max_batch: int = 4096,
    device: str | torch.device = "auto",
    memory_limit_mb: float | None = None,
    plateau: float = 0.05,
    repeats: int = 3,
    patience: int = 1,
    input_fn: Callable[[int], torch.Tensor] | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> BatchSizeResult:
    """Grow the batch (x2) while it fits in memory and makes training faster per sample.

    For each size, one warm-up step and then ``repeats`` timed forward + backward steps on
    random inputs (no optimizer step: the weights are not changed; buffers such as batch-norm
    statistics and existing gradients are restored at the end).  The search stops at the
    first size that runs out of memory, measures more than ``memory_limit_mb``, or reaches
    ``max_batch``, or after ``patience`` sizes in a row whose throughput (samples/s) does not
    beat the best so far by more than ``plateau``; it then backs off to the fastest size that
    did.  Returning the last size that *paid* rather than the largest that fits keeps memory
    (and the generalisation cost of huge batches) down when a bigger batch buys nothing.

    How memory is measured:

    * **CUDA** -- ``torch.cuda.max_memory_allocated`` during the steps: the device's peak,
      so it includes parameters, gradients and whatever else is on the card; a real
      ``torch.OutOfMemoryError`` is caught, the cache emptied, and the size marked ``"oom"``.
    * **CPU (and MPS)** -- an *estimate*: the bytes of the distinct tensors autograd saves
      for the backward pass (counted with ``torch.autograd.graph.saved_tensors_hooks``,
      parameters excluded), plus parameter and gradient bytes.  It is deterministic (unlike
      RSS), grows linearly with the batch and is what dominates a training step's memory;
      it leaves out transient buffers, optimizer state (Adam adds twice the parameters) and
      allocator overhead.  Without ``memory_limit_mb`` the CPU limit is half the memory
      available now (psutil), so that the search never pushes the machine into swap.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device`` and put in training mode for the search (restored afterwards).
    sample_shape : sequence of int
        Shape of one input example, without the batch dimension.
    loss_fn : callable, optional
        ``loss_fn(output) -> scalar``; the mean square of the output by default (the
        backward pass costs the same whatever the loss).
    start, max_batch : int
        First and largest batch size tried.
    device : str or torch.device
        See :func:`~hybridlab.ml.hardware.select_device`.
    memory_limit_mb : float, optional
        Sizes measuring more than this are ``"over_limit"``.
    plateau : float
        Relative throughput gain a larger batch must bring (0.05 = 5 %).
    repeats : int
        Timed steps per size (the median counts).
    patience : int
        Sizes in a row without such a gain before the search stops (raise it on a noisy
        machine).
    input_fn : callable, optional
        ``input_fn(batch_size) -> input tensor``; standard normal floats of ``sample_shape``
        by default (pass one for token ids, other dtypes, ...).
    timer : callable
        Clock in seconds (``time.perf_counter``); replaceable in tests.

    Returns
    -------
    BatchSizeResult

    Example
    -------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    >>> found = find_batch_size(model, (1, 8, 8), device="cpu", start=8, max_batch=1024,
    ...                         memory_limit_mb=0.05, repeats=1)
    >>> found.batch_size <= 128, found.table.columns.tolist()[:4]
    (True, ['batch_size', 'samples_per_s', 'step_ms', 'memory_mb'])
    """
    if start < 1 or max_batch < start:
        raise ValueError(f"need 1 <= start <= max_batch, got start={start}, max_batch={max_batch}")
    if repeats < 1 or patience < 1:
        raise ValueError("repeats and patience must be >= 1")
    dev = select_device(device)
    if memory_limit_mb is None and dev.type == "cpu":
        import psutil

        memory_limit_mb = 0.5 * psutil.virtual_memory().available / _MB
    loss_fn = loss_fn or _default_loss
    shape = tuple(int(s) for s in sample_shape)
    if input_fn is None:
        def input_fn(b: int) -> torch.Tensor:
            return torch.randn((b, *shape))

    was_training = model.training
    model.to(dev).train()
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    grads = {k: p.grad for k, p in model.named_parameters()}
    params = [p for p in model.parameters()]
    param_bytes = sum(p.numel() * p.element_size() for p in params if p.requires_grad)
    param_ptrs = {p.untyped_storage().data_ptr() for p in params}
    memory_note = ("peak torch.cuda.max_memory_allocated (everything on the device)"
                   if dev.type == "cuda" else
                   "tensors saved for backward + parameters and gradients (estimate)")

    rows: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    stale, stopped_by, bs = 0, "max_batch", start
    try:
        while bs <= max_batch:
            row: dict[str, Any] = {"batch_size": bs, "samples_per_s": math.nan,
                                   "step_ms": math.nan, "memory_mb": math.nan}
            oom = False
            try:
                step_s, memory = _measure_batch(model, input_fn(bs).to(dev), loss_fn, dev,
                                                repeats, timer, param_bytes, param_ptrs)
            except (RuntimeError, MemoryError) as exc:
                if not is_oom(exc):
                    raise
                oom = True  # empty the cache below, once the traceback's tensors are gone
            if oom:
                empty_cache(dev)
                rows.append({**row, "status": "oom"})
                stopped_by = "oom"
                break
            row.update(samples_per_s=bs / step_s if step_s > 0 else math.inf,
                       step_ms=1e3 * step_s, memory_mb=memory)
            if memory_limit_mb is not None and memory > memory_limit_mb:
                rows.append({**row, "status": "over_limit"})
                stopped_by = "over_limit"
                break
            if best is None or row["samples_per_s"] > best["samples_per_s"] * (1 + plateau):
                row["status"], best, stale = "ok", row, 0
            else:
                row["status"], stale = "plateau", stale + 1
            rows.append(row)
            if stale >= patience:
                stopped_by = "plateau"
                break
            bs *= 2
    finally:
        for p in params:
            p.grad = None
        for name, p in model.named_parameters():
            p.grad = grads[name]
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        model.train(was_training)
    if best is None:
        raise RuntimeError(
            f"batch size {start} does not fit ({rows[-1]['status']}, "
            f"limit {memory_limit_mb} MB): lower start, or see hardware.oom_advice()")
    table = pd.DataFrame(rows)
    table["chosen"] = table["batch_size"] == best["batch_size"]
    return BatchSizeResult(int(best["batch_size"]), table.reindex(columns=list(FINDER_COLUMNS)),
                           dev, stopped_by, memory_note)
