"""Devices and threads of the hardware room: :func:`select_device` (cuda / mps / cpu),
:func:`set_threads` (:class:`ThreadSetting`), :func:`device_report`."""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "ThreadSetting",
    "device_report",
    "select_device",
    "set_threads",
]



# ----------------------------------------------------------------------------- devices
def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _sync(dev: torch.device) -> None:
    """Wait for the device's queued work (CUDA, MPS) to finish, so that timings are honest."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def select_device(prefer: str | torch.device = "auto") -> torch.device:
    """The device to compute on: ``"auto"`` picks CUDA, then Apple MPS, then the CPU.

    Parameters
    ----------
    prefer : str or torch.device
        ``"auto"``, ``"cuda"`` (or ``"cuda:1"``), ``"mps"`` or ``"cpu"``.  A requested
        accelerator that is not available falls back to the CPU with a ``RuntimeWarning``,
        so code written for a GPU still runs on a laptop.

    Returns
    -------
    torch.device

    Example
    -------
    >>> select_device("cpu")
    device(type='cpu')
    >>> select_device().type in ("cuda", "mps", "cpu")
    True
    """
    if isinstance(prefer, torch.device):
        return prefer
    name = str(prefer).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if torch.cuda.is_available():
            return torch.device(name)
    elif name == "mps":
        if _mps_available():
            return torch.device("mps")
    else:
        raise ValueError(f"unknown device {prefer!r}: use 'auto', 'cuda', 'cuda:N', 'mps' or 'cpu'")
    warnings.warn(f"{name} is not available on this machine; using the CPU", RuntimeWarning,
                  stacklevel=2)
    return torch.device("cpu")


@dataclass
class ThreadSetting:
    """What :func:`set_threads` changed; as a context manager it restores ``before`` on exit."""

    before: int
    after: int

    def __enter__(self) -> ThreadSetting:
        return self

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)

    def __str__(self) -> str:
        return f"torch intra-op threads: {self.before} -> {self.after}"


def set_threads(n: int | None = None) -> ThreadSetting:
    """Set torch's intra-op thread count (``None``: one per CPU core) and report the change.

    Use the result as a context manager to change the count for one block only.  Inter-op
    threads and the ``OMP_NUM_THREADS`` seen by other libraries are left alone.

    Parameters
    ----------
    n : int, optional
        Threads for intra-op parallelism (matrix products, convolutions).

    Returns
    -------
    ThreadSetting
        ``before`` and ``after`` thread counts.

    Example
    -------
    >>> import torch
    >>> old = torch.get_num_threads()
    >>> with set_threads(1) as change:
    ...     torch.get_num_threads()
    1
    >>> change.before == old == torch.get_num_threads()
    True
    """
    before = torch.get_num_threads()
    n = (os.cpu_count() or 1) if n is None else int(n)
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    return ThreadSetting(before, torch.get_num_threads())


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def device_report() -> dict[str, Any]:
    """What this machine offers torch: accelerators, CPU features, threads, library versions.

    Returns
    -------
    dict
        ``selected_device``, ``torch``, ``cuda_available``, ``gpu`` (name and memory, or
        ``None``), ``cuda_bf16``, ``mps_available``, ``cpu_capability`` (the SIMD level torch
        dispatches to), ``cpu_native_bf16`` (AVX512-BF16 or AMX instructions, Linux only),
        ``cpu_cores``, ``torch_threads`` and ``onnxruntime`` (version or ``None``).

    Example
    -------
    >>> report = device_report()
    >>> report["cpu_cores"] >= 1 and report["torch_threads"] >= 1
    True
    """
    gpu = None
    cuda = torch.cuda.is_available()
    if cuda:
        props = torch.cuda.get_device_properties(0)
        gpu = f"{props.name}, {props.total_memory / 1024**3:.0f} GiB x {torch.cuda.device_count()}"
    flags = _cpu_flags()
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):
        capability = "unknown"
    try:
        ort_version = importlib.import_module("onnxruntime").__version__
    except ImportError:
        ort_version = None
    return {
        "selected_device": str(select_device()),
        "torch": torch.__version__,
        "cuda_available": cuda,
        "gpu": gpu,
        "cuda_bf16": bool(cuda and torch.cuda.is_bf16_supported()),
        "mps_available": _mps_available(),
        "cpu_capability": capability,
        "cpu_native_bf16": sorted(flags & {"avx512_bf16", "amx_bf16"}) or None,
        "cpu_cores": os.cpu_count() or 1,
        "torch_threads": torch.get_num_threads(),
        "onnxruntime": ort_version,
    }
