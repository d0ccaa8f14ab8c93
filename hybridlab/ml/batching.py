"""Batching: the batch size that training can afford, and dynamic batching for serving.

* :func:`find_batch_size` doubles the batch and times forward + backward steps until the
  step runs out of memory, passes a memory limit, or throughput stops improving, then backs
  off to the last size that paid; it returns the choice and the table of every size tried.
* :class:`DynamicBatcher` is a small thread-based inference server: callers ``submit`` one
  example and get a :class:`~concurrent.futures.Future`; a worker thread gathers requests
  until ``max_batch_size`` or ``max_wait_ms``, runs the model once on the stacked batch and
  resolves the futures.
* :func:`measure_batching` offers Poisson request streams at several rates to batchers of
  several sizes (1 = no batching, the reference) and reports throughput and latency.

Example
-------
>>> import torch
>>> from hybridlab.ml.batching import DynamicBatcher
>>> model = torch.nn.Linear(4, 2)
>>> def predict(batch):
...     with torch.inference_mode():
...         return model(batch)
>>> with DynamicBatcher(predict, max_batch_size=8, max_wait_ms=2) as server:
...     futures = [server.submit(torch.ones(4)) for _ in range(5)]
...     [tuple(f.result().shape) for f in futures][0]
(2,)
"""

from __future__ import annotations

import math
import queue
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .hardware import _sync, empty_cache, is_oom, select_device

__all__ = [
    "BATCHING_COLUMNS",
    "FINDER_COLUMNS",
    "BatchSizeResult",
    "DynamicBatcher",
    "find_batch_size",
    "measure_batching",
]

_MB = 1024**2

#: Columns of :attr:`BatchSizeResult.table`, in order.
FINDER_COLUMNS = ("batch_size", "samples_per_s", "step_ms", "memory_mb", "status", "chosen")
#: Columns of :func:`measure_batching`'s table, in order.
BATCHING_COLUMNS = (
    "rate_rps",
    "max_batch_size",
    "max_wait_ms",
    "throughput_rps",
    "latency_ms_median",
    "latency_ms_p95",
    "mean_batch_size",
    "n_requests",
)


# ----------------------------------------------------------------------------- batch-size finder
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


# ----------------------------------------------------------------------------- dynamic batching
_STOP = object()


def _collate(items: list[Any]) -> Any:
    if all(isinstance(x, torch.Tensor) for x in items):
        return torch.stack(items)
    return np.stack([np.asarray(x) for x in items])


@dataclass
class _Request:
    x: Any
    future: Future
    submitted: float = field(default_factory=time.perf_counter)


class DynamicBatcher:
    """Serve one-example requests by running the model on batches of them.

    A worker thread takes the first waiting request, then collects more until it holds
    ``max_batch_size`` of them or ``max_wait_ms`` have passed since that first request was
    submitted; requests already waiting when the deadline has passed are still taken (up to
    the maximum) without waiting.  It stacks the inputs (``torch.stack`` for tensors, else
    ``numpy.stack``), calls ``predict_fn`` once, and resolves each request's future with its
    row of the output (or with the exception ``predict_fn`` raised).  Requests whose future
    was cancelled before their batch started are skipped.

    ``max_batch_size=1`` serves requests one at a time without waiting: the unbatched
    reference.  Torch releases the GIL inside its kernels, so the clients' threads and the
    worker overlap.

    Parameters
    ----------
    predict_fn : callable
        ``predict_fn(batch) -> outputs`` with one output row per input row.  Wrap the model
        call in ``torch.inference_mode()`` yourself.
    max_batch_size : int
        Most requests per call of ``predict_fn``.
    max_wait_ms : float
        Longest a request waits for others to join its batch.
    collate : callable, optional
        ``collate(list_of_inputs) -> batch`` instead of stacking.

    Attributes
    ----------
    batch_sizes : list of int
        Size of every batch run so far.

    Example
    -------
    >>> import numpy as np
    >>> with DynamicBatcher(lambda b: b.sum(axis=1), max_batch_size=4) as server:
    ...     futures = [server.submit(np.full(3, i)) for i in range(6)]
    ...     [int(f.result()) for f in futures]
    [0, 3, 6, 9, 12, 15]
    >>> max(server.batch_sizes) <= 4
    True
    """

    def __init__(self, predict_fn: Callable[[Any], Any], max_batch_size: int = 32,
                 max_wait_ms: float = 5.0, *, collate: Callable[[list[Any]], Any] | None = None,
                 ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self.predict_fn = predict_fn
        self.max_batch_size = int(max_batch_size)
        self.max_wait_ms = float(max_wait_ms)
        self.collate = collate or _collate
        self.batch_sizes: list[int] = []
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="DynamicBatcher", daemon=True)
        self._thread.start()

    # -- client side
    def submit(self, x: Any) -> Future:
        """Queue one example (no batch dimension); the future resolves to its output row."""
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("DynamicBatcher is closed")
            self._queue.put(_Request(x, future))
        return future

    def predict(self, x: Any, timeout: float | None = None) -> Any:
        """``submit(x).result(timeout)``: one blocking prediction."""
        return self.submit(x).result(timeout)

    def close(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop accepting requests and stop the worker.

        With ``drain=True`` every request already submitted is still served; with
        ``drain=False`` those not yet in a running batch are cancelled (their futures raise
        ``CancelledError``).  Calling ``close`` again does nothing.
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                if not drain:
                    while True:
                        try:
                            item = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        item.future.cancel()
                self._queue.put(_STOP)
        self._thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> DynamicBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(drain=True)

    # -- worker side
    def _serve(self) -> None:
        wait_s = self.max_wait_ms / 1e3
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = [first], False
            deadline = first.submitted + wait_s
            while len(batch) < self.max_batch_size:
                remaining = deadline - time.perf_counter()
                try:
                    item = (self._queue.get(timeout=remaining) if remaining > 0
                            else self._queue.get_nowait())
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[_Request]) -> None:
        live = [r for r in batch if r.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.batch_sizes.append(len(live))
        try:
            out = self.predict_fn(self.collate([r.x for r in live]))
            if len(out) != len(live):
                raise ValueError(f"predict_fn returned {len(out)} rows for {len(live)} inputs")
        except BaseException as exc:  # the worker must survive whatever the model raises
            for r in live:
                r.future.set_exception(exc)
            return
        for i, r in enumerate(live):
            r.future.set_result(out[i])


def _simulate(predict_fn: Callable, example: Any, rate: float, max_batch_size: int,
              max_wait_ms: float, n_requests: int, seed: int, warmup: int) -> dict[str, Any]:
    arrivals = np.cumsum(np.random.default_rng(seed).exponential(1 / rate, n_requests))
    sent = np.full(n_requests, np.nan)
    done = np.full(n_requests, np.nan)
    futures: list[Future] = []

    def mark(i: int) -> Callable[[Future], None]:
        def callback(_: Future) -> None:
            done[i] = time.perf_counter()
        return callback

    with DynamicBatcher(predict_fn, max_batch_size, max_wait_ms) as server:
        for _ in range(warmup):
            server.predict(example)
        server.batch_sizes.clear()

        def client() -> None:
            t0 = time.perf_counter()
            for i, at in enumerate(arrivals):
                delay = t0 + at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)  # behind schedule: send at once, keeping the mean rate
                sent[i] = time.perf_counter()
                future = server.submit(example)
                future.add_done_callback(mark(i))
                futures.append(future)

        thread = threading.Thread(target=client, name="batching-client")
        thread.start()
        thread.join()
        wait_futures(futures)
        for f in futures:
            f.result()  # surface errors of predict_fn
        sizes = list(server.batch_sizes)
    latency_ms = 1e3 * (done - sent)
    return {
        "rate_rps": rate,
        "max_batch_size": max_batch_size,
        "max_wait_ms": max_wait_ms,
        "throughput_rps": n_requests / (np.nanmax(done) - np.nanmin(sent)),
        "latency_ms_median": float(np.median(latency_ms)),
        "latency_ms_p95": float(np.percentile(latency_ms, 95)),
        "mean_batch_size": float(np.mean(sizes)),
        "n_requests": n_requests,
    }


