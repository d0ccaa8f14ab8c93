"""The ``hybridlab`` command line.

    hybridlab optimizers                      list optimizer names
    hybridlab functions                       list benchmark functions
    hybridlab run rastrigin --dim 5 --optimizer ga --budget 2000 --seed 0 \\
        [--instance 1] [--plot conv.png] [--csv history.csv]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .benchmarks import FUNCTIONS, make_instance
from .driver import minimize
from .io import atomic_write
from .optimizers import REGISTRY, make

__all__ = ["main"]


def _run(args: argparse.Namespace) -> int:
    inst = make_instance(args.function, args.dim, args.instance, seed=args.suite_seed)
    opt = make(args.optimizer)
    res = minimize(inst.problem(vectorized=True), opt, budget=args.budget, seed=args.seed)
    print(f"{inst.name}  optimizer={args.optimizer}  budget={args.budget}  seed={args.seed}")
    print(f"best y      {res.y:.6g}")
    print(f"gap f-f_opt {inst.gap(res.y):.3e}")
    print(f"evaluations {res.n_evals} ({res.stopped}), {res.seconds:.2f} s")
    if args.csv:
        atomic_write(args.csv, lambda p: res.history.to_csv(p, index=False))
        print(f"history     {args.csv}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = res.plot()
        atomic_write(args.plot, lambda p: ax.figure.savefig(p, dpi=120, bbox_inches="tight"))
        print(f"plot        {args.plot}")
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hybridlab", description="Hybrid optimization workbench")
    ap.add_argument("--version", action="version", version=f"hybridlab {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("optimizers", help="list optimizer names")
    sub.add_parser("functions", help="list benchmark functions")
    run = sub.add_parser("run", help="minimise one benchmark instance")
    run.add_argument("function", choices=sorted(FUNCTIONS))
    run.add_argument("--dim", type=int, default=5)
    run.add_argument("--instance", type=int, default=1)
    run.add_argument("--suite-seed", type=int, default=0, help="seed of the instance")
    run.add_argument("--optimizer", default="ga", help="a registry name, e.g. ga, pso, local")
    run.add_argument("--budget", type=int, default=2000)
    run.add_argument("--seed", type=int, default=0, help="seed of the optimizer")
    run.add_argument("--csv", help="write the history to this CSV file")
    run.add_argument("--plot", help="write the convergence plot to this PNG file")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "optimizers":
            print("\n".join(sorted(REGISTRY)))
            return 0
        if args.command == "functions":
            for name, info in FUNCTIONS.items():
                print(f"{name:16s} domain {info.domain}")
            return 0
        return _run(args)
    except ValueError as exc:  # bad arguments: say what to fix, no traceback
        print(f"hybridlab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
