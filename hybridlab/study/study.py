"""The :class:`Study`: the runs of a comparison as plain data, with tables, tests, plots,
saving and a report built from that data."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import atomic_write
from . import cells, metrics, plots, stats

__all__ = ["Ranking", "Study"]

_FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class Ranking:
    """What :meth:`Study.ranks` returns: the Friedman test (average ranks, p-value,
    critical difference), the Wilcoxon-Holm table against the reference, and the
    Wilcoxon p-values of every pair, Holm-corrected over all pairs (``all_pairs``, what
    the critical-difference diagram is drawn from)."""

    friedman: stats.Friedman
    pairwise: pd.DataFrame
    reference: str
    blocks: str
    all_pairs: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ranks(self) -> pd.Series:
        """Average rank per optimizer, best first."""
        return self.friedman.ranks

    def __repr__(self) -> str:
        f = self.friedman
        ranks = ", ".join(f"{k}: {v:.2f}" for k, v in f.ranks.items())
        return (f"Ranking(friedman p={f.pvalue:.3g} over {f.n_blocks} {self.blocks} blocks, "
                f"ranks {{{ranks}}}, reference={self.reference!r})")


@dataclass(eq=False)
class Study:
    """Runs of optimizers on problems over seeds, as tidy tables plus metadata.

    Attributes
    ----------
    runs : DataFrame
        Best-so-far trajectory of every run on a log-spaced evaluation grid: columns
        ``optimizer, problem, dim, seed, eval, best_so_far, gap, seconds,
        objective_seconds, status, energy_kwh``.  ``gap`` is ``f - f_opt`` (known optimum) or the
        objective; ``seconds`` is wall time since the run began and
        ``objective_seconds`` the time spent in the objective so far; ``status`` is the
        run's ``stopped`` (``budget``, ``converged``) or ``"crashed: <error>"`` (one row
        with ``eval`` 0 and no values); ``energy_kwh`` the run's energy so far with
        ``compare(..., energy=True)`` (NaN otherwise).
    hits : DataFrame
        Per run and target, the exact evaluation at which the target was first reached:
        ``optimizer, problem, dim, seed, target, evals`` (NaN: never), ``spent`` (the
        run's evaluations; NaN when it crashed).
    meta : dict
        JSON-ready: name, optimizers (spec, name, components), problems (dim, f_opt,
        budget, measure, targets), budget, seeds, command, call, versions, date.

    Examples
    --------
    >>> from hybridlab.benchmarks import suite
    >>> from hybridlab.study import compare
    >>> study = compare(["random", "pso"], suite(dims=(2,), instances=1,
    ...                 functions=["sphere"]), budget=60, seeds=2, progress=False)
    >>> study.optimizers, study.problems, study.seeds
    (['random', 'pso'], ['sphere-d2-i1'], [0, 1])
    """

    runs: pd.DataFrame
    hits: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    # -- views --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "study"))

    @property
    def optimizers(self) -> list[str]:
        return list(self.meta.get("optimizers") or pd.unique(self.runs["optimizer"]))

    @property
    def problems(self) -> list[str]:
        return list(self.meta.get("problems") or pd.unique(self.runs["problem"]))

    @property
    def seeds(self) -> list[int]:
        return list(self.meta.get("seeds") or pd.unique(self.runs["seed"]).tolist())

    @property
    def measure(self) -> str:
        """``"gap"`` (every optimum known), ``"objective"`` (none) or ``"gap/objective"``."""
        kinds = {p.get("measure", "gap") for p in self.meta.get("problems", {}).values()}
        return kinds.pop() if len(kinds) == 1 else ("gap/objective" if kinds else "gap")

    def _ylabels(self) -> dict[str, str]:
        return {p: "gap f - f_opt" if info.get("measure") == "gap" else "objective"
                for p, info in self.meta.get("problems", {}).items()}

    def final(self) -> pd.DataFrame:
        """One row per run: its last grid row (``evals``, final ``gap``, timings, status)."""
        return metrics.final_values(self.runs)

    @property
    def crashed(self) -> pd.DataFrame:
        """The runs whose optimizer raised: optimizer, problem, seed and status."""
        f = self.final()
        return f.loc[f["status"].str.startswith("crashed"),
                     ["optimizer", "problem", "seed", "status"]].reset_index(drop=True)

    @property
    def components(self) -> dict[str, list[str]]:
        """Hybrid label -> labels of its single-optimizer components in this study
        (matched by optimizer name, e.g. ``"ga>>local"`` -> ``["ga", "local"]``)."""
        opts = self.meta.get("optimizers", {})
        singles = {info["name"]: label for label, info in opts.items()
                   if not info.get("components")}
        return {label: [singles[c] for c in info["components"] if c in singles]
                for label, info in opts.items()
                if info.get("components") and any(c in singles for c in info["components"])}

    # -- tables -------------------------------------------------------------------------

    def summary(self, per_problem: bool = False, confidence: float = 0.95,
                seed: int = 0) -> pd.DataFrame:
        """One row per optimizer (or per optimizer and problem).

        Columns: ``runs``, ``crashed``; quality of the final gap (objective when the
        optimum is unknown) over completed runs: ``median`` with its bootstrap
        ``ci_low``/``ci_high``, ``q25``, ``q75``, ``iqr``; robustness:
        ``targets_reached`` (fraction of (problem, seed, target) triples),
        ``success_rate`` (runs reaching their problem's hardest target); speed: ``ert``
        to that target (evaluations; ``ert_per_dim`` pooled over problems, COCO-style);
        ``mean_rank`` (average Friedman rank over problems, overall table only);
        efficiency: ``seconds`` per run and ``overhead_ms`` per evaluation.
        """
        by = ["optimizer", "problem"] if per_problem else ["optimizer"]
        final = self.final()
        order = [(o, p) for o in self.optimizers for p in self.problems] \
            if per_problem else self.optimizers
        out = pd.DataFrame(index=pd.MultiIndex.from_tuples(order, names=by)
                           if per_problem else pd.Index(order, name="optimizer"))
        g = final.groupby(by, sort=False)
        out["runs"] = g.size()
        out["crashed"] = g["status"].agg(lambda s: int(s.str.startswith("crashed").sum()))
        q = metrics.quality(final, by).set_index(by)
        out = out.join(q[["median"]])
        ci = g["gap"].apply(lambda v: stats.bootstrap_median_ci(v, confidence, seed=seed))
        out["ci_low"] = ci.map(lambda c: c[0])
        out["ci_high"] = ci.map(lambda c: c[1])
        out = out.join(q[["q25", "q75", "iqr"]])
        out["targets_reached"] = metrics.targets_reached(self.hits, by)
        out = out.join(metrics.success_rate(self.hits, by=by).set_index(by)[["success_rate"]])
        hardest = metrics._success_rows(self.hits, None)
        col = "ert" if per_problem else "ert_per_dim"
        e = metrics.ert(hardest, by=by, per_dim=not per_problem).set_index(by)["ert"]
        out[col] = e
        if not per_problem:
            out["mean_rank"] = stats.average_ranks(metrics.block_table(final))
        eff = metrics.efficiency(final, by).set_index(by)
        out["seconds"] = eff["seconds"]
        out["overhead_ms"] = 1e3 * eff["overhead_per_eval"]
        out[["runs", "crashed"]] = out[["runs", "crashed"]].fillna(0).astype("int64")
        out.attrs["measure"] = self.measure
        return out.reset_index()

    def ert(self, per_dim: bool = False, pooled: bool = False) -> pd.DataFrame:
        """ERT per optimizer, problem and target (``pooled``: per optimizer and target,
        over all problems; then use ``per_dim`` to pool different dimensions)."""
        by = ["optimizer", "target"] if pooled else ["optimizer", "problem", "target"]
        return metrics.ert(self.hits, by=by, per_dim=per_dim)

    def ecdf(self, x: Any = None, per_dim: bool = True) -> pd.DataFrame:
        """Runtime ECDF per optimizer (see :func:`hybridlab.study.metrics.ecdf`)."""
        return metrics.ecdf(self.hits, x=x, per_dim=per_dim)

    def ranks(self, reference: str | None = None, blocks: str = "problem",
              alpha: float = 0.05) -> Ranking:
        """Friedman average ranks and Wilcoxon-Holm tests against ``reference``.

        Parameters
        ----------
        reference : str, optional
            An optimizer label; default the first optimizer.
        blocks : {"problem", "run"}
            Blocks of the tests: each problem (median over seeds, Demšar's advice: the
            blocks should be independent) or each (problem, seed).
        alpha : float
        """
        table = metrics.block_table(self.final(), blocks=blocks)
        reference = self.optimizers[0] if reference is None else reference
        return Ranking(stats.friedman(table, alpha),
                       stats.wilcoxon_holm(table, reference, alpha), reference, blocks,
                       stats.pairwise_wilcoxon_holm(table))

    def versus_components(self) -> pd.DataFrame:
        """Each hybrid against each of its components in the study (paired by problem and
        seed): wins/ties/losses, medians, and a Holm-corrected Wilcoxon p-value."""
        out = metrics.versus_components(self.final(), self.components)
        table = metrics.block_table(self.final(), blocks="run")
        p = [stats.wilcoxon_holm(table[[c, h]], c)["p"].item()
             for h, c in zip(out["hybrid"], out["component"], strict=True)]
        out["p"] = p
        out["p_holm"] = stats.holm(p) if p else []
        return out

    # -- plots --------------------------------------------------------------------------

    def plot_convergence(self, path: str | os.PathLike | None = None, **kwargs: Any) -> Any:
        """Median best-so-far with IQR band per optimizer, one panel per problem."""
        kwargs.setdefault("ylabel", self._ylabels())
        kwargs.setdefault("optimizers", self.optimizers)
        kwargs.setdefault("problems", self.problems)
        fig = plots.plot_convergence(self.runs, **kwargs)
        return plots.save_figure(fig, path) if path else fig

    def plot_ecdf(self, path: str | os.PathLike | None = None, **kwargs: Any) -> Any:
        """COCO-style ECDF of (problem, seed, target) triples against evaluations / D."""
        kwargs.setdefault("optimizers", self.optimizers)
        fig = plots.plot_ecdf(self.hits, **kwargs)
        return plots.save_figure(fig, path) if path else fig

    def plot_quality(self, path: str | os.PathLike | None = None, **kwargs: Any) -> Any:
        """Box (or ``kind="violin"``) plots of the final values, one panel per problem."""
        kwargs.setdefault("ylabel", self._ylabels())
        kwargs.setdefault("optimizers", self.optimizers)
        kwargs.setdefault("problems", self.problems)
        fig = plots.plot_quality(self.final(), **kwargs)
        return plots.save_figure(fig, path) if path else fig

    def plot_ranks(self, path: str | os.PathLike | None = None, blocks: str = "problem",
                   alpha: float = 0.05) -> Any:
        """Critical-difference diagram of the Friedman average ranks; a bar joins the
        optimizers whose all-pairs Wilcoxon-Holm test (``ranks().all_pairs``) has
        ``p >= alpha``."""
        ranking = self.ranks(blocks=blocks, alpha=alpha)
        f = ranking.friedman
        title = (f"average ranks over {f.n_blocks} {blocks} blocks (Friedman p = "
                 f"{f.pvalue:.3g}); bars: pairwise Wilcoxon-Holm p >= {alpha}")
        fig = plots.plot_ranks(f.ranks, title=title, pvalues=ranking.all_pairs, alpha=alpha)
        return plots.save_figure(fig, path) if path else fig

    # -- storage ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, format: str = "csv") -> Path:
        """Write ``runs``, ``hits`` (CSV, or parquet with pyarrow) and ``study.json``
        (metadata and column dtypes) into the folder ``path``, each file atomically.

        ``study.json`` is written last: a folder with it is complete.
        """
        if format not in _FORMATS:
            raise ValueError(f"format must be one of {_FORMATS}, got {format!r}")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tables = {}
        for key, df in (("runs", self.runs), ("hits", self.hits)):
            file = folder / f"{key}.{format}"
            if format == "csv":
                atomic_write(file, lambda p, df=df: df.to_csv(p, index=False))
            else:
                atomic_write(file, lambda p, df=df: df.to_parquet(p, index=False))
            tables[key] = {"file": file.name,
                           "dtypes": {c: str(t) for c, t in df.dtypes.items()}}
        doc = json.dumps({"meta": self.meta, "tables": tables}, indent=1)
        atomic_write(folder / "study.json", lambda p: Path(p).write_text(doc))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> Study:
        """Read a study written by :meth:`save` (or :meth:`to_report`): identical tables
        (dtypes included) and metadata."""
        folder = Path(path)
        doc = json.loads((folder / "study.json").read_text())
        frames = {key: _read_table(folder / t["file"], t["dtypes"])
                  for key, t in doc["tables"].items()}
        return cls(frames["runs"], frames["hits"], doc["meta"])

    @classmethod
    def from_store(cls, path: str | os.PathLike, name: str = "study") -> Study:
        """The study ``name`` recorded by ``compare(..., store=path, name=name)``, rebuilt
        from the evaluations in the run store: the same tables (up to timings) and
        metadata as the :class:`Study` that ``compare`` returned."""
        from ..tracking import RunStore

        with RunStore(path) as store:
            meta = store.study_meta(name)
            results = []
            for label in meta["optimizers"]:
                for p, info in meta["problems"].items():
                    for seed in meta["seeds"]:
                        results.append(_stored_cell(store, name, label, p, seed, info["dim"]))
        f_opts = {p: info["f_opt"] for p, info in meta["problems"].items()}
        targets = {p: info["targets"] for p, info in meta["problems"].items()}
        return cls(cells.runs_frame(results, f_opts),
                   cells.hits_frame(results, targets, f_opts), meta)

    def to_report(self, root: str | os.PathLike = "reports", reference: str | None = None,
                  alpha: float = 0.05) -> Path:
        """Write ``<root>/<name>/report.md`` with tables, PNG plots, CSVs and the way to
        reproduce the study; return the path of ``report.md``."""
        from .report import write_report

        return write_report(self, Path(root) / self.name, reference=reference, alpha=alpha)

    def __repr__(self) -> str:
        n = self.runs.groupby(metrics.RUN_KEYS).ngroups if len(self.runs) else 0
        return (f"Study({self.name!r}: {len(self.optimizers)} optimizers x "
                f"{len(self.problems)} problems x {len(self.seeds)} seeds, {n} runs, "
                f"{len(self.crashed)} crashed)")


def _stored_cell(store: Any, study: str, label: str, problem: str, seed: int,
                 dim: int) -> dict[str, Any]:
    run = cells.run_name(study, label, problem, seed)
    info = store.info(run)
    labels = cells.cell_labels(label, problem, seed, dim)
    if info["status"].startswith("crashed"):
        return cells.crashed(labels, info["status"], float(info["seconds"]))
    return cells.trajectory(labels, store.evaluations(run), float(info["seconds"]),
                            info["status"])


def _read_table(file: Path, dtypes: dict[str, str]) -> pd.DataFrame:
    if file.suffix == ".parquet":
        return pd.read_parquet(file).astype(dtypes)
    numeric = {c for c, t in dtypes.items() if _is_numpy(t) and np.dtype(t).kind in "biuf"}
    text = {c: str for c in dtypes if c not in numeric}
    # pandas 2's default parser can be one ulp off what was written, so it gets
    # "round_trip"; pandas 3 parses exactly by default and deprecates the argument
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(file, dtype=text, keep_default_na=False,
                     na_values={c: [""] for c in numeric}, **exact)
    return df.astype(dtypes)


def _is_numpy(dtype: str) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True
