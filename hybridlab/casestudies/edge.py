"""Case study 2: pruning plus int8 quantization of a digits CNN for edge (batch-1) inference.

``hybridlab reproduce case-study-2 [--quick]`` runs :func:`run`, which

1. trains the baseline ``SmallCNN(channels=(16, 32), hidden=128)`` (30 epochs) per seed, and
   derives *pruned 70 %* (progressive, cubic, fine-tuned), *int8* (FX static) and *pruned
   70 % + int8* -- the int8 models under every quantized engine torch lists;
2. measures each: bytes on disk (files written: ``torch.save`` and the compact bitmask +
   LZMA format; the headline uses the compact format for both sides), test accuracy (mean
   and t-interval over seeds), CPU latency at batch 1 and 64 (median and p95; eager and
   frozen TorchScript), and ONNX Runtime for the float baseline;
3. runs a hybrid search (``"expensive"`` and ``"ga>>local"``) against ``"random"`` at
   an equal budget for the smallest model within one point of the baseline's validation
   accuracy over sparsity, int8 on/off and width;
4. writes ``report.md``, CSVs and plots into ``out_dir`` (atomically).

Nothing is selected on the test set: the deployment engine is chosen by measured batch-1
latency, the search by validation accuracy. One torch thread throughout.
"""

from __future__ import annotations

import copy
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

import hybridlab as hl
from hybridlab.constraints import FeasibilityRules
from hybridlab.ml.compress import (
    freeze_for_inference,
    permanent_copy,
    progressive_prune,
    quantize_static,
    saved_size,
)
from hybridlab.ml.train import SmallCNN, accuracy, digits_data, fit, latency
from hybridlab.reporting import write_report
from hybridlab.space import Categorical, Integer, Real

from . import CaseStudyResult
from ._common import ci95
from ._edge_text import compose

__all__ = ["BASE_ARCH", "VARIANTS", "ci95", "run"]

#: the baseline architecture (same image task as case study 1)
BASE_ARCH: dict[str, Any] = {"channels": (16, 32), "hidden": 128}
#: the four variants of the headline, in order
VARIANTS = ("baseline", "pruned 70%", "int8", "pruned 70% + int8")
_SPARSITY = 0.70


def _settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {"epochs": 3, "steps": 1, "ft": 1, "repeats": 15, "search_epochs": 2,
                "search_steps": 1, "budget": 3, "searchers": ("random", "expensive")}
    return {"epochs": 30, "steps": 4, "ft": 2, "repeats": 300, "search_epochs": 15,
            "search_steps": 2, "budget": 20, "searchers": ("random", "expensive", "ga>>local")}


