"""Measurements of time, throughput and memory: the :class:`Monitor` (by hand or as a
callback), inference :func:`latency` and classification :func:`accuracy` of any model."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ._callbacks import TrainState
from ._device import _autocast
from ._loaders import Data, _evaluate, as_dataset, make_loader

__all__ = ["Monitor", "accuracy", "latency"]


class Monitor:
    """Time, throughput and memory of a stretch of work -- an epoch, or anything else.

    Use it by hand (``start()`` ... ``stop(samples)``) in any loop, or as a :func:`fit`
    callback (it then times whole epochs, validation included, and appends to
    :attr:`records`). :func:`fit` uses one internally for its ``seconds``,
    ``samples_per_s`` and ``peak_memory_mb`` columns (training pass only).

    Memory: on CUDA, ``peak_memory_mb`` is ``torch.cuda.max_memory_allocated`` since
    ``start()`` (tensors only, this device). On CPU, torch keeps no allocator statistics, so
    the figures are **process-wide**: ``peak_memory_mb`` is the peak resident set size of the
    whole process since it started (``resource.getrusage``; it never goes down, so it only
    shows growth), ``rss_mb`` the current resident set size (psutil). Both include Python,
    torch itself, the data and anything else the process holds. On MPS,
    ``peak_memory_mb`` is the memory currently allocated by the MPS allocator.

    Example
    -------
    >>> m = Monitor("cpu")
    >>> m.start()
    >>> _ = sum(range(10_000))
    >>> sorted(m.stop(samples=10_000))
    ['peak_memory_mb', 'rss_mb', 'samples_per_s', 'seconds']
    """

    def __init__(self, device: str | torch.device | None = None) -> None:
        self.device = torch.device(device) if device is not None else None
        self.records: list[dict[str, float]] = []
        self._t0: float | None = None

    def start(self) -> None:
        """Start timing; on CUDA also reset the peak-memory counter."""
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self._t0 = time.perf_counter()

    def stop(self, samples: int = 0) -> dict[str, float]:
        """Stop timing; return (and record) seconds, samples/s, peak and current memory."""
        if self._t0 is None:
            raise RuntimeError("Monitor.stop() before Monitor.start()")
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - self._t0
        self._t0 = None
        record = {
            "seconds": seconds,
            "samples_per_s": samples / seconds if seconds > 0 and samples else math.nan,
            "peak_memory_mb": self.peak_memory_mb(),
            "rss_mb": _rss_mb(),
        }
        self.records.append(record)
        return record

    def peak_memory_mb(self) -> float:
        """Peak memory in MB: CUDA allocator peak on GPU, process peak RSS on CPU."""
        device = self.device
        if device is not None and device.type == "cuda":
            return torch.cuda.max_memory_allocated(device) / 2**20
        if device is not None and device.type == "mps":
            return torch.mps.current_allocated_memory() / 2**20
        try:
            import resource
        except ImportError:  # Windows: no getrusage
            return _rss_mb()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB

    # callback hooks
    def on_epoch_begin(self, state: TrainState) -> None:
        self.device = state.device
        self.start()

    def on_epoch_end(self, state: TrainState) -> bool:
        record = self.stop(state.samples)
        record["epoch"] = state.epoch
        return False

    def frame(self) -> pd.DataFrame:
        """The records so far, one row per ``stop()``."""
        return pd.DataFrame(self.records)

    @staticmethod
    def latency(model: nn.Module, example: torch.Tensor, **kwargs: Any) -> pd.DataFrame:
        """Same as :func:`latency`."""
        return latency(model, example, **kwargs)

    @staticmethod
    def accuracy(model: nn.Module, data: Data, **kwargs: Any) -> float:
        """Same as :func:`accuracy`."""
        return accuracy(model, data, **kwargs)


def _rss_mb() -> float:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of the lab setup
        return math.nan
    return psutil.Process().memory_info().rss / 2**20


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def latency(
    model: nn.Module,
    example: torch.Tensor,
    repeats: int = 50,
    batch_sizes: Iterable[int] = (1, 64),
    warmup: int = 5,
) -> pd.DataFrame:
    """Inference latency of ``model`` per batch size: median and 95th percentile in ms.

    ``example`` is a batch of at least one input, shape ``(k, *input_shape)``; a batch of
    size b cycles through its rows. The model runs in eval mode under
    ``torch.inference_mode`` on its own device (CUDA is synchronised around each call),
    after ``warmup`` untimed calls; its train/eval mode is restored afterwards.

    Returns
    -------
    pandas.DataFrame
        One row per batch size: ``batch_size``, ``median_ms``, ``p95_ms``, ``samples_per_s``
        (batch size / median time).

    Example
    -------
    >>> from hybridlab.ml.train import SmallCNN
    >>> table = latency(SmallCNN(), torch.zeros(1, 1, 8, 8), repeats=5, batch_sizes=(1, 8))
    >>> list(table.columns), table.batch_size.tolist()
    (['batch_size', 'median_ms', 'p95_ms', 'samples_per_s'], [1, 8])
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats!r}")
    if example.ndim < 1 or len(example) < 1:
        raise ValueError("example must be a batch of at least one input, shape (k, ...); "
                         "use x[None] for a single input x")
    device = _model_device(model)
    was_training = model.training
    model.eval()
    rows = []
    try:
        for b in batch_sizes:
            x = example[torch.arange(int(b)) % len(example)].to(device)
            times = []
            with torch.inference_mode():
                for i in range(warmup + repeats):
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    t0 = time.perf_counter()
                    model(x)
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    if i >= warmup:
                        times.append((time.perf_counter() - t0) * 1e3)
            median = float(np.median(times))
            rows.append({"batch_size": int(b), "median_ms": median,
                         "p95_ms": float(np.percentile(times, 95)),
                         "samples_per_s": b / (median / 1e3) if median > 0 else math.nan})
    finally:
        model.train(was_training)
    return pd.DataFrame(rows, columns=["batch_size", "median_ms", "p95_ms", "samples_per_s"])


def accuracy(model: nn.Module, data: Data, batch_size: int = 1024) -> float:
    """Share of correctly classified samples (argmax of the logits) of a data set.

    ``data`` is a Dataset of ``(x, y)`` pairs or an ``(X, y)`` pair of tensors/arrays. The
    model runs in eval mode on its own device; its mode is restored afterwards.

    Example
    -------
    >>> from hybridlab.ml.train import SmallCNN, digits_data
    >>> _, _, test = digits_data()
    >>> 0.0 <= accuracy(SmallCNN(), test) <= 1.0
    True
    """
    device = _model_device(model)
    loader = make_loader(as_dataset(data, "data"), batch_size, shuffle=False, generator=None,
                     device=device)
    was_training = model.training
    try:
        _, acc = _evaluate(model, loader, nn.functional.cross_entropy, device,
                           _autocast(device, None))
    finally:
        model.train(was_training)
    return acc
