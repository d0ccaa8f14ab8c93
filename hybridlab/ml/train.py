"""One small, explicit torch training loop: :func:`fit`, its callbacks and measurements.

Everything here is plain torch (``torch.optim``, ``torch.optim.lr_scheduler``,
``torch.autocast``, ``torch.amp.GradScaler``, ``torch.utils.data.DataLoader``); the module
only wires the pieces together so that every notebook and search trains the same way.

* :func:`fit` -- trains a model in place and returns a :class:`History` (a pandas DataFrame,
  one row per epoch, plus what stopped the run). Optimizers by name, L1/L2, learning-rate
  schedules with warm-up, gradient accumulation, mixed precision, callbacks, checkpoints
  and exact resumption.
* :class:`EarlyStopping`, :class:`Checkpointer`, :class:`Monitor` -- callbacks.
* :func:`latency`, :func:`accuracy` -- measurements usable with any model;
  :func:`load_checkpoint`, :func:`latest_checkpoint` -- read what :class:`Checkpointer`
  wrote.

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
>>> from hybridlab.ml.models import SmallCNN, digits_data
>>> from hybridlab.ml.train import fit, EarlyStopping
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
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.optim import lr_scheduler as lrs
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, TensorDataset

from hybridlab.io import atomic_write

__all__ = [
    "HISTORY_COLUMNS",
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULERS",
    "Checkpointer",
    "EarlyStopping",
    "History",
    "Monitor",
    "TrainState",
    "accuracy",
    "fit",
    "latency",
    "latest_checkpoint",
    "load_checkpoint",
]

#: Columns of :class:`History`, in order.
HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
    "samples_per_s",
    "peak_memory_mb",
)
#: Timing and memory columns: the ones that differ between two otherwise identical runs.
TIMING_COLUMNS = ("seconds", "samples_per_s", "peak_memory_mb")
#: Optimizer names accepted by :func:`fit` (a callable ``params -> Optimizer`` also works).
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
#: Scheduler names accepted by :func:`fit` (a callable ``optimizer -> scheduler`` also works).
SCHEDULERS = ("step", "cosine", "onecycle", "plateau")
#: Precision names accepted by :func:`fit`.
PRECISIONS = ("fp32", "bf16", "fp16")
_CHECKPOINT_FORMAT = 1
_EPOCH_FILE = re.compile(r"^epoch-(\d+)\.pt$")

Data = Dataset | tuple[Any, Any] | Sequence[Any]


# --------------------------------------------------------------------------------------------
# History and state
# --------------------------------------------------------------------------------------------


class History:
    """What :func:`fit` returns: a DataFrame with one row per epoch, plus how the run ended.

    Columns (:data:`HISTORY_COLUMNS`): ``epoch`` (1-based), ``train_loss`` (mean loss of the
    epoch's training batches, without the L1 penalty, measured while the weights changed),
    ``val_loss`` and ``val_accuracy`` (after the epoch, in eval mode; NaN without a
    validation set), ``lr`` (of the first parameter group when the epoch started),
    ``seconds`` (the training pass, validation excluded), ``samples_per_s`` (training
    samples / seconds) and ``peak_memory_mb`` (see :class:`Monitor`).

    Attribute access falls through to the DataFrame (``history.val_loss``,
    ``history.iloc[-1]``, ``history.plot(...)``); :attr:`frame` is the DataFrame itself.

    Attributes
    ----------
    frame : pandas.DataFrame
        The per-epoch table.
    stopped_early : bool
        True when a callback (e.g. :class:`EarlyStopping`) or a non-finite loss ended the
        run before ``epochs``.
    stop_epoch : int or None
        The last epoch that ran.
    stop_reason : str or None
        Why the run ended early, in words (also a NaN loss); None when it ran to the end.
    best_epoch : int or None
        The best epoch of the first :class:`EarlyStopping` callback, else the epoch with
        the lowest ``val_loss`` (None without validation data).
    restored_best : bool
        True when :class:`EarlyStopping` put the best epoch's weights back into the model.
    precision, device : str
        The precision and device that were actually used (``fp16`` falls back to ``bf16``
        off CUDA).
    resumed_from : int or None
        The checkpoint epoch the run continued from.

    Example
    -------
    >>> h = History(pd.DataFrame({"epoch": [1, 2], "val_loss": [0.5, 0.4]}), best_epoch=2)
    >>> len(h), h.best_epoch, float(h.val_loss.min())
    (2, 2, 0.4)
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        stopped_early: bool = False,
        stop_epoch: int | None = None,
        stop_reason: str | None = None,
        best_epoch: int | None = None,
        restored_best: bool = False,
        precision: str = "fp32",
        device: str = "cpu",
        resumed_from: int | None = None,
    ) -> None:
        self.frame = frame
        self.stopped_early = stopped_early
        self.stop_epoch = stop_epoch
        self.stop_reason = stop_reason
        self.best_epoch = best_epoch
        self.restored_best = restored_best
        self.precision = precision
        self.device = device
        self.resumed_from = resumed_from

    def __getattr__(self, name: str) -> Any:
        if name == "frame" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.frame, name)

    def __getitem__(self, key: Any) -> Any:
        return self.frame[key]

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def info(self) -> dict[str, Any]:
        """How the run ended, as a dict (everything but the table)."""
        return {k: getattr(self, k) for k in (
            "stopped_early", "stop_epoch", "stop_reason", "best_epoch", "restored_best",
            "precision", "device", "resumed_from")}

    def without_timing(self) -> pd.DataFrame:
        """The table without the timing and memory columns (what two equal runs share)."""
        return self.frame.drop(columns=[c for c in TIMING_COLUMNS if c in self.frame])

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.info.items() if v not in (None, False))
        return f"History({len(self)} epochs; {extra})\n{self.frame!r}"

    def _repr_html_(self) -> str:
        return self.frame._repr_html_()


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


