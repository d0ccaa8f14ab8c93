"""What every run logger shares: one step per evaluation with its value, the best so far
and the value per phase; each epoch's numeric metrics of a training; the best point as
flat parameters.  :class:`~hybridlab.integrations.tensorboard.TensorBoardLogger` and
:class:`~hybridlab.integrations.mlflow.MLflowLogger` say where it goes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class RunLogger:
    """A ``minimize`` callback and a ``fit`` callback; subclasses write ``_scalars``."""

    def __init__(self) -> None:
        self._best = math.inf

    def _scalars(self, values: dict[str, float], step: int) -> None:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, progress: Any) -> bool:
        ys = np.asarray(progress.batch_y, dtype=float)
        first = progress.n_evals - len(ys) + 1
        for i, (y, phase) in enumerate(zip(ys, progress.batch_phase, strict=True)):
            values = {}
            if np.isfinite(y):  # a failed evaluation has no value to plot
                self._best = min(self._best, float(y))
                values |= {"value": float(y), f"value/{phase}": float(y)}
            if np.isfinite(self._best):
                values["best_so_far"] = self._best
            if values:
                self._scalars(values, first + i)
        return False

    def on_epoch_end(self, state: Any) -> None:
        """:func:`~hybridlab.ml.train.fit`'s hook: the epoch's numeric metrics as
        ``train/<column>`` at step ``epoch``."""
        values = {f"train/{k}": float(v) for k, v in state.metrics.items()
                  if k != "epoch" and isinstance(v, int | float | np.number)
                  and not isinstance(v, bool) and math.isfinite(float(v))}
        if values:
            self._scalars(values, int(state.epoch))


def flat_params(result: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` and the best point, named (``x0, x1, ...`` for an array), as scalars or
    strings."""
    x = result.x if isinstance(result.x, dict) else \
        {f"x{i}": float(v) for i, v in enumerate(np.ravel(result.x))}
    return {k: v if isinstance(v, int | float | str | bool) else str(v)
            for k, v in {**extra, **x}.items()}
