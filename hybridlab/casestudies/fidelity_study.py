"""Training epochs as a fidelity, studied on case study 1's task: a GA with and without
multi-fidelity at equal epochs.

:func:`fidelity_study` is what notebook 03 and ``benchmarks/multifidelity.py`` run: the same
GA tuning case study 1's CNN on noisy-small digits, once evaluating every candidate for the
full number of epochs and once inside :class:`~hybridlab.MultiFidelity`, plus Optuna's TPE
with its ``HyperbandPruner``, all at the same total number of training epochs. Candidates
are trained by a resumable :class:`hybridlab.ml.train.EpochsObjective`, so promoting one
from 3 to 9 epochs costs 6 epochs. :func:`epochs_to_reach` and :func:`plot_fidelity_study`
summarise the curves.

Example
-------
>>> import pandas as pd
>>> curves = pd.DataFrame({"method": ["ga", "ga", "mf(ga)"], "seed": 0,
...                        "epochs": [27, 54, 20], "best_val": [0.8, 0.9, 0.9],
...                        "epochs_trained": 54, "seconds": 1.0})
>>> epochs_to_reach(curves)[["method", "epochs_to_target", "speedup"]]
   method  epochs_to_target  speedup
0      ga              54.0      1.0
1  mf(ga)              20.0      2.7
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridlab import (
    GA,
    AsyncHalving,
    Fidelity,
    MultiFidelity,
    Problem,
    make,
    minimize,
)
from hybridlab.ml.train import EpochsObjective

from .hpo_cnn import SPACE, load_task, make_cnn

__all__ = ["EXTRA_METHODS", "METHODS", "cnn_problem", "epochs_to_reach", "fidelity_study",
           "plot_fidelity_study", "summarise_reach"]


def _cnn_fit_kwargs(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"optimizer": "adam", "lr": float(cfg["lr"]), "batch_size": int(cfg["batch_size"]),
            "weight_decay": float(cfg["weight_decay"])}


def _cnn(cfg: dict[str, Any]) -> Any:
    return make_cnn(cfg)


def cnn_problem(seed: int, max_epochs: int = 27, task: str = "noisy-small",
                cache_dir: str | Path | None = None) -> tuple[Any, EpochsObjective]:
    """Case study 1's CNN search space on ``task`` as a resumable multi-fidelity problem
    (fidelity = epochs, ``1 .. max_epochs``); returns ``(problem, objective)``."""
    train, val, _ = load_task(task, seed)
    objective = EpochsObjective(_cnn, train, val, fit_kwargs=_cnn_fit_kwargs, seed=seed,
                                cache_dir=cache_dir)
    problem = Problem(objective, SPACE, name=f"cnn-{task}",
                      fidelity=Fidelity(1, max_epochs, resumable=True))
    return problem, objective


def _curve(res: Any, method: str, seed: int, max_epochs: int) -> pd.DataFrame:
    """Best full-fidelity validation accuracy against epochs spent and wall time."""
    h = res.history
    spent = h["cost"].cumsum().to_numpy()
    full = (h["fidelity"] >= max_epochs).to_numpy() & (h["status"] == "ok").to_numpy()
    acc = np.where(full, 1.0 - h["y"].to_numpy(dtype=float), -np.inf)
    best = np.maximum.accumulate(acc)
    keep = full
    return pd.DataFrame({"method": method, "seed": seed, "epochs": spent[keep],
                         "best_val": best[keep], "wall": h["time"].to_numpy()[keep]})


def _optuna_hyperband(problem: Any, objective: EpochsObjective, budget: int, seed: int,
                      max_epochs: int, eta: int, min_epochs: int = 1) -> pd.DataFrame:
    """TPE + HyperbandPruner; every epoch is one resumed call (cost 1)."""
    import optuna

    from hybridlab.integrations import suggest

    spent, rows, best, t0 = [0], [], [-np.inf], time.perf_counter()

    def run(trial: Any) -> float:
        params = suggest(trial, problem.space)
        acc = -np.inf
        for epoch in range(1, max_epochs + 1):
            if spent[0] >= budget:
                raise optuna.TrialPruned()
            acc = 1.0 - objective(params, fidelity=epoch)
            spent[0] += 1
            trial.report(acc, epoch)
            if epoch < max_epochs and trial.should_prune():
                raise optuna.TrialPruned()
        best[0] = max(best[0], acc)
        rows.append((spent[0], best[0], time.perf_counter() - t0))
        return acc

    def enough(study: Any, _trial: Any) -> None:
        if spent[0] >= budget:
            study.stop()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(  # Hyperband assigns brackets by hashing the study name:
        study_name=f"hyperband-seed{seed}",  # a fixed name makes the run repeatable
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=min_epochs, max_resource=max_epochs,
                                              reduction_factor=eta))
    study.optimize(run, callbacks=[enough])
    return pd.DataFrame({"method": "optuna tpe + hyperband", "seed": seed,
                         "epochs": [r[0] for r in rows], "best_val": [r[1] for r in rows],
                         "wall": [r[2] for r in rows]})


#: the methods of :func:`fidelity_study`
METHODS = ("ga", "mf(ga)", "mf(tpe)", "hb(tpe)", "optuna tpe + hyperband")
#: methods run only when named (``methods=``): asynchronous successive halving, which
#: pays off with parallel workers (the study trains one job at a time)
EXTRA_METHODS = ("asha(tpe)", "asha(ga)")


def _optimizer(method: str, pop_size: int, low: int, high: int, eta: int) -> Any:
    if method == "ga":
        return GA(pop_size=pop_size)
    if method == "mf(ga)":
        return MultiFidelity(GA(pop_size=pop_size), low, high, eta=eta)
    if method == "asha(ga)":
        return AsyncHalving(GA(pop_size=pop_size), low, high, eta=eta, workers=4)
    if method == "asha(tpe)":
        return AsyncHalving(make("optuna_tpe"), low, high, eta=eta, workers=4)
    tpe = make("optuna_tpe", batch_size=pop_size)
    brackets = "hyperband" if method == "hb(tpe)" else "halving"
    return MultiFidelity(tpe, low, high, eta=eta, brackets=brackets)


def fidelity_study(seeds: Sequence[int] = (0, 1, 2), budget: int = 1000,
                   max_epochs: int = 27, eta: int = 3, pop_size: int = 27,
                   optuna: bool = True, progress: bool = True, min_epochs: int = 1,
                   methods: Sequence[str] | None = None) -> pd.DataFrame:
    """GA with and without multi-fidelity, model-based multi-fidelity (BOHB-style) and
    Optuna TPE + Hyperband, at equal epochs.

    Every method tunes case study 1's CNN (:func:`cnn_problem`) for ``budget`` training
    epochs in total: ``ga`` trains every candidate for ``max_epochs``;
    ``mf(ga)`` is ``MultiFidelity(GA(pop_size), 1, max_epochs, eta)`` with resumed
    training; ``mf(tpe)`` the same successive halving with Optuna's TPE proposing each
    population of ``pop_size`` (through hybridlab's adapter); ``hb(tpe)`` adds
    Hyperband's brackets to it (BOHB); the Optuna arm reports every epoch to a
    ``HyperbandPruner``.  ``min_epochs`` is the lowest rung of every multi-fidelity
    method; ``methods`` picks a subset of :data:`METHODS` and :data:`EXTRA_METHODS`
    (``asha(tpe)``: :class:`~hybridlab.AsyncHalving` with 4 jobs per batch, run one job at
    a time here).

    Returns
    -------
    DataFrame
        ``method, seed, epochs, best_val, wall``: the best validation accuracy of a
        candidate trained for the full ``max_epochs``, after ``epochs`` epochs spent and
        ``wall`` seconds, one row per full-fidelity result.
    """
    from tqdm.auto import tqdm

    if methods is None:
        methods = [m for m in METHODS if optuna or "tpe" not in m]
    unknown = set(methods) - set(METHODS) - set(EXTRA_METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}: choose from "
                         f"{METHODS + EXTRA_METHODS}")
    frames = []
    with tqdm(total=len(seeds) * len(methods), desc="fidelity study", unit="run",
              disable=not progress) as bar:
        for seed in seeds:
            for method in methods:
                problem, objective = cnn_problem(seed, max_epochs)
                t0 = time.perf_counter()
                if method == "optuna tpe + hyperband":
                    curve = _optuna_hyperband(problem, objective, budget, seed, max_epochs,
                                              eta, min_epochs)
                else:
                    opt = _optimizer(method, pop_size, min_epochs, max_epochs, eta)
                    res = minimize(problem, opt, budget=budget, seed=seed)
                    curve = _curve(res, method, seed, max_epochs)
                curve["seconds"] = time.perf_counter() - t0
                curve["epochs_trained"] = objective.epochs_trained
                frames.append(curve)
                bar.update()
    return pd.concat(frames, ignore_index=True)


def epochs_to_reach(curves: pd.DataFrame, reference: str = "ga") -> pd.DataFrame:
    """Per seed: the target is the best validation accuracy ``reference`` reached with
    its whole budget; for every method, the epochs it spent to first reach that target
    (NaN: never), the speed-up over ``reference`` in epochs and (where the curves have
    a ``wall`` column) in wall time, and the final best.
    """
    rows = []
    has_wall = "wall" in curves
    for seed, g in curves.groupby("seed"):
        ref = g[g["method"] == reference]
        target = float(ref["best_val"].max())
        ref_hit = ref[ref["best_val"] >= target - 1e-12]
        ref_epochs = float(ref_hit["epochs"].min())
        for method, m in g.groupby("method", sort=False):
            hit = m[m["best_val"] >= target - 1e-12]
            epochs = float(hit["epochs"].min()) if len(hit) else np.nan
            wall = {}
            if has_wall:
                first = float(hit["wall"].min()) if len(hit) else np.nan
                wall = {"seconds_to_target": first,
                        "wall_speedup": float(ref_hit["wall"].min()) / first
                        if len(hit) else np.nan}
            rows.append({"seed": seed, "method": method, "target_val": target,
                         "epochs_to_target": epochs, "speedup": ref_epochs / epochs
                         if len(hit) else np.nan, **wall,
                         "final_best_val": float(m["best_val"].max()),
                         "full_fidelity_results": len(m),
                         "epochs_trained": int(m["epochs_trained"].iloc[0]),
                         "seconds": float(m["seconds"].iloc[0])})
    return pd.DataFrame(rows)


def summarise_reach(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, over the seeds of :func:`epochs_to_reach`'s table: how many reached
    the target, median epochs to it, median and minimum speed-up in epochs (a seed that
    never reached it counts as speed-up 0), median wall-time speed-up, mean final best
    and mean seconds per run."""
    t = table.fillna({"speedup": 0.0})
    if "wall_speedup" in t:
        t = t.fillna({"wall_speedup": 0.0})
    else:
        t = t.assign(wall_speedup=np.nan)
    return t.groupby("method", sort=False).agg(
        reached=("epochs_to_target", lambda s: int(s.notna().sum())),
        median_epochs_to_target=("epochs_to_target", "median"),
        median_speedup=("speedup", "median"), min_speedup=("speedup", "min"),
        median_wall_speedup=("wall_speedup", "median"),
        mean_final_best_val=("final_best_val", "mean"), mean_seconds=("seconds", "mean"))


def plot_fidelity_study(curves: pd.DataFrame, ax: Any = None) -> Any:
    """Best validation accuracy against training epochs spent, per method (median over
    seeds of the step curves, thin lines per seed)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    grid = np.linspace(0, curves["epochs"].max(), 200)
    for i, (method, g) in enumerate(curves.groupby("method", sort=False)):
        colour = f"C{i}"
        steps = []
        for _, s in g.groupby("seed"):
            s = s.sort_values("epochs")
            idx = np.searchsorted(s["epochs"].to_numpy(), grid, side="right") - 1
            vals = np.where(idx >= 0, s["best_val"].to_numpy()[np.maximum(idx, 0)], np.nan)
            ax.step(grid, vals, where="post", color=colour, alpha=0.25, lw=0.8)
            steps.append(vals)
        with warnings.catch_warnings():  # before a method's first result: all NaN
            warnings.filterwarnings("ignore", message="All-NaN slice", category=RuntimeWarning)
            median = np.nanmedian(np.vstack(steps), axis=0)
        ax.step(grid, median, where="post", color=colour, lw=2, label=method)
    ax.set_xlabel("training epochs spent")
    ax.set_ylabel("best validation accuracy (full training)")
    ax.legend()
    return ax
