"""The design of case study 1 (:mod:`hybridlab.casestudies.hpo_cnn`): the default
settings, the search space, the searchers and the tasks, in one place that both the study
and its report text (:mod:`._hpo_text`) read."""

from __future__ import annotations

from typing import Any

from hybridlab.space import Categorical, Integer, Real, Space

__all__ = ["BAYESIAN", "CONTROLS", "DEFAULTS", "EARLY_STOPPED", "EPOCHS", "HEADLINE_TASK",
           "HYBRIDS", "LONGER", "PATIENCE", "SEARCHERS", "SPACE", "TASKS"]

#: what a user starts from (SmallCNN() defaults, Adam lr 1e-3, batch 32 as in Keras)
DEFAULTS: dict[str, Any] = {"lr": 1e-3, "n_conv": 2, "channels": 8, "kernel": 3,
                            "hidden": 64, "dropout": 0.0, "weight_decay": 0.0,
                            "batch_size": 32}
#: training epochs, the same for the default and every trial (halved in quick mode)
EPOCHS = 20
#: the search space (conv widths double per block: channels, 2*channels, 4*channels)
SPACE = Space({
    "lr": Real(1e-4, 3e-2, log=True),
    "n_conv": Integer(1, 3),
    "channels": Integer(4, 32, log=True),
    "kernel": Categorical([3, 5]),
    "hidden": Categorical([0, 32, 64, 128, 256]),
    "dropout": Real(0.0, 0.5),
    "weight_decay": Real(1e-6, 1e-2, log=True),
    "batch_size": Categorical([16, 32, 64, 128]),
})
SEARCHERS = ("optuna_tpe", "optuna_gp", "bayes", "random", "expensive", "ga>>local")
BAYESIAN = ("optuna_tpe", "optuna_gp", "bayes")
HYBRIDS = ("expensive", "ga>>local")
#: per task: training / validation images per class (None: digits_data split) and noise sd
TASKS: dict[str, dict[str, Any]] = {
    "noisy-small": {"train_per_class": 25, "val_per_class": 30, "noise": 0.25},
    "digits": {"train_per_class": None, "val_per_class": None, "noise": 0.0},
}
HEADLINE_TASK = "noisy-small"
#: the control row: the default settings trained three times as many epochs
LONGER = "default, 3x epochs"
#: the fair baseline: the default settings trained to convergence -- up to 10x
#: :data:`EPOCHS`, stopped when validation loss has not improved for :data:`PATIENCE`
#: epochs, best epoch's weights restored (it sees the validation split, as every search does)
EARLY_STOPPED = "default, early stopping"
PATIENCE = 10
#: the rows that are not searches
CONTROLS = (LONGER, EARLY_STOPPED)
