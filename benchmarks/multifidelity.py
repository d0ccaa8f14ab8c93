"""Multi-fidelity tuning of a CNN: training epochs and wall time to reach the plain GA's
best, same budget.

Case study 1's CNN search space on noisy-small digits (250 training images), fidelity =
training epochs (1 .. 27, eta = 3, training resumed from the lower rung's checkpoint).
Every method gets the same total number of training epochs per seed
(:data:`hybridlab.casestudies.fidelity_study.METHODS`):

* ``ga``: GA(pop_size=27), every candidate trained for 27 epochs (the reference);
* ``mf(ga)``: the same GA inside ``MultiFidelity(GA(27), 1, 27, eta=3)``;
* ``mf(tpe)``: successive halving with Optuna's TPE proposing each population of 27
  (model-based multi-fidelity through hybridlab's adapter);
* ``hb(tpe)``: the same with Hyperband's brackets (BOHB-style);
* ``asha(tpe)`` (only when named): asynchronous successive halving, each batch of 4 jobs
  mixing promotions and new TPE proposals;
* ``optuna tpe + hyperband``: Optuna's TPE sampler with its HyperbandPruner (min 1, max
  27 epochs, reduction factor 3), one report per epoch.

Prints, per seed, the epochs and seconds each method needed to reach the best validation
accuracy the plain GA reached with its whole budget (only candidates trained for the full
27 epochs count), the speed-ups over the plain GA, and the final best; then the medians
over seeds with a method that never reached the target counted as speed-up 0, and the
targets of issue 18 (the model-based multi-fidelity hybrid at least 3.5x faster in epochs
and 2x in wall time, and at least TPE + Hyperband's speed-up).

Which model-based method the targets name is chosen on seeds 100 and 101, which are never
reported.  First ``mf(tpe)`` (5.0x and 5.1x faster in epochs than the plain GA there, 7.0x
and 5.7x in wall time; ``hb(tpe)`` 10.2x and 2.3x): it then failed on seeds 0-4 (it reached
the GA's best in 1 of 5).  ``asha(tpe)`` (:class:`~hybridlab.AsyncHalving` around TPE, 4
jobs per batch) was added after that result and also chosen on seeds 100-101 alone (5.4x
median in epochs, 8.2x in wall time, against TPE + Hyperband's 3.9x and 2.8x;
``reports/multifidelity/tune-asha.txt``); ``--hybrid 'asha(tpe)'`` names it.  The
reported seeds are 0-4.

    python benchmarks/multifidelity.py [--quick] [--budget 2000] [--seeds 5] [--first-seed 0]
        [--methods ...] [--hybrid 'asha(tpe)'] [--csv curves.csv] [--plot out.png]
    python benchmarks/multifidelity.py --from-csv a.csv b.csv   # report earlier runs
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import pandas as pd

from hybridlab.casestudies.fidelity_study import (
    EXTRA_METHODS,
    METHODS,
    epochs_to_reach,
    fidelity_study,
    plot_fidelity_study,
    summarise_reach,
)


def targets(summary: pd.DataFrame, hybrid: str = "mf(tpe)",
            peer: str = "optuna tpe + hyperband") -> list[str]:
    """The issue's targets for the model-based multi-fidelity hybrid, as lines."""
    if hybrid not in summary.index or peer not in summary.index:
        return []
    h, p = summary.loc[hybrid], summary.loc[peer]
    checks = [(f"{hybrid} median speed-up in epochs >= 3.5", h["median_speedup"] >= 3.5,
               f"{h['median_speedup']:.2f}"),
              (f"{hybrid} median speed-up in wall time >= 2", h["median_wall_speedup"] >= 2,
               f"{h['median_wall_speedup']:.2f}"),
              (f"{hybrid} speed-up >= {peer}'s", h["median_speedup"] >= p["median_speedup"],
               f"{h['median_speedup']:.2f} vs {p['median_speedup']:.2f}")]
    return [f"{'MET   ' if ok else 'MISSED'} {text}: {value}" for text, ok, value in checks]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 epochs, one seed")
    ap.add_argument("--budget", type=int, default=2000, help="training epochs per run")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed+seeds-1 (tuning runs: 100)")
    ap.add_argument("--hybrid", default="asha(tpe)",
                    help="the model-based multi-fidelity method the targets name")
    ap.add_argument("--csv", default=None, help="write the curves to this CSV")
    ap.add_argument("--methods", nargs="+", default=list(METHODS),
                    choices=METHODS + EXTRA_METHODS)
    ap.add_argument("--plot", default=None, help="write the curves to this PNG")
    ap.add_argument("--from-csv", nargs="+", default=None, metavar="CSV",
                    help="run nothing: report the curves of earlier runs (--csv files, "
                         "e.g. seeds run on two cores), merged")
    args = ap.parse_args()
    print("# python benchmarks/multifidelity.py " + " ".join(map(shlex.quote, sys.argv[1:])))
    budget, seeds = (300, 1) if args.quick else (args.budget, args.seeds)
    seeds = range(args.first_seed, args.first_seed + seeds)
    t0 = time.perf_counter()
    if args.from_csv:
        curves = pd.concat([pd.read_csv(f) for f in args.from_csv], ignore_index=True)
        seeds = sorted(curves["seed"].unique())
    else:
        curves = fidelity_study(seeds=seeds, budget=budget, methods=args.methods)
    if args.csv:
        from hybridlab.io import atomic_write

        atomic_write(args.csv, lambda tmp: curves.to_csv(tmp, index=False))
    table = epochs_to_reach(curves)
    summary = summarise_reach(table)
    with pd.option_context("display.width", 200, "display.precision", 4,
                           "display.max_columns", 20):
        print(f"curves of {', '.join(args.from_csv)}, seeds {seeds[0]}..{seeds[-1]}\n"
              if args.from_csv else
              f"budget {budget} training epochs per run, seeds {seeds[0]}..{seeds[-1]}\n")
        print(table.to_string(index=False))
        print("\n" + summary.to_string())
    print("\n" + "\n".join(targets(summary, args.hybrid)))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = plot_fidelity_study(curves)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