def _latency_cols(model: nn.Module, example: torch.Tensor, label: str,
                  repeats: int) -> dict[str, float]:
    """Median and p95 latency (ms) at batch 1 and 64."""
    out = {}
    for b, reps in ((1, repeats), (64, max(repeats // 3, 5))):
        t = latency(model, example, repeats=reps, batch_sizes=(b,), warmup=10).iloc[0]
        out[f"{label}_b{b}_ms_median"] = float(t.median_ms)
        out[f"{label}_b{b}_ms_p95"] = float(t.p95_ms)
    return out


def measure(model: nn.Module, data: tuple[Any, Any, Any], repeats: int) -> dict[str, Any]:
    """Sizes (both formats), accuracies, and eager / frozen latency of one deployed model.

    Parameters
    ----------
    model : torch.nn.Module
        Float (pruning masks already folded in) or quantized; for a quantized model the
        engine it was built for must be the active one.
    data : (train, val, test)
        The digits splits.
    repeats : int
        Timed calls at batch 1 (a third of them at batch 64).

    Returns
    -------
    dict
    """
    _, val, test = data
    example = test.tensors[0]
    plain = saved_size(model, compress=False)
    compact = saved_size(model, compress=True)
    row = {"bytes_torch_save": plain["bytes_on_disk"], "bytes_compact": compact["bytes_on_disk"],
           "params": compact["params"], "nonzero": compact["nonzero"],
           "val_accuracy": accuracy(model, val), "test_accuracy": accuracy(model, test)}
    row |= _latency_cols(model, example, "eager", repeats)
    row |= _latency_cols(freeze_for_inference(model, example), example, "frozen", repeats)
    return row


def _ort_rows(model: nn.Module, example: torch.Tensor, repeats: int) -> dict[str, float]:
    """ONNX Runtime latency of the float model (and the .onnx file size)."""
    from hybridlab.ml.hardware import compare_inference, export_onnx, onnx_session

    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(model, example[:2], Path(folder) / "model.onnx")
        session = onnx_session(path, threads=1)
        out: dict[str, float] = {"bytes_onnx": float(path.stat().st_size)}
        for b, reps in ((1, repeats), (64, max(repeats // 3, 5))):
            t = compare_inference(model, session, example, (b,), repeats=reps, warmup=10)
            o = t[t.runtime == "onnxruntime"].iloc[0]
            out[f"ort_b{b}_ms_median"] = float(o.latency_ms_median)
            out[f"ort_b{b}_ms_p95"] = float(o.latency_ms_p95)
            out["ort_max_abs_diff"] = float(o.max_abs_diff)
    return out


def _one_seed(seed: int, data: tuple[Any, Any, Any], engines: list[str], cfg: dict[str, Any],
              tick: Callable[[str], None]) -> list[dict[str, Any]]:
    train, val, test = data
    torch.manual_seed(seed)
    base = SmallCNN(**BASE_ARCH)
    fit(base, train, val, optimizer="adam", lr=3e-3, epochs=cfg["epochs"],
                    seed=seed)
    tick(f"seed {seed}: baseline trained")
    pruned, _ = progressive_prune(copy.deepcopy(base), train, val, target=_SPARSITY,
                                  steps=cfg["steps"], schedule="cubic",
                                  finetune_epochs=cfg["ft"], lr=1e-3, seed=seed)
    pruned = permanent_copy(pruned)  # deployed form: masks folded in
    rows = [{"variant": "baseline", "engine": "float", **measure(base, data, cfg["repeats"]),
             **_ort_rows(base, test.tensors[0], cfg["repeats"])},
            {"variant": "pruned 70%", "engine": "float",
             **measure(pruned, data, cfg["repeats"])}]
    tick(f"seed {seed}: float models measured")
    for engine in engines:  # each int8 model is measured while its engine is active
        for name, src in (("int8", base), ("pruned 70% + int8", pruned)):
            try:
                q = quantize_static(src, train, backend=engine)
                rows.append({"variant": name, "engine": engine,
                             **measure(q, data, cfg["repeats"])})
            except Exception as exc:  # an engine this CPU build cannot run: report it
                rows.append({"variant": name, "engine": engine,
                             "error": f"{type(exc).__name__}: {exc}"})
        tick(f"seed {seed}: int8 [{engine}] measured")
    return [{"seed": seed, **r} for r in rows]


def summarize(long: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, engine): means over seeds, t-interval of test accuracy, and the
    median over seeds of each latency median / p95 (in ms)."""
    long = long[long["test_accuracy"].notna()] if "test_accuracy" in long else long
    rows = []
    for (variant, engine), g in long.groupby(["variant", "engine"], sort=False):
        mean, half = ci95(g.test_accuracy)
        row = {"variant": variant, "engine": engine, "seeds": len(g),
               "bytes_compact": g.bytes_compact.mean(),
               "bytes_torch_save": g.bytes_torch_save.mean(),
               "nonzero": g.nonzero.mean(), "params": g.params.mean(),
               "val_accuracy": g.val_accuracy.mean(),
               "test_accuracy": mean, "test_accuracy_ci95": half}
        for c in g.columns:
            if c.endswith(("_ms_median", "_ms_p95")):
                row[c] = g[c].median()
        rows.append(row)
    out = pd.DataFrame(rows)
    base = out[out.variant == "baseline"].iloc[0]
    out.insert(4, "smaller_pct_compact", 100 * (1 - out.bytes_compact / base.bytes_compact))
    out.insert(6, "smaller_pct_torch_save",
               100 * (1 - out.bytes_torch_save / base.bytes_torch_save))
    out.insert(out.columns.get_loc("test_accuracy_ci95") + 1, "acc_change_pts",
               100 * (out.test_accuracy - base.test_accuracy))
    return out


class _SearchObjective:
    """Train, prune, maybe quantize one configuration; memoised so that the objective and
    the constraint of the same point share one training run."""

    def __init__(self, data: tuple[Any, Any, Any], cfg: dict[str, Any], engine: str,
                 threshold: float, tick: Callable[[str], None]) -> None:
        self.data, self.cfg, self.engine, self.threshold = data, cfg, engine, threshold
        self.tick = tick
        self.cache: dict[tuple, dict[str, Any]] = {}

    def record(self, p: dict[str, Any]) -> dict[str, Any]:
        key = tuple(sorted((k, round(float(v), 6)) for k, v in p.items()))
        if key not in self.cache:
            self.cache[key] = self._evaluate(p)
        return self.cache[key]

    def _evaluate(self, p: dict[str, Any]) -> dict[str, Any]:
        train, val, test = self.data
        t0 = time.perf_counter()
        torch.manual_seed(0)
        model = SmallCNN(channels=(int(p["c1"]), int(p["c2"])), hidden=int(p["hidden"]))
        fit(model, train, val, optimizer="adam", lr=3e-3,
                        epochs=self.cfg["search_epochs"], seed=0)
        if p["sparsity"] > 0.005:
            model, _ = progressive_prune(model, train, val, target=float(p["sparsity"]),
                                         steps=self.cfg["search_steps"], finetune_epochs=1,
                                         lr=1e-3, seed=0)
            model = permanent_copy(model)
        if p["int8"]:
            model = quantize_static(model, train, backend=self.engine)
        rec = {"bytes_compact": saved_size(model)["bytes_on_disk"],
               "val_accuracy": accuracy(model, val), "test_accuracy": accuracy(model, test),
               "train_seconds": time.perf_counter() - t0}
        return rec

    def objective(self, p: dict[str, Any]) -> float:
        """log10 of the compact file's bytes."""
        self.tick("search")
        return math.log10(self.record(p)["bytes_compact"])

    def accuracy_within_one_point(self, p: dict[str, Any]) -> float:
        """(baseline val accuracy - 0.01) - val accuracy <= 0."""
        return self.threshold - self.record(p)["val_accuracy"]


SEARCH_SPACE = {"sparsity": Real(0.0, 0.95), "int8": Categorical([False, True]),
                "c1": Integer(8, 32), "c2": Integer(16, 64), "hidden": Integer(32, 256)}


def hybrid_search(data: tuple[Any, Any, Any], cfg: dict[str, Any], engine: str,
                  base_val: float, tick: Callable[[str], None], seeds: int = 1
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Smallest model within one point of ``base_val`` per searcher and search seed (the
    same budget for every searcher; search seeds 0..seeds-1).

    Returns
    -------
    best : pandas.DataFrame
        One row per (searcher, seed): the best feasible configuration, its bytes and
        accuracies.
    evals : pandas.DataFrame
        Every evaluation (searcher, seed, configuration, bytes, accuracies, feasible).
    """
    best_rows, evals = [], []
    obj = _SearchObjective(data, cfg, engine, base_val - 0.01, tick)  # shared cache
    for seed in range(seeds):
        for name in cfg["searchers"]:
            problem = hl.Problem(obj.objective, SEARCH_SPACE,
                                 constraints=[obj.accuracy_within_one_point],
                                 name="smallest-within-1pt", handler=FeasibilityRules())
            t0 = time.perf_counter()
            res = hl.minimize(problem, name, cfg["budget"], seed=seed)
            seconds = time.perf_counter() - t0
            mine = []
            for _, r in res.history.iterrows():
                p = {k: r[k] for k in SEARCH_SPACE}
                mine.append({"searcher": name, "seed": seed, "eval": int(r["eval"]), **p,
                             **obj.record(p),
                             "feasible": bool(r["violation"] <= 0 and r["status"] == "ok")})
            evals += mine
            row: dict[str, Any] = {"searcher": name, "seed": seed, "budget": cfg["budget"],
                                   "feasible_found": bool(res.feasible),
                                   "feasible_evals": sum(e["feasible"] for e in mine),
                                   "seconds": seconds}
            if res.feasible:
                row |= {k: res.x[k] for k in SEARCH_SPACE} | obj.record(res.x)
            best_rows.append(row)
    return pd.DataFrame(best_rows), pd.DataFrame(evals)


def _targets(head: pd.DataFrame, deploy: str) -> dict[str, tuple[bool, str]]:
    h = head.set_index("variant")
    b, t = h.loc["baseline"], h.loc["pruned 70% + int8"]
    smaller = t.smaller_pct_compact
    loss = -t.acc_change_pts
    ci = "" if math.isnan(t.test_accuracy_ci95) else f" +/- {t.test_accuracy_ci95:.4f}"
    us = 1e3
    return {
        "size": (bool(smaller >= 70.0),
                 f"{smaller:.1f}% smaller on disk ({t.bytes_compact:.0f} vs "
                 f"{b.bytes_compact:.0f} bytes, compact format both sides; torch.save: "
                 f"{t.bytes_torch_save:.0f} vs {b.bytes_torch_save:.0f}, "
                 f"{t.smaller_pct_torch_save:.1f}% smaller) -- target >= 70%"),
        "accuracy": (bool(loss <= 1.0),
                     f"test accuracy {t.test_accuracy:.4f}{ci} vs {b.test_accuracy:.4f} "
                     f"({-loss:+.2f} points, mean over {int(t.seeds)} seed(s)) "
                     f"-- target loss <= 1 point"),
        "latency b1": (bool(t.frozen_b1_ms_median <= b.frozen_b1_ms_median),
                       f"batch 1, frozen TorchScript vs frozen TorchScript: "
                       f"{t.frozen_b1_ms_median * us:.1f} us (int8, engine {deploy}) vs "
                       f"{b.frozen_b1_ms_median * us:.1f} us (float); p95 "
                       f"{t.frozen_b1_ms_p95 * us:.1f} vs {b.frozen_b1_ms_p95 * us:.1f} us; "
                       f"batch 64: {t.frozen_b64_ms_median:.3f} vs "
                       f"{b.frozen_b64_ms_median:.3f} ms -- target not worse at batch 1 "
                       f"(other deployment option, float in ONNX Runtime: "
                       f"{b.ort_b1_ms_median * us:.1f} us at batch 1)"),
    }


def run(out_dir: Path, *, quick: bool = False, progress: bool = True,
        seeds: int | None = None) -> CaseStudyResult:
    """Run case study 2 into ``out_dir`` (report.md, CSVs, plots) and return its result.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder of the report; created if needed.
    quick : bool, default False
        A smoke run (few epochs, few timings, budget 3, one seed): illustrates, does not
        measure.
    progress : bool, default True
        Show a tqdm progress bar.
    seeds : int, optional
        Training seeds 0..seeds-1 (default 3, or 1 with ``quick``).

    Returns
    -------
    CaseStudyResult
        ``headline``: baseline / pruned / int8 / pruned + int8 (deployment engine);
        ``targets``: name -> (met, text).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    n_seeds = int(seeds if seeds is not None else (1 if quick else 3))
    if n_seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {n_seeds}")
    cfg = _settings(quick)
    threads, engine0 = torch.get_num_threads(), torch.backends.quantized.engine
    torch.set_num_threads(1)
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    t_start = time.perf_counter()
    total = n_seeds * (2 + len(engines) + cfg["budget"] * len(cfg["searchers"]))
    bar = tqdm(total=total, desc="case-study-2", disable=not progress, leave=False)

    def tick(text: str) -> None:
        bar.set_postfix_str(text[:40])
        bar.update(1)

    try:
        data = digits_data(seed=0)  # fixed split; seeds vary initialisation and batch order
        rows = [r for s in range(n_seeds) for r in _one_seed(s, data, engines, cfg, tick)]
        long = pd.DataFrame(rows)
        summary = summarize(long)
        pq = summary[summary.variant == "pruned 70% + int8"]
        deploy = str(pq.loc[pq.frozen_b1_ms_median.idxmin(), "engine"])
        head = summary[(summary.engine == "float") | (summary.engine == deploy)]
        head = head.set_index("variant").loc[list(VARIANTS)].reset_index()
        targets = _targets(head, deploy)
        base_val = float(long[(long.variant == "baseline") & (long.seed == 0)].val_accuracy
                          .iloc[0])
        best, evals = hybrid_search(data, cfg, deploy, base_val, tick, n_seeds)
    finally:
        bar.close()
        torch.set_num_threads(threads)
        torch.backends.quantized.engine = engine0
    elapsed = time.perf_counter() - t_start
    tables = {"headline": head, "all_engines": summary, "per_seed": long,
              "search_best": best, "search_evals": evals}
    text, figures = compose(tables, targets, deploy=deploy, engines=engines, quick=quick,
                            seeds=n_seeds, cfg=cfg, base_val=base_val, elapsed=elapsed,
                            arch=BASE_ARCH)
    report = write_report(out_dir, text, tables=tables, figures=figures)
    return CaseStudyResult(name="case-study-2", headline=head, report=report, tables=tables,
                           targets=targets)
