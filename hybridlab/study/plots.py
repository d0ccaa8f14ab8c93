"""Plots of a study, as functions of its tables; each returns a matplotlib ``Figure``.

Figures are built with :class:`matplotlib.figure.Figure` (not ``pyplot``), so nothing is
left open in pyplot's state and a notebook shows each figure once; :func:`save_figure`
writes a PNG atomically.  Every optimizer keeps one colour across all plots.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..io import atomic_write
from . import metrics

__all__ = ["plot_convergence", "plot_ecdf", "plot_quality", "plot_ranks", "save_figure"]


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Figure:
    """Write ``fig`` as a PNG, atomically; return it.

    Examples
    --------
    >>> import tempfile
    >>> fig = Figure()
    >>> _ = fig.subplots().plot([1, 2])
    >>> save_figure(fig, tempfile.mkdtemp() + "/a.png") is fig
    True
    """
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=dpi, bbox_inches="tight"))
    return fig


def _png(fig: Figure) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def enable_notebook_display() -> None:
    """Show the :class:`~matplotlib.figure.Figure` objects these functions return as PNG
    in Jupyter, without ``%matplotlib inline``.

    The plots are built on ``Figure`` rather than pyplot (so nothing leaks into pyplot's
    state and a figure never shows twice), and IPython only renders a bare ``Figure``
    when the inline backend has registered its formatter.  This registers a PNG formatter
    for ``Figure`` in the running IPython shell, if any; it is called on import and does
    nothing outside IPython or when a formatter is already there.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the lab extra
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    png = shell.display_formatter.formatters["image/png"]
    if Figure not in png.type_printers:
        png.for_type(Figure, _png)


enable_notebook_display()


def _colors(names: Sequence[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def _panels(n: int, ncols: int, size: tuple[float, float] = (4.4, 3.3)) -> tuple[Figure, list]:
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows + 0.6), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _label(ylabel: str | Mapping[str, str], problem: str) -> str:
    return ylabel.get(problem, "value") if isinstance(ylabel, Mapping) else ylabel


def _log_floor(values: np.ndarray) -> float | None:
    """A positive floor for a log axis, or None when the values do not suit one."""
    v = values[np.isfinite(values)]
    if v.size == 0 or (v < 0).any() or not (v > 0).any():
        return None
    return float(v[v > 0].min())


def _legend(fig: Figure, axes: list, names: Sequence[str]) -> None:
    handles, labels = [], []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    order = [labels.index(n) for n in names if n in labels]
    if order:
        fig.legend([handles[i] for i in order], [labels[i] for i in order],
                   loc="outside lower center", ncols=min(len(order), 4), frameon=False)


def plot_convergence(runs: pd.DataFrame, optimizers: Sequence[str] | None = None,
                     problems: Sequence[str] | None = None,
                     ylabel: str | Mapping[str, str] = "gap f - f_opt", logx: bool = True,
                     logy: bool | None = None, ncols: int = 3) -> Figure:
    """Median best-so-far (line) and interquartile range over seeds (band) against
    evaluations, one panel per problem.

    Runs that stopped early keep their last value.  With a log y axis (default when no
    value is negative) values are clipped below at the smallest positive one, so gaps of
    exactly 0 stay visible.

    Examples
    --------
    >>> runs = pd.DataFrame({"optimizer": "a", "problem": "p", "seed": [0, 0, 1, 1],
    ...                      "eval": [1, 10, 1, 10], "gap": [5.0, 1.0, 4.0, 0.5]})
    >>> len(plot_convergence(runs).axes)
    1
    """
    optimizers = list(optimizers or pd.unique(runs["optimizer"]))
    problems = list(problems or pd.unique(runs["problem"]))
    colors = _colors(optimizers)
    fig, axes = _panels(len(problems), ncols)
    done = runs[runs["eval"] > 0]
    for ax, problem in zip(axes, problems, strict=True):
        part = done[done["problem"] == problem]
        floor = _log_floor(part["gap"].to_numpy(dtype=float)) if logy is not False else None
        for opt in optimizers:
            r = part[part["optimizer"] == opt]
            if r.empty:
                continue
            wide = r.pivot_table(index="eval", columns="seed", values="gap",
                                 aggfunc="first").sort_index().ffill()
            if not np.isfinite(wide.to_numpy()).any():
                continue
            if floor is not None:
                wide = wide.clip(lower=floor)
            x = wide.index.to_numpy()
            q = wide.quantile([0.25, 0.5, 0.75], axis=1).to_numpy()
            ax.plot(x, q[1], color=colors[opt], lw=1.8, label=opt, drawstyle="steps-post")
            ax.fill_between(x, q[0], q[2], color=colors[opt], alpha=0.2, step="post",
                            lw=0)
        if not ax.lines:
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center",
                    transform=ax.transAxes)
        else:
            if logx:
                ax.set_xscale("log")
            if floor is not None:
                ax.set_yscale("log")
        ax.set_title(problem, fontsize=10)
        ax.set_xlabel("evaluations")
        ax.set_ylabel(f"{_label(ylabel, problem)} (median, IQR)")
        ax.grid(alpha=0.3, which="major")
    _legend(fig, axes, optimizers)
    return fig


