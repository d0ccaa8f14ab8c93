"""Where and how :func:`hybridlab.ml.train.fit` runs: device and precision choice, data
loaders, the evaluation pass (shared with :func:`~hybridlab.ml.monitor.accuracy`) and
argument checks."""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, TensorDataset

__all__ = ["PRECISIONS", "Data"]

#: Precision names accepted by :func:`fit`.
PRECISIONS = ("fp32", "bf16", "fp16")

Data = Dataset | tuple[Any, Any] | Sequence[Any]


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or "
                         f"'mps'") from exc
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {device!r}; use 'auto', 'cpu', 'cuda', "
                         f"'cuda:N' or 'mps'")
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": bool(getattr(torch.backends, "mps", None)
                             and torch.backends.mps.is_available())}
    if not available[dev.type]:
        warnings.warn(f"device={str(device)!r} is not available here; training on cpu",
                      UserWarning, stacklevel=3)
        return torch.device("cpu")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def _sum_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


def _as_dataset(data: Data, name: str) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple | list) and len(data) == 2:
        X, y = (torch.as_tensor(np.asarray(a)) if not isinstance(a, torch.Tensor) else a
                for a in data)
        if X.is_floating_point() and X.dtype != torch.float32:
            X = X.float()
        if len(X) != len(y):
            raise ValueError(f"{name}: X and y have different lengths ({len(X)} != {len(y)})")
        return TensorDataset(X, y)
    raise ValueError(f"{name} must be a torch Dataset or an (X, y) pair of tensors, got "
                     f"{type(data).__name__}")


def _loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool, generator: torch.Generator | None,
    device: torch.device,
) -> DataLoader:
    pin = device.type == "cuda"
    if isinstance(dataset, TensorDataset):
        # fast path: index the tensors with a whole batch of indices at once (no per-item
        # __getitem__ and collate); the order is the same as with the standard path below
        sampler: Iterable[Any] = (RandomSampler(dataset, generator=generator) if shuffle
                                  else range(len(dataset)))
        batches = BatchSampler(sampler, batch_size, drop_last=False)  # type: ignore[arg-type]
        return DataLoader(dataset, sampler=batches, batch_size=None, generator=generator,
                          pin_memory=pin)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      pin_memory=pin)


def _resolve_precision(precision: str, device: torch.device) -> tuple[str, torch.dtype | None]:
    """The precision actually used on ``device`` and its autocast dtype (None for fp32)."""
    used_precision = precision
    if precision == "fp16" and device.type != "cuda":
        warnings.warn(f"precision='fp16' needs CUDA (GradScaler); on {device.type} it falls "
                      f"back to 'bf16'", UserWarning, stacklevel=3)
        used_precision = "bf16"
    if (used_precision == "bf16" and device.type == "cuda"
            and not torch.cuda.is_bf16_supported()):
        raise ValueError("this GPU does not support bf16; use precision='fp16' or 'fp32'")
    amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[used_precision]
    return used_precision, amp_dtype


def _autocast(device: torch.device, dtype: torch.dtype | None) -> Callable[[], Any]:
    def ctx() -> Any:
        return torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None)

    return ctx


def _evaluate(
    model: nn.Module, loader: DataLoader, loss_fn: Callable[..., torch.Tensor],
    device: torch.device, autocast: Callable[[], Any],
) -> tuple[float, float]:
    model.eval()
    loss_sum = torch.zeros((), dtype=_sum_dtype(device), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n, classify = 0, True
    with torch.no_grad():
        for xb, yb in loader:
            xb = xb.to(device, non_blocking=True)
            yb = yb.to(device, non_blocking=True)
            with autocast():
                out = model(xb)
            out = out.float()
            loss_sum += loss_fn(out, yb).to(loss_sum.dtype) * len(xb)
            if classify and out.ndim == 2 and not yb.is_floating_point():
                correct += (out.argmax(1) == yb).sum()
            else:
                classify = False
            n += len(xb)
    if n == 0:
        return math.nan, math.nan
    return float(loss_sum) / n, (float(correct) / n if classify else math.nan)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_nonneg(name: str, value: Any, *, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(f"{name} must be a {'positive' if positive else 'non-negative'} "
                         f"number, got {value!r}")
    return v


@contextlib.contextmanager
def _deterministic(on: bool) -> Iterator[None]:
    """Deterministic kernels for the block (``torch.use_deterministic_algorithms`` and
    cuDNN's flags), restored afterwards.  On CUDA, cuBLAS also needs
    ``CUBLAS_WORKSPACE_CONFIG``: it is set to ``:4096:8`` when unset (it must be set
    before the process's first cuBLAS call to take effect)."""
    if not on:
        yield
        return
    cudnn = torch.backends.cudnn
    saved = (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic,
             cudnn.benchmark)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0])
        cudnn.deterministic, cudnn.benchmark = saved[1], saved[2]
