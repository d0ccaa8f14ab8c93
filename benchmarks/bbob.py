"""Optimizers on COCO's real BBOB suite: ECDF area and mean rank, overall and per group.

Every optimizer x BBOB function x dimension x instance x seed is one run
(:func:`hybridlab.study.run_cell`, seeded by its seed, so a run is the same whoever runs
it), once per budget ``k x D`` evaluations.  Per budget it prints and writes:

* **ECDF area**: the runtime ECDF of COCO (:func:`hybridlab.study.ecdf`: the fraction of
  (problem, seed, target) triples reached, targets ``f - f_opt <= 10^2 .. 10^-8``, 11 per
  problem) on the axis ``log10(evaluations / D)``, integrated from ``0`` (D evaluations)
  to ``log10(k)`` (the budget) and divided by ``log10(k)``.  So the area is in ``[0, 1]``:
  1 means every target reached within D evaluations, 0 none within the budget; a triple
  reached after ``t`` evaluations adds ``1 - log10(max(t / D, 1)) / log10(k)`` to the
  mean, an unreached one 0 (crashed runs reach nothing);
* **mean rank**: each (problem, seed) ranks the optimizers by final precision
  ``f - f_opt``, floored at ``1e-8`` (COCO's final target: all that reach it tie), ties
  share the average rank; the mean over all (problem, seed) blocks (1 is best);
* both overall and per COCO function group (:data:`hybridlab.benchmarks.bbob.BBOB_GROUPS`),
  the fraction of triples reached, and the wall time per run (mean, and the max).

Restartable: each finished run is appended to ``<out>/runs/<k>xD.jsonl`` as it completes;
running the same command again skips the runs already there (a killed run is redone).

    python benchmarks/bbob.py                                   # the issue's configuration
    python benchmarks/bbob.py --functions 1-24 --dims 2,5,10 --instances 6-15 \\
        --budgets 100,1000 --seeds 1 --jobs 2 --out reports/bbob
    python benchmarks/bbob.py --functions 1,15 --dims 2 --instances 1 \\
        --optimizers local,default --budgets 100 --out /tmp/bbob-smoke

Writes ``<out>/README.md`` (via :func:`hybridlab.reporting.write_report`), CSV tables,
ECDF plots per budget and per group (``ecdf_<k>xD.png``), and the study of each budget
(``study_<k>xD/``, loadable with :meth:`hybridlab.study.Study.load`).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hybridlab.benchmarks.bbob import BBOB_GROUP_TITLES, BBOB_GROUPS, BBOBProblem, bbob_suite
from hybridlab.provenance import command, environment
from hybridlab.registry import resolve
from hybridlab.reporting import markdown_table, write_report
from hybridlab.study import DEFAULT_TARGETS, Study, ecdf, plot_ecdf, run_cell
from hybridlab.study.cells import hits_frame, runs_frame
from hybridlab.study.compare import Cell
from hybridlab.study.stats import average_ranks

#: what the issue asks to run, by registry spec; those not registered are skipped
CANDIDATES = (
    "default", "ga", "pso", "local", "pso>>local", "cma", "ipop", "bipop", "cobyqa",
    "bobyqa", "dual_annealing", "differential_evolution", "direct", "shgo", "basinhopping",
    "cmaes", "ipop_cmaes", "ngopt", "optuna_cmaes", "switch(local, pso)",
)
#: COCO's precision floor: final gaps below it are ties in the rank
FLOOR = 1e-8


# -- arguments ------------------------------------------------------------------------

def int_list(text: str) -> list[int]:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]``."""
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def split_specs(text: str) -> list[str]:
    """Split at the commas outside parentheses: ``"ga,memetic(ga, local)"`` -> 2 specs."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text + ","):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    return [s for s in out if s]


def budget_caps(items: list[str], specs: list[str]) -> dict[str, int]:
    """``["optuna_cmaes:100"]`` -> ``{"optuna_cmaes": 100}``; each SPEC must be run."""
    caps = {}
    for item in items:
        spec, sep, k = item.rpartition(":")
        if not sep or not k.strip().isdigit() or spec.strip() not in specs:
            raise SystemExit(f"--upto {item!r}: write SPEC:K with SPEC one of --optimizers "
                             "and K evaluations per dimension, e.g. optuna_cmaes:100")
        caps[spec.strip()] = int(k)
    return caps


def available(specs: list[str]) -> list[str]:
    """The specs that build here; a note for each that does not."""
    ok = []
    for spec in specs:
        try:
            resolve(spec)
        except (ValueError, ImportError, KeyError, TypeError) as exc:
            print(f"note: skipping {spec!r}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        ok.append(spec)
    return ok


# -- runs -----------------------------------------------------------------------------

def _key(r: dict[str, Any]) -> tuple[str, str, int]:
    return r["optimizer"], r["problem"], int(r["seed"])


def load_done(path: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The runs already in a JSONL file (a truncated last line is ignored)."""
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            for k in ("eval", "best", "time", "objective", "improved_eval", "improved_best"):
                r[k] = np.asarray(r[k], dtype=np.int64 if k == "eval" else float)
            done[_key(r)] = r
    return done


