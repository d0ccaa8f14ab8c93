"""Callbacks that log to TensorBoard (extra ``tracking``): an optimization run or a training.

:class:`TensorBoardLogger` writes, with ``torch.utils.tensorboard.SummaryWriter``, one step
per evaluation: ``value`` (the objective; failures are skipped), ``best_so_far``, and
``value/<phase>`` for each phase of a hybrid (so a GA's and a local search's evaluations
are two curves).  When the run ends it writes the best point's parameters as hparams with
``best_y`` and ``n_evals`` as their metrics, so TensorBoard's HParams tab compares runs.

The same object is a callback of :func:`hybridlab.ml.train.fit`: each epoch's numeric
history columns (``train_loss``, ``val_loss``, ``val_accuracy``, ``lr``, ...) become
``train/<column>`` at step ``epoch``, and the writer closes when training ends.

Example
-------
>>> import tempfile, numpy as np, hybridlab as hl
>>> folder = tempfile.mkdtemp()
>>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(2, -1, 1))
>>> r = hl.minimize(p, "ga>>local", budget=60, seed=0,
...                 callbacks=[TensorBoardLogger(folder + "/run0")])  # doctest: +ELLIPSIS
>>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
>>> acc = EventAccumulator(folder + "/run0"); _ = acc.Reload()
>>> len(acc.Scalars("value")), "best_so_far" in acc.Tags()["scalars"]
(60, True)
"""

from __future__ import annotations

import os
from typing import Any

from ._run_logger import RunLogger, flat_params

__all__ = ["TensorBoardLogger"]


def _writer(log_dir: str | os.PathLike) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # tensorboard is an optional extra
        raise ImportError("TensorBoardLogger needs tensorboard: pip install "
                          "'hybridlab[tracking]'") from exc
    return SummaryWriter(log_dir=os.fspath(log_dir))


class TensorBoardLogger(RunLogger):
    """Log every evaluation of a run to TensorBoard (see the module docstring).

    Parameters
    ----------
    log_dir : str or path
        The run's folder (``tensorboard --logdir`` its parent to compare runs).
    hparams : dict, optional
        Extra hyperparameters of the run to record with the best point's (e.g. the
        optimizer's name and seed).
    """

    def __init__(self, log_dir: str | os.PathLike, hparams: dict[str, Any] | None = None
                 ) -> None:
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.hparams = dict(hparams or {})
        self._writer: Any = None

    def _scalars(self, values: dict[str, float], step: int) -> None:
        if self._writer is None:
            self._writer = _writer(self.log_dir)
        for name, value in values.items():
            self._writer.add_scalar(name, value, step)

    def on_train_end(self, state: Any) -> None:
        """:func:`~hybridlab.ml.train.fit`'s hook: flush and close the writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self, result: Any) -> None:
        """Write the hparams of the best point (when the run ended normally) and close."""
        if self._writer is None:
            self._writer = _writer(self.log_dir)
        try:
            if result is not None:
                self._writer.add_hparams(
                    flat_params(result, self.hparams),
                    {"hparam/best_y": float(result.y),
                     "hparam/n_evals": float(result.n_evals)},
                    run_name=".")
        finally:
            self._writer.close()
            self._writer = None
