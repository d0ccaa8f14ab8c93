"""Case study 2: channel pruning plus int8 quantization of a digits CNN for edge (batch-1)
inference, every figure measured on a file a runtime loads.

``hybridlab reproduce case-study-2 [--quick]`` runs :func:`run`, which

1. trains the baseline ``SmallCNN(channels=(16, 32), hidden=128)`` (30 epochs) per seed
   and builds four ONNX files (:mod:`hybridlab.casestudies.deploy`): *baseline*, *pruned*
   (:data:`RATIO` of the channels removed by ``torch-pruning``, progressive, fine-tuned),
   *int8* and *pruned + int8* (ONNX Runtime static int8, QDQ);
2. measures each file in ONNX Runtime: bytes on disk, validation and test accuracy (mean
   and t-interval over seeds), batch-1 latency with one thread; and, for reference, the
   same models in torch (``torch.compile``; torchao's static int8, compiled);
3. runs a hybrid search (``"expensive"`` and ``"ga>>local"``) against ``"random"`` at an
   equal budget for the smallest ONNX file within one point of the baseline's validation
   accuracy and no slower than it at batch 1, over pruning ratio, int8 on/off and width;
4. writes ``report.md``, CSVs and plots into ``out_dir`` (atomically).

Nothing is selected on the test set: :data:`RATIO` was chosen on seeds 100-102 by
validation accuracy (``benchmarks/deploy_stack.py --tune``), the search uses validation
accuracy. One thread throughout.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import hybridlab as hl
from hybridlab.constraints import FeasibilityRules
from hybridlab.ml.compress import progressive_channel_prune
from hybridlab.ml.hardware import export_onnx, onnx_accuracy, onnx_latency, quantize_onnx
from hybridlab.ml.train import SmallCNN, digits_data, fit
from hybridlab.reporting import write_report
from hybridlab.space import Categorical, Integer, Real

from . import CaseStudyResult
from ._common import ci95
from ._edge_text import compose
from .deploy import VARIANTS, build_artifacts, measure_files, targets, torch_latency

__all__ = ["BASE_ARCH", "RATIO", "SEARCH_SPACE", "VARIANTS", "ci95", "run", "summarize"]

#: the baseline architecture (same image task as case study 1)
BASE_ARCH: dict[str, Any] = {"channels": (16, 32), "hidden": 128}
#: fraction of each layer's channels removed: the largest ratio whose pruned + int8 file
#: lost at most one point of mean validation accuracy on seeds 100-102
#: (reports/deploy-stack/tune.txt)
RATIO = 0.4


def _settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {"epochs": 3, "steps": 1, "ft": 1, "repeats": 30, "rounds": 1,
                "search_epochs": 2, "search_steps": 1, "budget": 2,
                "searchers": ("random", "expensive")}
    return {"epochs": 30, "steps": 4, "ft": 2, "repeats": 500, "rounds": 5,
            "search_epochs": 15, "search_steps": 2, "budget": 20,
            "searchers": ("random", "expensive", "ga>>local")}


def _one_seed(seed: int, data: tuple[Any, Any, Any], cfg: dict[str, Any],
              tick: Callable[[str], None]) -> pd.DataFrame:
    train, val, _ = data
    torch.manual_seed(seed)
    base = SmallCNN(**BASE_ARCH)
    fit(base, train, val, optimizer="adam", lr=3e-3, epochs=cfg["epochs"], seed=seed,
        device="cpu")
    base.eval()
    tick(f"seed {seed}: baseline trained")
    with tempfile.TemporaryDirectory(prefix="hybridlab-cs2-") as folder:
        files, models = build_artifacts(base, data, RATIO, Path(folder), steps=cfg["steps"],
                                        finetune_epochs=cfg["ft"], seed=seed)
        table = measure_files(files, data, repeats=cfg["repeats"], rounds=cfg["rounds"])
    tick(f"seed {seed}: ONNX files measured")
    table = table.merge(torch_latency(models, data, repeats=cfg["repeats"]), on="variant")
    tick(f"seed {seed}: torch measured")
    return table.assign(seed=seed)


def summarize(long: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: means over seeds (bytes, accuracies), the 95 % t-interval
    half-width of test accuracy, the median over seeds of each latency (µs), and the
    change against the baseline (``smaller_pct``, ``acc_change_pts``)."""
    rows = []
    for variant, g in long.groupby("variant", sort=False):
        mean, half = ci95(g.test_accuracy)
        rows.append({"variant": variant, "seeds": len(g),
                     "bytes_on_disk": g.bytes_on_disk.mean(),
                     "val_accuracy": g.val_accuracy.mean(), "test_accuracy": mean,
                     "test_accuracy_ci95": half,
                     **{c: g[c].median() for c in ("ort_b1_us", "ort_b1_us_iqr",
                                                   "compile_b1_us", "eager_b1_us")}})
    out = pd.DataFrame(rows).set_index("variant").loc[list(VARIANTS)].reset_index()
    base = out.iloc[0]
    out.insert(3, "smaller_pct", 100 * (1 - out.bytes_on_disk / base.bytes_on_disk))
    out.insert(out.columns.get_loc("test_accuracy_ci95") + 1, "acc_change_pts",
               100 * (out.test_accuracy - base.test_accuracy))
    return out


SEARCH_SPACE = {"ratio": Real(0.0, 0.8), "int8": Categorical([False, True]),
                "c1": Integer(8, 32), "c2": Integer(16, 64), "hidden": Integer(32, 256)}


