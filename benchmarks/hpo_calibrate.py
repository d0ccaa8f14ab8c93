"""Best known values of the HPO benchmark's tasks (:mod:`hpo_tasks`), for normalised regret.

Per task, with Optuna on the task's define-by-run space (``task.suggest``):

* 100 configurations drawn uniformly at random (``RandomSampler(seed=12345)``): their
  median loss is ``ref``, the reference of normalised regret (regret 1 = as good as a
  typical random configuration), and their quantiles show the spread of the loss;
* a long search (``TPESampler(seed=54321, multivariate=True, group=True)``, 300 trials):
  ``best_known`` is the lowest loss of all 400 evaluations;
* the noise scale: the standard deviation of the best configuration's loss over 5 other
  CV splits (the CNN: 5 other initialisations), ``noise_sd``;
* the mean seconds (wall and CPU) per evaluation.

The runs of one task share one process; ``--jobs`` runs tasks side by side. Results are
merged into ``benchmarks/hpo_best_known.json`` (written atomically): running a subset of
tasks keeps the other tasks' entries.

Run::

    python benchmarks/hpo_calibrate.py --jobs 2          # all tasks, about 7 min on 2 cores
    python benchmarks/hpo_calibrate.py --tasks mlp cnn   # recalibrate two tasks
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from hpo_tasks import TASKS, HPOTask, single_thread

from hybridlab.io import atomic_write

OUT = Path(__file__).with_name("hpo_best_known.json")
RANDOM_SEED, SEARCH_SEED = 12345, 54321
NOISE_SEEDS = (1, 2, 3, 4, 5)


def _study_losses(task: HPOTask, sampler: Any, n: int, times: list[tuple[float, float]]
                  ) -> Any:
    """Run ``n`` Optuna trials of ``task.loss``; append (wall, cpu) seconds per loss."""
    import optuna

    def objective(trial: Any) -> float:
        params = task.suggest(trial)
        w, c = time.perf_counter(), time.process_time()
        y = task.loss(params)
        times.append((time.perf_counter() - w, time.process_time() - c))
        trial.set_user_attr("params", params)
        return y

    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


def calibrate(name: str, n_random: int, n_search: int) -> dict[str, Any]:
    """All numbers of one task (runs in a worker process)."""
    import optuna

    single_thread()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task, times = TASKS[name], []
    t0 = time.perf_counter()
    rand = _study_losses(task, optuna.samplers.RandomSampler(seed=RANDOM_SEED), n_random,
                         times)
    with warnings.catch_warnings():  # multivariate/group TPE are flagged experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=SEARCH_SEED, multivariate=True, group=True)
    search = _study_losses(task, sampler, n_search, times)
    r = np.array([t.value for t in rand.trials], dtype=float)
    best = min([*rand.trials, *search.trials], key=lambda t: t.value)
    params = best.user_attrs["params"]
    resampled = [task.loss(params, seed=s) for s in NOISE_SEEDS]
    q = np.quantile(r, [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
    wall, cpu = np.mean(times, axis=0)
    return {
        "role": task.role, "kind": task.kind, "dims": task.dims,
        "description": task.description,
        "ref": float(np.median(r)), "best_known": float(best.value),
        "best_found_by": "random" if best in rand.trials else "tpe",
        "best_random": float(r.min()), "best_tpe": float(search.best_value),
        "random_quantiles": dict(zip(["min", "q10", "q25", "median", "q75", "q90", "max"],
                                     map(float, q), strict=True)),
        "noise_sd": float(np.std(resampled, ddof=1)),
        "best_resampled_mean": float(np.mean(resampled)),
        "sec_per_eval": float(wall), "cpu_sec_per_eval": float(cpu),
        "n_random": n_random, "n_search": n_search,
        "calibration_seconds": time.perf_counter() - t0,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "best_params": params,
    }


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {"tasks": {}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (one task each)")
    ap.add_argument("--random", type=int, default=100, help="random configurations")
    ap.add_argument("--trials", type=int, default=300, help="TPE trials of the long search")
    ap.add_argument("--cnn-trials", type=int, default=None,
                    help="TPE trials for the cnn task (default: --trials)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    cmd = "python benchmarks/hpo_calibrate.py " + " ".join(sys.argv[1:] if argv is None
                                                           else argv)
    trials = {n: args.cnn_trials if n == "cnn" and args.cnn_trials else args.trials
              for n in args.tasks}
    order = sorted(args.tasks, key=lambda n: TASKS[n].kind != "cnn")  # longest first
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(calibrate, n, args.random, trials[n]): n for n in order}
        for fut in as_completed(futures):
            name, res = futures[fut], fut.result()
            data = _load(args.out)
            data["tasks"][name] = res
            data.update(command=cmd, date=dt.datetime.now().isoformat(timespec="seconds"),
                        random_sampler=f"RandomSampler(seed={RANDOM_SEED})",
                        search_sampler=f"TPESampler(seed={SEARCH_SEED}, multivariate=True, "
                                       "group=True)",
                        noise="sd of the best configuration's loss over CV seeds "
                              f"{list(NOISE_SEEDS)}")
            data["tasks"] = dict(sorted(data["tasks"].items()))
            text = json.dumps(data, indent=1, default=str) + "\n"
            atomic_write(args.out, lambda p, text=text: Path(p).write_text(text))
            print(f"{name:20s} ref={res['ref']:.4f} best={res['best_known']:.4f} "
                  f"({res['best_found_by']}) noise={res['noise_sd']:.4f} "
                  f"{res['sec_per_eval']:.3f}s/eval  {res['calibration_seconds']:.0f}s "
                  f"[{time.perf_counter() - t0:.0f}s]", file=sys.stderr, flush=True)
    return _load(args.out)


if __name__ == "__main__":
    main()
