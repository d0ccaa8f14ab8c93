import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hybridlab.study import stats


def test_average_ranks_with_ties():
    t = pd.DataFrame({"a": [1.0, 1.0, 2.0], "b": [2.0, 1.0, 2.0], "c": [3.0, 3.0, np.inf]})
    r = stats.average_ranks(t)
    # block 1: 1, 2, 3; block 2: 1.5, 1.5, 3; block 3: 1.5, 1.5, 3
    assert r.tolist() == pytest.approx([4 / 3, 5 / 3, 3.0])
    assert stats.average_ranks(t.assign(c=[3.0, 3.0, np.nan])).equals(r)  # NaN = worst


def test_friedman_known_answer():
    n = 10
    t = pd.DataFrame({"a": np.arange(n) + 0.0, "b": np.arange(n) + 1.0,
                      "c": np.arange(n) + 2.0})
    f = stats.friedman(t)
    assert f.statistic == pytest.approx(20.0)          # 12n/(k(k+1)) sum R^2 - 3n(k+1)
    assert f.pvalue == pytest.approx(np.exp(-10.0))    # chi2 with 2 dof
    assert f.ranks.to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert f.n_blocks == n
    assert f.cd == pytest.approx(2.3437 * np.sqrt(3 * 4 / (6 * n)), rel=1e-4)


def test_friedman_degenerate_cases():
    ties = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0], "c": [1.0, 2.0]})
    f = stats.friedman(ties)
    assert f.pvalue == 1.0 and f.statistic == 0.0
    two = stats.friedman(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    assert np.isnan(two.pvalue) and two.ranks.index.tolist() == ["a", "b"]


def test_holm_known_answer_and_monotone():
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(stats.holm([0.5, 0.001, np.nan]), [1.0, 0.003, 1.0])
    p = np.random.default_rng(0).uniform(size=20)
    adj = stats.holm(p)
    order = np.argsort(p)
    assert (np.diff(adj[order]) >= 0).all() and (adj >= p).all() and (adj <= 1).all()


def test_wilcoxon_holm_against_reference():
    n = 10
    ref = np.arange(n, dtype=float)
    t = pd.DataFrame({"ref": ref, "same": ref, "better": ref - np.arange(1, n + 1),
                      "worse": ref + np.arange(1, n + 1), "noisy": ref + np.tile([1, -1], 5)})
    w = stats.wilcoxon_holm(t, "ref").set_index("optimizer")
    p_exact = 2 / 2**n  # every difference has the same sign: exact two-sided p
    assert w.loc["better", "p"] == pytest.approx(p_exact)
    assert w.loc["worse", "p"] == pytest.approx(p_exact)
    assert w.loc["same", "p"] == 1.0 and w.loc["same", "ties"] == n
    assert w.loc["noisy", "p"] == pytest.approx(sps.wilcoxon(np.tile([1, -1], 5)).pvalue)
    # Holm over 4 comparisons: the two smallest p-values times 4 and 3
    assert w.loc["better", "p_holm"] == pytest.approx(4 * p_exact)
    assert w.loc["worse", "p_holm"] == pytest.approx(4 * p_exact)
    assert w.loc["better", "verdict"] == "better" and w.loc["worse", "verdict"] == "worse"
    assert w.loc["same", "verdict"] == "no difference"
    assert w.attrs["reference"] == "ref"
    assert stats.wilcoxon_holm(t)["optimizer"].tolist() == ["same", "better", "worse", "noisy"]
    with pytest.raises(ValueError, match="reference"):
        stats.wilcoxon_holm(t, "nope")


def test_wilcoxon_handles_crashed_blocks():
    t = pd.DataFrame({"ref": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                      "crashy": [np.inf, np.inf, np.inf, np.inf, np.inf, np.inf]})
    w = stats.wilcoxon_holm(t, "ref")
    assert w["losses"].item() == 6 and w["verdict"].item() == "worse"


def test_bootstrap_median_ci_contains_median_and_is_seeded():
    x = np.random.default_rng(3).lognormal(size=40)
    lo, hi = stats.bootstrap_median_ci(x, seed=1)
    assert lo <= np.median(x) <= hi and lo < hi
    assert stats.bootstrap_median_ci(x, seed=1) == (lo, hi)
    assert stats.bootstrap_median_ci(x, seed=2) != (lo, hi)
    lo50, hi50 = stats.bootstrap_median_ci(x, confidence=0.5, seed=1)
    assert lo <= lo50 and hi50 <= hi
    assert stats.bootstrap_median_ci([2.0, 2.0, np.nan]) == (2.0, 2.0)
    assert all(np.isnan(stats.bootstrap_median_ci([np.nan])))


def test_against_baselines_holm_over_a_budget_and_no_reverse_test():
    rng = np.random.default_rng(0)
    rows = []
    for budget in (20, 60):
        for task in range(12):
            base = rng.normal()
            for m, shift in (("tpe", 0.0), ("gp", 0.0), ("good", -1.0), ("same", 0.0)):
                rows.append({"budget": budget, "task": task, "seed": 0, "method": m,
                             "regret": base + shift + 0.01 * rng.normal()})
    out = stats.against_baselines(pd.DataFrame(rows), ["tpe", "gp"])
    assert len(out) == 2 * (3 + 2)  # gp, good, same vs tpe; good, same vs gp
    assert not ((out.method == "tpe") & (out.baseline == "gp")).any()
    good = out[out.method == "good"]
    assert (good.verdict == "better").all() and (good.wins == 12).all()
    assert (out[out.method == "same"].verdict == "within noise").all()
    for _, g in out.groupby("budget"):  # Holm over the 5 tests of a budget
        np.testing.assert_allclose(g.p_holm, stats.holm(g.p.to_numpy()))
    with pytest.raises(ValueError, match="baselines"):
        stats.against_baselines(pd.DataFrame(rows), ["smac"])
