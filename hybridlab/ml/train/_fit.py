""":func:`fit`: train a torch model in place and return its per-epoch :class:`History`.

The setup (arguments, callbacks, optimizer, schedule, loaders, resumption) is here; the
epoch loop is :class:`~hybridlab.ml.train._loop._Loop`.

Determinism and resumption
--------------------------
``fit`` seeds torch's CPU generator (and the CUDA generator of the training device) with
``seed`` inside :func:`torch.random.fork_rng`, so the caller's global RNG is left as it was;
batches are shuffled by a dedicated ``torch.Generator`` seeded with ``seed``. The model's
initial weights are the caller's business (seed before building it). On CPU the same seed
gives bit-identical weights and history. A checkpoint holds the model, optimizer,
scheduler, GradScaler, the history so far, the torch and data-order RNG states and the
callbacks' states, so a run interrupted after epoch k and resumed with
``fit(..., resume=path)`` (same arguments) ends with exactly the weights and history of an
uninterrupted run (timing columns aside). CUDA kernels are not all deterministic; call
``torch.use_deterministic_algorithms(True)`` for bit-identical GPU runs.

Example
-------
>>> import torch
>>> from hybridlab.ml.train import EarlyStopping, SmallCNN, digits_data, fit
>>> train, val, test = digits_data(seed=0)
>>> _ = torch.manual_seed(0)
>>> model = SmallCNN()
>>> history = fit(model, train, val, optimizer="adam", lr=3e-3, epochs=3,
...               scheduler={"name": "cosine", "warmup_epochs": 1},
...               early_stopping=EarlyStopping(patience=2), seed=0)
>>> list(history.columns)  # doctest: +NORMALIZE_WHITESPACE
['epoch', 'train_loss', 'val_loss', 'val_accuracy', 'lr', 'seconds', 'samples_per_s',
 'peak_memory_mb']
>>> bool(history.val_accuracy.iloc[-1] > 0.6)
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ._callbacks import EarlyStopping, TrainState, _call
from ._checkpoints import _CHECKPOINT_FORMAT, Checkpointer, _restore, _snapshot, load_checkpoint
from ._device import PRECISIONS, _autocast, _deterministic, _resolve_device, _resolve_precision
from ._history import HISTORY_COLUMNS, History
from ._loaders import Data, as_dataset, make_loader
from ._loop import _Loop
from ._losses import make_loss
from ._monitor import Monitor
from ._torch_optim import _make_optimizer, _make_scheduler

__all__ = ["fit"]


def fit(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    *,
    optimizer: str | Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] = "adam",
    lr: float = 1e-3,
    epochs: int = 10,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
    l1: float = 0.0,
    scheduler: str | Mapping[str, Any] | Callable[..., Any] | None = None,
    accumulate: int = 1,
    early_stopping: EarlyStopping | int | None = None,
    checkpoint: Checkpointer | str | os.PathLike | None = None,
    precision: str = "fp32",
    device: str | torch.device = "auto",
    seed: int = 0,
    callbacks: Sequence[Any] = (),
    progress: bool = False,
    resume: str | os.PathLike | None = None,
    loss_fn: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    deterministic: bool = False,
) -> History:
    """Train ``model`` in place; return its per-epoch :class:`History`.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place (moved to ``device``); left in eval mode at the end.
    train, val : Dataset or (X, y)
        Training and (optional) validation data: a map-style Dataset of ``(x, y)`` pairs or
        a pair of tensors/arrays. Batches of ``train`` are reshuffled every epoch by a
        ``torch.Generator`` seeded with ``seed``.
    optimizer : str or callable, default "adam"
        "sgd" (with ``momentum``; ``momentum=0`` is plain SGD), "momentum" (SGD with
        momentum), "nesterov" (SGD with Nesterov momentum, same as ``nesterov=True``),
        "adam", "adamw", "rmsprop" (uses ``momentum``), "adagrad", or a callable
        ``params -> torch.optim.Optimizer`` (``lr``, ``weight_decay``, ``momentum`` are then
        up to it).
    lr : float, default 1e-3
        Learning rate (the peak one of "onecycle").
    epochs : int, default 10
        Total number of epochs, counting the ones before a resumed checkpoint.
    batch_size : int, default 64
        Samples per forward/backward pass.
    weight_decay : float, default 0.0
        L2 regularisation through the optimizer: added to the gradient for SGD, Adam,
        RMSprop and Adagrad; decoupled from it ("weight decay" proper) for AdamW.
    momentum : float, default 0.9
        Momentum of "sgd", "momentum", "nesterov" and "rmsprop".
    nesterov : bool, default False
        Nesterov momentum for "sgd".
    l1 : float, default 0.0
        L1 penalty ``l1 * sum(|w|)`` added to the loss, over weights only (parameters with
        two or more dimensions; biases and other vectors are left out).
    scheduler : str, dict, callable or None
        Learning-rate schedule from ``torch.optim.lr_scheduler``:

        * ``"step"`` -- StepLR (``step_size`` default ``max(1, epochs // 3)``, ``gamma``
          0.1), steps per epoch;
        * ``"cosine"`` -- CosineAnnealingLR (``T_max`` = epochs after warm-up,
          ``eta_min`` 0), per epoch;
        * ``"onecycle"`` -- OneCycleLR (``max_lr=lr``, ``total_steps`` = all optimizer
          steps; momentum or Adam's beta1 is cycled only when the optimizer has a non-zero
          one), steps **per optimizer step** (per batch group), has its own warm-up
          (``pct_start``);
        * ``"plateau"`` -- ReduceLROnPlateau on ``val_loss`` (``factor`` 0.5, ``patience``
          2), per epoch; needs ``val``.

        A dict ``{"name": ..., "warmup_epochs": w, **options}`` passes options to the torch
        class and adds a linear warm-up (LinearLR in a SequentialLR): epoch i <= w trains
        with ``lr * i / (w + 1)``, the main schedule starts at epoch w + 1 with the full lr.
        A callable ``optimizer -> scheduler`` is stepped per epoch, except OneCycleLR and
        CyclicLR (per optimizer step); ReduceLROnPlateau gets ``val_loss``.
    accumulate : int, default 1
        Gradient accumulation: one optimizer step per ``accumulate`` batches, so the
        effective batch is ``batch_size * accumulate``. Each batch's mean loss is weighted
        by its share of the group's samples (``1/accumulate`` for full batches), so a group
        equals one batch of ``batch_size * accumulate`` samples; the last, incomplete group
        of an epoch still steps.
    early_stopping : EarlyStopping, int or None
        An :class:`EarlyStopping` callback, or its ``patience``.
    checkpoint : Checkpointer, path or None
        A :class:`Checkpointer`, or a folder for ``Checkpointer(folder)``.
    precision : {"fp32", "bf16", "fp16"}, default "fp32"
        "bf16": forward passes under ``torch.autocast(device_type, dtype=torch.bfloat16)``
        (works on CPU; on CUDA needs a GPU with bf16). "fp16": autocast float16 with a
        ``torch.amp.GradScaler`` on CUDA; **elsewhere it falls back to bf16 with a
        warning** (CPU float16 autocast is slow and needs loss scaling that the CPU build
        does not need for bf16). Losses are always computed in float32; weights and
        optimizer state stay float32.
    device : str or torch.device, default "auto"
        "auto" picks cuda if available, else mps, else cpu. A "cuda" or "mps" device that
        is not available falls back to cpu with a warning (so GPU notebooks run on CPU).
    seed : int, default 0
        Seeds the batch order and torch's RNG (dropout) for this run.
    callbacks : sequence
        Callback objects or functions (see :mod:`hybridlab.ml.train` for the
        protocol).
    progress : bool, default False
        Show a ``tqdm.auto`` progress bar over epochs.
    resume : path or None
        A checkpoint file, or a folder (its newest ``epoch-XXXX.pt``), to continue from.
        Pass the same arguments as the interrupted run: the result then equals an
        uninterrupted run. The saved schedule continues as saved (a cosine schedule saved
        with ``epochs=2`` keeps ``T_max=2``). A checkpoint of a run that had stopped
        (early stopping, NaN) trains no further.
    loss_fn : str or callable, default ``torch.nn.functional.cross_entropy``
        ``loss_fn(outputs, targets)`` returning the mean loss of a batch, or a loss name
        for :func:`make_loss` with its default parameters ("cross_entropy", "focal",
        "label_smoothing", "mse", "mae", "huber", "quantile", ...). ``val_accuracy`` is
        computed when outputs are 2-D and targets are integers (NaN otherwise, e.g. for
        regression: float targets and one output, with "mse", "huber", ...).
    deterministic : bool, default False
        Use only deterministic kernels (``torch.use_deterministic_algorithms``, cuDNN
        deterministic) during the run.  On the CPU training is deterministic anyway; on a
        GPU, a resumed run equals an uninterrupted one (and two runs with the same seed
        agree bit for bit) only with ``deterministic=True``, at some cost in speed.

    Returns
    -------
    History
        One row per epoch (:data:`HISTORY_COLUMNS`) and how the run ended.

    Notes
    -----
    *NaN losses:* the training loss is checked once per epoch (to avoid a device sync per
    batch). If it is not finite, that epoch's row is recorded (with NaN losses), the run
    stops, ``History.stop_reason`` says so (and a ``RuntimeWarning`` is issued), no
    checkpoint is written for that epoch and callbacks' ``on_epoch_end`` is skipped;
    ``on_train_end`` still runs, so :class:`EarlyStopping` restores the best weights when
    ``restore_best``. Without it the model keeps the non-finite weights.

    *Bad arguments* raise ``ValueError`` naming the fix.

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN, digits_data
    >>> train, val, _ = digits_data()
    >>> _ = torch.manual_seed(0)
    >>> h = fit(SmallCNN(), train, val, optimizer="sgd", lr=0.05, epochs=2, accumulate=2)
    >>> h.epoch.tolist(), h.stopped_early
    ([1, 2], False)
    """
    epochs, batch_size, accumulate, seed = _checked_ints(epochs, batch_size, accumulate, seed)
    lr, weight_decay, momentum, l1 = _checked_rates(lr, weight_decay, momentum, l1)
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {list(PRECISIONS)}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(loss_fn, str):
        loss_fn = make_loss(loss_fn)
    dev = _resolve_device(device)
    train_ds = as_dataset(train, "train")
    val_ds = as_dataset(val, "val") if val is not None else None
    n_train = len(train_ds)  # type: ignore[arg-type]
    if n_train == 0:
        raise ValueError("train is empty")
    used_precision, amp_dtype = _resolve_precision(precision, dev)
    cbs, early = _callback_list(callbacks, early_stopping, checkpoint, val_ds is not None)
    ckpt = _load_resume(resume)

    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr=lr, weight_decay=weight_decay,
                          momentum=momentum, nesterov=nesterov)
    n_batches = math.ceil(n_train / batch_size)
    sched = _make_scheduler(scheduler, opt, epochs=epochs,
                            steps_per_epoch=math.ceil(n_batches / accumulate), lr=lr,
                            has_val=val_ds is not None)
    scaler = torch.amp.GradScaler("cuda" if dev.type == "cuda" else "cpu",
                                  enabled=used_precision == "fp16")
    data_gen = torch.Generator()
    data_gen.manual_seed(seed)
    loop = _Loop(
        model=model, opt=opt, sched=sched, scaler=scaler,
        loss_fn=loss_fn or nn.functional.cross_entropy, dev=dev,
        autocast=_autocast(dev, amp_dtype), l1=l1, l1_params=[p for p in params if p.ndim >= 2],
        batch_size=batch_size, accumulate=accumulate, n_train=n_train, n_batches=n_batches,
        train_loader=make_loader(train_ds, batch_size, shuffle=True, generator=data_gen,
                                 device=dev),
        val_loader=(make_loader(val_ds, max(batch_size, 256), shuffle=False, generator=None,
                                device=dev) if val_ds is not None else None),
        cbs=cbs, monitor=Monitor(dev))
    config = _run_config(seed=seed, batch_size=batch_size, accumulate=accumulate,
                         epochs=epochs, lr=lr, precision=used_precision, n_train=n_train,
                         optimizer=optimizer, scheduler=scheduler)
    state = TrainState(model=model, optimizer=opt, scheduler=sched.main if sched else None,
                       scaler=scaler, device=dev, epochs=epochs)
    cuda_devices = [dev.index] if dev.type == "cuda" else []
    start_epoch, resumed_from = 0, None

    def snapshot() -> dict[str, Any]:
        return _snapshot(state, sched, data_gen, cbs, cuda_devices, config)

    state.snapshot = snapshot

    with torch.random.fork_rng(devices=cuda_devices), _deterministic(deterministic):
        torch.default_generator.manual_seed(seed)
        for d in cuda_devices:
            with torch.cuda.device(d):
                torch.cuda.manual_seed(seed)
        for cb in cbs:
            _call(cb, "on_train_begin", state)
        if ckpt is not None:
            start_epoch = resumed_from = int(ckpt["epoch"])
            _restore(ckpt, state, sched, data_gen, cbs, cuda_devices, config)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=epochs, initial=start_epoch, desc="fit", unit="epoch")
        try:
            loop.run(state, start_epoch, epochs, bar)
        finally:
            if bar is not None:
                bar.close()
        for cb in cbs:
            _call(cb, "on_train_end", state)
    model.eval()
    return _history(state, early, precision=used_precision, device=str(dev),
                    resumed_from=resumed_from)


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


def _checked_ints(epochs: Any, batch_size: Any, accumulate: Any,
                  seed: Any) -> tuple[int, int, int, int]:
    return (_check_int("epochs", epochs, 1), _check_int("batch_size", batch_size, 1),
            _check_int("accumulate", accumulate, 1), _check_int("seed", seed, 0))


def _checked_rates(lr: Any, weight_decay: Any, momentum: Any,
                   l1: Any) -> tuple[float, float, float, float]:
    return (_check_nonneg("lr", lr, positive=True), _check_nonneg("weight_decay", weight_decay),
            _check_nonneg("momentum", momentum), _check_nonneg("l1", l1))


def _callback_list(
    callbacks: Sequence[Any], early_stopping: EarlyStopping | int | None,
    checkpoint: Checkpointer | str | os.PathLike | None, has_val: bool,
) -> tuple[list[Any], EarlyStopping | None]:
    """The run's callbacks (checkpointers last) and its :class:`EarlyStopping`, if any."""
    cbs = list(callbacks)
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            early_stopping = EarlyStopping(patience=early_stopping)
        cbs.append(early_stopping)
    if checkpoint is not None:
        cbs.append(checkpoint if isinstance(checkpoint, Checkpointer) else
                   Checkpointer(checkpoint))
    cbs = ([c for c in cbs if not isinstance(c, Checkpointer)]
           + [c for c in cbs if isinstance(c, Checkpointer)])  # checkpointers run last
    for cb in cbs:
        if isinstance(cb, EarlyStopping) and cb.monitor.startswith("val_") and not has_val:
            raise ValueError(f"{type(cb).__name__} monitors {cb.monitor!r} but no val data "
                             f"was given: pass val= or monitor='train_loss'")
    return cbs, next((c for c in cbs if isinstance(c, EarlyStopping)), None)


def _load_resume(resume: str | os.PathLike | None) -> dict[str, Any] | None:
    if resume is None:
        return None
    ckpt = load_checkpoint(resume)
    if ckpt.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{resume}: not a hybridlab.ml.train checkpoint (format "
                         f"{ckpt.get('format')!r})")
    return ckpt


def _run_config(*, optimizer: Any, scheduler: Any, **values: Any) -> dict[str, Any]:
    """What a checkpoint records of the run's arguments (checked on resume)."""
    config = {**values,
              "optimizer": optimizer if isinstance(optimizer, str) else "callable",
              "scheduler": scheduler if isinstance(scheduler, str | None) else
              (dict(scheduler) if isinstance(scheduler, Mapping) else "callable")}
    if isinstance(config["scheduler"], dict):
        config["scheduler"] = {k: v for k, v in config["scheduler"].items()
                               if isinstance(v, int | float | str | bool)}
    return config


def _history(state: TrainState, early: EarlyStopping | None, *, precision: str, device: str,
             resumed_from: int | None) -> History:
    frame = pd.DataFrame(state.history, columns=list(HISTORY_COLUMNS))
    frame["epoch"] = frame["epoch"].astype("int64")
    if early is not None:
        best_epoch = early.best_epoch
    elif frame["val_loss"].notna().any():
        best_epoch = int(frame.loc[frame["val_loss"].idxmin(), "epoch"])
    else:
        best_epoch = None
    last = int(frame["epoch"].iloc[-1]) if len(frame) else None
    return History(
        frame,
        stopped_early=bool(state.stop),
        stop_epoch=last,
        stop_reason=state.stop_reason,
        best_epoch=best_epoch,
        restored_best=bool(early is not None and early.restored),
        precision=precision,
        device=device,
        resumed_from=resumed_from,
    )
