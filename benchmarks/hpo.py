"""HybridSearchCV against scikit-learn's searches and Optuna TPE, at equal trials.

Three tasks (HistGradientBoosting on breast_cancer, SVC on wine, MLP on digits), each
tuned by:

* ``hybridlab`` -- ``HybridSearchCV(optimizer="expensive")`` (its default): GP-EI
  whose acquisition is maximised by a nested local search from 8 dimensions on (these
  tasks have 2-4 dimensions, so here it is GP-EI after a Latin-hypercube design);
* ``random``  -- ``RandomizedSearchCV`` with the same distributions;
* ``grid``    -- ``GridSearchCV`` with the largest grid of at most the trial budget
  (deterministic: run once, reported for every seed);
* ``tpe``     -- Optuna's own TPE sampler (native distributions, not through hybridlab's
  adapter), objective = the same 5-fold CV.

All searches of one seed use the same 5-fold splits (``StratifiedKFold(shuffle=True,
random_state=seed)``) of the same 75 % training split; the held-out 25 % gives the test
score of the refitted best candidate.  Overhead per trial is the search's time outside
fitting and scoring (hybridlab: ``optimizer_seconds_``; Optuna: study time minus
objective time), as wall clock and as CPU time of the main thread (which other processes
competing for the cores do not inflate).

Run::

    python benchmarks/hpo.py                   # 30 and 60 trials, 3 seeds (~20 min, 2 cores)
    python benchmarks/hpo.py --trials 10 --seeds 1 --tasks svc_wine   # smoke test

It prints a table and writes ``reports/hpo/results.csv`` and ``reports/hpo/summary.md``.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from hybridlab import Integer, Real
from hybridlab.io import atomic_write
from hybridlab.ml.search import HybridSearchCV, grid_of_at_most


@dataclass(frozen=True)
class Task:
    name: str
    load: Any
    estimator: Any
    space: dict[str, Real | Integer]


TASKS = {
    "hgb_breast_cancer": Task(
        "hgb_breast_cancer", load_breast_cancer, HistGradientBoostingClassifier(random_state=0),
        {"learning_rate": Real(0.01, 0.5, log=True), "max_leaf_nodes": Integer(4, 64),
         "min_samples_leaf": Integer(2, 60), "l2_regularization": Real(1e-6, 10.0, log=True)}),
    "svc_wine": Task(
        "svc_wine", load_wine, make_pipeline(StandardScaler(), SVC()),
        {"svc__C": Real(1e-3, 1e3, log=True), "svc__gamma": Real(1e-5, 10.0, log=True)}),
    "mlp_digits": Task(
        "mlp_digits", load_digits,
        make_pipeline(StandardScaler(), MLPClassifier(max_iter=60, random_state=0)),
        {"mlpclassifier__hidden_layer_sizes": Integer(8, 96),
         "mlpclassifier__alpha": Real(1e-6, 1.0, log=True),
         "mlpclassifier__learning_rate_init": Real(1e-4, 0.1, log=True)}),
}


def scipy_distributions(space: dict) -> dict:
    out = {}
    for name, d in space.items():
        if isinstance(d, Integer):
            out[name] = randint(d.low, d.high + 1)
        else:
            out[name] = loguniform(d.low, d.high) if d.log else uniform(d.low, d.high - d.low)
    return out


def optuna_tpe(task: Task, X, y, cv, n: int, seed: int) -> tuple[dict, float, float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    in_objective = [0.0, 0.0]

    def objective(trial):
        params = {}
        for name, d in task.space.items():
            if isinstance(d, Integer):
                params[name] = trial.suggest_int(name, d.low, d.high, log=d.log)
            else:
                params[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
        t0, c0 = time.perf_counter(), time.thread_time()
        est = task.estimator.set_params(**params)
        score = cross_val_score(est, X, y, cv=cv, n_jobs=2).mean()
        in_objective[0] += time.perf_counter() - t0
        in_objective[1] += time.thread_time() - c0
        return score

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    t0, c0 = time.perf_counter(), time.thread_time()
    study.optimize(objective, n_trials=n)
    total, cpu = time.perf_counter() - t0, time.thread_time() - c0
    return (study.best_params, study.best_value, total - in_objective[0],
            cpu - in_objective[1])


def run_one(task: Task, method: str, n: int, seed: int, data) -> dict:
    from sklearn.base import clone

    X_tr, X_te, y_tr, y_te = data
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    est = clone(task.estimator)
    t0 = time.perf_counter()
    overhead = cpu = np.nan
    n_cand = n
    if method == "hybridlab":
        s = HybridSearchCV(est, task.space, optimizer="expensive", n_iter=n, cv=cv, n_jobs=2,
                           random_state=seed).fit(X_tr, y_tr)
        best, cv_score, overhead = s.best_params_, s.best_score_, s.optimizer_seconds_
        cpu = s.optimizer_cpu_seconds_
    elif method == "random":
        s = RandomizedSearchCV(est, scipy_distributions(task.space), n_iter=n, cv=cv,
                               n_jobs=2, random_state=seed).fit(X_tr, y_tr)
        best, cv_score = s.best_params_, s.best_score_
    elif method == "grid":
        grid = grid_of_at_most(task.space, n)
        n_cand = int(np.prod([len(v) for v in grid.values()]))
        s = GridSearchCV(est, grid, cv=cv, n_jobs=2).fit(X_tr, y_tr)
        best, cv_score = s.best_params_, s.best_score_
    elif method == "tpe":
        best, cv_score, overhead, cpu = optuna_tpe(task, X_tr, y_tr, cv, n, seed)
    else:
        raise ValueError(method)
    wall = time.perf_counter() - t0
    test = clone(task.estimator).set_params(**best).fit(X_tr, y_tr).score(X_te, y_te)
    return {"task": task.name, "trials": n, "method": method, "seed": seed,
            "candidates": n_cand, "cv_score": cv_score, "test_score": test, "wall_s": wall,
            "overhead_ms_per_trial": 1000 * overhead / n_cand,
            "overhead_cpu_ms_per_trial": 1000 * cpu / n_cand}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--trials", nargs="+", type=int, default=[30, 60])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", nargs="+", default=["hybridlab", "tpe", "random", "grid"])
    ap.add_argument("--out", default="reports/hpo")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")  # MLP convergence warnings at small max_iter
    rows = []
    for name in args.tasks:
        task = TASKS[name]
        X, y = task.load(return_X_y=True)
        data = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
        for n, method, seed in itertools.product(args.trials, args.methods,
                                                 range(args.seeds)):
            if method == "grid" and seed > 0:  # deterministic: same row for every seed
                rows.append({**rows[-1], "seed": seed})
                continue
            rows.append(run_one(task, method, n, seed, data))
            r = rows[-1]
            print(f"{name:18s} n={n:3d} {method:7s} seed={seed} cv={r['cv_score']:.4f} "
                  f"test={r['test_score']:.4f} {r['wall_s']:6.1f}s "
                  f"overhead={r['overhead_ms_per_trial']:.1f}ms "
                  f"(cpu {r['overhead_cpu_ms_per_trial']:.1f}ms)", flush=True)
    df = pd.DataFrame(rows)
    table = (df.groupby(["task", "trials", "method"], sort=False)
             .agg(cv_mean=("cv_score", "mean"), cv_sd=("cv_score", "std"),
                  test_mean=("test_score", "mean"), wall_s=("wall_s", "mean"),
                  overhead_ms=("overhead_ms_per_trial", "mean"),
                  overhead_cpu_ms=("overhead_cpu_ms_per_trial", "mean"),
                  candidates=("candidates", "first"))
             .round(4).reset_index())
    means = (df.groupby(["trials", "method"], sort=False)["cv_score"].mean().unstack()
             .round(4))
    print(table.to_string(index=False))
    print("\nmean CV score over tasks and seeds:\n" + means.to_string())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = ("# HPO benchmark (benchmarks/hpo.py)\n\n"
            f"Command: `python benchmarks/hpo.py {' '.join(argv or [])}`\n\n"
            + table.to_markdown(index=False) + "\n\nMean CV score over tasks and seeds:\n\n"
            + means.to_markdown() + "\n")
    atomic_write(out / "results.csv", lambda p: df.to_csv(p, index=False))
    atomic_write(out / "summary.md", lambda p: Path(p).write_text(text))
    return df


if __name__ == "__main__":
    main()