def measure_batching(
    predict_fn: Callable[[Any], Any],
    example: Any,
    rates: Sequence[float] = (200.0, 1000.0, 5000.0),
    max_batch_sizes: Sequence[int] = (1, 8, 32),
    max_wait_ms: float | Sequence[float] = 2.0,
    n_requests: int = 500,
    *,
    seed: int = 0,
    warmup: int = 10,
) -> pd.DataFrame:
    """Throughput and latency of a :class:`DynamicBatcher` under Poisson request streams.

    For every offered ``rate`` (requests per second) and batcher configuration, a client
    thread submits ``n_requests`` copies of ``example`` at exponentially distributed gaps
    (falling behind schedule, it sends at once, so the mean rate holds) and the latencies
    (submit to result) are recorded.  ``max_batch_size=1`` -- no batching, no waiting -- is
    always included as the reference.  Above the server's capacity the queue grows during
    the run: throughput then shows the capacity, and latency the backlog.

    Parameters
    ----------
    predict_fn : callable
        As for :class:`DynamicBatcher`.
    example : tensor or array
        One input (no batch dimension), sent by every request.
    rates : sequence of float
        Offered request rates (req/s).
    max_batch_sizes : sequence of int
        Batcher sizes; 1 is added if absent.
    max_wait_ms : float or sequence of float
        Waiting times tried for every size above 1.
    n_requests : int
        Requests per configuration.
    seed : int
        Seeds the arrival times (the same stream for every configuration at one rate).
    warmup : int
        Unrecorded requests sent one at a time before each run.

    Returns
    -------
    pandas.DataFrame
        One row per (rate, size, wait) with :data:`BATCHING_COLUMNS`: ``throughput_rps``
        (requests served over the time from first submit to last result),
        ``latency_ms_median``, ``latency_ms_p95`` and ``mean_batch_size``.

    Example
    -------
    >>> import numpy as np
    >>> t = measure_batching(lambda b: b * 2, np.ones(4), rates=(2000,),
    ...                      max_batch_sizes=(8,), n_requests=50)
    >>> t["max_batch_size"].tolist(), bool((t["throughput_rps"] > 0).all())
    ([1, 8], True)
    """
    waits = [float(max_wait_ms)] if np.isscalar(max_wait_ms) else [float(w) for w in max_wait_ms]
    sizes = sorted({1, *(int(s) for s in max_batch_sizes)})
    rows = []
    for rate in rates:
        for size in sizes:
            for wait in [0.0] if size == 1 else waits:
                rows.append(_simulate(predict_fn, example, float(rate), size, wait, n_requests,
                                      seed, warmup))
    return pd.DataFrame(rows).reindex(columns=list(BATCHING_COLUMNS))
