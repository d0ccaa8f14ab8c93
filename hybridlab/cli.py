"""The ``hybridlab`` command line.

    hybridlab optimizers                      list optimizer names
    hybridlab functions                       list benchmark functions
    hybridlab run rastrigin --dim 5 --optimizer ga --budget 2000 --seed 0 \\
        [--instance 1] [--plot conv.png] [--csv history.csv]
    hybridlab compare --suite shifted --dims 2 5 10 --optimizers ga pso local "ga>>local" \\
        default --budget-per-dim 200 --seeds 5 --jobs 2 --out reports/my-study
    hybridlab compare --suite bbob --functions 1 8 15 --dims 2 5 --instances 3 ...
                                              (COCO's real BBOB functions)
    hybridlab report reports/my-study         rebuild the report of a saved study
    hybridlab runs list|show|export|delete runs.db [run]   look into a run store
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, cli_runs
from .benchmarks import FUNCTIONS, make_instance
from .driver import minimize
from .io import atomic_write
from .problem import Problem
from .registry import names, resolve
from .tracking import StoreError

__all__ = ["main"]


def _run(args: argparse.Namespace) -> int:
    inst = make_instance(args.function, args.dim, args.instance, seed=args.suite_seed)
    opt = resolve(args.optimizer)
    res = minimize(inst.problem(vectorized=True), opt, budget=args.budget, seed=args.seed,
                   store=args.store, run=args.run if args.store else None)
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


class PerDim:
    """A budget of ``k`` evaluations per dimension (``budget(d) = k * d``)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, dim: int) -> int:
        return self.k * dim

    def __repr__(self) -> str:
        return f"{self.k} x D"


