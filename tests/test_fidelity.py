"""Multi-fidelity: successive halving inside populations, exact cost accounting."""

from __future__ import annotations

import numpy as np
import pytest

from hybridlab import GA, Problem, Space, make, minimize
from hybridlab.fidelity import Fidelity, rungs
from hybridlab.hybrid import MultiFidelity
from hybridlab.tracking import RunStore


def noisy(x, fidelity):
    """Low fidelity = the true value plus a bias that shrinks with the fidelity."""
    return float(np.sum((np.asarray(x) - 0.5) ** 2) + np.cos(5 * np.asarray(x)).sum() / fidelity)


def problem(resumable: bool = False, fn=noisy) -> Problem:
    return Problem(fn, Space.box(3, -2, 2), fidelity=Fidelity(1, 27, resumable), name="noisy")


def brackets(h):
    """Split a history into brackets: each starts with a run of rung-0 evaluations."""
    starts = np.flatnonzero((h["fidelity"] == 1) & (h["fidelity"].shift(fill_value=27) != 1))
    return [h.iloc[a:b] for a, b in zip(starts, [*starts[1:], len(h)], strict=True)]


def test_rungs():
    assert rungs(1, 27, 3).tolist() == [1, 3, 9, 27]
    assert rungs(1, 10, 3).tolist() == [1, 3, 9, 10]
    assert rungs(5, 5, 3).tolist() == [5]
    assert rungs(1, 16, 2).tolist() == [1, 2, 4, 8, 16]


def test_promotion_follows_the_eta_rule():
    res = minimize(problem(), MultiFidelity(GA(pop_size=27), 1, 27, eta=3), budget=1500,
                   seed=0)
    h = res.history
    full = [b for b in brackets(h) if len(b) == 27 + 9 + 3 + 1]
    assert len(full) >= 3
    for b in full:
        assert b["fidelity"].value_counts().sort_index().tolist() == [27, 9, 3, 1]
        for lo, hi in ((1, 3), (3, 9), (9, 27)):
            low = b[b["fidelity"] == lo]
            promoted = b[b["fidelity"] == hi]
            cols = ["x0", "x1", "x2"]
            best = low.nsmallest(len(promoted), "y")[cols].to_numpy()
            assert sorted(map(tuple, best)) == sorted(map(tuple, promoted[cols].to_numpy()))


@pytest.mark.parametrize("resumable", [False, True])
def test_budget_accounting_is_exact(resumable):
    res = minimize(problem(resumable), MultiFidelity("ga", 1, 27), budget=2000, seed=1)
    h = res.history
    assert res.cost == pytest.approx(h["cost"].sum()) and res.cost <= 2000
    assert res.n_evals == len(h)
    prev = {1: 0, 3: 1, 9: 3, 27: 9}
    expected = h["fidelity"] - (h["fidelity"].map(prev) if resumable else 0)
    np.testing.assert_allclose(h["cost"], expected)


def test_plain_optimizer_spends_the_budget_at_full_fidelity():
    seen = []

    def f(x, fidelity):
        seen.append(fidelity)
        return float(np.sum(x ** 2))

    res = minimize(problem(fn=f), "ga", budget=27 * 40 + 5, seed=0)
    assert set(seen) == {27} and res.n_evals == 40 and res.cost == 27 * 40


def test_best_counts_only_full_fidelity():
    def biased(x, fidelity):  # low fidelity looks much better than it is
        return float(np.sum(x ** 2)) - 100.0 / fidelity

    res = minimize(problem(fn=biased), MultiFidelity("pso", 1, 27), budget=1000, seed=2)
    h = res.history
    top = h[h["fidelity"] == 27]
    assert res.y == top["y"].min()
    assert np.isinf(h["best_so_far"].iloc[0])  # nothing at full fidelity yet
    assert (h["best_so_far"].dropna() >= top["y"].min()).all()


def test_failures_at_low_fidelity_do_not_stop_the_run():
    def flaky(x, fidelity):
        if fidelity == 1 and x[0] > 1.0:
            raise RuntimeError("diverged")
        if fidelity == 3 and x[1] > 1.5:
            return float("nan")
        return noisy(x, fidelity)

    res = minimize(problem(fn=flaky), MultiFidelity("ga", 1, 27), budget=1500, seed=3)
    h = res.history
    assert {"error", "ok"} <= set(h["status"])
    failed = h[h["status"] != "ok"]
    assert len(failed) and res.n_evals == len(h) and np.isfinite(res.y)
    assert (h.loc[h["fidelity"] == 27, "status"] == "ok").mean() > 0.5


def test_same_seed_same_result_and_store_replay(tmp_path):
    opt = MultiFidelity(make("ga>>local"), 1, 27)
    a = minimize(problem(), opt, budget=1200, seed=4)
    b = minimize(problem(), opt, budget=1200, seed=4, store=tmp_path / "r.db", run="mf")
    c = minimize(problem(), opt, budget=1200, seed=4, store=tmp_path / "r.db", run="mf")
    assert a.matches(b) and b.matches(c) and c.cost == a.cost
    with RunStore(tmp_path / "r.db") as store:
        ev = store.evaluations("mf")
    np.testing.assert_array_equal(ev["fidelity"], a.history["fidelity"])


def test_bad_arguments_name_the_fix():
    plain = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -1, 1))
    with pytest.raises(ValueError, match="fidelity=\\(low, high\\)"):
        minimize(plain, MultiFidelity("ga", 1, 27), budget=100, seed=0)
    with pytest.raises(ValueError, match="end at its full fidelity"):
        minimize(problem(), MultiFidelity("ga", 1, 9), budget=100, seed=0)
    with pytest.raises(ValueError, match="eta"):
        MultiFidelity("ga", 1, 27, eta=1)
    with pytest.raises(ValueError, match=r"hybridlab.make\('ga>>local'\)"):
        MultiFidelity("ga>>local", 1, 27)
    with pytest.raises(ValueError, match="0 < low <= high"):
        Fidelity(5, 1)
    with pytest.raises(ValueError, match="fidelity must be"):
        Problem(noisy, Space.box(2, 0, 1), fidelity=3)
