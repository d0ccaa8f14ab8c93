import numpy as np
import pandas as pd
import pytest

from hybridlab.study import metrics


def hits_frame(rows):
    """rows: (optimizer, problem, dim, seed, target, evals, spent)."""
    cols = ["optimizer", "problem", "dim", "seed", "target", "evals", "spent"]
    return pd.DataFrame(rows, columns=cols)


def test_evals_to_targets_first_hit_and_never():
    evals = [1, 2, 5, 9]
    values = [10.0, 4.0, np.nan, 0.5]  # NaN = failed evaluation, ignored
    out = metrics.evals_to_targets(evals, values, [100.0, 4.0, 3.9, 0.5, 0.1])
    np.testing.assert_array_equal(out, [1, 2, 9, 9, np.nan])
    assert np.isnan(metrics.evals_to_targets([], [], [1.0])).all()


def test_ert_mixed_successes_by_hand():
    h = hits_frame([
        ("a", "p", 2, 0, 1.0, 10, 100),
        ("a", "p", 2, 1, 1.0, 30, 100),
        ("a", "p", 2, 2, 1.0, np.nan, 80),        # unsuccessful: its 80 evaluations
        ("a", "p", 2, 3, 1.0, np.nan, np.nan),    # crashed: left out
        ("b", "p", 2, 0, 1.0, np.nan, 100),       # no success: inf
    ])
    e = metrics.ert(h).set_index("optimizer")
    assert e.loc["a", "ert"] == pytest.approx((10 + 30 + 80) / 2)
    assert e.loc["a", "successes"] == 2 and e.loc["a", "runs"] == 3
    assert np.isinf(e.loc["b", "ert"])
    per_dim = metrics.ert(h, per_dim=True).set_index("optimizer")
    assert per_dim.loc["a", "ert"] == pytest.approx(60 / 2)


def test_ert_pools_problems_per_target():
    h = hits_frame([
        ("a", "p", 2, 0, 1.0, 4, 10),
        ("a", "q", 5, 0, 1.0, np.nan, 50),
    ])
    e = metrics.ert(h, by=["optimizer", "target"], per_dim=True)
    assert e["ert"].item() == pytest.approx(4 / 2 + 50 / 5)


def test_ecdf_values_at_given_budgets():
    h = hits_frame([
        ("a", "p", 2, 0, 1.0, 2, 20),     # 1 per dim
        ("a", "p", 2, 0, 0.1, 6, 20),     # 3 per dim
        ("a", "p", 2, 1, 1.0, np.nan, 20),
        ("a", "q", 4, 0, 1.0, 20, 40),    # 5 per dim
        ("b", "p", 2, 0, 1.0, np.nan, 20),
    ])
    e = metrics.ecdf(h, x=[0.5, 1, 2.9, 3, 5, 100])
    a = e[e["optimizer"] == "a"]["fraction"].tolist()
    assert a == [0, 0.25, 0.25, 0.5, 0.75, 0.75]
    assert e[e["optimizer"] == "b"]["fraction"].tolist() == [0] * 6
    raw = metrics.ecdf(h, x=[6], per_dim=False)
    assert raw.columns.tolist() == ["optimizer", "evals", "fraction"]
    assert raw["fraction"].tolist() == [0.5, 0.0]
    default = metrics.ecdf(h)  # exact steps: every runtime plus the largest budget
    assert default["evals_per_dim"].max() == 10.0


def test_success_rate_and_targets_reached():
    h = hits_frame([
        ("a", "p", 2, 0, 1.0, 3, 10), ("a", "p", 2, 0, 1e-8, 9, 10),
        ("a", "p", 2, 1, 1.0, 5, 10), ("a", "p", 2, 1, 1e-8, np.nan, 10),
        ("a", "q", 2, 0, 5.0, 1, 10), ("a", "q", 2, 0, 2.0, np.nan, np.nan),  # crashed
    ])
    s = metrics.success_rate(h)  # hardest target per problem: 1e-8 on p, 2.0 on q
    assert s["success_rate"].item() == pytest.approx(1 / 3)
    assert s["runs"].item() == 3
    s1 = metrics.success_rate(h, target=1.0)
    assert s1["success_rate"].item() == 1.0 and s1["runs"].item() == 2
    per = metrics.success_rate(h, by=["optimizer", "problem"]).set_index("problem")
    assert per.loc["p", "success_rate"] == 0.5 and per.loc["q", "success_rate"] == 0.0
    assert metrics.targets_reached(h).item() == pytest.approx(4 / 6)


def runs_frame():
    rows = []
    for opt, finals in {"a": [1.0, 3.0, 2.0], "b": [5.0, 4.0, np.nan]}.items():
        for seed, f in enumerate(finals):
            crashed = np.isnan(f)
            for ev, v in ([(0, np.nan)] if crashed else [(1, 10.0), (50, f + 1), (100, f)]):
                rows.append({"optimizer": opt, "problem": "p", "dim": 2, "seed": seed,
                             "eval": ev, "best_so_far": v, "gap": v,
                             "seconds": 0.01 * ev if not crashed else 0.5,
                             "objective_seconds": 0.005 * ev if not crashed else np.nan,
                             "status": "crashed: Boom" if crashed else "budget"})
    return pd.DataFrame(rows)


def test_final_values_quality_and_efficiency():
    final = metrics.final_values(runs_frame())
    assert final["evals"].tolist() == [100, 100, 100, 100, 100, 0]
    assert final["gap"].tolist()[:5] == [1.0, 3.0, 2.0, 5.0, 4.0]
    q = metrics.quality(final, by="optimizer").set_index("optimizer")
    assert q.loc["a", "median"] == 2.0 and q.loc["a", "iqr"] == pytest.approx(1.0)
    assert q.loc["b", "n"] == 2  # crashed run left out
    eff = metrics.efficiency(final).set_index("optimizer")
    assert eff.loc["a", "seconds"] == pytest.approx(1.0)
    assert eff.loc["a", "overhead_per_eval"] == pytest.approx(0.005)
    assert eff.loc["a", "objective_per_eval"] == pytest.approx(0.005)


def test_block_table_and_versus_components():
    final = metrics.final_values(runs_frame())
    t = metrics.block_table(final, blocks="run")
    assert t.shape == (3, 2) and list(t.columns) == ["a", "b"]
    assert np.isinf(t["b"].iloc[2])  # the crash is the worst value
    by_problem = metrics.block_table(final)
    assert by_problem.loc["p"].tolist() == [2.0, 5.0]  # median with inf
    vs = metrics.versus_components(final, {"a": ["b"]})
    assert vs[["wins", "ties", "losses"]].iloc[0].tolist() == [3, 0, 0]
    assert vs["win_rate"].item() == 1.0
    with pytest.raises(ValueError, match="blocks"):
        metrics.block_table(final, blocks="seed")
