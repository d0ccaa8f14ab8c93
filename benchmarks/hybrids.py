"""Hybrids against their components (and peers) on the shifted/rotated suite.

For every optimizer, function, dimension, seed and budget (``100*D`` and ``1000*D``
evaluations) one run; reported per budget:

* **targets**: the fraction of (problem, seed, target) triples whose final gap
  ``f - f_opt`` reached the target, targets ``10^k`` for ``k = 2 .. -8``;
* **mean rank**: each (problem, seed) ranks all optimizers by final gap (ties share the
  average rank), averaged over all problems and seeds (1 is best);
* the median final gap and the mean wall time per run.

It then checks the target of hybridlab 0.2's hybrid issue: ``default()`` must beat GA, PSO
and local search on mean rank and targets reached at both budgets.  (Now
``default()`` is ``switch(local, bipop)``, chosen on BBOB: ``benchmarks/bbob.py``; 0.2's
default is the candidate ``local|(pso>>local) race``.)

    python benchmarks/hybrids.py                   # all 24 optimizers, dims 2-20 (~30 min)
    python benchmarks/hybrids.py --dims 2 5 --seeds 2 --no-peers
    HYBRIDLAB_QUICK=1 python benchmarks/hybrids.py # a smoke run

Writes ``reports/hybrids/results.csv`` (one row per run) and ``summary.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import hybridlab as hl
from hybridlab.benchmarks import FUNCTIONS, make_instance
from hybridlab.io import atomic_write

COMPONENTS = {"ga": "ga", "pso": "pso", "local": "local"}
HYBRIDS = {
    "ga>>local": "ga >> local",
    "pso>>local": "pso >> local",
    "pso>>local (0.8)": "sequential(pso, local, split=0.8)",
    "memetic(ga,local)": "memetic(ga, local)",
    "memetic(pso,local)": "memetic(pso, local)",
    "pso|local race": "portfolio(pso, local, race=True)",
    "(ga>>local)|pso": "(ga >> local) | pso",
    "pso*4": "islands(pso, 4)",
    "adaptive stagnation": "adaptive(pso, ga, local)",
    "adaptive bandit": "adaptive(pso, ga, local, rule='bandit')",
    "local>>pso>>local": "local >> pso >> local",
    "local|(pso>>local)": "local | (pso >> local)",
    "pso|local race p3": "portfolio(pso, local, race=True, patience=3)",
    "pso>>local (0.3)": "sequential(pso, local, split=0.3)",
    "adaptive(local,pso)": "adaptive(local, pso)",
    "local|(pso>>local) race": "portfolio(local, pso >> local, race=True, patience=5)",
    "local|(pso>>local) 2:1": "portfolio(local, pso >> local, weights=[2, 1])",
    "default()": "default",
}
REFERENCES = {"random": "random"}
PEERS = {"CMA-ES (pycma)": "cmaes", "NGOpt (nevergrad)": "ngopt"}
TARGETS = 10.0 ** np.arange(2, -9, -1)


def _optimizer(spec: str) -> hl.Optimizer:
    return hl.resolve(spec)


def run_cell(cell: tuple) -> dict:
    """One run; module-level so that a process pool can pickle it."""
    label, spec, function, dim, mult, seed = cell
    inst = make_instance(function, dim, instance=1, seed=0)
    t0 = time.perf_counter()
    try:
        res = hl.minimize(inst.problem(vectorized=True), _optimizer(spec), budget=mult * dim,
                          seed=seed)
        gap, status = max(float(inst.gap(res.y)), 0.0), res.stopped
    except Exception as exc:  # a crashing optimizer is a result too
        gap, status = np.inf, f"crashed: {type(exc).__name__}: {exc}"[:200]
    return {"optimizer": label, "function": function, "dim": dim, "budget": f"{mult}*D",
            "seed": seed, "gap": gap, "seconds": time.perf_counter() - t0, "status": status}


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for budget, part in df.groupby("budget", sort=False):
        gaps = part.pivot_table(index=["function", "dim", "seed"], columns="optimizer",
                                values="gap")
        ranks = gaps.rank(axis=1).mean()
        for opt in gaps.columns:
            g = gaps[opt].to_numpy()
            reached = (g[:, None] <= TARGETS[None, :]).mean()
            rows.append({"budget": budget, "optimizer": opt, "mean rank": ranks[opt],
                         "targets reached": reached, "median gap": np.median(g),
                         "s/run": part.loc[part["optimizer"] == opt, "seconds"].mean()})
    return pd.DataFrame(rows).sort_values(["budget", "mean rank"])


def verdict(summary: pd.DataFrame) -> list[str]:
    lines = []
    for budget, part in summary.groupby("budget", sort=False):
        s = part.set_index("optimizer")
        if "default()" not in s.index:
            continue
        d = s.loc["default()"]
        for comp in COMPONENTS:
            c = s.loc[comp]
            ok = d["mean rank"] < c["mean rank"] and d["targets reached"] > c["targets reached"]
            lines.append(f"{budget:8s} default() vs {comp:6s}: rank {d['mean rank']:.2f} vs "
                         f"{c['mean rank']:.2f}, targets {d['targets reached']:.3f} vs "
                         f"{c['targets reached']:.3f}  {'PASS' if ok else 'FAIL'}")
        for peer in PEERS:
            if peer in s.index:
                p = s.loc[peer]
                lines.append(f"{budget:8s} default() vs {peer}: rank {d['mean rank']:.2f} vs "
                             f"{p['mean rank']:.2f}, targets {d['targets reached']:.3f} vs "
                             f"{p['targets reached']:.3f}")
    return lines


def main() -> None:
    quick = hl.quick()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 5] if quick else [2, 5, 10, 20])
    ap.add_argument("--seeds", type=int, default=2 if quick else 5)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--functions", nargs="+", default=list(FUNCTIONS))
    ap.add_argument("--only", nargs="+", help="optimizer labels to run (default: all)")
    ap.add_argument("--no-peers", action="store_true", help="skip CMA-ES and NGOpt")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="reports/hybrids")
    args = ap.parse_args()

    optimizers = {**COMPONENTS, **REFERENCES, **HYBRIDS}
    if not args.no_peers:
        optimizers.update(PEERS)
    if args.only:
        optimizers = {k: v for k, v in optimizers.items() if k in args.only}
    cells = [(label, spec, f, d, m, s) for m in args.budgets for d in args.dims
             for f in args.functions for s in range(args.seeds)
             for label, spec in optimizers.items()
             if not (f == "rosenbrock" and d < 2)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(tqdm(pool.map(run_cell, cells, chunksize=4), total=len(cells),
                         desc="runs", mininterval=5))
    df = pd.DataFrame(rows)
    summary = summarise(df)
    lines = verdict(summary)
    crashed = df[df["status"].str.startswith("crashed")]

    os.makedirs(args.out, exist_ok=True)
    atomic_write(os.path.join(args.out, "results.csv"), lambda p: df.to_csv(p, index=False))
    header = (f"dims {args.dims}, {len(args.functions)} functions (instance 1 of the suite, "
              f"seed 0), {args.seeds} seeds, budgets {args.budgets} x D; "
              f"{len(cells)} runs in {time.perf_counter() - t0:.0f} s on {args.workers} "
              f"workers; hybridlab {hl.__version__}")
    md = [f"# Hybrids vs components\n\n{header}\n",
          summary.to_markdown(index=False, floatfmt=".3g"), "\n## Verdict\n",
          "```", *lines, "```"]
    if len(crashed):
        md += ["\n## Runs that crashed\n", crashed.to_markdown(index=False)]
    atomic_write(os.path.join(args.out, "summary.md"),
                 lambda p: open(p, "w").write("\n".join(md) + "\n"))
    print(header)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print("\n".join(lines))
    if len(crashed):
        print(f"{len(crashed)} runs crashed; see {args.out}/summary.md")


if __name__ == "__main__":
    main()
