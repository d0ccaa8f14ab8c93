"""Case study 2 (channel pruning + ONNX Runtime int8 for edge inference): a quick run writes
a complete report."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("torch_pruning")
pytest.importorskip("torchao")

from hybridlab.casestudies import CaseStudyResult
from hybridlab.casestudies.edge import VARIANTS, ci95, run


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory) -> CaseStudyResult:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run(tmp_path_factory.mktemp("cs2"), quick=True, progress=False, seeds=1)
    finally:
        torch.set_num_threads(threads)


def test_quick_run_writes_report_and_tables(quick_result):
    r = quick_result
    assert r.name == "case-study-2"
    assert r.report.name == "report.md" and r.report.exists()
    text = r.report.read_text()
    assert "hybridlab reproduce case-study-2 --quick" in text
    assert "## Targets" in text and "torch:" in text  # package versions
    for name in ("headline", "search_best", "search_evals", "per_seed"):
        assert (r.report.parent / f"{name}.csv").exists()
    assert (r.report.parent / "latency.png").stat().st_size > 0


def test_headline_is_four_onnx_files_measured(quick_result):
    head = quick_result.headline
    assert list(head.variant) == list(VARIANTS)
    for col in ("bytes_on_disk", "smaller_pct", "val_accuracy", "test_accuracy",
                "test_accuracy_ci95", "acc_change_pts", "ort_b1_us", "ort_b1_us_iqr",
                "compile_b1_us", "eager_b1_us"):
        assert col in head.columns
    assert head.test_accuracy.between(0, 1).all()
    assert (head[["ort_b1_us", "compile_b1_us", "eager_b1_us"]] > 0).all().all()
    size = head.set_index("variant").bytes_on_disk
    # removing channels and storing int8 both shrink the file, whatever the few epochs
    assert size["pruned"] < size["baseline"] and size["int8"] < size["baseline"]
    assert size["pruned + int8"] < min(size["pruned"], size["int8"])


def test_targets_are_booleans_with_text(quick_result):
    targets = quick_result.targets
    assert {"size", "accuracy", "latency b1"} <= set(targets)
    for met, text in targets.values():
        assert isinstance(met, bool) and isinstance(text, str) and text


def test_search_table_has_one_row_per_searcher(quick_result):
    best = quick_result.tables["search_best"]
    assert {"random", "expensive"} <= set(best.searcher)
    assert {"budget", "feasible_found"} <= set(best.columns)
    evals = quick_result.tables["search_evals"]
    assert len(evals) == best.budget.sum()
    assert {"ratio", "int8", "bytes_on_disk", "ort_b1_us", "feasible"} <= set(evals.columns)


def test_ci95():
    mean, half = ci95([1.0])
    assert mean == 1.0 and math.isnan(half)
    assert ci95([1.0, 1.0, 1.0]) == (1.0, 0.0)
