"""Checkpoints of :func:`hybridlab.ml.train.fit`: the :class:`Checkpointer` callback that
writes them, :func:`latest_checkpoint` and :func:`load_checkpoint` that read them, and
the save/restore of a run's state for ``fit(..., resume=...)``."""

from __future__ import annotations

import math
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hybridlab.io import atomic_write

from ._callbacks import TrainState, _cb_keys, _improved, _mode_for
from ._torch_optim import _Schedule

__all__ = ["CheckpointError", "Checkpointer", "latest_checkpoint", "load_checkpoint"]

_CHECKPOINT_FORMAT = 1
_EPOCH_FILE = re.compile(r"^epoch-(\d+)\.pt$")


class CheckpointError(OSError):
    """A checkpoint file is damaged, truncated or empty (its zip checksums do not match);
    the message names the file and why."""


class Checkpointer:
    """Write checkpoints atomically: ``epoch-XXXX.pt`` every ``every`` epochs and ``best.pt``.

    Each file is written to a temporary file in ``directory`` and renamed over the target
    (:func:`hybridlab.io.atomic_write`), so a crash while writing leaves the previous file
    intact and no temporary file behind. The last epoch of a run is always written, whatever
    ``every``; only the newest ``keep_last`` epoch files are kept (None keeps all).
    ``best.pt`` is rewritten whenever ``monitor`` improves (same mode rule as
    :class:`EarlyStopping`; never while it is NaN, e.g. ``val_loss`` without val data).

    A checkpoint is a dict of tensors, numbers, strings, lists and dicts only, loadable with
    ``torch.load(path, weights_only=True)`` (:func:`load_checkpoint`): ``model``,
    ``optimizer``, ``scheduler``, ``scaler`` (state dicts), ``epoch``, ``history`` (list of
    row dicts), ``rng`` (``torch``, ``cuda`` and ``data`` generator states), ``callbacks``
    (their ``state_dict()`` s, e.g. early stopping), ``stopped``, ``stop_reason`` and
    ``config`` (the arguments that shape the run). Pass the file or the folder to
    ``fit(..., resume=...)`` to continue.

    Parameters
    ----------
    directory : str or Path
        Folder for the files (created when needed).
    every : int, default 1
        Write ``epoch-XXXX.pt`` every ``every`` epochs.
    keep_last : int or None, default 3
        How many epoch files to keep.
    save_best : bool, default True
        Also write ``best.pt`` when ``monitor`` improves.
    monitor : str, default "val_loss"
        The history column that defines "best".

    Example
    -------
    >>> import tempfile, torch
    >>> from hybridlab.ml.train import SmallCNN, digits_data
    >>> from hybridlab.ml.train import fit
    >>> train, val, _ = digits_data()
    >>> folder = tempfile.mkdtemp()
    >>> _ = torch.manual_seed(0)
    >>> h = fit(SmallCNN(), train, val, epochs=3, checkpoint=Checkpointer(folder, keep_last=2))
    >>> sorted(p.name for p in Path(folder).iterdir())
    ['best.pt', 'epoch-0002.pt', 'epoch-0003.pt']
    >>> load_checkpoint(latest_checkpoint(folder))["epoch"]
    3
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        every: int = 1,
        keep_last: int | None = 3,
        save_best: bool = True,
        monitor: str = "val_loss",
        mode: str = "auto",
    ) -> None:
        if not isinstance(every, int | np.integer) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        if keep_last is not None and (not isinstance(keep_last, int | np.integer)
                                      or keep_last < 1):
            raise ValueError(f"keep_last must be an int >= 1 or None (keep all), got "
                             f"{keep_last!r}")
        self.directory = Path(directory)
        self.every, self.keep_last, self.save_best = int(every), keep_last, save_best
        self.monitor, self.mode = monitor, _mode_for(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.written: list[Path] = []

    def on_train_begin(self, state: TrainState) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        if self.directory.is_dir():  # left by a run killed while it wrote a checkpoint
            for tmp in self.directory.glob(".tmp-*.pt"):
                tmp.unlink(missing_ok=True)

    def on_epoch_end(self, state: TrainState) -> bool:
        value = float(state.metrics.get(self.monitor, math.nan))
        improved = self.save_best and _improved(value, self.best, self.mode, 0.0)
        if improved:
            self.best, self.best_epoch = value, state.epoch
        last = state.stop or state.epoch >= state.epochs
        if not (improved or last or state.epoch % self.every == 0):
            return False
        payload = state.snapshot()  # after the update above: holds this callback's state
        if last or state.epoch % self.every == 0:
            self.save(self.directory / f"epoch-{state.epoch:04d}.pt", payload)
            self._prune()
        if improved:
            self.save(self.directory / "best.pt", payload)
        return False

    def save(self, path: str | os.PathLike, payload: Mapping[str, Any]) -> None:
        """Write ``payload`` to ``path`` atomically (temporary file, then ``os.replace``)."""
        atomic_write(path, lambda tmp: torch.save(payload, tmp))
        self.written.append(Path(path))

    def _prune(self) -> None:
        if self.keep_last is None:
            return
        for path in _epoch_files(self.directory)[: -self.keep_last]:
            path.unlink(missing_ok=True)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]


def _epoch_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := _EPOCH_FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The newest intact ``epoch-XXXX.pt`` in ``directory`` (highest epoch), or None.

    A newer file that is damaged, truncated or empty (its zip checksums do not match) is
    skipped with a warning that names it and says why.

    Example
    -------
    >>> import tempfile
    >>> latest_checkpoint(tempfile.mkdtemp()) is None
    True
    """
    for path in reversed(_epoch_files(Path(directory))):
        problem = _damage(path)
        if problem is None:
            return path
        warnings.warn(f"skipped checkpoint {path}: {problem}; resuming from an older one",
                      RuntimeWarning, stacklevel=2)
    return None


