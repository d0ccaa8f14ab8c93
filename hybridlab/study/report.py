"""A study's markdown report: tables, embedded plots, CSVs and how to reproduce it (the
sections are composed here; :func:`hybridlab.reporting.write_report` writes the folder)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..reporting import markdown_table
from ..reporting import write_report as write_folder
from . import metrics

#: a :class:`hybridlab.study.Study`; not imported, since ``Study.to_report`` imports this
#: module (and import circles are refused, even for type checking)
Study = Any

__all__ = ["write_report"]

PLOTS = {
    "convergence.png": ("Convergence", "plot_convergence",
                        "Median best-so-far over seeds (line) and interquartile range (band)."),
    "ecdf.png": ("Runtime ECDF", "plot_ecdf",
                 "Fraction of (problem, seed, target) triples reached against evaluations / D "
                 "(COCO-style)."),
    "quality.png": ("Final quality", "plot_quality",
                    "Final values over seeds, one panel per problem."),
    "ranks.png": ("Ranks", "plot_ranks",
                  "Friedman average ranks; optimizers joined by a bar are not significantly "
                  "different by the all-pairs Wilcoxon-Holm tests (matrix in Statistics)."),
}


def _md(df: pd.DataFrame, index: bool = False) -> str:
    if df.empty:
        return "_(none)_"
    return markdown_table(df, ".3g", index=index)


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def _setup(study: Study) -> list[str]:
    m = study.meta
    opts = pd.DataFrame([{"label": k, "spec": v.get("spec"),
                          "components": ", ".join(v.get("components", [])) or "-"}
                         for k, v in m.get("optimizers", {}).items()])
    probs = pd.DataFrame([{"problem": k, "dim": v.get("dim"), "f_opt": v.get("f_opt"),
                           "budget": v.get("budget"), "measure": v.get("measure"),
                           "targets": len(v.get("targets", []))}
                          for k, v in m.get("problems", {}).items()])
    return ["## Setup\n",
            f"{len(study.optimizers)} optimizers x {len(study.problems)} problems x "
            f"{len(study.seeds)} seeds (seeds {study.seeds}); budget {m.get('budget')}; "
            f"executor {m.get('executor', 'serial')}.\n",
            _md(opts), "", _md(probs), ""]


def _tables(study: Study, reference: str | None, alpha: float) -> list[str]:
    measure = study.measure
    out = ["## Summary\n",
           f"Final **{measure}** over completed runs (median with its 95% bootstrap CI, "
           "quartiles), fraction of targets reached, success rate (hardest target of each "
           "problem), ERT to that target (evaluations / D, pooled over problems), average "
           "rank, wall time per run and optimizer overhead per evaluation.\n",
           _md(study.summary()), "", "### Per problem\n",
           _md(study.summary(per_problem=True)), ""]
    ranking = study.ranks(reference=reference, alpha=alpha)
    f = ranking.friedman
    ranks = pd.DataFrame({"optimizer": f.ranks.index, "average rank": f.ranks.to_numpy()})
    out += ["## Statistics\n",
            f"Friedman test over {f.n_blocks} problems (median final {measure} over seeds): "
            f"chi2 = {_fmt(f.statistic)}, p = {_fmt(f.pvalue)} (Nemenyi critical "
            f"difference {_fmt(f.cd)} at alpha = {alpha}, not used for the diagram).\n",
            _md(ranks), "",
            *([f"With {f.n_blocks} blocks the smallest possible two-sided Wilcoxon p-value is "
               f"{2 / 2 ** f.n_blocks:.3g}: add problems for significance.\n"]
              if 0 < f.n_blocks < 6 else []),
            f"Wilcoxon signed-rank tests against **{ranking.reference}** over problems, "
            f"Holm-corrected (alpha = {alpha}); a win is a lower final {measure}.\n",
            _md(ranking.pairwise), "",
            "Every pair, Wilcoxon signed-rank over problems, Holm-corrected over all "
            f"{len(ranking.all_pairs) * (len(ranking.all_pairs) - 1) // 2} pairs (a "
            "stricter family than the table above): the ranks diagram joins the pairs with "
            f"p >= {alpha}.\n",
            _md(ranking.all_pairs, index=True), ""]
    vs = study.versus_components()
    if len(vs):
        out += ["## Hybrids versus their components\n",
                f"Paired by (problem, seed) on the final {measure}; p from Wilcoxon "
                "signed-rank, Holm-corrected over all pairs.\n", _md(vs), ""]
    out += _ert(study)
    return out


def _ert(study: Study) -> list[str]:
    problems = study.meta.get("problems", {})
    ert = study.ert(per_dim=True)
    out = ["## Expected running time\n"]
    gap = ert[ert["problem"].map(lambda p: problems.get(p, {}).get("measure") == "gap")]
    if len(gap):
        pooled = metrics.ert(study.hits[study.hits["problem"].isin(set(gap["problem"]))],
                             by=["optimizer", "target"], per_dim=True)
        table = pooled.pivot_table(index="optimizer", columns="target", values="ert",
                                   sort=False)
        table = table.reindex(columns=sorted(table.columns, reverse=True))
        table.columns = [f"{t:.0e}" for t in table.columns]
        out += ["ERT / D to each target on the gap f - f_opt, pooled over the problems with a "
                "known optimum (COCO-style; inf: never reached).\n",
                _md(table.reset_index()), ""]
    obj = ert[ert["problem"].map(lambda p: problems.get(p, {}).get("measure") == "objective")]
    if len(obj):
        obj = obj.assign(rank=obj.groupby(["optimizer", "problem"]).cumcount() + 1)
        table = obj.pivot_table(index=["problem", "optimizer"], columns="rank", values="ert",
                                sort=False)
        table.columns = [f"t{c}" for c in table.columns]
        out += ["ERT / D on the problems without a known optimum, to their targets t1 "
                "(easiest) ... tn (hardest) on the objective (values in study.json).\n",
                _md(table.reset_index()), ""]
    return out


def _reproduce(study: Study) -> list[str]:
    m = study.meta
    lines = ["## Reproduce\n"]
    if m.get("command"):
        lines += ["Command that ran the study:\n", "```bash", m["command"], "```\n"]
    if m.get("call"):
        lines += ["Python call:\n", "```python", "import hybridlab.study", m["call"], "```\n"]
    versions = pd.DataFrame(list(m.get("versions", {}).items()), columns=["package", "version"])
    lines += [_md(versions), "", f"Run on {m.get('date', 'unknown date')}. Load the data "
              "with `hybridlab.study.Study.load(<this folder>)`.\n"]
    return lines


def write_report(study: Study, folder: str | Path, reference: str | None = None,
                 alpha: float = 0.05) -> Path:
    """Write ``report.md``, the four PNG plots, ``summary.csv`` and the study's data
    (``runs.csv``, ``hits.csv``, ``study.json``, loadable with ``Study.load``) into
    ``folder``, every file atomically; return the path of ``report.md``.

    Examples
    --------
    >>> from hybridlab.benchmarks import suite
    >>> from hybridlab.study import compare
    >>> import tempfile
    >>> s = compare(["random", "pso"], suite(dims=(2,), instances=1,
    ...             functions=["sphere"]), budget=50, seeds=2, progress=False)
    >>> write_report(s, tempfile.mkdtemp()).name
    'report.md'
    """
    folder = Path(folder)
    study.save(folder)
    pngs: dict[str, Any] = {}
    figures: list[str] = []
    for file, (title, method, caption) in PLOTS.items():
        fig = getattr(study, method)()
        pngs[file] = lambda p, fig=fig: fig.savefig(p, format="png", dpi=120,
                                                    bbox_inches="tight")
        figures += [f"### {title}\n", f"![{title}]({file})\n", f"{caption}\n"]
    crashed = study.crashed
    lines: list[Any] = [f"# Study: {study.name}\n",
                        f"hybridlab {study.meta.get('versions', {}).get('hybridlab', '?')}, "
                        f"{study.meta.get('date', '')}.\n"]
    lines += _setup(study) + _tables(study, reference, alpha)
    lines += ["## Plots\n", *figures]
    if len(crashed):
        lines += ["## Runs that crashed\n", _md(crashed), ""]
    lines += ["## Files\n",
              "- [runs.csv](runs.csv): best-so-far of every run on a log-spaced grid",
              "- [hits.csv](hits.csv): evaluation at which each run first reached each target",
              "- [summary.csv](summary.csv): the summary table",
              "- [study.json](study.json): metadata and column types\n"]
    lines += _reproduce(study)
    return write_folder(folder, "\n".join(lines), tables={"summary": study.summary()},
                        figures=pngs)
