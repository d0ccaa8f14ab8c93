""":func:`compare_losses`: the effect of the loss, each tuned at an equal budget, with
its noise over seeds.

For every task of :mod:`~hybridlab.ml.train._loss_tasks`, every seed and every loss, a
:func:`~hybridlab.driver.minimize` run with the same optimizer and the same number of
trials tunes the learning rate, the weight decay and the loss's own parameter (of
:func:`loss_space`) on the (corrupted) validation split; the trial with the best
validation metric gives the loss's clean test metric. The model is a :class:`TinyMLP`
whose initial weights depend on the seed only, so each seed is a paired comparison:
same data, same initial weights, same tuning budget. The optional ``"searched"`` arm
searches the loss itself (the categorical of :func:`loss_space`) with the same budget.

Example
-------
>>> results, summary = compare_losses(tasks=("outliers",), losses={"regression":
...     ["huber"]}, seeds=(0,), budget=1, epochs=1, searched=False)
>>> results.loss.tolist(), list(summary.columns)[:6]
(['mse', 'huber'], ['task', 'metric', 'loss', 'n', 'mean', 'sd'])
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...config import quick as quick_mode
from ...driver import minimize
from ...problem import Problem
from ...space import Real
from ._fit import fit
from ._loss_tasks import LOSS_TASKS, LossTask, loss_task
from ._losses import loss_from_params, loss_space
from ._models import TinyMLP

__all__ = ["compare_losses", "loss_summary"]

#: The losses compared per kind of task, and the reference each is measured against.
_LOSSES = {"classification": ("cross_entropy", "label_smoothing", "focal", "class_weighted"),
           "regression": ("mse", "mae", "huber", "quantile")}
_REFERENCE = {"classification": "cross_entropy", "regression": "mse"}
_TUNED = {"lr": Real(1e-3, 3e-2, log=True), "weight_decay": Real(1e-6, 1e-2, log=True)}


class _Trials:
    """The objective of one tuning run: trains, returns the validation loss to minimise
    and keeps every trial's validation and test metrics."""

    def __init__(self, task: LossTask, seed: int, epochs: int, hidden: int,
                 batch_size: int, fixed_loss: str | None) -> None:
        self.task, self.seed, self.epochs = task, seed, epochs
        self.hidden, self.batch_size, self.fixed_loss = hidden, batch_size, fixed_loss
        self.records: list[dict[str, Any]] = []

    def __call__(self, params: Mapping[str, Any]) -> float:
        task = self.task
        p = dict(params) if self.fixed_loss is None else {"loss": self.fixed_loss, **params}
        loss = loss_from_params(p, y_train=task.train[1] if task.kind ==
                                "classification" else None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)  # the same initial weights for every loss
            model = TinyMLP(task.train[0].shape[1], self.hidden, task.n_outputs)
        fit(model, task.train, optimizer="adam", lr=p["lr"], weight_decay=p["weight_decay"],
            epochs=self.epochs, batch_size=self.batch_size, loss_fn=loss, seed=self.seed,
            device="cpu")
        val, test = task.score(model, "val"), task.score(model, "test")
        y = (-val if task.higher_is_better else val) if math.isfinite(val) else math.inf
        self.records.append({"params": p, "val": val, "test": test, "y": y})
        return y


def _arm(task: LossTask, loss: str, seed: int, *, budget: int, epochs: int, hidden: int,
         batch_size: int, optimizer: Any) -> dict[str, Any]:
    """Tune one loss (or, for ``"searched"``, the loss itself) on one task and seed."""
    if loss == "searched":
        space = loss_space(task.kind, extra=_TUNED)
        objective = _Trials(task, seed, epochs, hidden, batch_size, None)
    else:
        space = loss_space(task.kind, losses=[loss], extra=_TUNED)
        objective = _Trials(task, seed, epochs, hidden, batch_size, loss)
    t0 = time.perf_counter()
    result = minimize(Problem(objective, space, name=f"{task.name}/{loss}"), optimizer,
                      budget, seed=seed)
    seconds = time.perf_counter() - t0
    ok = [r for r in objective.records if math.isfinite(r["y"])]
    if not ok:
        raise RuntimeError(f"{task.name}/{loss}/seed {seed}: every trial failed "
                           f"({result.history['error'].iloc[-1]!r})")
    best = min(ok, key=lambda r: r["y"])  # the first of equals, as minimize keeps it
    p = best["params"]
    return {"task": task.name, "metric": task.metric, "loss": loss, "seed": seed,
            "test": best["test"], "val": best["val"], "chosen_loss": p["loss"],
            "lr": p["lr"], "weight_decay": p["weight_decay"],
            "loss_params": {k[len("loss__"):]: v for k, v in p.items()
                            if k.startswith("loss__")},
            "trials": result.n_evals, "failed": result.n_evals - len(ok),
            "seconds": seconds}


