"""Hybrid components side by side: L-BFGS-B, COBYQA, BOBYQA and CMA-ES (one run, IPOP, BIPOP).

For every optimizer, function, dimension and seed one run of ``1000*D`` evaluations
(``--factor``) on the own shifted/rotated suite (instance 1); the best gap ``f - f_opt``
is read from the history at ``100*D`` and at ``1000*D`` evaluations.  None of these
optimizers uses the budget hint, so the value at ``100*D`` is what a run of ``100*D``
would return.  Then the evaluations per second of each engine on a cheap vectorised
sphere.

    python benchmarks/components.py                        # D 5 and 10, seeds 0-2
    python benchmarks/components.py --dims 5 --seeds 1 --optimizers cma bipop

Prints markdown tables; writes nothing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import hybridlab as hl
from hybridlab.benchmarks import make_instance

OPTIMIZERS = ["local", "cobyqa", "bobyqa", "cma", "ipop", "bipop"]
FUNCTIONS = ["sphere", "ellipsoid", "rosenbrock", "rastrigin"]


def gaps(name: str, function: str, dim: int, seed: int, factor: int) -> dict[str, object]:
    inst = make_instance(function, dim)
    t = time.perf_counter()
    r = hl.minimize(inst.problem(), hl.make(name), budget=factor * dim, seed=seed)
    best = np.minimum.accumulate(r.history["y"].to_numpy())
    return {"optimizer": name, "function": function, "dim": dim, "seed": seed,
            "gap_100D": max(float(inst.gap(best[100 * dim - 1])), 0.0),
            f"gap_{factor}D": max(float(inst.gap(best[-1])), 0.0),
            "seconds": time.perf_counter() - t}


def speed(name: str, dim: int, budget: int) -> float:
    inst = make_instance("sphere", dim)
    t = time.perf_counter()
    r = hl.minimize(inst.problem(), hl.make(name), budget=budget, seed=0)
    return r.n_evals / (time.perf_counter() - t)  # a single CMA run may stop early


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-speed", action="store_true", help="skip the evaluations/second")
    ap.add_argument("--optimizers", nargs="+", default=OPTIMIZERS)
    ap.add_argument("--functions", nargs="+", default=FUNCTIONS)
    ap.add_argument("--factor", type=int, default=1000, help="budget = factor * D (>= 100)")
    args = ap.parse_args()
    rows = []
    for dim in args.dims:
        for function in args.functions:
            for name in args.optimizers:
                for seed in range(args.seeds):
                    rows.append(gaps(name, function, dim, seed, args.factor))
                    print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    for col in ("gap_100D", f"gap_{args.factor}D"):
        table = df.groupby(["dim", "function", "optimizer"])[col].median().unstack()
        print(f"\n## median {col} over {args.seeds} seeds\n")
        print(table[args.optimizers].to_markdown(floatfmt=".2e"))
    print(f"\n## seconds per {args.factor}*D run (mean)\n")
    print(df.groupby(["dim", "optimizer"])["seconds"].mean().unstack()[args.optimizers]
          .to_markdown(floatfmt=".1f"))
    if args.no_speed:
        return
    print("\n## evaluations per second, vectorised sphere, D=10\n")
    for name in args.optimizers:
        budget = 20000 if name in ("local", "cma", "ipop", "bipop") else 2000
        print(f"| {name} | {speed(name, 10, budget):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