def _damage(path: Path) -> str | None:
    """Why ``path`` is not an intact ``torch.save`` file (None: it is).  Every member's
    CRC-32 is checked, so damage anywhere is found, not only in the header."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except Exception as exc:  # BadZipFile, EOFError, OSError, a garbled name...
        size = path.stat().st_size if path.exists() else 0
        return f"not a complete checkpoint ({size} bytes: {exc})"
    return None if bad is None else f"damaged (the checksum of {bad} does not match)"


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :class:`Checkpointer` with ``weights_only=True``.

    ``path`` may be a file or a folder (its newest intact epoch file, see
    :func:`latest_checkpoint`).  A damaged, truncated or empty file raises
    :class:`CheckpointError` naming it.

    Example
    -------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "c.pt"
    >>> torch.save({"epoch": 1, "w": torch.ones(2)}, p)
    >>> load_checkpoint(p)["epoch"]
    1
    """
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no intact epoch-XXXX.pt checkpoint in {path}")
        path = found
    problem = _damage(path)
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} is {problem}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} could not be loaded: {exc}") from exc


def _snapshot(
    state: TrainState, sched: _Schedule | None, data_gen: torch.Generator, cbs: list[Any],
    cuda_devices: list[int], config: Mapping[str, Any],
) -> dict[str, Any]:
    """Everything a checkpoint holds, as of now (what ``state.snapshot()`` returns)."""
    return {
        "format": _CHECKPOINT_FORMAT,
        "epoch": state.epoch,
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": sched.state_dict() if sched is not None else None,
        "scaler": state.scaler.state_dict(),
        "history": [dict(r) for r in state.history],
        "rng": {"torch": torch.get_rng_state(),
                "cuda": [torch.cuda.get_rng_state(d) for d in cuda_devices],
                "data": data_gen.get_state()},
        "callbacks": {key: cb.state_dict() for key, cb in zip(_cb_keys(cbs), cbs, strict=True)
                      if hasattr(cb, "state_dict")},
        "stopped": state.stop,
        "stop_reason": state.stop_reason,
        "config": config,
    }


def _restore(
    ckpt: Mapping[str, Any], state: TrainState, sched: _Schedule | None,
    data_gen: torch.Generator, cbs: list[Any], cuda_devices: list[int],
    config: Mapping[str, Any],
) -> None:
    """Put a checkpoint's state back into the run's objects."""
    saved = ckpt.get("config", {})
    keys = ["seed", "batch_size", "accumulate", "optimizer", "scheduler", "precision",
            "n_train"]
    if sched is not None:  # a schedule's length is saved with it
        keys.append("epochs")
    differ = [k for k in keys if k in saved and saved[k] != config.get(k)]
    if differ:
        warnings.warn(
            "resuming with different arguments than the checkpoint's run ("
            + ", ".join(f"{k}: {saved[k]!r} -> {config.get(k)!r}" for k in differ)
            + "); the result will not match an uninterrupted run", UserWarning, stacklevel=3)
    state.model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    if sched is not None:
        if ckpt.get("scheduler") is None:
            raise ValueError("the checkpoint was saved without a scheduler; resume with "
                             "scheduler=None")
        sched.load_state_dict(ckpt["scheduler"])
    if ckpt.get("scaler"):
        state.scaler.load_state_dict(ckpt["scaler"])
    rng = ckpt["rng"]
    torch.set_rng_state(rng["torch"])
    for d, s in zip(cuda_devices, rng.get("cuda", []), strict=False):
        torch.cuda.set_rng_state(s, d)
    data_gen.set_state(rng["data"])
    saved_cbs = ckpt.get("callbacks", {})
    for key, cb in zip(_cb_keys(cbs), cbs, strict=True):
        if hasattr(cb, "load_state_dict") and key in saved_cbs:
            cb.load_state_dict(saved_cbs[key])
        elif hasattr(cb, "state_dict"):
            warnings.warn(f"callback {key} has no state in the checkpoint; it starts afresh",
                          UserWarning, stacklevel=3)
    state.history = [dict(r) for r in ckpt["history"]]
    state.epoch = int(ckpt["epoch"])
    if ckpt.get("stopped"):
        state.stop = True
        state.stop_reason = ckpt.get("stop_reason")
        warnings.warn(f"the checkpoint's run had stopped ({state.stop_reason}); nothing more "
                      f"to train", UserWarning, stacklevel=3)
