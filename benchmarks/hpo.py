"""HPO benchmark: hybridlab searchers against Optuna's TPE, GP and random sampling.

The tasks (:mod:`hpo_tasks`) are deterministic, single-threaded losses of scikit-learn
models (3-fold CV on fixed splits, 4-12 dimensions, conditional spaces among them) and case
study 1's CNN. Every method gets the same budgets of trials:

* hybridlab methods (default ``expensive``, ``bayes``, ``ga>>local``; any registry name or
  spec string) run ``hybridlab.minimize(Problem(task.loss, task.space), spec, budget=n,
  seed=seed)``, one separate run per budget ``n``, since they plan with the budget;
* Optuna's ``tpe`` (``TPESampler(seed=seed)``), ``gp`` (``GPSampler(seed=seed)``) and
  ``random`` (``RandomSampler(seed=seed)``) run natively on ``task.suggest`` once at the
  largest budget; budget ``n`` takes the best of the first ``n`` trials. (To run
  hybridlab's own ``random``, write ``hl:random``.)

Score: normalised regret ``max(0, best - best_known) / (ref - best_known)`` with ``ref``
(median loss of 100 random configurations) and ``best_known`` from
``benchmarks/hpo_best_known.json`` (``benchmarks/hpo_calibrate.py``): 0 is the best known
value, 1 a typical random configuration.

Each finished run is appended to ``<out>/runs/<task>.jsonl`` (git-ignored); a rerun skips
the runs already there, so an interrupted benchmark resumes. The report --
``summary.md``, ``results.csv`` and ``regret.png`` (``*-tune.*`` for ``--role tune``) -- is
rebuilt from those files at the end of every call.

Run::

    python benchmarks/hpo_calibrate.py --jobs 2   # once: best known values (~7 min)
    python benchmarks/hpo.py --jobs 2             # 9 report tasks, 5 seeds (~45-60 min*)
    python benchmarks/hpo.py --role tune --jobs 2 # the 3 tuning tasks, seeds 100-102
    python benchmarks/hpo.py --trials 5 10 --seeds 1 --tasks sgd_sparse svc_kernel \\
        --methods expensive tpe random --out /tmp/hpo_smoke           # smoke test (~10 s)

(*) estimated on 2 cores from the calibrated seconds per evaluation (about 23,000
evaluations, 0.03-0.33 s each) plus the searches' own time (up to ~85 ms per trial for
the GP-based methods at 60 trials); a full grid of one cheap task and seed takes ~20 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hpo_tasks import TASKS, HPOTask, single_thread
from tqdm import tqdm

from hybridlab.io import atomic_write

PEERS = ("tpe", "gp", "random")  # Optuna samplers, run natively
HYBRIDLAB = ("expensive", "bayes", "ga>>local")
BEST_KNOWN = Path(__file__).with_name("hpo_best_known.json")
ALPHA = 0.05
Unit = tuple[str, str, tuple[int, ...], int]  # task, method, budgets, seed


# -- one run ---------------------------------------------------------------------------------
@dataclass
class TimedLoss:
    """``loss`` that records each value and, after each call, (wall clock, process CPU,
    CPU spent inside the loss so far)."""

    loss: Any
    values: list[float] = field(default_factory=list)
    marks: list[tuple[float, float, float]] = field(default_factory=list)
    inside: float = 0.0

    def __call__(self, params: dict[str, Any]) -> float:
        c0 = time.process_time()
        y = math.nan
        try:
            y = float(self.loss(params))
        finally:
            self.inside += time.process_time() - c0
            self.values.append(y)
            self.marks.append((time.perf_counter(), time.process_time(), self.inside))
        return y


def _run_optuna(task: HPOTask, method: str, n: int, seed: int, timed: TimedLoss) -> None:
    import optuna

    sampler = {"tpe": optuna.samplers.TPESampler, "gp": optuna.samplers.GPSampler,
               "random": optuna.samplers.RandomSampler}[method](seed=seed)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda trial: timed(task.suggest(trial)), n_trials=n)


def _run_hybridlab(task: HPOTask, spec: str, n: int, seed: int, timed: TimedLoss) -> None:
    import hybridlab as hl

    hl.minimize(hl.Problem(timed, task.space, name=task.name), spec, budget=n, seed=seed)


def run_unit(task_name: str, method: str, budgets: tuple[int, ...], seed: int
             ) -> list[dict[str, Any]]:
    """One search (Optuna peers: once at the largest budget); one record per budget."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task, timed = TASKS[task_name], TimedLoss(TASKS[task_name].loss)
    task.loss.prepare()  # data and imports: not part of the search's time
    peer = method in PEERS
    n_run = max(budgets)
    w0, c0 = time.perf_counter(), time.process_time()
    error = None
    try:
        if peer:
            _run_optuna(task, method, n_run, seed, timed)
        else:
            _run_hybridlab(task, method.removeprefix("hl:"), n_run, seed, timed)
    except Exception as exc:  # recorded, not fatal
        error = f"{type(exc).__name__}: {exc}"
    end = (time.perf_counter(), time.process_time(), timed.inside)
    out = []
    for n in budgets:
        k = min(n, len(timed.values))
        w, c, inside = timed.marks[k - 1] if peer and k else end
        curve = [None if math.isnan(v) else v for v in timed.values[:k]]
        finite = [v for v in curve if v is not None]
        search = (c - c0) - inside
        out.append({
            "task": task_name, "method": method, "budget": n, "seed": seed,
            "best": min(finite) if finite and error is None else None, "curve": curve,
            "n_evals": k, "wall_s": w - w0, "search_cpu_s": search, "loss_cpu_s": inside,
            "search_ms_per_trial": 1000 * search / max(k, 1), "error": error,
            "engine": "optuna" if peer else "hybridlab", "run_budget": n_run,
            "date": dt.datetime.now().isoformat(timespec="seconds")})
    return out


