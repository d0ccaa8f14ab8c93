"""The epoch loop of :func:`hybridlab.ml.train.fit`: one :class:`_Loop` holds what a run
trains with and steps it epoch by epoch (batches, gradient accumulation, the NaN check,
the schedule and the callbacks)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ._callbacks import TrainState, _call
from ._checkpoints import Checkpointer
from ._device import _sum_dtype
from ._history import TIMING_COLUMNS
from ._loaders import _evaluate
from ._monitor import Monitor
from ._torch_optim import _Schedule


@dataclass
class _Loop:
    """What one :func:`fit` run trains with; :meth:`run` steps its epochs."""

    model: nn.Module
    opt: torch.optim.Optimizer
    sched: _Schedule | None
    scaler: torch.amp.GradScaler
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    dev: torch.device
    autocast: Callable[[], Any]
    l1: float
    l1_params: list[nn.Parameter]
    batch_size: int
    accumulate: int
    n_train: int
    n_batches: int
    train_loader: DataLoader
    val_loader: DataLoader | None
    cbs: list[Any]
    monitor: Monitor

    def train_batches(self, state: TrainState) -> torch.Tensor:
        """One pass over the training batches; returns the summed (not averaged) loss."""
        model, opt, scaler, accumulate = self.model, self.opt, self.scaler, self.accumulate
        dev, n_train = self.dev, self.n_train
        loss_sum = torch.zeros((), dtype=_sum_dtype(dev), device=dev)
        group = self.batch_size * accumulate
        opt.zero_grad(set_to_none=True)
        for i, (xb, yb) in enumerate(self.train_loader):
            xb = xb.to(dev, non_blocking=True)
            yb = yb.to(dev, non_blocking=True)
            g0 = (i // accumulate) * group
            share = len(xb) / min(group, n_train - g0)
            with self.autocast():
                out = model(xb)
            loss = self.loss_fn(out.float(), yb)
            total = loss * share
            if self.l1:
                total = total + (self.l1 * share) * sum(p.abs().sum() for p in self.l1_params)
            scaler.scale(total).backward()
            loss_sum += loss.detach().to(loss_sum.dtype) * len(xb)
            state.samples += len(xb)
            if (i + 1) % accumulate == 0 or i + 1 == self.n_batches:
                scaler.step(opt)
                scaler.update()
                opt.zero_grad(set_to_none=True)
                if self.sched is not None:
                    self.sched.step_batch()
        return loss_sum

    def epoch_row(self, state: TrainState, epoch: int) -> dict[str, Any]:
        """Train epoch ``epoch``, evaluate, and return its history row."""
        for cb in self.cbs:
            _call(cb, "on_epoch_begin", state)
        epoch_lr = float(self.opt.param_groups[0]["lr"])
        self.model.train()
        self.monitor.start()
        loss_sum = self.train_batches(state)
        timing = self.monitor.stop(state.samples)
        train_loss = float(loss_sum) / max(state.samples, 1)
        if self.val_loader is not None:
            val_loss, val_acc = _evaluate(self.model, self.val_loader, self.loss_fn, self.dev,
                                          self.autocast)
        else:
            val_loss, val_acc = math.nan, math.nan
        return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                "val_accuracy": val_acc, "lr": epoch_lr,
                **{k: float(timing[k]) for k in TIMING_COLUMNS}}

    def end_epoch(self, state: TrainState, epoch: int, val_loss: float) -> None:
        """Step the schedule, then the callbacks (checkpointers last)."""
        if self.sched is not None:
            self.sched.step_epoch(epoch, val_loss)
        for cb in self.cbs:
            if isinstance(cb, Checkpointer):
                continue
            if _call(cb, "on_epoch_end", state):
                state.stop = True
                state.stop_reason = state.stop_reason or (
                    f"stopped by callback {type(cb).__name__} after epoch {epoch}")
        for cb in self.cbs:
            if isinstance(cb, Checkpointer):
                cb.on_epoch_end(state)

    def run(self, state: TrainState, start_epoch: int, epochs: int, bar: Any) -> None:
        """Epochs ``start_epoch + 1 .. epochs``, until a callback or a NaN loss stops them."""
        for epoch in range(start_epoch + 1, epochs + 1):
            if state.stop:
                break
            state.epoch, state.samples, state.metrics = epoch, 0, {}
            row = self.epoch_row(state, epoch)
            train_loss, val_loss = row["train_loss"], row["val_loss"]
            state.metrics = row
            state.history.append(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(train_loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}",
                                val_acc=f"{row['val_accuracy']:.3f}")
            if not math.isfinite(train_loss):
                state.stop = True
                state.stop_reason = (
                    f"non-finite training loss ({train_loss}) in epoch {epoch}: training "
                    f"stopped; try a lower lr, fp32 precision or a smaller l1")
                warnings.warn(state.stop_reason, RuntimeWarning, stacklevel=4)  # fit's caller
                break
            self.end_epoch(state, epoch, val_loss)