# --------------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------------


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
    >>> from hybridlab.ml.models import SmallCNN, digits_data
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
    """The newest ``epoch-XXXX.pt`` in ``directory`` (highest epoch), or None.

    Example
    -------
    >>> import tempfile
    >>> latest_checkpoint(tempfile.mkdtemp()) is None
    True
    """
    files = _epoch_files(Path(directory))
    return files[-1] if files else None


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :class:`Checkpointer` with ``weights_only=True``.

    ``path`` may be a file or a folder (its newest epoch file).

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
            raise FileNotFoundError(f"no epoch-XXXX.pt checkpoint in {path}")
        path = found
    return torch.load(path, map_location=map_location, weights_only=True)


class Monitor:
    """Time, throughput and memory of a stretch of work -- an epoch, or anything else.

    Use it by hand (``start()`` ... ``stop(samples)``) in any loop, or as a :func:`fit`
    callback (it then times whole epochs, validation included, and appends to
    :attr:`records`). :func:`fit` uses one internally for its ``seconds``,
    ``samples_per_s`` and ``peak_memory_mb`` columns (training pass only).

    Memory: on CUDA, ``peak_memory_mb`` is ``torch.cuda.max_memory_allocated`` since
    ``start()`` (tensors only, this device). On CPU, torch keeps no allocator statistics, so
    the figures are **process-wide**: ``peak_memory_mb`` is the peak resident set size of the
    whole process since it started (``resource.getrusage``; it never goes down, so it only
    shows growth), ``rss_mb`` the current resident set size (psutil). Both include Python,
    torch itself, the data and anything else the process holds. On MPS,
    ``peak_memory_mb`` is the memory currently allocated by the MPS allocator.

    Example
    -------
    >>> m = Monitor("cpu")
    >>> m.start()
    >>> _ = sum(range(10_000))
    >>> sorted(m.stop(samples=10_000))
    ['peak_memory_mb', 'rss_mb', 'samples_per_s', 'seconds']
    """

    def __init__(self, device: str | torch.device | None = None) -> None:
        self.device = torch.device(device) if device is not None else None
        self.records: list[dict[str, float]] = []
        self._t0: float | None = None

    def start(self) -> None:
        """Start timing; on CUDA also reset the peak-memory counter."""
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self._t0 = time.perf_counter()

    def stop(self, samples: int = 0) -> dict[str, float]:
        """Stop timing; return (and record) seconds, samples/s, peak and current memory."""
        if self._t0 is None:
            raise RuntimeError("Monitor.stop() before Monitor.start()")
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - self._t0
        self._t0 = None
        record = {
            "seconds": seconds,
            "samples_per_s": samples / seconds if seconds > 0 and samples else math.nan,
            "peak_memory_mb": self.peak_memory_mb(),
            "rss_mb": _rss_mb(),
        }
        self.records.append(record)
        return record

    def peak_memory_mb(self) -> float:
        """Peak memory in MB: CUDA allocator peak on GPU, process peak RSS on CPU."""
        device = self.device
        if device is not None and device.type == "cuda":
            return torch.cuda.max_memory_allocated(device) / 2**20
        if device is not None and device.type == "mps":
            return torch.mps.current_allocated_memory() / 2**20
        try:
            import resource
        except ImportError:  # Windows: no getrusage
            return _rss_mb()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB

    # callback hooks
    def on_epoch_begin(self, state: TrainState) -> None:
        self.device = state.device
        self.start()

    def on_epoch_end(self, state: TrainState) -> bool:
        record = self.stop(state.samples)
        record["epoch"] = state.epoch
        return False

    def frame(self) -> pd.DataFrame:
        """The records so far, one row per ``stop()``."""
        return pd.DataFrame(self.records)

    @staticmethod
    def latency(model: nn.Module, example: torch.Tensor, **kwargs: Any) -> pd.DataFrame:
        """Same as :func:`latency`."""
        return latency(model, example, **kwargs)

    @staticmethod
    def accuracy(model: nn.Module, data: Data, **kwargs: Any) -> float:
        """Same as :func:`accuracy`."""
        return accuracy(model, data, **kwargs)


