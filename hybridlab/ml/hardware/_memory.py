"""Memory and out-of-memory advice of the hardware room.

* memory -- :func:`memory_stats` (CUDA: allocated, reserved, peak; CPU: process RSS and its
  peak), :func:`reset_peak`, :func:`empty_cache`, :func:`limit_memory`;
* out of memory -- :func:`is_oom`, :func:`oom_advice` and the context manager
  :func:`explain_oom`, which turn an out-of-memory error into one that says what to try
  (smaller batch, gradient accumulation, bf16/fp16, freeing cached memory).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from typing import Any

import torch

from ._devices import select_device

__all__ = [
    "empty_cache",
    "explain_oom",
    "is_oom",
    "limit_memory",
    "memory_stats",
    "oom_advice",
    "reset_peak",
]

_MB = 1024**2


# ----------------------------------------------------------------------------- memory
def _proc_status_kb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float | None:
    hwm = _proc_status_kb("VmHWM")  # resettable peak (see reset_peak)
    if hwm is not None:
        return hwm / 1024
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, else KiB


def memory_stats(device: str | torch.device = "auto") -> dict[str, Any]:
    """Memory in use, in MB.

    On CUDA: ``allocated_mb`` (live tensors), ``reserved_mb`` (held by torch's caching
    allocator) and ``max_allocated_mb`` (peak of ``allocated`` since :func:`reset_peak`).
    On the CPU (and MPS): ``rss_mb`` (the process's resident memory, from psutil) and
    ``peak_rss_mb`` (its high-water mark: ``VmHWM`` on Linux, which :func:`reset_peak` can
    reset, otherwise ``getrusage``'s ``ru_maxrss``).

    Example
    -------
    >>> stats = memory_stats("cpu")
    >>> stats["device"], stats["rss_mb"] > 0
    ('cpu', True)
    """
    dev = select_device(device)
    if dev.type == "cuda":
        return {
            "device": str(dev),
            "allocated_mb": torch.cuda.memory_allocated(dev) / _MB,
            "reserved_mb": torch.cuda.memory_reserved(dev) / _MB,
            "max_allocated_mb": torch.cuda.max_memory_allocated(dev) / _MB,
        }
    import psutil

    stats: dict[str, Any] = {
        "device": str(dev),
        "rss_mb": psutil.Process().memory_info().rss / _MB,
        "peak_rss_mb": _peak_rss_mb(),
    }
    if dev.type == "mps":
        stats["mps_allocated_mb"] = torch.mps.current_allocated_memory() / _MB
    return stats


def reset_peak(device: str | torch.device = "auto") -> bool:
    """Reset the peak that :func:`memory_stats` reports; ``True`` when it could be reset.

    CUDA: ``torch.cuda.reset_peak_memory_stats``.  CPU on Linux: writes ``5`` to
    ``/proc/self/clear_refs``, which resets the process's ``VmHWM``; elsewhere the CPU peak
    cannot be reset (``False``).

    Example
    -------
    >>> reset_peak("cpu") in (True, False)
    True
    """
    dev = select_device(device)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        return True
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def empty_cache(device: str | torch.device = "auto") -> dict[str, Any]:
    """Collect garbage and hand cached accelerator memory back; returns :func:`memory_stats`.

    Only memory no tensor uses any more can be returned: delete references (outputs, losses
    kept with their graphs) first.

    Example
    -------
    >>> empty_cache("cpu")["device"]
    'cpu'
    """
    dev = select_device(device)
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    elif dev.type == "mps":
        torch.mps.empty_cache()
    return memory_stats(dev)


def limit_memory(fraction: float, device: str | torch.device = "auto") -> str:
    """Cap this process's share of GPU memory (CUDA only); returns what was done, in words.

    On CUDA this calls ``torch.cuda.set_per_process_memory_fraction``: allocations past
    ``fraction`` of the card raise ``torch.OutOfMemoryError`` as if the card were smaller
    (handy to test OOM handling, or to share a GPU).  On the CPU and MPS it does nothing and
    says so: cap a CPU run with ``find_batch_size(memory_limit_mb=...)``, ``ulimit -v`` or a
    container / cgroup memory limit.

    Example
    -------
    >>> limit_memory(0.5, "cpu")[:5]
    'no-op'
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    dev = select_device(device)
    if dev.type == "cuda" and hasattr(torch.cuda, "set_per_process_memory_fraction"):
        torch.cuda.set_per_process_memory_fraction(fraction, dev)
        total = torch.cuda.get_device_properties(dev).total_memory / _MB
        return f"limited {dev} to {fraction:.0%} of its memory ({fraction * total:.0f} MB)"
    return (f"no-op on {dev.type}: torch has no per-process memory cap there; use "
            "find_batch_size(memory_limit_mb=...), `ulimit -v` or a container memory limit")


# ----------------------------------------------------------------------------- out of memory
_OOM_PHRASES = ("out of memory", "can't allocate memory", "cannot allocate memory",
                "failed to allocate")


def is_oom(exc: BaseException) -> bool:
    """``True`` for ``torch.OutOfMemoryError``, ``MemoryError`` and allocator failures.

    Example
    -------
    >>> is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")), is_oom(KeyError())
    (True, False)
    """
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(p in str(exc).lower() for p in _OOM_PHRASES)


def oom_advice(exc: BaseException | None = None, batch_size: int | None = None,
               device: str | torch.device = "auto") -> str:
    """A message that says what to try after running out of memory.

    Parameters
    ----------
    exc : BaseException, optional
        The error; its first line is quoted.
    batch_size : int, optional
        The batch size that failed: the advice then names the sizes to try.
    device : str or torch.device
        On CUDA the message includes allocated and reserved memory, and suggests
        ``expandable_segments`` when much more is reserved than allocated (fragmentation).

    Example
    -------
    >>> print(oom_advice(RuntimeError("CUDA out of memory"), batch_size=256,
    ...                  device="cpu").splitlines()[0])
    Out of memory at batch size 256 (CUDA out of memory). Try, cheapest first:
    """
    dev = select_device(device)
    where = f" at batch size {batch_size}" if batch_size else ""
    first = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    lines = [f"Out of memory{where}{f' ({first})' if first else ''}. Try, cheapest first:"]
    if batch_size and batch_size > 1:
        half = batch_size // 2
        lines += [
            f"  1. a smaller batch: batch_size={half} (or {batch_size // 4}); "
            "hybridlab.ml.hardware.find_batch_size finds the largest that fits;",
            f"  2. gradient accumulation to keep the effective batch of {batch_size}: "
            f"{half} per step, backward on loss / 2, optimizer.step() every 2 steps;",
        ]
    else:
        lines += ["  1. a smaller batch (hybridlab.ml.hardware.find_batch_size finds one);",
                  "  2. gradient accumulation: several small batches per optimizer step;"]
    amp = ("torch.autocast('cuda', dtype=torch.bfloat16) (or float16 with "
           "torch.amp.GradScaler on GPUs without bf16)" if dev.type == "cuda"
           else f"torch.autocast('{dev.type}', dtype=torch.bfloat16)")
    lines += [
        f"  3. mixed precision: {amp} roughly halves activation memory;",
        "  4. free memory: del tensors you no longer need, log loss.item() rather than the loss "
        "tensor, run evaluation under torch.inference_mode(), then "
        "hybridlab.ml.hardware.empty_cache();",
        "  5. activation checkpointing (torch.utils.checkpoint) trades compute for memory.",
    ]
    if dev.type == "cuda":
        stats = memory_stats(dev)
        lines.append(f"  Now: {stats['allocated_mb']:.0f} MB allocated, "
                     f"{stats['reserved_mb']:.0f} MB reserved on {dev}.")
        if stats["reserved_mb"] > 1.5 * stats["allocated_mb"] + 256:
            lines.append("  Much more is reserved than allocated (fragmentation): set "
                         "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True.")
    return "\n".join(lines)


@contextlib.contextmanager
def explain_oom(batch_size: int | None = None,
                device: str | torch.device = "auto") -> Iterator[None]:
    """Re-raise out-of-memory errors in the block with :func:`oom_advice`'s message.

    The error keeps its type (``torch.OutOfMemoryError``, ``MemoryError`` or
    ``RuntimeError``) so existing ``except`` clauses still match; the original is chained as
    ``__cause__``.  Cached accelerator memory is emptied first.  Other errors pass untouched.

    Example
    -------
    >>> import torch
    >>> try:
    ...     with explain_oom(batch_size=512, device="cpu"):
    ...         raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8 GiB")
    ... except torch.OutOfMemoryError as err:
    ...     "batch_size=256" in str(err)
    True
    """
    try:
        yield
    except BaseException as exc:
        if not is_oom(exc):
            raise
        dev = select_device(device)
        empty_cache(dev)
        message = oom_advice(exc, batch_size, dev)
        try:
            new = type(exc)(message)
        except Exception:  # an exception type that takes other arguments
            new = RuntimeError(message)
        raise new from exc
