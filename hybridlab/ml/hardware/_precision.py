"""Mixed precision: :func:`compare_precision` trains one model in fp32, bf16 and fp16.

It reports, per precision, time per step, throughput, loss and accuracy (columns
:data:`PRECISION_COLUMNS`).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ._devices import _sync, select_device
from ._memory import is_oom

__all__ = ["PRECISION_COLUMNS", "compare_precision"]

#: Columns of :func:`compare_precision`'s table, in order.
PRECISION_COLUMNS = (
    "precision",
    "status",
    "reason",
    "steps",
    "step_ms",
    "samples_per_s",
    "speedup_vs_fp32",
    "train_loss",
    "eval_loss",
    "accuracy",
    "seconds",
)


def _precision_plan(precision: str, dev: torch.device) -> tuple[torch.dtype | None, str]:
    """(autocast dtype or None for fp32, reason to skip or '')."""
    if precision == "fp32":
        return None, ""
    if precision == "bf16":
        if dev.type == "cuda" and not torch.cuda.is_bf16_supported():
            return None, "this GPU has no bf16 (pre-Ampere): use fp16 with GradScaler"
        return torch.bfloat16, ""
    if precision == "fp16":
        if dev.type == "cpu":
            return None, ("fp16 training is not run on the CPU: CPUs have no fast fp16 "
                          "arithmetic for training and GradScaler targets GPUs; use bf16")
        return torch.float16, ""
    raise ValueError(f"unknown precision {precision!r}: use 'fp32', 'bf16' or 'fp16'")


def _as_tensors(data: Sequence[Any]) -> tuple[torch.Tensor, ...]:
    if len(data) not in (2, 4):
        raise ValueError("data must be (X, y) or (X_train, y_train, X_eval, y_eval)")
    out = [torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
           for a in data]
    out[0::2] = [x.float() for x in out[0::2]]
    out[1::2] = [y.long() for y in out[1::2]]
    return tuple(out)


def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: Callable,
              autocast: Callable[[], contextlib.AbstractContextManager],
              dev: torch.device, chunk: int = 1024) -> tuple[float, float]:
    model.eval()
    total, correct = 0.0, 0
    with torch.inference_mode(), autocast():
        for i in range(0, len(X), chunk):
            out = model(X[i:i + chunk].to(dev)).float()
            yb = y[i:i + chunk].to(dev)
            total += float(loss_fn(out, yb)) * len(yb)
            correct += int((out.argmax(1) == yb).sum())
    model.train()
    return total / len(X), correct / len(X)


def compare_precision(
    model_fn: Callable[[], nn.Module],
    data: Sequence[Any],
    precisions: Sequence[str] = ("fp32", "bf16"),
    *,
    steps: int = 100,
    batch_size: int = 64,
    lr: float = 1e-3,
    device: str | torch.device = "auto",
    seed: int = 0,
    warmup: int = 3,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> pd.DataFrame:
    """Train the same model for ``steps`` steps in each precision; time, loss and accuracy.

    Every precision starts from the same weights (``torch.manual_seed(seed)`` before
    ``model_fn()``) and sees the same batches (Adam, ``lr``).  ``bf16`` and ``fp16`` run the
    forward pass and the loss under ``torch.autocast`` (weights and optimizer stay fp32);
    fp16 on CUDA scales the loss with ``torch.amp.GradScaler``.  fp16 on the CPU, and bf16
    on GPUs without it, are skipped with the reason in ``reason`` (no crash).  Evaluation
    runs under the same autocast, on the held-out part of ``data`` if given, else on the
    training data.

    Parameters
    ----------
    model_fn : callable
        Returns a fresh classifier (logits).
    data : tuple
        ``(X, y)`` or ``(X_train, y_train, X_eval, y_eval)``; tensors or arrays.
    precisions : sequence of str
        Any of ``"fp32"``, ``"bf16"``, ``"fp16"``.
    steps, batch_size, lr, seed : int, int, float, int
        Optimizer steps per precision, samples per step, Adam learning rate, seed.
    device : str or torch.device
        See :func:`~hybridlab.ml.hardware.select_device`.
    warmup : int
        First steps left out of the timing (allocation, kernel selection).
    loss_fn : callable, optional
        ``loss_fn(logits, y)``; cross-entropy by default.

    Returns
    -------
    pandas.DataFrame
        One row per precision with :data:`PRECISION_COLUMNS`: ``step_ms`` (median over the
        timed steps), ``samples_per_s``, ``speedup_vs_fp32`` (fp32 step time over this
        one's), ``train_loss`` (mean of the last 10 steps), ``eval_loss``, ``accuracy`` and
        ``seconds`` (all steps).

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import TinyMLP
    >>> X, y = torch.randn(200, 8), torch.randint(0, 2, (200,))
    >>> t = compare_precision(lambda: TinyMLP(8, 16, 2), (X, y), ("fp32", "bf16"),
    ...                       steps=5, batch_size=20, device="cpu")
    >>> t.set_index("precision").loc["bf16", "status"]
    'ok'
    """
    if steps <= warmup:
        raise ValueError(f"steps ({steps}) must exceed warmup ({warmup})")
    dev = select_device(device)
    loss_fn = loss_fn or F.cross_entropy
    tensors = _as_tensors(data)
    X, y = tensors[0], tensors[1]
    X_eval, y_eval = (tensors[2], tensors[3]) if len(tensors) == 4 else (X, y)
    n = len(X)
    rows: list[dict[str, Any]] = []
    for precision in precisions:
        dtype, reason = _precision_plan(precision, dev)
        if reason:
            rows.append({"precision": precision, "status": "skipped", "reason": reason})
            continue

        def autocast(dtype: torch.dtype | None = dtype) -> contextlib.AbstractContextManager:
            if dtype is None:
                return contextlib.nullcontext()
            return torch.autocast(dev.type, dtype=dtype)

        try:
            rows.append(_train_precision(model_fn, precision, dtype, autocast, X, y, X_eval,
                                         y_eval, n, steps, batch_size, lr, dev, seed, warmup,
                                         loss_fn))
        except RuntimeError as exc:
            if precision == "fp32" or is_oom(exc):
                raise
            rows.append({"precision": precision, "status": "error",
                         "reason": f"{type(exc).__name__}: {exc}".splitlines()[0]})
    table = pd.DataFrame(rows).reindex(columns=list(PRECISION_COLUMNS))
    table["reason"] = table["reason"].fillna("")
    fp32 = table.loc[(table["precision"] == "fp32") & (table["status"] == "ok"), "step_ms"]
    if len(fp32):
        table["speedup_vs_fp32"] = float(fp32.iloc[0]) / table["step_ms"]
    return table


def _train_precision(model_fn, precision, dtype, autocast, X, y, X_eval, y_eval, n, steps,
                     batch_size, lr, dev, seed, warmup, loss_fn) -> dict[str, Any]:
    torch.manual_seed(seed)
    model = model_fn().to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    scaler = (torch.amp.GradScaler("cuda") if dtype is torch.float16 and dev.type == "cuda"
              else None)
    gen = torch.Generator().manual_seed(seed)
    order, pos = torch.randperm(n, generator=gen), 0
    times, losses = [], []
    for _ in range(steps):
        if pos + batch_size > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        xb, yb = X[idx].to(dev), y[idx].to(dev)
        _sync(dev)
        t0 = time.perf_counter()
        with autocast():
            loss = loss_fn(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        _sync(dev)
        times.append(time.perf_counter() - t0)
        losses.append(loss.detach())
    eval_loss, accuracy = _evaluate(model, X_eval, y_eval, loss_fn, autocast, dev)
    step_s = statistics.median(times[warmup:])
    return {
        "precision": precision,
        "status": "ok",
        "reason": "",
        "steps": steps,
        "step_ms": 1e3 * step_s,
        "samples_per_s": batch_size / step_s,
        "train_loss": float(torch.stack(losses[-10:]).float().mean()),
        "eval_loss": eval_loss,
        "accuracy": accuracy,
        "seconds": float(sum(times)),
    }
