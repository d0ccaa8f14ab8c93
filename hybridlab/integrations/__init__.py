"""Integrations with scale-out and HPO frameworks (optional extras).

* Process pools, Ray and Dask need no code here: :func:`hybridlab.minimize` and
  :func:`hybridlab.study.compare` take any object with the
  ``concurrent.futures.Executor.map`` contract as ``executor`` --
  ``concurrent.futures.ProcessPoolExecutor``, ``ray.util.multiprocessing.Pool`` or a Dask
  ``distributed.Client(...).get_executor()``.  The same seed gives the same result with
  each of them.
* :class:`~hybridlab.integrations.ray_tune.HybridSearcher` (extra ``ray``): a Ray Tune
  ``Searcher`` that lets any hybridlab optimizer (``"ga>>local"``, ``"default"``, an
  optimizer object) propose Ray Tune trials, with Tune's schedulers (ASHA, ...) and
  resources.
* :class:`~hybridlab.integrations.optuna_sampler.HybridSampler` (extra ``peers``): an
  Optuna sampler driven by a hybridlab optimizer, so Optuna users run hybrids with
  Optuna's ``study.optimize``, storage and dashboard; :func:`~hybridlab.integrations.
  optuna_sampler.suggest` draws a hybridlab space with ``trial.suggest_*`` (for Optuna's
  own samplers on the same space).
* :func:`~hybridlab.integrations.optuna_export.to_optuna` (extra ``peers``): any hybridlab
  run (a ``Result``, or a stored run's evaluations) as an Optuna study, in memory or in
  Optuna's RDB storage, for Optuna's plots, optuna-dashboard and
  :func:`~hybridlab.integrations.optuna_export.param_importances` (fANOVA).
* :class:`~hybridlab.integrations.tensorboard.TensorBoardLogger` (extra ``tracking``): a
  ``minimize`` callback that logs each evaluation, the best so far, each phase and the
  best point's hparams to TensorBoard.
* :class:`~hybridlab.integrations.mlflow.MLflowLogger` (extra ``tracking``): the same as
  an MLflow run (a local SQLite store by default), with the history as an artifact.
* :class:`~hybridlab.integrations.lightning.LightningObjective` (extra ``lightning``): a
  PyTorch Lightning ``LightningModule`` trained by a ``Trainer`` per configuration as an
  objective; with ``fidelity`` (epochs) runs resume from checkpoints, so
  ``MultiFidelity``'s rungs stop unpromising runs early.

Importing this package imports none of these frameworks; each loads on first use.

Example
-------
>>> import hybridlab.integrations as integrations
>>> sorted(integrations.__all__)  # doctest: +NORMALIZE_WHITESPACE
['HybridSampler', 'HybridSearcher', 'LightningObjective', 'MLflowLogger', 'MetricHistory',
 'TensorBoardLogger', 'param_importances', 'suggest', 'to_optuna']
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["HybridSampler", "HybridSearcher", "LightningObjective", "MLflowLogger",
           "MetricHistory",
           "TensorBoardLogger", "param_importances", "suggest", "to_optuna"]

_LAZY = {"HybridSearcher": ".ray_tune", "HybridSampler": ".optuna_sampler",
         "suggest": ".optuna_sampler", "to_optuna": ".optuna_export",
         "param_importances": ".optuna_export", "TensorBoardLogger": ".tensorboard",
         "LightningObjective": ".lightning", "MetricHistory": ".lightning",
         "MLflowLogger": ".mlflow"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