class _SearchObjective:
    """Train, prune, export and maybe quantize one configuration, and measure its ONNX
    file; memoised so that the objective and the constraints of a point share one run."""

    def __init__(self, data: tuple[Any, Any, Any], cfg: dict[str, Any], base_val: float,
                 base_us: float, tick: Callable[[str], None]) -> None:
        self.data, self.cfg, self.tick = data, cfg, tick
        self.base_val, self.base_us = base_val, base_us
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
        fit(model, train, val, optimizer="adam", lr=3e-3, epochs=self.cfg["search_epochs"],
            seed=0, device="cpu")
        example = train.tensors[0][:2]
        if p["ratio"] > 0.005:
            model, _ = progressive_channel_prune(
                model, example[:1], train, val, target=float(p["ratio"]),
                steps=self.cfg["search_steps"], finetune_epochs=1, lr=1e-3, seed=0,
                optimizer="adam")
        with tempfile.TemporaryDirectory(prefix="hybridlab-cs2-search-") as folder:
            path = export_onnx(model.eval(), example, Path(folder) / "model.onnx")
            if p["int8"]:
                path = quantize_onnx(path, Path(folder) / "model-int8.onnx", mode="static",
                                     calibration=train.tensors[0], max_samples=512)["path"]
            x1 = test.tensors[0][:1]
            return {"bytes_on_disk": path.stat().st_size,
                    "val_accuracy": onnx_accuracy(path, *val.tensors, threads=1),
                    "test_accuracy": onnx_accuracy(path, *test.tensors, threads=1),
                    "ort_b1_us": onnx_latency(path, x1, threads=1, repeats=300,
                                              warmup=20)["median_us"],
                    "train_seconds": time.perf_counter() - t0}

    def objective(self, p: dict[str, Any]) -> float:
        """log10 of the ONNX file's bytes."""
        self.tick("search")
        return math.log10(self.record(p)["bytes_on_disk"])

    def accuracy_within_one_point(self, p: dict[str, Any]) -> float:
        """(baseline val accuracy - 0.01) - val accuracy <= 0."""
        return self.base_val - 0.01 - self.record(p)["val_accuracy"]

    def no_slower(self, p: dict[str, Any]) -> float:
        """Relative batch-1 slowdown against the baseline file, <= 0."""
        return self.record(p)["ort_b1_us"] / self.base_us - 1.0


def hybrid_search(data: tuple[Any, Any, Any], cfg: dict[str, Any], base_val: float,
                  base_us: float, tick: Callable[[str], None], seeds: int = 1
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Smallest ONNX file within one point of ``base_val`` and no slower than ``base_us``
    at batch 1, per searcher and search seed (the same budget for every searcher).

    Returns
    -------
    best : pandas.DataFrame
        One row per (searcher, seed): the best feasible configuration and its measures.
    evals : pandas.DataFrame
        Every evaluation (searcher, seed, configuration, measures, feasible).
    """
    best_rows, evals = [], []
    obj = _SearchObjective(data, cfg, base_val, base_us, tick)  # shared cache
    for seed in range(seeds):
        for name in cfg["searchers"]:
            problem = hl.Problem(obj.objective, SEARCH_SPACE,
                                 constraints=[obj.accuracy_within_one_point, obj.no_slower],
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


def run(out_dir: Path, *, quick: bool = False, progress: bool = True,
        seeds: int | None = None) -> CaseStudyResult:
    """Run case study 2 into ``out_dir`` (report.md, CSVs, plots) and return its result.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder of the report; created if needed.
    quick : bool, default False
        A smoke run (few epochs, few timings, budget 2 per searcher, one seed):
        illustrates, does not measure.
    progress : bool, default True
        Show a tqdm progress bar.
    seeds : int, optional
        Training seeds 0..seeds-1 (default 3, or 1 with ``quick``).

    Returns
    -------
    CaseStudyResult
        ``headline``: the four ONNX files of :data:`VARIANTS`; ``targets``: name ->
        (met, text) for pruned + int8 against the baseline.
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    n_seeds = int(seeds if seeds is not None else (1 if quick else 3))
    if n_seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {n_seeds}")
    cfg = _settings(quick)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    total = n_seeds * (3 + cfg["budget"] * len(cfg["searchers"]))
    bar = tqdm(total=total, desc="case-study-2", disable=not progress, leave=False)

    def tick(text: str) -> None:
        bar.set_postfix_str(text[:40])
        bar.update(1)

    try:
        data = digits_data(seed=0)  # fixed split; seeds vary initialisation and batch order
        long = pd.concat([_one_seed(s, data, cfg, tick) for s in range(n_seeds)],
                         ignore_index=True)
        head = summarize(long)
        base0 = long[(long.variant == "baseline") & (long.seed == 0)].iloc[0]
        base_val, base_us = float(base0.val_accuracy), float(base0.ort_b1_us)
        best, evals = hybrid_search(data, cfg, base_val, base_us, tick, n_seeds)
    finally:
        bar.close()
        torch.set_num_threads(threads)
    elapsed = time.perf_counter() - t_start
    checks = targets(head)
    tables = {"headline": head, "per_seed": long, "search_best": best,
              "search_evals": evals}
    text, figures = compose(tables, quick=quick, seeds=n_seeds, cfg=cfg,
                            ratio=RATIO, base_val=base_val, base_us=base_us,
                            elapsed=elapsed, arch=BASE_ARCH)
    report = write_report(out_dir, text, tables=tables, figures=figures)
    return CaseStudyResult(name="case-study-2", headline=head, report=report, tables=tables,
                           targets=checks)
