"""PyTorch Lightning runs as hybridlab objectives (extra ``lightning``).

:class:`LightningObjective` turns "build a ``LightningModule`` for this configuration and
train it with a ``Trainer``" into an objective any hybridlab optimizer drives: it trains
for the requested number of epochs and returns the monitored validation metric.  With
``fidelity`` (epochs) it is what :class:`~hybridlab.hybrid.MultiFidelity` and its
Hyperband brackets need to stop runs early: every configuration keeps a checkpoint of
where it stopped, a promoted configuration *continues* from it (Lightning's
``ckpt_path``) instead of starting over, and one that is not promoted simply never runs
again -- successive halving's early stopping, with the cost counted as the epochs
actually trained (``Fidelity(..., resumable=True)``, see :meth:`LightningObjective.fidelity`).

:class:`MetricHistory` is the Lightning callback underneath: it records the monitored
metric after every validation epoch, so the value at any rung (and the whole learning
curve) is known without re-running.

Example
-------
>>> import torch, lightning as L
>>> from torch.utils.data import DataLoader, TensorDataset
>>> class Net(L.LightningModule):
...     def __init__(self, lr):
...         super().__init__()
...         self.lr, self.layer = lr, torch.nn.Linear(4, 1)
...     def training_step(self, batch, _):
...         x, y = batch
...         return torch.nn.functional.mse_loss(self.layer(x), y)
...     def validation_step(self, batch, _):
...         x, y = batch
...         self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))
...     def configure_optimizers(self):
...         return torch.optim.SGD(self.parameters(), lr=self.lr)
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.randn(64, 4, generator=g); y = x.sum(1, keepdim=True)
>>> loaders = lambda p: (DataLoader(TensorDataset(x, y), batch_size=16),
...                      DataLoader(TensorDataset(x, y), batch_size=64))
>>> objective = LightningObjective(lambda p: Net(p["lr"]), loaders, max_epochs=3)
>>> objective({"lr": 0.1}) < objective({"lr": 1e-4})
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from hybridlab.torch_warnings import torch_internal_leafspec

__all__ = ["LightningObjective", "MetricHistory"]


try:
    import lightning as L
except ImportError as exc:  # an optional extra
    raise ImportError("hybridlab.integrations.lightning needs PyTorch Lightning: pip install "
                      "'hybridlab[lightning]'") from exc


class MetricHistory(L.pytorch.Callback):
    """A Lightning callback recording ``monitor`` after each validation epoch.

    ``values[e]`` is the metric after epoch ``e`` (1-based, counting the epochs trained
    before a resumed checkpoint); the sanity check before training is skipped.

    Parameters
    ----------
    monitor : str
        A name the module logs with ``self.log`` in its validation step.
    """

    def __init__(self, monitor: str) -> None:
        super().__init__()
        self.monitor = monitor
        self.values: dict[int, float] = {}

    def on_validation_epoch_end(self, trainer: Any, module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise ValueError(f"the module logs no {self.monitor!r} in validation (it logs "
                             f"{sorted(metrics)}); pass monitor= one of them, or self.log("
                             f"{self.monitor!r}, ...) in validation_step")
        self.values[trainer.current_epoch + 1] = float(metrics[self.monitor])


class LightningObjective:
    """Train a ``LightningModule`` for one configuration; return the monitored metric.

    Parameters
    ----------
    make_module : callable
        ``params -> LightningModule`` (called after seeding, so initialisation is
        reproducible); ``params`` is what the objective receives: a dict name -> value,
        or a 1-d array when every dimension of the space is ``Real``.
    make_data : callable
        ``params -> LightningDataModule`` or ``params -> (train_loader, val_loader)``;
        the validation loop must log ``monitor``.
    monitor : str, default "val_loss"
        The metric returned (its value after the last epoch trained).
    mode : {"min", "max"}
        ``"max"`` returns ``-metric``, since hybridlab minimises.
    max_epochs : int, default 10
        Epochs without ``fidelity``; the full fidelity of :meth:`fidelity`.
    seed : int, default 0
        ``lightning.seed_everything(seed)`` before each configuration's module is built.
    trainer_kwargs : mapping, optional
        Extra ``lightning.Trainer`` arguments (defaults: CPU, one device, no logger, no
        progress bar, no checkpoint callback, no model summary).
    workdir : path, optional
        Where the per-configuration checkpoints go (default: a temporary folder removed
        with the object).
    verbose : bool, default False
        Let Lightning's per-run INFO lines through (device summary, tips, "Restoring
        states from the checkpoint path at ...", the stop reason): a search runs dozens
        of short fits, and those lines would bury the output.  Warnings always pass.

    Notes
    -----
    Called as ``objective(params, fidelity=e)`` it trains to ``e`` epochs (rounded): a
    configuration already trained further returns its recorded value at ``e``; one
    trained less continues from its checkpoint.  So
    ``Problem(objective, space, fidelity=objective.fidelity(1))`` with
    :class:`~hybridlab.hybrid.MultiFidelity` stops unpromising runs at the low rungs and
    pays only for the epochs trained.  ``runs`` maps each configuration to its recorded
    metric per epoch.
    """

    def __init__(self, make_module: Callable[[dict[str, Any]], Any],
                 make_data: Callable[[dict[str, Any]], Any], *, monitor: str = "val_loss",
                 mode: str = "min", max_epochs: int = 10, seed: int = 0,
                 trainer_kwargs: Mapping[str, Any] | None = None,
                 workdir: str | Path | None = None, verbose: bool = False) -> None:
        if not callable(make_module) or not callable(make_data):
            raise ValueError("make_module and make_data must be callables of the "
                             "configuration (params -> LightningModule / loaders)")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"max_epochs must be an integer >= 1, got {max_epochs!r}")
        self.make_module, self.make_data = make_module, make_data
        self.monitor, self.mode, self.max_epochs, self.seed = monitor, mode, max_epochs, seed
        self.trainer_kwargs = dict(trainer_kwargs or {})
        self.verbose = verbose
        self._tmp = None if workdir is not None else tempfile.TemporaryDirectory(
            prefix="hybridlab-lightning-")
        self.workdir = Path(workdir if workdir is not None else self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.runs: dict[str, dict[int, float]] = {}

    def fidelity(self, low: int = 1) -> Any:
        """``Fidelity(low, max_epochs, resumable=True)`` for the problem."""
        from hybridlab.fidelity import Fidelity

        return Fidelity(low, self.max_epochs, resumable=True)

    @staticmethod
    def _key(params: Any) -> str:
        if isinstance(params, Mapping):
            text = json.dumps({k: params[k] for k in sorted(params)}, default=str)
        else:  # an all-Real space gives the objective a 1-d array
            text = json.dumps([float(v) for v in params])
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def _trainer(self, epochs: int, history: Any) -> Any:
        kwargs = {"accelerator": "cpu", "devices": 1, "logger": False,
                  "enable_checkpointing": False, "enable_progress_bar": False,
                  "enable_model_summary": False, **self.trainer_kwargs}
        callbacks = [*kwargs.pop("callbacks", []), history]
        return L.Trainer(max_epochs=epochs, callbacks=callbacks, **kwargs)

    def __call__(self, params: Any, fidelity: float | None = None) -> float:
        epochs = self.max_epochs if fidelity is None else max(1, round(float(fidelity)))
        key = self._key(params)
        done = self.runs.setdefault(key, {})
        if epochs not in done:
            self._train(params, key, epochs, done)
        value = done.get(epochs, math.nan)
        return -value if self.mode == "max" else value

    def _train(self, params: Any, key: str, epochs: int,
               done: dict[int, float]) -> None:
        ckpt = self.workdir / f"{key}.ckpt"
        L.seed_everything(self.seed, workers=True, verbose=False)
        module = self.make_module(params)
        data = self.make_data(params)
        history = MetricHistory(self.monitor)
        resume = ckpt if ckpt.exists() and max(done, default=0) < epochs else None
        # the checkpoints are this object's own files: full state (optimizer, loops),
        # loaded as such
        with _quiet(not self.verbose):
            trainer = self._trainer(epochs, history)
            if isinstance(data, tuple | list):
                train, val = data
                trainer.fit(module, train_dataloaders=train, val_dataloaders=val,
                            ckpt_path=resume, weights_only=False)
            else:
                trainer.fit(module, datamodule=data, ckpt_path=resume, weights_only=False)
            trainer.save_checkpoint(ckpt, weights_only=False)
        done.update(history.values)


class _InfoOnly(logging.Filter):
    """Drops INFO (and lower) records; warnings and errors pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO


@contextlib.contextmanager
def _quiet(on: bool) -> Iterator[None]:
    """Hold back Lightning's INFO lines (its loggers ``lightning.pytorch`` and
    ``lightning.fabric``) while one objective's run trains."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    handlers = [h for lg in loggers for h in lg.handlers]
    flt = _InfoOnly()
    for target in (*loggers, *handlers) if on else ():
        target.addFilter(flt)
    try:
        with torch_internal_leafspec():  # Lightning's pytree helper builds LeafSpec
            yield
    finally:
        for target in (*loggers, *handlers) if on else ():
            target.removeFilter(flt)
