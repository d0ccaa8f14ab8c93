"""Case study 2 (pruning + int8 for edge inference): a quick run writes a complete report."""

from __future__ import annotations

import math

import pytest
import torch

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
    for name in ("headline", "search_best", "search_evals", "all_engines", "per_seed"):
        assert (r.report.parent / f"{name}.csv").exists()


def test_headline_has_four_variants_and_measurements(quick_result):
    head = quick_result.headline
    assert list(head.variant) == list(VARIANTS)
    for col in ("bytes_compact", "bytes_torch_save", "test_accuracy", "test_accuracy_ci95",
                "frozen_b1_ms_median", "frozen_b1_ms_p95", "frozen_b64_ms_median",
                "eager_b1_ms_median", "eager_b64_ms_median", "ort_b1_ms_median"):
        assert col in head.columns
    assert (head.bytes_compact > 0).all() and head.test_accuracy.between(0, 1).all()
    assert (head.frozen_b1_ms_median > 0).all()
    base = head.set_index("variant").loc["baseline"]
    assert base.ort_b1_ms_median > 0  # ONNX Runtime for the float baseline
    # pruning + int8 shrinks the compact file whatever the (few) training epochs
    assert head.bytes_compact.iloc[-1] < head.bytes_compact.iloc[0]


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


def test_ci95():
    mean, half = ci95([1.0])
    assert mean == 1.0 and math.isnan(half)
    assert ci95([1.0, 1.0, 1.0]) == (1.0, 0.0)
