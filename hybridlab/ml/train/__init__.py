"""Training room: one small, explicit torch training loop and what it trains with.

Everything here is plain torch (``torch.optim``, ``torch.optim.lr_scheduler``,
``torch.autocast``, ``torch.amp.GradScaler``, ``torch.utils.data.DataLoader``); the room
only wires the pieces together so that every notebook and search trains the same way.

* :func:`fit` -- trains a model in place and returns a :class:`History` (a pandas DataFrame,
  one row per epoch, plus what stopped the run). Optimizers by name (:data:`OPTIMIZERS`),
  L1/L2, learning-rate schedules with warm-up (:data:`SCHEDULERS`), gradient accumulation,
  mixed precision (:data:`PRECISIONS`), callbacks, checkpoints and exact resumption.
* Callbacks -- :class:`EarlyStopping`, :class:`Checkpointer`, :class:`Monitor`; the state
  they see is :class:`TrainState`. A callback is an object with some of
  ``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end``, ``on_train_end``,
  ``state_dict`` and ``load_state_dict`` (or a plain function used as ``on_epoch_end``).
* Checkpoints -- :func:`load_checkpoint`, :func:`latest_checkpoint` read what
  :class:`Checkpointer` wrote.
* Measurements usable with any model -- :func:`accuracy`, :func:`latency`.
* Data -- :data:`Data` (what the training functions accept), :func:`as_dataset`,
  :func:`make_loader` (the loaders :func:`fit` uses).
* Small models -- :class:`SmallCNN`, :class:`TinyMLP`, :class:`TinyCNN` and
  :func:`digits_data` (scikit-learn's digits as torch data sets), :data:`ACTIVATIONS`.
* Losses -- :func:`make_loss` by name (cross_entropy, label_smoothing, focal,
  class_weighted; mse, mae, huber, quantile), :func:`register_loss` for your own,
  :func:`loss_space` (the loss as a searched categorical with its own parameter) and
  :func:`loss_from_params`; ``fit(loss_fn="huber")`` takes the names too.
  :func:`compare_losses` measures each loss, tuned at an equal budget, over seeds on the
  three generated tasks of :func:`loss_task` (:data:`LOSS_TASKS`), with paired tests
  (:func:`loss_summary`).
* Epochs as a fidelity -- :class:`EpochsObjective`, a resumable objective for
  ``Problem(..., fidelity=Fidelity(1, 27, resumable=True))``.

Example
-------
>>> import torch
>>> from hybridlab.ml.train import EarlyStopping, SmallCNN, digits_data, fit
>>> train, val, test = digits_data(seed=0)
>>> _ = torch.manual_seed(0)
>>> history = fit(SmallCNN(), train, val, optimizer="adam", lr=3e-3, epochs=2,
...               early_stopping=EarlyStopping(patience=2), seed=0)
>>> history.epoch.tolist()
[1, 2]
"""

from ._callbacks import EarlyStopping, TrainState
from ._checkpoints import Checkpointer, CheckpointError, latest_checkpoint, load_checkpoint
from ._device import PRECISIONS
from ._epochs import EpochsObjective
from ._fit import fit
from ._history import HISTORY_COLUMNS, TIMING_COLUMNS, History
from ._loaders import Data, as_dataset, make_loader
from ._loss_study import compare_losses, loss_summary
from ._loss_tasks import LOSS_TASKS, LossTask, loss_task
from ._losses import loss_from_params, loss_names, loss_space, make_loss, register_loss
from ._models import ACTIVATIONS, SmallCNN, TinyCNN, TinyMLP, digits_data
from ._monitor import Monitor, accuracy, latency
from ._torch_optim import OPTIMIZERS, SCHEDULERS

__all__ = [
    "ACTIVATIONS",
    "HISTORY_COLUMNS",
    "LOSS_TASKS",
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULERS",
    "TIMING_COLUMNS",
    "CheckpointError",
    "Checkpointer",
    "Data",
    "EarlyStopping",
    "EpochsObjective",
    "History",
    "LossTask",
    "Monitor",
    "SmallCNN",
    "TinyCNN",
    "TinyMLP",
    "TrainState",
    "accuracy",
    "as_dataset",
    "compare_losses",
    "digits_data",
    "fit",
    "latency",
    "latest_checkpoint",
    "load_checkpoint",
    "loss_from_params",
    "loss_names",
    "loss_space",
    "loss_summary",
    "loss_task",
    "make_loader",
    "make_loss",
    "register_loss",
]