def plot_ecdf(hits: pd.DataFrame, optimizers: Sequence[str] | None = None,
              per_dim: bool = True, ax: Any = None) -> Figure:
    """COCO-style ECDF: fraction of (problem, seed, target) triples reached against
    evaluations / D (log x), one step curve per optimizer.

    Examples
    --------
    >>> hits = pd.DataFrame({"optimizer": "a", "problem": "p", "dim": 2, "seed": 0,
    ...                      "target": [1.0, 0.1], "evals": [4, np.nan], "spent": 10})
    >>> plot_ecdf(hits).axes[0].get_ylabel()
    'fraction of (problem, seed, target) triples'
    """
    optimizers = list(optimizers or pd.unique(hits["optimizer"]))
    colors = _colors(optimizers)
    if ax is None:
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    e = metrics.ecdf(hits, per_dim=per_dim)
    xcol = "evals_per_dim" if per_dim else "evals"
    for opt in optimizers:
        r = e[e["optimizer"] == opt]
        if not r.empty:
            ax.step(r[xcol], r["fraction"], where="post", color=colors[opt], lw=1.8,
                    label=opt)
    if ax.lines:
        ax.set_xscale("log")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("evaluations / D" if per_dim else "evaluations")
    ax.set_ylabel("fraction of (problem, seed, target) triples")
    n_p = hits["problem"].nunique() if "problem" in hits else 0
    n_t = hits.groupby("problem")["target"].nunique().max() if n_p else 0
    ax.set_title(f"runtime ECDF: {n_p} problems, up to {n_t} targets each", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def plot_quality(final: pd.DataFrame, optimizers: Sequence[str] | None = None,
                 problems: Sequence[str] | None = None, kind: str = "box",
                 ylabel: str | Mapping[str, str] = "final gap f - f_opt",
                 logy: bool | None = None, ncols: int = 3) -> Figure:
    """Box (or violin) plots of the final values over seeds, one panel per problem.

    Crashed runs are left out; a violin needs two distinct values, so a group with fewer
    falls back to its points.

    Examples
    --------
    >>> final = pd.DataFrame({"optimizer": ["a", "b"] * 3, "problem": "p",
    ...                       "gap": [1.0, 2.0, 1.5, 3.0, 0.5, 2.5]})
    >>> len(plot_quality(final, kind="violin").axes)
    1
    """
    if kind not in ("box", "violin"):
        raise ValueError(f"kind must be 'box' or 'violin', got {kind!r}")
    optimizers = list(optimizers or pd.unique(final["optimizer"]))
    problems = list(problems or pd.unique(final["problem"]))
    colors = _colors(optimizers)
    fig, axes = _panels(len(problems), ncols, size=(max(3.6, 0.9 * len(optimizers) + 1.5), 3.6))
    for ax, problem in zip(axes, problems, strict=True):
        part = final[final["problem"] == problem]
        floor = _log_floor(part["gap"].to_numpy(dtype=float)) if logy is not False else None
        pos = np.arange(1, len(optimizers) + 1)
        for i, opt in zip(pos, optimizers, strict=True):
            v = part.loc[part["optimizer"] == opt, "gap"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if floor is not None:
                v = np.maximum(v, floor)
            if v.size == 0:
                continue
            if kind == "violin" and np.unique(v).size > 1:
                body = ax.violinplot(np.log10(v) if floor else v, [i], showmedians=True)
                for b in body["bodies"]:
                    b.set_facecolor(colors[opt])
            else:
                bp = ax.boxplot(v, positions=[i], widths=0.6, patch_artist=True)
                for b in bp["boxes"]:
                    b.set_facecolor(colors[opt])
                    b.set_alpha(0.6)
        if floor is not None and kind == "violin":
            ax.set_ylabel(f"log10 {_label(ylabel, problem)}")
        else:
            if floor is not None:
                ax.set_yscale("log")
            ax.set_ylabel(_label(ylabel, problem))
        ax.set_xticks(pos, optimizers, rotation=30, ha="right", fontsize=8)
        ax.set_xlim(0.4, len(optimizers) + 0.6)
        ax.set_title(f"{problem}: final values over seeds", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    return fig


def _cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs i..j of sorted ranks spanning less than ``cd`` (not different)."""
    out: list[tuple[int, int]] = []
    for i in range(ranks.size):
        j = int(np.searchsorted(ranks, ranks[i] + cd, side="left")) - 1
        if j > i and not any(a <= i and j <= b for a, b in out):
            out.append((i, j))
    return out


def _posthocs_diagram(ranks: pd.Series, pvalues: pd.DataFrame, alpha: float,
                      title: str | None) -> Figure:
    try:
        import scikit_posthocs as sp
    except ImportError as exc:  # an optional extra
        raise ImportError("critical-difference diagrams from pairwise p-values need "
                          "scikit-posthocs: pip install 'hybridlab[stats]'") from exc
    r = ranks.astype(float)
    missing = set(r.index) ^ set(pvalues.index)
    if missing:
        raise ValueError(f"ranks and pvalues must name the same optimizers; they differ in "
                         f"{sorted(map(str, missing))}")
    fig = Figure(figsize=(7.5, 1.6 + 0.3 * math.ceil(len(r) / 2)), layout="constrained")
    ax = fig.subplots()
    drawn = sp.critical_difference_diagram(r, pvalues.loc[r.index, r.index], alpha=alpha,
                                           ax=ax)
    fig.crossbars = drawn.get("crossbars", [])  # the bars drawn, for a reader (or a test)
    ax.set_title(title or f"average ranks (bars: pairwise p >= {alpha:g})", fontsize=10)
    return fig


def plot_ranks(ranks: pd.Series, cd: float | None = None, title: str | None = None, *,
               pvalues: pd.DataFrame | None = None, alpha: float = 0.05) -> Figure:
    """Critical-difference diagram (Demšar 2006): average ranks on an axis (1 = best).

    With ``pvalues`` (a square matrix of corrected pairwise p-values, e.g.
    :func:`hybridlab.study.stats.pairwise_wilcoxon_holm`) it is drawn by scikit-posthocs'
    ``critical_difference_diagram`` (extra ``stats``): optimizers joined by a bar are
    those whose pairwise test has ``p >= alpha`` -- the same tests as the report's
    verdicts.  Without, optimizers whose ranks differ by less than the Nemenyi critical
    difference ``cd`` are joined.

    Examples
    --------
    >>> fig = plot_ranks(pd.Series({"a": 1.2, "b": 2.1, "c": 2.7}), cd=1.0)
    >>> fig.axes[0].get_title()
    'average ranks'
    >>> p = pd.DataFrame([[1, .01, .01], [.01, 1, .4], [.01, .4, 1]], index=list("abc"),
    ...                  columns=list("abc"))
    >>> plot_ranks(pd.Series({"a": 1.2, "b": 2.1, "c": 2.7}), pvalues=p).axes[0].get_title()
    'average ranks (bars: pairwise p >= 0.05)'
    """
    if pvalues is not None:
        return _posthocs_diagram(ranks, pvalues, alpha, title)
    r = ranks.astype(float).sort_values(kind="stable")
    names, vals = list(r.index), r.to_numpy()
    k = len(names)
    hi = max(k, 2)
    cliques = _cliques(vals, cd) if cd is not None and np.isfinite(cd) else []
    half = math.ceil(k / 2)
    step, top = 0.35, 0.25 + 0.2 * len(cliques)
    fig = Figure(figsize=(7.5, 1.4 + step * (half + 1) + 0.2 * len(cliques)),
                 layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    ax.hlines(0, 1, hi, color="black", lw=1)
    for t in range(1, hi + 1):
        ax.vlines(t, 0, 0.08, color="black", lw=1)
        ax.text(t, 0.12, str(t), ha="center", va="bottom", fontsize=9)
    for i, (name, v) in enumerate(zip(names, vals, strict=True)):
        left = i < half
        row = i if left else k - 1 - i
        y = -(top + step * (row + 1))
        x_text = 1 - 0.15 if left else hi + 0.15
        ax.plot([v, v, x_text], [0, y, y], color="black", lw=0.9)
        ax.text(x_text + (-0.05 if left else 0.05), y, f"{name} ({v:.2f})",
                ha="right" if left else "left", va="center", fontsize=9)
    for c, (i, j) in enumerate(cliques):
        y = -0.15 - 0.2 * c
        ax.plot([vals[i] - 0.03, vals[j] + 0.03], [y, y], color="black", lw=3.5)
    if cliques or (cd is not None and np.isfinite(cd)):
        ax.plot([1, 1 + cd], [0.55, 0.55], color="black", lw=1.5)
        ax.text(1 + cd / 2, 0.62, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(0.2, hi + 0.8)
    ax.set_ylim(-(top + step * (half + 1)), 0.9)
    ax.set_title(title or "average ranks", fontsize=10)
    return fig
