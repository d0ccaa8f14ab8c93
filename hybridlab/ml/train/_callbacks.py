"""The callback protocol of :func:`hybridlab.ml.train.fit`: :class:`TrainState`, the helpers
that call callbacks, and the :class:`EarlyStopping` callback.

Callback protocol
-----------------
A callback is any object with some of these methods (all optional); each receives the
:class:`TrainState` of the run:

* ``on_train_begin(state)`` -- before the first epoch (also when resuming);
* ``on_epoch_begin(state)`` -- before each epoch's first batch;
* ``on_epoch_end(state) -> bool | None`` -- after the epoch's validation, scheduler step and
  history row (``state.metrics``); return True to stop training (set ``state.stop_reason``
  to say why);
* ``on_train_end(state)`` -- after the last epoch, also when stopped early;
* ``state_dict() -> dict`` / ``load_state_dict(dict)`` -- saved in and restored from
  checkpoints (tensors, numbers, strings, lists and dicts only).

A plain function ``f(state) -> bool | None`` is used as ``on_epoch_end``. Checkpointers
always run after the other callbacks, so that what they save is up to date.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._history import HISTORY_COLUMNS

__all__ = ["EarlyStopping", "TrainState"]


@dataclass
class TrainState:
    """What callbacks see. Fields are live objects of the run (mutate with care).

    ``epoch`` is the current epoch (1-based; the last completed one in ``on_epoch_end``),
    ``metrics`` the current epoch's history row (filled in before ``on_epoch_end``),
    ``history`` the rows so far (the current one included at ``on_epoch_end``),
    ``samples`` the number of training samples seen in the current epoch, ``stop`` and
    ``stop_reason`` whether and why the run ends after this epoch. :meth:`snapshot`
    returns everything a checkpoint needs.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    device: torch.device
    epochs: int
    epoch: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    samples: int = 0
    stop: bool = False
    stop_reason: str | None = None
    snapshot: Callable[[], dict[str, Any]] = field(default=lambda: {}, repr=False)


def _call(cb: Any, hook: str, state: TrainState) -> Any:
    if callable(cb) and not hasattr(cb, "on_epoch_end") and hook == "on_epoch_end":
        return cb(state)
    method = getattr(cb, hook, None)
    return method(state) if method is not None else None


def _cb_keys(cbs: Sequence[Any]) -> list[str]:
    """Checkpoint keys of callbacks: class name and rank among callbacks of that class."""
    seen: dict[str, int] = {}
    keys = []
    for cb in cbs:
        name = type(cb).__name__
        keys.append(f"{name}:{seen.get(name, 0)}")
        seen[name] = seen.get(name, 0) + 1
    return keys


def _mode_for(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if "acc" in monitor else "min"


def _improved(value: float, best: float, mode: str, min_delta: float) -> bool:
    if not math.isfinite(value):
        return False
    return value < best - min_delta if mode == "min" else value > best + min_delta


class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; optionally put the best epoch's weights back.

    ``mode="auto"`` maximises metrics whose name contains "acc" and minimises the rest.
    The best weights are kept (on CPU) after every improvement; with ``restore_best`` they
    are loaded back into the model when training ends -- stopped early, run to the end, or
    stopped by a NaN loss -- unless the last epoch was the best. After the run,
    ``best_epoch``, ``best`` and ``stopped_epoch`` (None when it did not trigger) tell what
    happened; :class:`History` repeats them.

    Parameters
    ----------
    patience : int, default 5
        Epochs without improvement before stopping (>= 1).
    min_delta : float, default 0.0
        Smallest change that counts as an improvement.
    monitor : str, default "val_loss"
        A history column: "val_loss", "val_accuracy" or "train_loss".
    restore_best : bool, default True
        Load the best epoch's weights into the model at the end.
    mode : {"auto", "min", "max"}, default "auto"

    Example
    -------
    >>> es = EarlyStopping(patience=2)
    >>> class S:  # a stand-in for TrainState
    ...     def __init__(self, epoch, loss):
    ...         self.epoch, self.metrics, self.model, self.stop_reason = (
    ...             epoch, {"val_loss": loss}, torch.nn.Linear(1, 1), None)
    >>> [es.on_epoch_end(S(e, v)) for e, v in enumerate([1.0, 0.5, 0.6, 0.7], 1)]
    [False, False, False, True]
    >>> es.best_epoch, es.stopped_epoch
    (2, 4)
    """

    def __init__(
        self,
        patience: int = 5,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        restore_best: bool = True,
        mode: str = "auto",
    ) -> None:
        if not isinstance(patience, int | np.integer) or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.patience, self.min_delta, self.monitor = int(patience), float(min_delta), monitor
        self.restore_best = restore_best
        self.mode = _mode_for(monitor, mode)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.restored = False
        self._best_state: dict[str, torch.Tensor] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self._reset()

    def on_epoch_end(self, state: TrainState) -> bool:
        if self.monitor not in state.metrics:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which is not a history "
                             f"column; use one of {list(HISTORY_COLUMNS[1:5])}")
        value = float(state.metrics[self.monitor])
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:
                self._best_state = {k: v.detach().to("cpu", copy=True)
                                    for k, v in state.model.state_dict().items()}
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            best = "none yet" if self.best_epoch is None else (
                f"best {self.best:.4g} at epoch {self.best_epoch}")
            state.stop_reason = (
                f"early stopping: {self.monitor} did not improve by more than "
                f"{self.min_delta:g} for {self.patience} epochs ({best})")
            return True
        return False

    def on_train_end(self, state: TrainState) -> None:
        if (self.restore_best and self._best_state is not None
                and self.best_epoch != state.epoch):
            state.model.load_state_dict(self._best_state)
            self.restored = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_state": self._best_state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]
        self.wait, self.stopped_epoch = int(state["wait"]), state["stopped_epoch"]
        self._best_state = state["best_state"]