class _Parser(argparse.ArgumentParser):
    """Bad options: one line on stderr and exit status 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _bbob_problems(args: argparse.Namespace) -> dict[str, Problem]:
    """COCO's BBOB functions (``--functions 1 15`` or ``f1 f15``; default all 24),
    instances ``1..--instances``."""
    from .benchmarks.bbob import bbob_suite

    functions = range(1, 25)
    if args.functions:
        try:
            functions = [int(f.lower().removeprefix("f")) for f in args.functions]
        except ValueError:
            raise ValueError(f"--suite bbob takes function numbers 1..24 (e.g. 1 15 or f1 "
                             f"f15), got {' '.join(args.functions)}") from None
    try:
        return bbob_suite(functions, args.dims, range(1, args.instances + 1))
    except ImportError as exc:  # the optional extra is missing: one line, no traceback
        raise ValueError(str(exc)) from None


def _compare(args: argparse.Namespace) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from .benchmarks import suite
    from .study import compare

    if args.budget_per_dim < 1 or args.seeds < 1 or args.jobs < 1 or args.instances < 1:
        raise ValueError("--budget-per-dim, --seeds, --instances and --jobs must be >= 1")
    if args.suite == "bbob":
        problems = _bbob_problems(args)
    else:
        problems = {inst.name: inst for inst in suite(args.dims, args.instances,
                                                      args.suite_seed, functions=args.functions)}
    out = Path(args.out)
    kwargs = dict(budget=PerDim(args.budget_per_dim), seeds=args.seeds, name=out.name)
    optimizers = {spec: spec for spec in args.optimizers}
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            study = compare(optimizers, problems, executor=pool, **kwargs)
    else:
        study = compare(optimizers, problems, **kwargs)
    study.save(out)
    report = study.to_report(out.parent, reference=args.reference)
    print(study)
    print(study.summary().to_string(float_format=lambda v: f"{v:.3g}"))
    print(f"report: {report}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .study import Study

    path = Path(args.study)
    if not (path / "study.json").exists():
        raise ValueError(f"{path} holds no saved study (no study.json); give the folder "
                         "written by `hybridlab compare --out`")
    study = Study.load(path)
    print(f"report: {study.to_report(path.parent, reference=args.reference)}")
    return 0


def _case_studies() -> list[str]:
    from .casestudies import CASE_STUDIES

    return sorted(CASE_STUDIES)


def _reproduce(args: argparse.Namespace) -> int:
    from .casestudies import CASE_STUDIES, run_case_study

    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    names = sorted(CASE_STUDIES) if args.study == "all" else [args.study]
    for name in names:
        result = run_case_study(name, args.out, quick=args.quick,
                                progress=not args.no_progress, seeds=args.seeds)
        print(f"{name}: {result.report}")
        for target, (met, text) in result.targets.items():
            print(f"  [{'met' if met else 'MISSED'}] {target}: {text}")
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="hybridlab", description="Hybrid optimization workbench")
    ap.add_argument("--version", action="version", version=f"hybridlab {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    run.add_argument("--store", help="record every evaluation in this SQLite run store; "
                     "running the same command again resumes (or replays) the run")
    run.add_argument("--run", default=None, help="the run's name in --store "
                     "(default <problem>/<optimizer>/seed<seed>)")

    cmp_ = sub.add_parser(
        "compare", help="compare optimizers on the benchmark suite and write a report",
        description="Run every optimizer on every problem of the suite with every seed, "
        "then save the study and write report.md (tables, statistics, plots) next to it.")
    cmp_.add_argument("--suite", default="shifted", choices=["shifted", "bbob"],
                      help="benchmark suite: 'shifted' = hybridlab's own shifted and rotated "
                      "functions with known optima (default, fast); 'bbob' = COCO's real "
                      "24 BBOB functions (needs the bbob extra, PyPI coco-experiment)")
    cmp_.add_argument("--dims", type=int, nargs="+", default=[2, 5, 10],
                      help="problem dimensions (default: 2 5 10)")
    cmp_.add_argument("--functions", nargs="+", default=None,
                      help="benchmark functions (default: all): names for 'shifted' "
                      f"({', '.join(sorted(FUNCTIONS))}), numbers 1..24 for 'bbob'")
    cmp_.add_argument("--instances", type=int, default=1,
                      help="instances 1..N per function and dim (random shift/rotation; "
                      "COCO's instances for 'bbob')")
    cmp_.add_argument("--suite-seed", type=int, default=0,
                      help="seed of the instances of 'shifted'")
    cmp_.add_argument("--optimizers", nargs="+", default=["ga", "pso", "local", "default"],
                      help="registry names or hybrid specs, e.g. ga 'ga>>local' "
                      "'memetic(pso,local)' default (default: ga pso local default)")
    cmp_.add_argument("--budget-per-dim", type=int, default=200,
                      help="evaluations per run = this x dimension (default: 200)")
    cmp_.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per cell")
    cmp_.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    cmp_.add_argument("--reference", default=None,
                      help="optimizer the statistical tests compare against "
                      "(default: the first)")
    cmp_.add_argument("--out", default="reports/study",
                      help="folder of the study; report.md is written inside it")

    repro = sub.add_parser(
        "reproduce", help="reproduce a case study and write reports/<name>/report.md",
        description="Run a case study (or all of them) and write its report: tables, plots, "
        "the exact command, seeds and package versions.")
    repro.add_argument("study", choices=[*_case_studies(), "all"],
                       help="which case study (all: every one)")
    repro.add_argument("--quick", action="store_true",
                       help="small budgets and one seed: a smoke run in well under a minute")
    repro.add_argument("--seeds", type=int, default=None,
                       help="number of seeds (default: 5, or 1 with --quick)")
    repro.add_argument("--out", default="reports", help="parent folder of the reports")
    repro.add_argument("--no-progress", action="store_true", help="no progress bar")

    rep = sub.add_parser("report", help="rebuild report.md of a saved study")
    rep.add_argument("study", help="folder written by `hybridlab compare --out`")
    rep.add_argument("--reference", default=None, help="reference optimizer of the tests")
    cli_runs.add_parser(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """The ``hybridlab`` command.  Every failure is one line on stderr and a non-zero exit
    code (2: fix the arguments or files; 1: anything else; 130: interrupted), never a
    traceback."""
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "run", None) and not getattr(args, "store", None):
            raise ValueError("--run names a run in a store: also pass --store runs.db")
        if args.command == "optimizers":
            print("\n".join(names()))
            return 0
        if args.command == "functions":
            for name, info in FUNCTIONS.items():
                print(f"{name:16s} domain {info.domain}")
            return 0
        if args.command == "compare":
            return _compare(args)
        if args.command == "report":
            return _report(args)
        if args.command == "reproduce":
            return _reproduce(args)
        if args.command == "runs":
            return cli_runs.handle(args)
        return _run(args)
    except KeyboardInterrupt:
        print("hybridlab: interrupted", file=sys.stderr)
        return 130
    except (ValueError, StoreError, OSError) as exc:  # say what to fix, no traceback
        _say(exc, with_type=isinstance(exc, OSError) and not isinstance(exc, StoreError))
        return 2
    except Exception as exc:  # a bug or a library's error: still one line
        _say(exc, with_type=True)
        return 1


def _say(exc: BaseException, with_type: bool) -> None:
    text = " ".join(str(exc).split()) or type(exc).__name__
    print(f"hybridlab: error: {type(exc).__name__ + ': ' if with_type else ''}{text}",
          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