# -- resumable execution ----------------------------------------------------------------------
def load_runs(runs: Path, tasks: list[str]) -> pd.DataFrame:
    """Every recorded run of ``tasks`` (a torn last line is ignored)."""
    rows = []
    for name in tasks:
        path = runs / f"{name}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    cols = ["task", "method", "budget", "seed", "best", "curve", "error"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


def pending(done: pd.DataFrame, tasks: list[str], methods: list[str], budgets: list[int],
            seeds: list[int]) -> list[Unit]:
    """Runs still to do: hybridlab one per budget, an Optuna peer one for all budgets."""
    have = set(zip(done.task, done.method, done.budget.astype(int), done.seed.astype(int),
                   strict=True))
    units: list[Unit] = []
    for task in tasks:
        for method in methods:
            for seed in seeds:
                missing = tuple(n for n in budgets if (task, method, n, seed) not in have)
                if method in PEERS and missing:
                    units.append((task, method, missing, seed))
                elif missing:
                    units.extend((task, method, (n,), seed) for n in missing)
    return units


def _append(runs: Path, records: list[dict[str, Any]], budgets: tuple[int, ...]) -> None:
    runs.mkdir(parents=True, exist_ok=True)
    with open(runs / f"{records[0]['task']}.jsonl", "a") as f:
        for r in records:
            if r["budget"] in budgets:
                f.write(json.dumps(r) + "\n")
        f.flush()


def _init_worker() -> None:
    import optuna

    try:  # imported here, not inside the first run's timing (Optuna's GP sampler uses it)
        import torch  # noqa: F401
    except ImportError:
        pass
    single_thread()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _warm_up()


def _warm_up() -> None:
    """Pay hybridlab's import and its lazy imports (scipy.stats.qmc, the surrogates)
    before any run is timed: a tiny search with each model-based engine."""
    import hybridlab as hl

    p = hl.Problem(lambda x: float(np.sum(x**2)), hl.Space.box(2, -1, 1))
    for spec in ("bayes", "trust_region", "surrogate(ga(pop_size=6))"):
        hl.minimize(p, spec, budget=10, seed=0)


