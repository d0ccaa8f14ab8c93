"""A callback that logs to MLflow (extra ``tracking``): one MLflow run per optimization or
training.

:class:`MLflowLogger` logs, through ``mlflow.MlflowClient``, one step per evaluation --
``value`` (failures skipped), ``best_so_far`` and ``value/<phase>`` for each phase of a
hybrid -- and when the run ends: the best point and the extra ``params`` as MLflow
params, ``best_y`` and ``n_evals`` as metrics, and ``Result.history`` as the artifact
``history.csv``.  The run ends ``FINISHED``, or ``FAILED`` when the optimization raised
or was interrupted (whatever was logged stays).  As a :func:`hybridlab.ml.train.fit`
callback it logs each epoch's numeric metrics as ``train/<column>`` at step ``epoch``.

Where it goes: ``tracking_uri`` (any MLflow URI: a server, Databricks, a database).  The
default is a local SQLite file, ``mlruns/mlflow.db`` with artifacts in ``mlruns/artifacts``,
so nothing leaves the machine; ``mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db``
browses it.  (MLflow 3 keeps its plain-folder store only in maintenance mode and refuses
it by default, so the local default is SQLite.)

Example
-------
>>> import tempfile, numpy as np, hybridlab as hl
>>> folder = tempfile.mkdtemp()
>>> logger = MLflowLogger(f"sqlite:///{folder}/mlflow.db", experiment="demo",
...                       params={"optimizer": "ga>>local"})
>>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(2, -1, 1))
>>> r = hl.minimize(p, "ga>>local", budget=60, seed=0, callbacks=[logger])
>>> run = logger.client.get_run(logger.run_id)
>>> run.info.status, run.data.params["optimizer"], len(
...     logger.client.get_metric_history(logger.run_id, "value"))
('FINISHED', 'ga>>local', 60)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ._run_logger import RunLogger, flat_params

__all__ = ["MLflowLogger"]

#: the default store: a SQLite file and an artifact folder under ./mlruns
DEFAULT_URI = "sqlite:///mlruns/mlflow.db"


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:  # an optional extra
        raise ImportError("MLflowLogger needs MLflow: pip install 'hybridlab[tracking]' "
                          "(or mlflow-skinny)") from exc
    return mlflow


class MLflowLogger(RunLogger):
    """Log a run to MLflow (see the module docstring).

    Parameters
    ----------
    tracking_uri : str, optional
        An MLflow tracking URI; default ``sqlite:///mlruns/mlflow.db`` (relative to the
        working directory), artifacts in ``mlruns/artifacts``.
    experiment : str, default "hybridlab"
        The experiment, created when missing.
    run_name : str, optional
        The MLflow run's name (MLflow picks one when missing).
    params : dict, optional
        Extra parameters of the run (optimizer, seed, budget ...), logged with the best
        point's.
    """

    def __init__(self, tracking_uri: str | None = None, experiment: str = "hybridlab",
                 run_name: str | None = None, params: dict[str, Any] | None = None) -> None:
        super().__init__()
        if not isinstance(experiment, str) or not experiment:
            raise ValueError(f"experiment must be a non-empty name, got {experiment!r}")
        self.tracking_uri = tracking_uri or DEFAULT_URI
        self.experiment, self.run_name = experiment, run_name
        self.params = dict(params or {})
        self.client: Any = None
        self.run_id: str | None = None

    def _artifacts(self) -> str | None:
        """The artifact folder next to a local SQLite file (None: the store decides)."""
        prefix = "sqlite:///"
        if not self.tracking_uri.startswith(prefix):
            return None
        db = Path(self.tracking_uri[len(prefix):])
        db.parent.mkdir(parents=True, exist_ok=True)
        return (db.parent / "artifacts").resolve().as_uri()

    def _start(self) -> None:
        mlflow = _mlflow()
        self.client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
        artifacts = self._artifacts()
        found = self.client.get_experiment_by_name(self.experiment)
        exp_id = found.experiment_id if found is not None else \
            self.client.create_experiment(self.experiment, artifact_location=artifacts)
        run = self.client.create_run(exp_id, run_name=self.run_name)
        self.run_id = run.info.run_id

    def _scalars(self, values: dict[str, float], step: int) -> None:
        if self.run_id is None:
            self._start()
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(name, value, now, step)
                                                    for name, value in values.items()])

    def on_train_end(self, state: Any) -> None:
        """:func:`~hybridlab.ml.train.fit`'s hook: end the MLflow run."""
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, "FINISHED")

    def close(self, result: Any) -> None:
        """Log the best point, ``best_y``, ``n_evals`` and the history; end the run."""
        if self.run_id is None:
            self._start()
        if result is None:
            self.client.set_terminated(self.run_id, "FAILED")
            return
        from mlflow.entities import Metric, Param

        try:
            now = int(time.time() * 1000)
            params = [Param(k, str(v)) for k, v in flat_params(result, self.params).items()]
            self.client.log_batch(self.run_id, params=params, metrics=[
                Metric("best_y", float(result.y), now, 0),
                Metric("n_evals", float(result.n_evals), now, 0)])
            self.client.log_text(self.run_id, result.history.to_csv(index=False),
                                 "history.csv")
        except BaseException:
            self.client.set_terminated(self.run_id, "FAILED")
            raise
        self.client.set_terminated(self.run_id, "FINISHED")

    def __repr__(self) -> str:
        return f"MLflowLogger({self.tracking_uri!r}, experiment={self.experiment!r})"