def _rss_mb() -> float:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of the lab setup
        return math.nan
    return psutil.Process().memory_info().rss / 2**20


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def latency(
    model: nn.Module,
    example: torch.Tensor,
    repeats: int = 50,
    batch_sizes: Iterable[int] = (1, 64),
    warmup: int = 5,
) -> pd.DataFrame:
    """Inference latency of ``model`` per batch size: median and 95th percentile in ms.

    ``example`` is a batch of at least one input, shape ``(k, *input_shape)``; a batch of
    size b cycles through its rows. The model runs in eval mode under
    ``torch.inference_mode`` on its own device (CUDA is synchronised around each call),
    after ``warmup`` untimed calls; its train/eval mode is restored afterwards.

    Returns
    -------
    pandas.DataFrame
        One row per batch size: ``batch_size``, ``median_ms``, ``p95_ms``, ``samples_per_s``
        (batch size / median time).

    Example
    -------
    >>> from hybridlab.ml.models import SmallCNN
    >>> table = latency(SmallCNN(), torch.zeros(1, 1, 8, 8), repeats=5, batch_sizes=(1, 8))
    >>> list(table.columns), table.batch_size.tolist()
    (['batch_size', 'median_ms', 'p95_ms', 'samples_per_s'], [1, 8])
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats!r}")
    if example.ndim < 1 or len(example) < 1:
        raise ValueError("example must be a batch of at least one input, shape (k, ...); "
                         "use x[None] for a single input x")
    device = _model_device(model)
    was_training = model.training
    model.eval()
    rows = []
    try:
        for b in batch_sizes:
            x = example[torch.arange(int(b)) % len(example)].to(device)
            times = []
            with torch.inference_mode():
                for i in range(warmup + repeats):
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    t0 = time.perf_counter()
                    model(x)
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    if i >= warmup:
                        times.append((time.perf_counter() - t0) * 1e3)
            median = float(np.median(times))
            rows.append({"batch_size": int(b), "median_ms": median,
                         "p95_ms": float(np.percentile(times, 95)),
                         "samples_per_s": b / (median / 1e3) if median > 0 else math.nan})
    finally:
        model.train(was_training)
    return pd.DataFrame(rows, columns=["batch_size", "median_ms", "p95_ms", "samples_per_s"])


def accuracy(model: nn.Module, data: Data, batch_size: int = 1024) -> float:
    """Share of correctly classified samples (argmax of the logits) of a data set.

    ``data`` is a Dataset of ``(x, y)`` pairs or an ``(X, y)`` pair of tensors/arrays. The
    model runs in eval mode on its own device; its mode is restored afterwards.

    Example
    -------
    >>> from hybridlab.ml.models import SmallCNN, digits_data
    >>> _, _, test = digits_data()
    >>> 0.0 <= accuracy(SmallCNN(), test) <= 1.0
    True
    """
    device = _model_device(model)
    loader = _loader(_as_dataset(data, "data"), batch_size, shuffle=False, generator=None,
                     device=device)
    was_training = model.training
    try:
        _, acc = _evaluate(model, loader, nn.functional.cross_entropy, device,
                           _autocast(device, None))
    finally:
        model.train(was_training)
    return acc


# --------------------------------------------------------------------------------------------
# Building blocks of fit
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


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
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
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
        Callback objects or functions (see the module docstring for the protocol).
    progress : bool, default False
        Show a ``tqdm.auto`` progress bar over epochs.
    resume : path or None
        A checkpoint file, or a folder (its newest ``epoch-XXXX.pt``), to continue from.
        Pass the same arguments as the interrupted run: the result then equals an
        uninterrupted run. The saved schedule continues as saved (a cosine schedule saved
        with ``epochs=2`` keeps ``T_max=2``). A checkpoint of a run that had stopped
        (early stopping, NaN) trains no further.
    loss_fn : callable, default ``torch.nn.functional.cross_entropy``
        ``loss_fn(outputs, targets)`` returning the mean loss of a batch. ``val_accuracy``
        is computed when outputs are 2-D and targets are integers (NaN otherwise).

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
    >>> from hybridlab.ml.models import SmallCNN, digits_data
    >>> train, val, _ = digits_data()
    >>> _ = torch.manual_seed(0)
    >>> h = fit(SmallCNN(), train, val, optimizer="sgd", lr=0.05, epochs=2, accumulate=2)
    >>> h.epoch.tolist(), h.stopped_early
    ([1, 2], False)
    """
    # ---- arguments ---------------------------------------------------------------------
    epochs = _check_int("epochs", epochs, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    accumulate = _check_int("accumulate", accumulate, 1)
    lr = _check_nonneg("lr", lr, positive=True)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    momentum = _check_nonneg("momentum", momentum)
    l1 = _check_nonneg("l1", l1)
    seed = _check_int("seed", seed, 0)
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {list(PRECISIONS)}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    dev = _resolve_device(device)
    train_ds = _as_dataset(train, "train")
    val_ds = _as_dataset(val, "val") if val is not None else None
    n_train = len(train_ds)  # type: ignore[arg-type]
    if n_train == 0:
        raise ValueError("train is empty")
    loss_fn = loss_fn or nn.functional.cross_entropy

    used_precision = precision
    if precision == "fp16" and dev.type != "cuda":
        warnings.warn(f"precision='fp16' needs CUDA (GradScaler); on {dev.type} it falls back "
                      f"to 'bf16'", UserWarning, stacklevel=2)
        used_precision = "bf16"
    if used_precision == "bf16" and dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("this GPU does not support bf16; use precision='fp16' or 'fp32'")
    amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[used_precision]
    autocast = _autocast(dev, amp_dtype)
    scaler_device = "cuda" if dev.type == "cuda" else "cpu"
    use_scaler = used_precision == "fp16"

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
        if isinstance(cb, EarlyStopping) and cb.monitor.startswith("val_") and val_ds is None:
            raise ValueError(f"{type(cb).__name__} monitors {cb.monitor!r} but no val data "
                             f"was given: pass val= or monitor='train_loss'")
    early = next((c for c in cbs if isinstance(c, EarlyStopping)), None)

    ckpt: dict[str, Any] | None = None
    if resume is not None:
        ckpt = load_checkpoint(resume)
        if ckpt.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(f"{resume}: not a hybridlab.ml.train checkpoint (format "
                             f"{ckpt.get('format')!r})")

    # ---- objects -----------------------------------------------------------------------
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    l1_params = [p for p in params if p.ndim >= 2]
    opt = _make_optimizer(optimizer, params, lr=lr, weight_decay=weight_decay,
                          momentum=momentum, nesterov=nesterov)
    n_batches = math.ceil(n_train / batch_size)
    steps_per_epoch = math.ceil(n_batches / accumulate)
    sched = _make_scheduler(scheduler, opt, epochs=epochs, steps_per_epoch=steps_per_epoch,
                            lr=lr, has_val=val_ds is not None)
    scaler = torch.amp.GradScaler(scaler_device, enabled=use_scaler)
    data_gen = torch.Generator()
    data_gen.manual_seed(seed)
    train_loader = _loader(train_ds, batch_size, shuffle=True, generator=data_gen, device=dev)
    val_loader = (_loader(val_ds, max(batch_size, 256), shuffle=False, generator=None,
                          device=dev) if val_ds is not None else None)
    config = {"seed": seed, "batch_size": batch_size, "accumulate": accumulate,
              "epochs": epochs, "lr": lr, "precision": used_precision, "n_train": n_train,
              "optimizer": optimizer if isinstance(optimizer, str) else "callable",
              "scheduler": scheduler if isinstance(scheduler, str | None) else
              (dict(scheduler) if isinstance(scheduler, Mapping) else "callable")}
    if isinstance(config["scheduler"], dict):
        config["scheduler"] = {k: v for k, v in config["scheduler"].items()
                               if isinstance(v, int | float | str | bool)}

    state = TrainState(model=model, optimizer=opt, scheduler=sched.main if sched else None,
                       scaler=scaler, device=dev, epochs=epochs)
    cuda_devices = [dev.index] if dev.type == "cuda" else []
    monitor = Monitor(dev)
    start_epoch, resumed_from = 0, None

    def snapshot() -> dict[str, Any]:
        return {
            "format": _CHECKPOINT_FORMAT,
            "epoch": state.epoch,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict() if sched is not None else None,
            "scaler": scaler.state_dict(),
            "history": [dict(r) for r in state.history],
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": [torch.cuda.get_rng_state(d) for d in cuda_devices],
                    "data": data_gen.get_state()},
            "callbacks": {key: cb.state_dict() for key, cb in zip(_cb_keys(cbs), cbs,
                                                                   strict=True)
                          if hasattr(cb, "state_dict")},
            "stopped": state.stop,
            "stop_reason": state.stop_reason,
            "config": config,
        }

    state.snapshot = snapshot

    with torch.random.fork_rng(devices=cuda_devices):
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
            for epoch in range(start_epoch + 1, epochs + 1):
                if state.stop:
                    break
                state.epoch, state.samples, state.metrics = epoch, 0, {}
                for cb in cbs:
                    _call(cb, "on_epoch_begin", state)
                epoch_lr = float(opt.param_groups[0]["lr"])
                model.train()
                monitor.start()
                loss_sum = torch.zeros((), dtype=_sum_dtype(dev), device=dev)
                group = batch_size * accumulate
                opt.zero_grad(set_to_none=True)
                for i, (xb, yb) in enumerate(train_loader):
                    xb = xb.to(dev, non_blocking=True)
                    yb = yb.to(dev, non_blocking=True)
                    g0 = (i // accumulate) * group
                    share = len(xb) / min(group, n_train - g0)
                    with autocast():
                        out = model(xb)
                    loss = loss_fn(out.float(), yb)
                    total = loss * share
                    if l1:
                        total = total + (l1 * share) * sum(p.abs().sum() for p in l1_params)
                    scaler.scale(total).backward()
                    loss_sum += loss.detach().to(loss_sum.dtype) * len(xb)
                    state.samples += len(xb)
                    if (i + 1) % accumulate == 0 or i + 1 == n_batches:
                        scaler.step(opt)
                        scaler.update()
                        opt.zero_grad(set_to_none=True)
                        if sched is not None:
                            sched.step_batch()
                timing = monitor.stop(state.samples)
                train_loss = float(loss_sum) / max(state.samples, 1)
                if val_loader is not None:
                    val_loss, val_acc = _evaluate(model, val_loader, loss_fn, dev, autocast)
                else:
                    val_loss, val_acc = math.nan, math.nan
                row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                       "val_accuracy": val_acc, "lr": epoch_lr,
                       **{k: float(timing[k]) for k in TIMING_COLUMNS}}
                state.metrics = row
                state.history.append(row)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(train_loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}",
                                    val_acc=f"{val_acc:.3f}")
                if not math.isfinite(train_loss):
                    state.stop = True
                    state.stop_reason = (
                        f"non-finite training loss ({train_loss}) in epoch {epoch}: training "
                        f"stopped; try a lower lr, fp32 precision or a smaller l1")
                    warnings.warn(state.stop_reason, RuntimeWarning, stacklevel=2)
                    break
                if sched is not None:
                    sched.step_epoch(epoch, val_loss)
                for cb in cbs:
                    if isinstance(cb, Checkpointer):
                        continue
                    if _call(cb, "on_epoch_end", state):
                        state.stop = True
                        state.stop_reason = state.stop_reason or (
                            f"stopped by callback {type(cb).__name__} after epoch {epoch}")
                for cb in cbs:
                    if isinstance(cb, Checkpointer):
                        cb.on_epoch_end(state)
        finally:
            if bar is not None:
                bar.close()
        for cb in cbs:
            _call(cb, "on_train_end", state)
    model.eval()

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
        precision=used_precision,
        device=str(dev),
        resumed_from=resumed_from,
    )


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
