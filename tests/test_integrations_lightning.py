"""PyTorch Lightning runs driven by hybridlab (hybridlab.integrations.lightning)."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

L = pytest.importorskip("lightning")

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from hybridlab import GA, Problem, Space, minimize  # noqa: E402
from hybridlab.hybrid import MultiFidelity  # noqa: E402
from hybridlab.integrations.lightning import LightningObjective, MetricHistory  # noqa: E402
from hybridlab.space import Real  # noqa: E402


class Regressor(L.LightningModule):
    """y = sum(x): a linear layer that SGD fits at a good learning rate."""

    def __init__(self, lr: float, log_name: str = "val_loss") -> None:
        super().__init__()
        self.lr, self.log_name = lr, log_name
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, _):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch, _):
        x, y = batch
        self.log(self.log_name, torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def loaders(_params):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = x.sum(1, keepdim=True)
    return (DataLoader(TensorDataset(x, y), batch_size=16),
            DataLoader(TensorDataset(x, y), batch_size=64))


@pytest.fixture(autouse=True)
def _quiet_lightning():
    # Lightning warns that these tiny loaders have no workers; that is the point here
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*small number of batches.*")
        yield


def test_objective_trains_and_returns_the_monitored_metric(tmp_path):
    obj = LightningObjective(lambda p: Regressor(p["lr"]), loaders, max_epochs=4,
                             workdir=tmp_path)
    good, bad = obj({"lr": 0.1}), obj({"lr": 1e-5})
    assert math.isfinite(good) and good < bad
    assert obj({"lr": 0.1}) == good  # recorded, not retrained
    assert len(obj.runs) == 2 and all(sorted(r) == [1, 2, 3, 4] for r in obj.runs.values())
    maximise = LightningObjective(lambda p: Regressor(p["lr"]), loaders, mode="max",
                                  max_epochs=4, workdir=tmp_path / "max")
    assert maximise({"lr": 0.1}) == pytest.approx(-good)


def test_multifidelity_stops_runs_early_and_pays_only_epochs_trained():
    # an all-Real space: the objective (and make_module) receive a 1-d array
    obj = LightningObjective(lambda x: Regressor(float(x[0])), loaders, max_epochs=9)
    problem = Problem(obj, Space({"lr": Real(1e-4, 0.3, log=True)}),
                      fidelity=obj.fidelity(1), name="lightning-lr")
    res = minimize(problem, MultiFidelity(GA(pop_size=9), 1, 9, eta=3), budget=25, seed=0)
    h = res.history
    assert (h["fidelity"] < 9).sum() > 0 and (h["fidelity"] == 9).sum() >= 1
    # the runs that were not promoted stopped at a low rung ...
    deepest = sorted(max(r) for r in obj.runs.values())
    assert deepest[0] < 9 and deepest[-1] == 9
    # ... and the budget counts the epochs Lightning actually trained, resumes included
    assert res.cost == pytest.approx(sum(deepest)) and res.cost <= 25
    assert res.y == pytest.approx(min(r[9] for r in obj.runs.values() if 9 in r))


def test_missing_metric_and_bad_arguments_raise_value_error(tmp_path):
    obj = LightningObjective(lambda p: Regressor(p["lr"], log_name="other"), loaders,
                             max_epochs=1, workdir=tmp_path)
    with pytest.raises(ValueError, match="logs no 'val_loss'"):
        obj({"lr": 0.1})
    with pytest.raises(ValueError, match="mode"):
        LightningObjective(Regressor, loaders, mode="best")
    with pytest.raises(ValueError, match="max_epochs"):
        LightningObjective(Regressor, loaders, max_epochs=0)
    assert MetricHistory("val_loss").values == {}