def execute(units: list[Unit], runs: Path, jobs: int, cost: dict[str, float]) -> int:
    """Run ``units`` (most expensive first) in ``jobs`` processes; append as they finish.
    Returns the number of runs that raised."""
    units = sorted(units, key=lambda u: -cost.get(u[0], 0.2) * max(u[2]))
    failed = 0
    bar = tqdm(total=len(units), file=sys.stderr, desc="hpo runs", unit="run")

    def done(unit: Unit, records: list[dict[str, Any]]) -> None:
        nonlocal failed
        _append(runs, records, unit[2])
        failed += records[0]["error"] is not None
        bar.set_postfix_str(f"{unit[0]} {unit[1]} s{unit[3]}", refresh=False)
        bar.update()

    if jobs <= 1:
        _init_worker()
        for u in units:
            done(u, run_unit(u[0], u[1], u[2], u[3]))
    else:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"),
                                 initializer=_init_worker) as pool:
            futures = {pool.submit(run_unit, *u): u for u in units}
            for fut in as_completed(futures):
                done(futures[fut], fut.result())
    bar.close()
    return failed


# -- metrics ---------------------------------------------------------------------------------
def add_regret(df: pd.DataFrame, calib: dict[str, Any], every: pd.DataFrame
               ) -> tuple[pd.DataFrame, list[str]]:
    """Normalised regret of each run. ``best_known`` is lowered to the best value any
    recorded run of the task found (``every``); returns the notes on where it was."""
    notes, refs, bks = [], {}, {}
    for task in df.task.unique():
        entry = calib.get("tasks", {}).get(task)
        if entry is None:
            notes.append(f"`{task}` is not calibrated: no regret (run hpo_calibrate.py)")
            continue
        found = pd.to_numeric(every.loc[every.task == task, "best"]).min()
        bks[task], refs[task] = min(entry["best_known"], found), entry["ref"]
        if found < entry["best_known"]:
            notes.append(f"`{task}`: a run found {found:.5f} < calibrated best_known "
                         f"{entry['best_known']:.5f}; the run's value is used")
    df = df.assign(best_known=df.task.map(bks), ref=df.task.map(refs))
    df["regret"] = ((df.best - df.best_known).clip(lower=0.0)
                    / (df.ref - df.best_known).where(df.ref > df.best_known))
    return df, notes


def _order(methods: list[str], present: Any) -> list[str]:
    return [m for m in methods if m in set(present)]


