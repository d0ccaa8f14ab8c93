"""Multi-fidelity inside a GA: training epochs to reach the plain GA's best, same budget.

Case study 1's CNN search space on noisy-small digits (250 training images), fidelity =
training epochs (1 .. 27, eta = 3, training resumed from the lower rung's checkpoint).
Three methods get the same total number of training epochs per seed:

* ``ga``: GA(pop_size=27), every candidate trained for 27 epochs;
* ``mf(ga)``: the same GA inside ``MultiFidelity(GA(27), 1, 27, eta=3)``;
* ``optuna tpe + hyperband``: Optuna's TPE sampler with its HyperbandPruner (min 1, max 27
  epochs, reduction factor 3), one report per epoch.

Prints, per seed, the epochs each method needed to reach the best validation accuracy the
plain GA reached with its whole budget (only candidates trained for the full 27 epochs
count), the speed-up over the plain GA (target: >= 3x for ``mf(ga)``), and the final best.

    python benchmarks/multifidelity.py [--quick] [--budget 2000] [--seeds 3] [--plot out.png]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from hybridlab.casestudies.fidelity_study import (
    epochs_to_reach,
    fidelity_study,
    plot_fidelity_study,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 epochs, one seed")
    ap.add_argument("--budget", type=int, default=2000, help="training epochs per run")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--plot", default=None, help="write the curves to this PNG")
    args = ap.parse_args()
    budget, seeds = (300, 1) if args.quick else (args.budget, args.seeds)
    t0 = time.perf_counter()
    curves = fidelity_study(seeds=range(seeds), budget=budget)
    table = epochs_to_reach(curves)
    with pd.option_context("display.width", 160, "display.precision", 4):
        print(f"budget {budget} training epochs per run, seeds 0..{seeds - 1}\n")
        print(table.to_string(index=False))
        summary = table.groupby("method", sort=False).agg(
            median_epochs_to_target=("epochs_to_target", "median"),
            median_speedup=("speedup", "median"), min_speedup=("speedup", "min"),
            mean_final_best_val=("final_best_val", "mean"))
        print("\n" + summary.to_string())
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = plot_fidelity_study(curves)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
