"""Plots of measurements and baselines (matplotlib Figures; nothing is shown).

:func:`plot_measurements` draws the table of :func:`~hybridlab.ml.measure.measure` (score,
fit time, latency, memory per model); :func:`plot_best_so_far` draws the best-so-far curves
of :func:`~hybridlab.ml.measure.optimizer_baselines`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._measure import MEASURE_COLUMNS

__all__ = ["plot_best_so_far", "plot_measurements"]

_STYLES = ("-", "--", "-.", ":")  # optimizers often share their first trials: keep all visible


def plot_measurements(df: pd.DataFrame) -> Any:
    """Four panels of horizontal bars, one bar group per model of :func:`measure`'s table.

    Panels: score (dots, since the axis is zoomed to the scores: CV mean with ±1 sd error
    bars, and test score), fit time (s, log scale), single-row latency p50 and p95 (ms,
    log scale), and memory (peak fit memory and pickled model size, both in MB, log
    scale).  Rows with an error have no bars.

    Parameters
    ----------
    df : DataFrame
        What :func:`~hybridlab.ml.measure.measure` returned (at least its numeric columns).

    Returns
    -------
    matplotlib.figure.Figure
        With four axes sharing the model axis; not shown (call ``plt.show()`` or let
        Jupyter display it).

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({c: [1.0, 2.0] for c in MEASURE_COLUMNS}, index=["a", "b"])
    >>> len(plot_measurements(df).axes)
    4
    """
    import matplotlib.pyplot as plt

    missing = set(MEASURE_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"df lacks columns {sorted(missing)}: pass what measure() returned")
    labels = [str(i) for i in df.index]
    pos = np.arange(len(labels))

    def legend(ax: Any) -> None:
        handles, names = ax.get_legend_handles_labels()
        order = sorted(range(len(names)), key=lambda i: names[i] == "test")  # CV first
        ax.legend([handles[i] for i in order], [names[i] for i in order], loc="upper center",
                  bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small", frameon=False,
                  handlelength=1.2, columnspacing=1.0)

    h = 0.38
    fig, axes = plt.subplots(1, 4, figsize=(14, 1.6 + 0.45 * max(len(labels), 2)),
                             sharey=True, layout="constrained")
    ax = axes[0]  # dots, not bars: the score axis does not start at 0
    ax.errorbar(df["cv_mean"], pos - h / 3, xerr=df["cv_sd"], fmt="o", capsize=3,
                label="CV mean ± sd")
    ax.plot(df["test_score"], pos + h / 3, "D", label="test")
    ax.set(title="score", yticks=pos, yticklabels=labels)
    legend(ax)

    axes[1].barh(pos, df["fit_s"], 0.6, color="C2")
    axes[1].set(title="fit time (s)", xscale="log")

    axes[2].barh(pos - h / 2, df["latency_ms_p50"], h, color="C4", label="p50")
    axes[2].barh(pos + h / 2, df["latency_ms_p95"], h, color="C6", label="p95")
    axes[2].set(title="single-row predict (ms)", xscale="log")
    legend(axes[2])

    axes[3].barh(pos - h / 2, df["peak_fit_mb"], h, color="C5", label="peak fit memory")
    axes[3].barh(pos + h / 2, df["model_kb"] / 1e3, h, color="C8", label="pickled model")
    axes[3].set(title="memory (MB)", xscale="log")
    legend(axes[3])
    for a in axes:
        a.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()  # first model on top, as in the table
    return fig


def plot_best_so_far(frame: pd.DataFrame, ax: Any = None) -> Any:
    """Median best-so-far CV score per optimizer against trials, with the seeds' range.

    Parameters
    ----------
    frame : DataFrame
        What :func:`~hybridlab.ml.measure.optimizer_baselines` returned.
    ax : matplotlib Axes, optional
        Draw into it; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of ``ax``: one line per optimizer (median over seeds) and a shaded band
        from the worst to the best seed.  A run that stopped early keeps its last value.

    Example
    -------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"optimizer": ["a"] * 4, "seed": [0, 0, 1, 1],
    ...                   "trial": [1, 2, 1, 2], "best_so_far": [0.5, 0.7, 0.6, 0.6]})
    >>> fig = plot_best_so_far(f)
    >>> len(fig.axes), len(fig.axes[0].lines)
    (1, 1)
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    missing = {"optimizer", "seed", "trial", "best_so_far"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}: pass what "
                         "optimizer_baselines returned")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    n_seeds = frame.groupby("optimizer", sort=False)["seed"].nunique()
    for i, (label, run) in enumerate(frame.groupby("optimizer", sort=False)):
        wide = run.pivot_table(index="trial", columns="seed", values="best_so_far",
                               aggfunc="last").sort_index().ffill()
        color = f"C{i % 10}"
        ax.plot(wide.index, wide.median(axis=1), color=color, label=str(label),
                linestyle=_STYLES[i % len(_STYLES)], linewidth=2.4 - 0.3 * (i % 4))
        if wide.shape[1] > 1:
            ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color=color,
                            alpha=0.15, linewidth=0)
    seeds = n_seeds.max() if len(n_seeds) else 0
    band = f"; band: min–max over {seeds} seeds" if seeds > 1 else ""
    ax.set(xlabel="trial (candidates evaluated)", ylabel="best CV score so far",
           title=f"median best-so-far{band}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure
