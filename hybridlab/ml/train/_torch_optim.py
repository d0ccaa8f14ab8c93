"""Optimizers and learning-rate schedules of :func:`hybridlab.ml.train.fit`, by name:
:data:`OPTIMIZERS`, :data:`SCHEDULERS` (with warm-up) and the builders behind them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import lr_scheduler as lrs

__all__ = ["OPTIMIZERS", "SCHEDULERS"]

#: Optimizer names accepted by :func:`fit` (a callable ``params -> Optimizer`` also works).
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
#: Scheduler names accepted by :func:`fit` (a callable ``optimizer -> scheduler`` also works).
SCHEDULERS = ("step", "cosine", "onecycle", "plateau")


def _make_optimizer(
    spec: str | Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
    params: list[nn.Parameter], *, lr: float, weight_decay: float, momentum: float,
    nesterov: bool,
) -> torch.optim.Optimizer:
    if callable(spec):
        opt = spec(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise ValueError(f"optimizer callable must return a torch.optim.Optimizer, got "
                             f"{type(opt).__name__}")
        return opt
    if not isinstance(spec, str) or spec.lower() not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {spec!r}; use one of {list(OPTIMIZERS)} or a "
                         f"callable params -> torch.optim.Optimizer")
    name = spec.lower()
    if name == "nesterov":
        name, nesterov = "sgd", True
    elif name == "momentum":
        name = "sgd"
    if nesterov and name != "sgd":
        raise ValueError(f"nesterov=True applies to optimizer='sgd' only, not {spec!r}")
    if nesterov and momentum <= 0:
        raise ValueError("nesterov=True needs momentum > 0 (e.g. momentum=0.9)")
    if spec.lower() == "momentum" and momentum <= 0:
        raise ValueError("optimizer='momentum' needs momentum > 0; use optimizer='sgd' with "
                         "momentum=0 for plain SGD")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov,
                               weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)


class _Schedule:
    """A torch scheduler plus when to step it (per optimizer step or per epoch)."""

    def __init__(self, main: Any, *, name: str, per_batch: bool = False,
                 needs_metric: bool = False, warmup: lrs.LinearLR | None = None,
                 warmup_epochs: int = 0) -> None:
        self.main, self.name, self.per_batch = main, name, per_batch
        self.needs_metric, self.warmup, self.warmup_epochs = needs_metric, warmup, warmup_epochs

    def step_batch(self) -> None:
        if self.per_batch:
            self.main.step()

    def step_epoch(self, epoch: int, val_loss: float) -> None:
        if self.per_batch:
            return
        if self.warmup is not None and epoch <= self.warmup_epochs:
            self.warmup.step()  # plateau with warm-up: LinearLR first, then the metric
        elif self.needs_metric:
            self.main.step(val_loss)
        else:
            self.main.step()

    def state_dict(self) -> dict[str, Any]:
        return {"main": self.main.state_dict(),
                "warmup": self.warmup.state_dict() if self.warmup is not None else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.main.load_state_dict(state["main"])
        if self.warmup is not None and state.get("warmup") is not None:
            self.warmup.load_state_dict(state["warmup"])


def _make_scheduler(
    spec: Any, optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int,
    lr: float, has_val: bool,
) -> _Schedule | None:
    if spec is None:
        return None
    if callable(spec) and not isinstance(spec, str | Mapping):
        sched = spec(optimizer)
        if not isinstance(sched, lrs.LRScheduler | lrs.ReduceLROnPlateau):
            raise ValueError(f"scheduler callable must return a torch.optim.lr_scheduler "
                             f"scheduler, got {type(sched).__name__}")
        plateau = isinstance(sched, lrs.ReduceLROnPlateau)
        if plateau and not has_val:
            raise ValueError("a ReduceLROnPlateau scheduler steps on val_loss: pass val=")
        return _Schedule(sched, name=type(sched).__name__, needs_metric=plateau,
                         per_batch=isinstance(sched, lrs.OneCycleLR | lrs.CyclicLR))
    if isinstance(spec, str):
        options: dict[str, Any] = {"name": spec}
    elif isinstance(spec, Mapping):
        options = dict(spec)
    else:
        raise ValueError(f"scheduler must be None, a name in {list(SCHEDULERS)}, a dict "
                         f"like {{'name': 'cosine', 'warmup_epochs': 2}} or a callable "
                         f"optimizer -> scheduler; got {type(spec).__name__}")
    name = str(options.pop("name", "")).lower()
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {name!r}; use one of {list(SCHEDULERS)}, e.g. "
                         f"scheduler={{'name': 'cosine', 'warmup_epochs': 2}}")
    warmup_epochs = options.pop("warmup_epochs", 0)
    if not isinstance(warmup_epochs, int | np.integer) or warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be an int >= 0, got {warmup_epochs!r}")
    warmup_epochs = int(warmup_epochs)
    if warmup_epochs and warmup_epochs >= epochs:
        raise ValueError(f"warmup_epochs={warmup_epochs} leaves no epoch after the warm-up "
                         f"(epochs={epochs}); use fewer warm-up epochs")
    if name == "onecycle" and warmup_epochs:
        raise ValueError("'onecycle' has its own warm-up; set its length with pct_start "
                         "(e.g. {'name': 'onecycle', 'pct_start': 0.3}), not warmup_epochs")
    if name == "plateau" and not has_val:
        raise ValueError("scheduler 'plateau' steps on val_loss: pass val= (or use 'step', "
                         "'cosine', 'onecycle')")
    rest = epochs - warmup_epochs
    try:
        if name == "step":
            options.setdefault("step_size", max(1, rest // 3))
            options.setdefault("gamma", 0.1)
            main: Any = lrs.StepLR(optimizer, **options)
        elif name == "cosine":
            options.setdefault("T_max", rest)
            main = lrs.CosineAnnealingLR(optimizer, **options)
        elif name == "onecycle":
            options.setdefault("max_lr", lr)
            options.setdefault("total_steps", epochs * steps_per_epoch)
            # cycling momentum would give plain SGD (momentum=0) momentum, and fails for
            # optimizers without momentum or betas (Adagrad): only cycle an existing one
            d = optimizer.defaults
            options.setdefault("cycle_momentum", "betas" in d or d.get("momentum", 0) > 0)
            main = lrs.OneCycleLR(optimizer, **options)
            return _Schedule(main, name=name, per_batch=True)
        else:
            options.setdefault("factor", 0.5)
            options.setdefault("patience", 2)
            main = lrs.ReduceLROnPlateau(optimizer, mode="min", **options)
    except TypeError as exc:
        raise ValueError(f"bad options for scheduler {name!r}: {exc}") from exc
    if not warmup_epochs:
        return _Schedule(main, name=name, needs_metric=name == "plateau")
    # epoch i <= warmup_epochs trains with lr * i / (warmup_epochs + 1); then the main
    # schedule starts from the full lr
    warm = lrs.LinearLR(optimizer, start_factor=1.0 / (warmup_epochs + 1), end_factor=1.0,
                        total_iters=warmup_epochs)
    if name == "plateau":  # SequentialLR cannot pass the metric on
        return _Schedule(main, name=name, needs_metric=True, warmup=warm,
                         warmup_epochs=warmup_epochs)
    seq = lrs.SequentialLR(optimizer, [warm, main], milestones=[warmup_epochs])
    return _Schedule(seq, name=name)
