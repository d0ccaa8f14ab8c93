"""Where :func:`hybridlab.ml.train.fit` runs: device and precision choice, autocast, the
float type of running sums, and deterministic kernels."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch

__all__ = ["PRECISIONS"]

#: Precision names accepted by :func:`fit`.
PRECISIONS = ("fp32", "bf16", "fp16")

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