def compare_losses(
    tasks: Sequence[str] = LOSS_TASKS, *, losses: Mapping[str, Sequence[str]] | None = None,
    seeds: Sequence[int] | None = None, budget: int | None = None,
    epochs: int | None = None, hidden: int = 32, batch_size: int = 128,
    optimizer: Any = "random", searched: bool = True, alpha: float = 0.05,
    quick: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each loss tuned with the same budget on each task, repeated over seeds.

    Parameters
    ----------
    tasks : sequence of str
        Names of :data:`LOSS_TASKS` ("imbalanced", "label_noise", "outliers").
    losses : dict, optional
        ``{"classification": names, "regression": names}`` (either may be left out);
        default: cross_entropy, label_smoothing, focal, class_weighted / mse, mae, huber,
        quantile. The reference (cross_entropy / mse) is always added.
    seeds : sequence of int, optional
        Task, initial-weight, training and tuning seeds; default 0-4 (0-1 in quick mode).
    budget : int, optional
        Trials (training runs) per loss, task and seed: the same for every loss; default
        8 (2 in quick mode).
    epochs : int, optional
        Training epochs per trial; default 30 (2 in quick mode).
    hidden : int, default 32
        Width of the :class:`TinyMLP`'s hidden layer.
    batch_size : int, default 128
    optimizer : str or optimizer, default "random"
        The tuner of :func:`~hybridlab.driver.minimize` (a fresh one per run from a name).
    searched : bool, default True
        Add the arm ``"searched"``: the loss is one more searched dimension
        (:func:`loss_space`), with the same budget.
    alpha : float, default 0.05
        Significance level of the summary's ``within_noise`` flag.
    quick : bool, optional
        Quick-mode defaults (seconds, illustrative only); default: ``HYBRIDLAB_QUICK``.

    Returns
    -------
    results : pandas.DataFrame
        One row per task, loss and seed: ``task, metric, loss, seed, test`` (the clean
        test metric of the trial with the best validation metric), ``val, chosen_loss,
        lr, weight_decay, loss_params`` (dict), ``trials, failed`` (trials whose metric
        was not finite; told the tuner as failures), ``seconds``.
    summary : pandas.DataFrame
        :func:`loss_summary` of ``results``.

    Example
    -------
    >>> r, s = compare_losses(tasks=("imbalanced",), losses={"classification": ["focal"]},
    ...                       seeds=(0,), budget=2, epochs=1, searched=False)
    >>> r.loss.tolist(), r.trials.tolist()
    (['cross_entropy', 'focal'], [2, 2])
    """
    quick = quick_mode() if quick is None else bool(quick)
    seeds = list(range(2 if quick else 5)) if seeds is None else list(seeds)
    budget = (2 if quick else 8) if budget is None else budget
    epochs = (2 if quick else 30) if epochs is None else epochs
    for name in tasks:
        if name not in LOSS_TASKS:
            raise ValueError(f"unknown task {name!r}; use some of {list(LOSS_TASKS)}")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=range(5)")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be an int >= 1 (trials per loss), got {budget!r}")
    chosen = {**_LOSSES, **dict(losses or {})}
    rows = []
    for name in tasks:
        for seed in seeds:
            task = loss_task(name, seed)
            arms = [_REFERENCE[task.kind]] + [n for n in chosen.get(task.kind, ())
                                              if n != _REFERENCE[task.kind]]
            for loss in arms + (["searched"] if searched else []):
                rows.append(_arm(task, loss, seed, budget=budget, epochs=epochs,
                                 hidden=hidden, batch_size=batch_size, optimizer=optimizer))
    results = pd.DataFrame(rows)
    return results, loss_summary(results, alpha=alpha)


def loss_summary(results: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mean and sd over seeds of each loss, and its paired difference to the reference.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`compare_losses`' results (columns ``task, metric, loss, seed, test``).
    alpha : float, default 0.05
        ``within_noise`` is True when the paired t-test's p-value is >= ``alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per task and loss: ``task, metric, loss, n, mean, sd, diff`` (mean of the
        per-seed differences loss - reference, in the metric's units), ``diff_sd,
        p_ttest`` (paired t-test over seeds), ``p_wilcoxon`` (exact Wilcoxon signed-rank;
        with 5 seeds it cannot go below 0.0625), ``within_noise, better`` (significantly
        better than the reference at ``alpha``, in the metric's direction). The reference
        (cross_entropy or mse) has ``diff`` 0, NaN p-values and both flags False.

    Example
    -------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"task": "outliers", "metric": "mae", "seed": [0, 1, 2, 0, 1, 2],
    ...                   "loss": ["mse"] * 3 + ["mae"] * 3,
    ...                   "test": [2.0, 2.2, 2.1, 1.0, 1.1, 1.1]})
    >>> s = loss_summary(r)
    >>> s[["loss", "diff", "within_noise", "better"]].round(2).values.tolist()
    [['mse', 0.0, False, False], ['mae', -1.03, False, True]]
    """
    from scipy import stats

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    out = []
    for task, frame in results.groupby("task", sort=False):
        metric = frame["metric"].iloc[0]
        higher = metric != "mae"  # the regression task's metric; accuracies: higher
        ref_name = _REFERENCE["regression" if metric == "mae" else "classification"]
        table = frame.pivot_table(index="seed", columns="loss", values="test")
        ref = table[ref_name] if ref_name in table else None
        for loss in frame["loss"].unique():
            x = table[loss].dropna()
            row = {"task": task, "metric": metric, "loss": loss, "n": len(x),
                   "mean": x.mean(), "sd": x.std(ddof=1), "diff": math.nan,
                   "diff_sd": math.nan, "p_ttest": math.nan, "p_wilcoxon": math.nan,
                   "within_noise": False, "better": False}
            if ref is not None:
                d = (table[loss] - ref).dropna().to_numpy()
                row["diff"], row["diff_sd"] = d.mean(), d.std(ddof=1) if len(d) > 1 else \
                    math.nan
                if loss != ref_name and len(d) > 1 and np.any(d != 0):
                    row["p_ttest"] = float(stats.ttest_rel(table[loss], ref,
                                                           nan_policy="omit").pvalue)
                    row["p_wilcoxon"] = float(stats.wilcoxon(d).pvalue)
                    significant = row["p_ttest"] < alpha
                    row["within_noise"] = not significant
                    row["better"] = significant and (d.mean() > 0) == higher
                elif loss != ref_name:
                    row["within_noise"] = True
            out.append(row)
    return pd.DataFrame(out)
