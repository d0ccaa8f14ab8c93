"""Dynamic batching for serving: :class:`DynamicBatcher` and :func:`measure_batching`.

* :class:`DynamicBatcher` is a small thread-based inference server: callers ``submit`` one
  example and get a :class:`~concurrent.futures.Future`; a worker thread gathers requests
  until ``max_batch_size`` or ``max_wait_ms``, runs the model once on the stacked batch and
  resolves the futures.
* :func:`measure_batching` offers Poisson request streams at several rates to batchers of
  several sizes (1 = no batching, the reference) and reports throughput and latency.

Example
-------
>>> import torch
>>> from hybridlab.ml.hardware import DynamicBatcher
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

import queue
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

__all__ = [
    "BATCHING_COLUMNS",
    "DynamicBatcher",
    "measure_batching",
]

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
