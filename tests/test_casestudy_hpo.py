"""Case study 1 (CNN hyperparameter search vs defaults): a quick run writes a full report."""

from __future__ import annotations

import math

import pytest
import torch

from hybridlab.casestudies import CaseStudyResult
from hybridlab.casestudies.hpo_cnn import (
    DEFAULTS,
    SEARCHERS,
    _trials_to_reach,
    ci95,
    load_task,
    make_cnn,
    run,
)
from hybridlab.ml.train import SmallCNN
from hybridlab.reporting import render_sections

TARGETS = ("tuned beats default by >= 5 points",
           "tuned beats default, early stopping by >= 5 points",
           "hybrid reaches Bayesian result in no more trials")


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory) -> CaseStudyResult:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run(tmp_path_factory.mktemp("cs1"), quick=True, progress=False, seeds=1,
                   budget=3)
    finally:
        torch.set_num_threads(threads)


def test_quick_run_writes_report(quick_result):
    r = quick_result
    assert r.name == "case-study-1"
    assert r.report.name == "report.md" and r.report.exists()
    text = r.report.read_text()
    assert "## Default settings" in text and "SmallCNN()" in text and "lr 1e-3" in text
    assert "## Targets" in text and "## Reproduce" in text and "torch" in text
    assert "QUICK MODE" in text
    folder = r.report.parent
    for name in ("headline_test_accuracy_task_noisy_small.csv", "per_seed_results.csv",
                 "trials_to_reach_the_bayesian_result.csv",
                 "best_so_far_curves_task_noisy_small.png"):
        assert (folder / name).exists(), name


def test_headline_rows_and_columns(quick_result):
    head = quick_result.headline
    assert list(head.setting) == ["default", *SEARCHERS, "default, 3x epochs",
                                  "default, early stopping"]
    for col in ("test_acc_mean", "test_acc_ci95", "gain_pts_mean", "gain_pts_ci95",
                "gain_vs_fair_pts_mean", "gain_vs_fair_pts_ci95", "epochs_median",
                "trials_to_bayes_median", "search_seconds_mean", "val_acc_best_median"):
        assert col in head.columns
    assert head.test_acc_mean.between(0, 1).all()
    h = head.set_index("setting")
    assert h.loc["default", "gain_pts_mean"] == 0.0
    assert h.loc["default, early stopping", "gain_vs_fair_pts_mean"] == 0.0
    # early stopping trains at most 10x the epochs, and the others exactly theirs
    stopped = h.loc["default, early stopping", "epochs_median"]
    assert 1 <= stopped <= 10 * h.loc["default", "epochs_median"]
    assert math.isnan(head.test_acc_ci95.iloc[0])  # one seed: no interval
    curves = quick_result.tables["curves"]
    assert len(curves) == len(SEARCHERS) * 3  # budget 3 per searcher
    assert (curves.best_val_accuracy >= curves.val_accuracy).all()


def test_targets_are_booleans_with_text(quick_result):
    t = quick_result.targets
    assert set(t) == set(TARGETS)
    for met, text in t.values():
        assert isinstance(met, bool) and isinstance(text, str) and text


@pytest.mark.parametrize("kwargs", [{"seeds": 0}, {"budget": 1}, {"tasks": ["mnist"]},
                                    {"searchers": ["random"]},
                                    {"searchers": ["bayes", "bayes"]}])
def test_bad_arguments_raise(tmp_path, kwargs):
    with pytest.raises(ValueError):
        run(tmp_path, quick=True, progress=False, **kwargs)


def test_default_network_is_smallcnn():
    torch.manual_seed(0)
    a = make_cnn(DEFAULTS)
    torch.manual_seed(0)
    b = SmallCNN()
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(a(x), b(x))


def test_task_split_is_disjoint_and_seeded():
    tr, va, te = load_task("noisy-small", seed=1)
    assert (len(tr[1]), len(va[1]), len(te[1])) == (250, 300, 1797 - 550)
    assert all(24 <= n <= 26 for n in torch.bincount(tr[1]).tolist())  # stratified
    tr2, _, _ = load_task("noisy-small", seed=1)
    assert torch.equal(tr[0], tr2[0])
    with pytest.raises(ValueError):
        load_task("cifar", seed=0)


def test_helpers():
    assert _trials_to_reach([0.1, 0.5, 0.4, 0.7], 0.5) == 2
    assert _trials_to_reach([0.1, 0.2], 0.5) == 3
    m, h = ci95([1.0, 2.0, 3.0])
    assert m == 2.0 and h > 0


def test_report_sections_reject_unknown_content():
    with pytest.raises(ValueError, match="content must be str, DataFrame or Figure"):
        render_sections("T", [("x", 3)], command="c", env={})