def _line(r: dict[str, Any]) -> str:
    return json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v
                       for k, v in r.items()}) + "\n"


def run_budget(specs: list[str], problems: dict[str, BBOBProblem], k: int, seeds: list[int],
               jobs: int, path: Path, ran: dict[int, tuple[int, int]]) -> list[dict[str, Any]]:
    """Every (optimizer, problem, seed) run at ``k x D``: those in ``path`` are read, the
    rest run (in a process pool when ``jobs > 1``) and appended as they finish;
    ``ran[k]`` records (runs made now, runs in all)."""
    done = load_done(path)
    cells = [Cell(spec, spec, name, p, k * p.space.dim, s)
             for spec in specs for name, p in problems.items() for s in seeds]
    todo = [c for c in cells if (c.optimizer, c.problem, c.seed) not in done]
    ran[k] = (len(todo), len(cells))
    print(f"{k}xD: {len(cells)} runs, {len(cells) - len(todo)} already in {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f, tqdm(total=len(todo), desc=f"{k}xD", unit="run") as bar:
        def keep(r: dict[str, Any]) -> None:
            f.write(_line(r))
            f.flush()
            done[_key(r)] = r
            bar.update()

        if jobs > 1 and todo:
            with ProcessPoolExecutor(jobs) as pool:
                for fut in as_completed([pool.submit(run_cell, c) for c in todo]):
                    keep(fut.result())
        else:
            for c in todo:
                keep(run_cell(c))
    return [done[(c.optimizer, c.problem, c.seed)] for c in cells]


def make_study(results: list[dict[str, Any]], problems: dict[str, BBOBProblem], k: int,
               specs: list[str], seeds: list[int]) -> Study:
    f_opts = {name: p.f_opt for name, p in problems.items()}
    targets = {name: list(DEFAULT_TARGETS) for name in problems}
    meta = {
        "name": f"bbob_{k}xD",
        "optimizers": {s: {"spec": s, "name": s, "components": []} for s in specs},
        "problems": {name: {"dim": p.space.dim, "f_opt": p.f_opt, "budget": k * p.space.dim,
                            "measure": "gap", "targets": targets[name],
                            "targets_from": "default", "function": p.function,
                            "instance": p.instance, "group": p.group}
                     for name, p in problems.items()},
        "budget": f"{k} x D", "seeds": seeds, "command": command(),
        "versions": environment(),
    }
    return Study(runs_frame(results, f_opts), hits_frame(results, targets, f_opts), meta)


# -- metrics --------------------------------------------------------------------------

def ecdf_area(hits: pd.DataFrame, k: int) -> pd.Series:
    """Per optimizer: the area under :func:`hybridlab.study.ecdf` over
    ``log10(evals / D)`` in ``[0, log10(k)]``, divided by ``log10(k)`` (module doc)."""
    width = math.log10(k)
    t = hits["evals"].to_numpy(dtype=float) / hits["dim"].to_numpy(dtype=float)
    x = np.unique(np.clip(np.concatenate([[1.0, float(k)], t[np.isfinite(t)]]), 1.0, k))
    e = ecdf(hits, x=x)
    out = {}
    for opt, r in e.groupby("optimizer", sort=False):
        lx = np.log10(r["evals_per_dim"].to_numpy())
        out[opt] = float(np.sum(r["fraction"].to_numpy()[:-1] * np.diff(lx)) / width)
    return pd.Series(out, name="ecdf_area")


def mean_ranks(final: pd.DataFrame) -> pd.Series:
    """Mean rank of the final precision per (problem, seed) block, floored at 1e-8."""
    gap = final["gap"].astype(float).fillna(np.inf).clip(lower=FLOOR)
    table = final.assign(gap=gap).pivot_table(index=["problem", "seed"], columns="optimizer",
                                              values="gap", aggfunc="first")
    return average_ranks(table).rename("mean_rank")


def scores(study: Study, k: int, problems: list[str] | None = None) -> pd.DataFrame:
    """ECDF area, mean rank, targets reached and wall time per run, per optimizer."""
    hits, final = study.hits, study.final()
    if problems is not None:
        hits, final = hits[hits["problem"].isin(problems)], final[final["problem"].isin(problems)]
    reached = hits.assign(ok=hits["evals"].notna()).groupby("optimizer", sort=False)["ok"].mean()
    secs = final.groupby("optimizer", sort=False)["seconds"]
    crashed = final["status"].str.startswith("crashed").groupby(final["optimizer"]).sum()
    out = pd.DataFrame({"ecdf_area": ecdf_area(hits, k), "mean_rank": mean_ranks(final),
                        "targets_reached": reached, "seconds_per_run": secs.mean(),
                        "max_seconds": secs.max(), "crashed": crashed})
    out = out.reindex(study.optimizers)
    out.index.name = "optimizer"
    return out.sort_values(["ecdf_area", "mean_rank"], ascending=[False, True]).reset_index()


def group_table(study: Study, k: int, problems: dict[str, BBOBProblem]) -> pd.DataFrame:
    """Long table: one row per (group, optimizer) with ECDF area and mean rank."""
    parts = []
    for group in BBOB_GROUPS:
        names = [n for n, p in problems.items() if p.group == group]
        if names:
            parts.append(scores(study, k, names).assign(group=group))
    cols = ["group", "optimizer", "ecdf_area", "mean_rank", "targets_reached",
            "seconds_per_run"]
    return pd.concat(parts, ignore_index=True)[cols]


def ecdf_figure(study: Study, problems: dict[str, BBOBProblem], k: int) -> Any:
    """Panels: all problems, then each group present."""
    from matplotlib.figure import Figure

    groups = [g for g in BBOB_GROUPS if any(p.group == g for p in problems.values())]
    n = 1 + len(groups)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(6.0 * ncols, 4.2 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, group in zip(axes, [None, *groups], strict=False):
        hits = study.hits
        if group is not None:
            hits = hits[hits["problem"].isin([n for n, p in problems.items()
                                              if p.group == group])]
        plot_ecdf(hits, study.optimizers, ax=ax)
        ax.set_xlim(1.0, float(k))
        ax.set_title(f"{k}xD: " + ("all functions" if group is None
                                   else BBOB_GROUP_TITLES[group]), fontsize=9)
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[:n]:  # one legend for all panels, beside them (15 curves hide a panel)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        for line in ax.get_lines():
            if line.get_label() == "default":
                line.set_linewidth(3.0)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    return fig


# -- report ---------------------------------------------------------------------------

def _section(k: int, overall: pd.DataFrame, groups: pd.DataFrame) -> list[str]:
    area = groups.pivot(index="optimizer", columns="group", values="ecdf_area")
    rank = groups.pivot(index="optimizer", columns="group", values="mean_rank")
    order = list(overall["optimizer"])
    cols = [g for g in BBOB_GROUPS if g in area.columns]
    return [
        f"## Budget {k} x D", "", "Overall (sorted by ECDF area):", "",
        markdown_table(overall, ".3g"), "",
        "ECDF area per function group:", "",
        markdown_table(area.reindex(index=order, columns=cols), ".3f", index=True), "",
        "Mean rank per function group:", "",
        markdown_table(rank.reindex(index=order, columns=cols), ".2f", index=True), "",
        f"![ECDF at {k} x D](ecdf_{k}xD.png)", "",
    ]


def report(out: Path, args: argparse.Namespace, specs: list[str], ran: dict[int, tuple[int, int]],
           sections: dict[int, tuple[pd.DataFrame, pd.DataFrame, Any]], n_problems: int,
           wall: float) -> Path:
    doc = (__doc__ or "").split("\n\n")
    made = ", ".join(f"{now} of the {total} runs at {k} x D" for k, (now, total) in ran.items())
    slow = (f" Run only at the budgets up to: {', '.join(args.upto)} (x D; they are slow)."
            if args.upto else "")
    lines = [
        "# Optimizers on COCO's BBOB suite", "",
        f"Functions {args.functions}, dimensions {args.dims}, instances {args.instances} "
        f"({n_problems} problems), seeds {args.seeds}, budgets {args.budgets} x D; "
        f"optimizers: {', '.join(specs)}.{slow} This command ran {made} (the others were "
        f"read from `runs/`) in {wall:.0f} s with {args.jobs} worker(s); the wall time per "
        "run is in the tables.", "",
        "How it is measured:", "",
        re.sub(r":(?:func|data|meth):`([^`]+)`", r"`\1`", "\n\n".join(doc[1:3]).strip()), "",
        f"Command: `{command() or ' '.join(sys.argv)}`", "",
    ]
    tables, figures = {}, {}
    for k, (overall, groups, fig) in sections.items():
        lines += _section(k, overall, groups)
        tables[f"scores_{k}xD"] = overall
        tables[f"groups_{k}xD"] = groups
        figures[f"ecdf_{k}xD.png"] = fig
    return write_report(out, "\n".join(lines), tables=tables, figures=figures,
                        provenance=environment(), filename="README.md")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--optimizers", default=",".join(CANDIDATES),
                    help="comma-separated registry specs (default: those of the issue that "
                    "are registered)")
    ap.add_argument("--functions", default="1-24")
    ap.add_argument("--dims", default="2,3,5,10,20")
    ap.add_argument("--instances", default="6-10", help="COCO instances (default 6-10: "
                    "held out from tuning on 1-5)")
    ap.add_argument("--budgets", default="100,1000", help="evaluations per dimension")
    ap.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per problem")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--out", default="reports/bbob")
    ap.add_argument("--upto", action="append", default=[], metavar="SPEC:K",
                    help="run SPEC only at budgets up to K x D (repeatable; for the slow "
                    "peers, e.g. 'optuna_cmaes:100')")
    args = ap.parse_args(argv)
    specs = available(split_specs(args.optimizers))
    upto = budget_caps(args.upto, specs)
    problems = bbob_suite(int_list(args.functions), int_list(args.dims),
                          int_list(args.instances))
    seeds = list(range(args.seeds))
    out = Path(args.out)
    t0 = time.perf_counter()
    sections, ran = {}, {}
    for k in int_list(args.budgets):
        here = [s for s in specs if k <= upto.get(s, k)]
        results = run_budget(here, problems, k, seeds, args.jobs,
                             out / "runs" / f"{k}xD.jsonl", ran)
        study = make_study(results, problems, k, here, seeds)
        study.save(out / f"study_{k}xD")
        overall, groups = scores(study, k), group_table(study, k, problems)
        print(f"\n== {k} x D ==\n" + overall.to_string(float_format=lambda v: f"{v:.3g}"))
        print(groups.pivot(index="optimizer", columns="group", values="ecdf_area")
              .to_string(float_format=lambda v: f"{v:.3f}"))
        sections[k] = (overall, groups, ecdf_figure(study, problems, k))
    path = report(out, args, specs, ran, sections, len(problems), time.perf_counter() - t0)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
