"""The report text and plots of case study 2 (:mod:`hybridlab.casestudies.edge`); the
folder is written by :func:`hybridlab.reporting.write_report`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from hybridlab.provenance import environment
from hybridlab.reporting import markdown_table

from ._common import ENV_PACKAGES

__all__ = ["compose"]

_HEAD_COLS = ["variant", "engine", "bytes_compact", "smaller_pct_compact", "bytes_torch_save",
              "smaller_pct_torch_save", "nonzero", "test_accuracy", "test_accuracy_ci95",
              "acc_change_pts", "frozen_b1_ms_median", "frozen_b1_ms_p95",
              "frozen_b64_ms_median", "frozen_b64_ms_p95", "eager_b1_ms_median",
              "eager_b64_ms_median", "ort_b1_ms_median", "ort_b1_ms_p95", "ort_b64_ms_median"]

_SEARCH_COLS = ["searcher", "seed", "budget", "feasible_found", "feasible_evals", "sparsity",
                "int8", "c1", "c2", "hidden", "bytes_compact", "val_accuracy",
                "test_accuracy", "seconds"]


def _md(df: pd.DataFrame, cols: list[str] | None = None) -> str:
    cols = [c for c in (cols or list(df.columns)) if c in df.columns]
    df = df[cols].copy()
    for c in cols:  # counts print as integers, not 8.475e+04
        if c.startswith(("bytes_", "nonzero", "params", "c1", "c2", "hidden")) \
                and df[c].notna().all():
            df[c] = df[c].round().astype(int)
    return markdown_table(df, ".4g")


def _plots(tables: dict[str, pd.DataFrame], deploy: str) -> dict[str, Callable[[str], Any]]:
    """``png name -> write(path)`` of the two figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = {}
    summary, evals = tables["all_engines"], tables["search_evals"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for _, r in summary.iterrows():
        ax.scatter(r.bytes_compact / 1024, 100 * r.test_accuracy, s=50, zorder=3,
                   marker="o" if r.engine in ("float", deploy) else "x")
        ax.annotate(f"{r.variant} [{r.engine}]", (r.bytes_compact / 1024,
                                                  100 * r.test_accuracy), fontsize=7)
    if len(evals):
        for name, g in evals.groupby("searcher"):
            ax.scatter(g.bytes_compact / 1024, 100 * g.val_accuracy, s=14, alpha=0.6,
                       label=f"search: {name} (val accuracy)")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xscale("log")
    ax.set_xlabel("KiB on disk (compact format)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Size vs accuracy (variants: test, mean over seeds; search: val)")
    fig.tight_layout()
    plt.close(fig)
    made["size_vs_accuracy.png"] = lambda p, fig=fig: fig.savefig(p, dpi=110)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    labels = [f"{v} [{e}]" for v, e in zip(summary.variant, summary.engine, strict=True)]
    for ax, b, unit, scale in ((axes[0], 1, "us", 1e3), (axes[1], 64, "ms", 1.0)):
        ys = range(len(summary))
        ax.barh([y - 0.2 for y in ys], summary[f"frozen_b{b}_ms_median"] * scale, 0.4,
                label="frozen TorchScript")
        ax.barh([y + 0.2 for y in ys], summary[f"eager_b{b}_ms_median"] * scale, 0.4,
                label="eager")
        ort = summary[f"ort_b{b}_ms_median"] * scale if f"ort_b{b}_ms_median" in summary \
            else None
        if ort is not None:
            ax.barh(list(ys), ort.fillna(0), 0.15, label="ONNX Runtime (float)", color="k")
        ax.set_yticks(list(ys), labels if b == 1 else [""] * len(labels), fontsize=7)
        ax.set_xlabel(f"median latency, batch {b} ({unit})")
        ax.invert_yaxis()
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    plt.close(fig)
    made["latency.png"] = lambda p, fig=fig: fig.savefig(p, dpi=110)
    return made


def _safe_plots(tables: dict[str, pd.DataFrame], deploy: str
                ) -> tuple[dict[str, Callable[[str], Any]], str]:
    """The plots and ``""``, or no plots and the error: a report without plots beats no
    report."""
    try:
        return _plots(tables, deploy), ""
    except Exception as exc:
        return {}, f"{type(exc).__name__}: {exc}"


def _search_summary(best: pd.DataFrame, head: pd.DataFrame, base: pd.Series
                    ) -> tuple[str, str]:
    """The sentence on the smallest feasible model found, and the per-searcher table."""
    smallest = ""
    if "bytes_compact" in best and best.bytes_compact.notna().any():
        w = best.loc[best.bytes_compact.idxmin()]
        ref = head.set_index("variant").loc["pruned 70% + int8"]
        smallest = (f"Smallest feasible model found: **{w.searcher}**, {w.bytes_compact:.0f} "
                    f"bytes ({100 * (1 - w.bytes_compact / base.bytes_compact):.1f}% smaller "
                    f"than the baseline; the fixed pruned 70% + int8 recipe: "
                    f"{ref.bytes_compact:.0f} bytes), val accuracy {w.val_accuracy:.4f}, "
                    f"test accuracy {w.test_accuracy:.4f}.")
    agg = ""
    if "bytes_compact" in best:
        g = best.groupby("searcher", sort=False)
        agg = _md(pd.DataFrame({
            "runs": g.size(), "feasible_runs": g.feasible_found.sum(),
            "best_bytes_mean": g.bytes_compact.mean(),
            "best_bytes_median": g.bytes_compact.median(),
            "best_bytes_min": g.bytes_compact.min(),
            "best_val_accuracy_mean": g.val_accuracy.mean(),
            "best_test_accuracy_mean": g.test_accuracy.mean(),
            "seconds_mean": g.seconds.mean()}).reset_index())
    return smallest, agg


def compose(tables: dict[str, pd.DataFrame], targets: dict[str, tuple[bool, str]], *,
            deploy: str, engines: list[str], quick: bool, seeds: int, cfg: dict[str, Any],
            base_val: float, elapsed: float, arch: dict[str, Any]
            ) -> tuple[str, dict[str, Callable[[str], Any]]]:
    """The report's markdown and its two plots (``png name -> write(path)``), for
    :func:`hybridlab.reporting.write_report` with ``tables`` as the CSVs."""
    plots, plot_error = _safe_plots(tables, deploy)
    head, summary = tables["headline"], tables["all_engines"]
    best, evals = tables["search_best"], tables["search_evals"]
    cmd = "hybridlab reproduce case-study-2" + (" --quick" if quick else "") + (
        f" --seeds {seeds}" if seeds != (1 if quick else 3) else "")
    pq = summary[summary.variant == "pruned 70% + int8"].set_index("engine")
    base = head.set_index("variant").loc["baseline"]
    engine_lines = [f"* `{e}`: batch 1 {r.frozen_b1_ms_median * 1e3:.1f} us frozen "
                    f"(p95 {r.frozen_b1_ms_p95 * 1e3:.1f}), batch 64 "
                    f"{r.frozen_b64_ms_median:.3f} ms; test accuracy {r.test_accuracy:.4f}; "
                    f"{r.bytes_compact:.0f} bytes" for e, r in pq.iterrows()]
    smallest, agg = _search_summary(best, head, base)
    env = environment(ENV_PACKAGES)
    ort_b1 = base.get("ort_b1_ms_median", math.nan)
    md = [
        "# Case study 2: pruning + int8 quantization for edge inference", "",
        "Claim under test: *pruning plus quantization reduced a model's size by about 70% "
        "without significant loss of accuracy, enabling real-time inference.*", "",
        f"Reproduce: `{cmd}` (writes this folder; {elapsed:.0f} s on this machine, one torch "
        f"thread){'. QUICK run: illustrates, does not measure.' if quick else '.'}", "",
        f"Model: `SmallCNN(channels={arch['channels']}, hidden={arch['hidden']})` on "
        f"scikit-learn digits (fixed split seed 0: 1077 train / 270 val / 450 test), "
        f"{cfg['epochs']} epochs Adam lr 3e-3; seeds 0..{seeds - 1} vary initialisation and "
        f"batch order. Pruned: global magnitude, progressive cubic to 70% in {cfg['steps']} "
        f"steps x {cfg['ft']} epochs fine-tuning (lr 1e-3), masks folded in. int8: FX "
        "graph-mode static post-training quantization, calibrated on training inputs.", "",
        "## Headline", "",
        f"int8 rows use the deployment engine **{deploy}**. Sizes are files written and "
        "measured; the headline ratio uses the **compact format** (bitmask + LZMA, "
        "`hybridlab.ml.compress`) for both sides, `torch.save` is shown too. Accuracy: "
        "test, mean over seeds with the 95% t-interval half-width (NaN for one seed). "
        "Latency: ms, median over seeds of each seed's median / p95, one thread; `frozen` = "
        "frozen TorchScript, `ort` = ONNX Runtime (float model only).", "",
        _md(head, _HEAD_COLS), "",
        "## Targets", "",
        *[f"* **{'met' if ok else 'MISSED'}** {n}: {text}" for n, (ok, text) in
          targets.items()], "",
        "## Quantized engines (batch-1 deployment choice)", "",
        f"Engines torch lists: {', '.join(engines)}. Every int8 model was quantized and "
        "timed under each engine (while it was the active one). The deployment engine is "
        "the one with the lowest median batch-1 frozen latency of pruned 70% + int8 -- a "
        "latency choice for a real-time, batch-1 edge deployment, made without the test "
        f"set. Chosen: **{deploy}**. All of them, pruned 70% + int8:", "",
        *engine_lines, "",
        f"The other deployment option, the float baseline in ONNX Runtime: batch 1 "
        f"{ort_b1 * 1e3:.1f} us (frozen TorchScript float: "
        f"{base.frozen_b1_ms_median * 1e3:.1f} us). ONNX Runtime's own int8 path was not "
        "measured.", "",
        _md(summary, _HEAD_COLS), "",
        "## Hybrid search: the smallest model within one point", "",
        f"Problem: minimise log10(bytes on disk, compact format) over sparsity in [0, 0.95], "
        f"int8 on/off (engine {deploy}), channels c1 in 8..32, c2 in 16..64, hidden in "
        f"32..256; constraint (baseline val accuracy - 0.01) - val accuracy <= 0 with the "
        f"seed-0 baseline's val accuracy {base_val:.4f}; Deb's feasibility rules. Each "
        f"evaluation trains {cfg['search_epochs']} epochs, prunes in "
        f"{cfg['search_steps']} step(s) x 1 epoch, optionally quantizes, and measures. "
        f"Budget {cfg['budget']} evaluations per searcher and run; runs with search seeds "
        f"0..{seeds - 1} (training seed 0 in every evaluation, so equal configurations "
        "give equal results and are trained once). Test accuracy is recorded but never "
        "used to select. Per searcher:", "", agg, "", "Every run:", "",
        _md(best, _SEARCH_COLS), "", smallest, "",
        f"All {len(evals)} evaluations: `search_evals.csv`.", "",
        *[f"![{p}]({p})" for p in plots],
        *([f"Plots failed: {plot_error}"] if plot_error else []), "",
        "## Notes", "",
        "* Latencies are tens of microseconds on a shared 2-core machine: differences of a "
        "few microseconds are within run-to-run noise; p95 is shown for that reason.",
        "* Pruning is unstructured: it shrinks the compact file, not the dense compute, so "
        "the pruned float model is no faster; int8 is what changes latency.",
        "* Engines differ in qconfig (e.g. qnnpack uses per-tensor weights), so size and "
        "accuracy differ slightly between engines too.", "",
        "## Environment", "",
        *[f"* {k}: {v}" for k, v in env.items()], "",
        "Files: " + ", ".join(f"`{n}.csv`" for n in tables) + ".", "",
    ]
    return "\n".join(md), plots