def table_overall(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """(a) Mean normalised regret and mean rank (per task, seed and budget; ties
    averaged) per method and budget."""
    d = df.assign(rank=df.groupby(["task", "seed", "budget"]).best.rank(method="average"))
    agg = d.groupby(["method", "budget"]).agg(regret=("regret", "mean"),
                                              rank=("rank", "mean")).unstack("budget")
    agg.columns = [f"{k} @{n}" for k, n in agg.columns]
    cols = [f"{k} @{n}" for n in sorted(df.budget.unique()) for k in ("regret", "rank")]
    return agg.loc[_order(methods, agg.index), cols].round(3)


def table_per_task(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """(b) Mean normalised regret per task and method (columns: budgets)."""
    t = df.pivot_table(index=["task", "method"], columns="budget", values="regret",
                       aggfunc="mean")
    t.columns = [f"regret @{n}" for n in t.columns]
    order = [(task, m) for task in dict.fromkeys(df.task) for m in methods
             if (task, m) in t.index]
    return t.loc[order].round(3).reset_index()


def table_wilcoxon(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """(c) Paired two-sided Wilcoxon signed-rank tests of normalised regret over the
    task-seed pairs, each method against ``tpe`` and ``gp`` (gp against tpe once); Holm
    over the tests of a budget (:func:`hybridlab.study.stats.against_baselines`)."""
    from hybridlab.study.stats import against_baselines

    baselines = [b for b in ("tpe", "gp") if b in set(df.method)]
    if not baselines:
        return pd.DataFrame()
    order = {m: i for i, m in enumerate(methods)}
    df = df[df.method.isin(methods)].sort_values("method", key=lambda s: s.map(order),
                                                   kind="stable")
    out = against_baselines(df, baselines, alpha=ALPHA)
    return out.round({"median_diff": 4, "mean_diff": 4, "p": 4, "p_holm": 4})


def table_overhead(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """(d) The search's own CPU time (outside the loss) per trial at the largest budget."""
    d = df[df.budget == df.budget.max()]
    t = d.groupby("method").agg(
        search_ms_per_trial_mean=("search_ms_per_trial", "mean"),
        search_ms_per_trial_median=("search_ms_per_trial", "median"),
        search_ms_per_trial_max=("search_ms_per_trial", "max"),
        wall_s_per_run=("wall_s", "mean"))
    return t.loc[_order(methods, t.index)].round(2)


# -- figure and report ----------------------------------------------------------------------
FLOOR = 1e-3  # regret 0 drawn at this value on the log axis


def plot(df: pd.DataFrame, methods: list[str], path: Path) -> None:
    """Mean normalised regret against trials: all tasks, then one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(df.task))
    ncol = 4
    nrow = 1 + math.ceil(len(tasks) / ncol)
    fig = plt.figure(figsize=(4 * ncol, 3.2 * nrow))
    panels = [("all tasks", df, fig.add_subplot(nrow, 1, 1))]
    panels += [(t, df[df.task == t], fig.add_subplot(nrow, ncol, ncol + i + 1))
               for i, t in enumerate(tasks)]
    for title, d, ax in panels:
        mean = d.groupby(["method", "budget"]).regret.mean()
        for m in _order(methods, d.method.unique()):
            s = mean.loc[m].clip(lower=FLOOR)
            ax.plot(s.index, s.to_numpy(), marker="o", lw=1.5,
                    ls="--" if m in PEERS else "-", label=m)
        ax.set_yscale("log")
        ax.set_xticks(sorted(d.budget.unique()))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("trials")
        ax.grid(alpha=0.3, which="both")
    panels[0][2].set_ylabel("mean normalised regret")
    panels[0][2].legend(fontsize=8, ncol=2)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def _task_table(tasks: list[str], calib: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name in tasks:
        t, c = TASKS[name], calib.get("tasks", {}).get(name, {})
        q = c.get("random_quantiles", {})
        rows.append({"task": name, "kind": t.kind, "dims": t.dims,
                     "ref": c.get("ref"), "best_known": c.get("best_known"),
                     "random q10-q90": f"{q['q10']:.3f}-{q['q90']:.3f}" if q else "",
                     "noise_sd": c.get("noise_sd"), "s/eval": c.get("sec_per_eval"),
                     "description": t.description})
    return pd.DataFrame(rows).round(4)


def report(tables: dict[str, pd.DataFrame], tasks: list[str], calib: dict[str, Any],
           notes: list[str], cmd: str, figure: str) -> str:
    """The markdown summary."""
    def md(t: pd.DataFrame, index: bool = True) -> str:
        return t.to_markdown(index=index) if len(t) else "(no runs)"

    head = [
        "# HPO benchmark (benchmarks/hpo.py)", "",
        f"Command: `{cmd}`  ", f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Best known values: `benchmarks/hpo_best_known.json` ({calib.get('date', '?')}, "
        f"`{calib.get('command', '?')}`)", "",
        "Normalised regret = max(0, best - best_known) / (ref - best_known): 0 is the best "
        "known loss, 1 the median loss of 100 random configurations. Losses are 1 - CV "
        "accuracy (classification), CV RMSE / sd(y) (regression), 1 - validation accuracy "
        "(cnn); `noise_sd` is the sd of the best configuration's loss over other CV splits "
        "(cnn: initialisations).", "", "## Tasks", "", md(_task_table(tasks, calib), False),
        "", *(f"* {n}" for n in notes), ""]
    body = [
        "## (a) Mean normalised regret and mean rank (over tasks and seeds)", "",
        "Rank 1 = best of the methods on a task, seed and budget (ties averaged).", "",
        md(tables["overall"]), "", f"![regret]({figure})", "",
        "Per-task panels: mean over seeds; regret 0 is drawn at 1e-3.", "",
        "## (b) Mean normalised regret per task", "", md(tables["per_task"], False), "",
        "## (c) Paired Wilcoxon signed-rank tests against tpe and gp", "",
        "Differences of normalised regret (method - baseline) over the task-seed pairs; "
        f"two-sided, Holm-corrected over the tests of a budget, alpha {ALPHA}. "
        "`wins`: pairs where the method is better.", "",
        md(tables["wilcoxon"], False), "",
        "## (d) Search CPU time per trial at the largest budget (ms, outside the loss)", "",
        "Process CPU time of the whole run minus the CPU time inside the loss, per trial; "
        "every run is single-threaded.", "", md(tables["overhead"]), ""]
    return "\n".join(head + body)


# -- command line ----------------------------------------------------------------------------
def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=["report", "tune"], default="report",
                    help="report tasks (results) or tune tasks (for choosing defaults)")
    ap.add_argument("--tasks", nargs="+", choices=list(TASKS),
                    help="default: every task of --role")
    ap.add_argument("--methods", nargs="+", default=[*HYBRIDLAB, *PEERS],
                    help=f"hybridlab registry names or specs; {', '.join(PEERS)} are "
                         "Optuna's samplers (hl:NAME runs hybridlab's NAME)")
    ap.add_argument("--trials", nargs="+", type=int, default=[20, 30, 60])
    ap.add_argument("--seeds", type=int, default=None,
                    help="number of seeds: 0..N-1 (report, default 5) or 100.. (tune, 3)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--out", type=Path, default=Path("reports/hpo"))
    ap.add_argument("--best-known", type=Path, default=BEST_KNOWN)
    args = ap.parse_args(argv)
    args.tasks = args.tasks or [n for n, t in TASKS.items() if t.role == args.role]
    base, default = (0, 5) if args.role == "report" else (100, 3)
    args.seed_list = list(range(base, base + (args.seeds or default)))
    args.trials = sorted(set(args.trials))
    return args


def summarise(args: argparse.Namespace, cmd: str) -> dict[str, pd.DataFrame]:
    """Tables, figure and report of the requested grid, from the run files."""
    calib = json.loads(args.best_known.read_text()) if args.best_known.exists() else {}
    every = load_runs(args.out / "runs", args.tasks)
    if every.empty:
        return {}
    every = every[every.error.isna()].astype({"budget": int, "seed": int})
    df = every[every.method.isin(args.methods) & every.budget.isin(args.trials)
               & every.seed.isin(args.seed_list)].copy()
    df["best"] = df.best.astype(float)
    df, notes = add_regret(df, calib, every)
    tables = {"overall": table_overall(df, args.methods),
              "per_task": table_per_task(df, args.methods),
              "wilcoxon": table_wilcoxon(df, args.methods),
              "overhead": table_overhead(df, args.methods)}
    suffix = "" if args.role == "report" else "-tune"
    plot(df, args.methods, args.out / f"regret{suffix}.png")
    text = report(tables, args.tasks, calib, notes, cmd, f"regret{suffix}.png")
    atomic_write(args.out / f"summary{suffix}.md", lambda p: Path(p).write_text(text))
    csv = df.drop(columns=["curve"]).sort_values(["task", "method", "budget", "seed"])
    atomic_write(args.out / f"results{suffix}.csv", lambda p: csv.to_csv(p, index=False))
    return tables


def main(argv: list[str] | None = None) -> dict[str, pd.DataFrame]:
    args = parse(argv)
    cmd = "python benchmarks/hpo.py " + " ".join(sys.argv[1:] if argv is None else argv)
    calib = json.loads(args.best_known.read_text()) if args.best_known.exists() else {}
    cost = {n: c["sec_per_eval"] for n, c in calib.get("tasks", {}).items()}
    units = pending(load_runs(args.out / "runs", args.tasks), args.tasks, args.methods,
                    args.trials, args.seed_list)
    print(f"{len(units)} runs to do ({len(args.tasks)} tasks x {len(args.methods)} methods "
          f"x {len(args.trials)} budgets x {len(args.seed_list)} seeds, minus those in "
          f"{args.out / 'runs'})", file=sys.stderr)
    failed = execute(units, args.out / "runs", args.jobs, cost)
    if failed:
        print(f"{failed} runs raised: see the 'error' field in {args.out / 'runs'}",
              file=sys.stderr)
    tables = summarise(args, cmd)
    with pd.option_context("display.width", 160, "display.max_columns", 30):
        for key in ("overall", "wilcoxon", "overhead"):
            if key in tables:
                print(f"\n{key}:\n{tables[key].to_string()}")
    return tables


if __name__ == "__main__":
    main()
