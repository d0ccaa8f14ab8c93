"""GA + LP (``Matheuristic``) against the GA, CMA-ES and ``default()`` on the full mixed space
of capacitated facility location, at equal evaluations and at about equal wall time.

Held-out instances 0-4 (12 facilities x 30 customers, 372 unit coordinates) x seeds 0-4;
the settings (budget 1000, outer ``GA(pop_size=100, eta_mut=2.0)``, ``GA(pop_size=100)``
alone) were chosen on instances 100-102 x seeds 100-102.  The "equal time" rows give the GA
and CMA-ES five times the evaluations, about the matheuristic's wall time at 1000 (its LP
solves included: they are inside ``Result.seconds``).  The gap is relative to the exact
optimum of the full MILP (``scipy.optimize.milp``).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/matheuristic.py [--instances 5] [--seeds 5] [--csv out.csv]

About 6 minutes on one core.  Notebook 10, section 4, runs the equal-evaluation rows.
"""

from __future__ import annotations

import argparse
import pickle

import numpy as np
import pandas as pd
from scipy import stats

import hybridlab as hl
from hybridlab.benchmarks import facility_suite

ARMS = [  # label, evaluations, optimizer for an instance
    ("GA + LP", 1000, lambda inst: inst.matheuristic(hl.GA(pop_size=100, eta_mut=2.0))),
    ("GA", 1000, lambda inst: hl.GA(pop_size=100)),
    ("CMA-ES", 1000, lambda inst: "cmaes"),
    ("default()", 1000, lambda inst: "default"),
    ("GA, 5000 evals", 5000, lambda inst: hl.GA(pop_size=100)),
    ("CMA-ES, 5000 evals", 5000, lambda inst: "cmaes"),
]


def run(instances: int, seeds: int) -> pd.DataFrame:
    rows = []
    for inst0 in facility_suite(range(instances)):
        for seed in range(seeds):
            for label, budget, make in ARMS:
                inst = pickle.loads(pickle.dumps(inst0))  # a cold LP cache per run
                r = hl.minimize(inst.problem(), make(inst), budget=budget, seed=seed)
                rows.append({"optimizer": label, "problem": inst.name, "seed": seed,
                             "evals": r.n_evals, "gap_pct": 100 * max(inst.gap(r.y), 0.0)
                             / inst.f_opt, "seconds": r.seconds})
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby("optimizer", sort=False)
    table = pd.DataFrame({
        "evals": g["evals"].median().astype(int),
        "median gap %": g["gap_pct"].median(),
        "q25": g["gap_pct"].quantile(0.25), "q75": g["gap_pct"].quantile(0.75),
        "at optimum": g["gap_pct"].apply(lambda s: f"{int((s <= 1e-4).sum())}/{len(s)}"),
        "median s/run": g["seconds"].median()})
    wide = runs.pivot_table(index=["problem", "seed"], columns="optimizer", values="gap_pct")
    ref = wide["GA + LP"]
    table["GA + LP better in"] = [
        "-" if o == "GA + LP" else f"{int((ref < wide[o]).sum())}/{len(ref)}" for o in table.index]
    table["Wilcoxon p"] = [
        np.nan if o == "GA + LP" or not (ref != wide[o]).any()
        else stats.wilcoxon(ref - wide[o]).pvalue for o in table.index]
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--csv", help="write the per-run rows here")
    args = ap.parse_args()
    runs = run(args.instances, args.seeds)
    if args.csv:
        runs.to_csv(args.csv, index=False)
    with pd.option_context("display.width", 200):
        print(summarise(runs).to_string(float_format=lambda v: f"{v:.3g}" if v < 0.01
                                        else f"{v:.2f}"))


if __name__ == "__main__":
    main()
