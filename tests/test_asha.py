"""Asynchronous successive halving: mixed-rung batches, the ASHA promotion rule, exact
cost, determinism serial or parallel, failures, a model inside, store replay."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from hybridlab import GA, AsyncHalving, Problem, Space, make, minimize
from hybridlab.fidelity import Fidelity
from hybridlab.problem import Batch
from hybridlab.tracking import RunStore

COLS = ["x0", "x1", "x2"]


def noisy(x, fidelity):
    """Low fidelity = the true value plus a bias that shrinks with the fidelity."""
    return float(np.sum((np.asarray(x) - 0.5) ** 2) + np.cos(5 * np.asarray(x)).sum() / fidelity)


def problem(resumable: bool = False, fn=noisy, vectorized: bool = False) -> Problem:
    return Problem(fn, Space.box(3, -2, 2), fidelity=Fidelity(1, 27, resumable),
                   name="noisy", vectorized=vectorized)


def batch_ids(h):
    """The batch of each evaluation: the driver stamps one time per batch."""
    return (h["time"] != h["time"].shift()).cumsum().to_numpy()


def test_batches_mix_rungs_and_each_point_gets_its_own_fidelity():
    calls = []

    def f(x, fidelity):
        calls.append((tuple(np.round(x, 12)), fidelity))
        return noisy(x, fidelity)

    res = minimize(problem(fn=f), AsyncHalving(GA(pop_size=12), 1, 27, workers=4),
                   budget=1200, seed=0)
    h = res.history
    assert set(h["fidelity"]) == {1, 3, 9, 27}
    per_batch = h.groupby(batch_ids(h))["fidelity"]
    assert (per_batch.nunique() > 1).mean() > 0.3  # no rung barrier
    assert per_batch.size().max() == 4
    seen = [(tuple(np.round(r, 12)), fi) for r, fi in
            zip(h[COLS].to_numpy(), h["fidelity"], strict=True)]
    assert seen == calls


def test_promotion_follows_the_asha_rule():
    """A candidate reaches rung k+1 only from the top 1/eta of the results completed at
    rung k before its promotion, and each candidate is promoted at most once per rung."""
    workers, eta = 3, 3
    # random proposals: a GA may propose a point again, which would blur "once per rung"
    res = minimize(problem(), AsyncHalving("random", 1, 27, eta=eta, workers=workers),
                   budget=1500, seed=1)
    h = res.history.reset_index(drop=True)
    batch = batch_ids(h)
    key = [tuple(r) for r in h[COLS].to_numpy()]
    for lo, hi in ((1, 3), (3, 9), (9, 27)):
        promoted = h.index[h["fidelity"] == hi]
        assert len(promoted) > 0
        assert len({key[i] for i in promoted}) == len(promoted)  # once per rung
        for i in promoted:
            done = h[batch < batch[i]]  # decided before this batch was evaluated
            done = done[done["fidelity"] == lo]
            mine = done[[key[j] == key[i] for j in done.index]]
            assert len(mine) == 1
            rank = int((done["y"] < mine["y"].iloc[0]).sum())
            assert rank < max(1, int(len(done) / eta + 1e-9))


@pytest.mark.parametrize("resumable", [False, True])
def test_budget_accounting_is_exact(resumable):
    res = minimize(problem(resumable), AsyncHalving("ga", 1, 27, workers=4), budget=2000,
                   seed=2)
    h = res.history
    assert res.cost == pytest.approx(h["cost"].sum()) and res.cost <= 2000
    assert 2000 - res.cost < 27  # the budget is spent, up to one job
    prev = {1: 0, 3: 1, 9: 3, 27: 9}
    expected = h["fidelity"] - (h["fidelity"].map(prev) if resumable else 0)
    np.testing.assert_allclose(h["cost"], expected)


def test_same_seed_same_result_serial_threads_and_store_replay(tmp_path):
    opt = AsyncHalving(make("ga>>local"), 1, 27, workers=4)
    a = minimize(problem(), opt, budget=1200, seed=4)
    with ThreadPoolExecutor(4) as pool:
        b = minimize(problem(), opt, budget=1200, seed=4, executor=pool)
    c = minimize(problem(), opt, budget=1200, seed=4, store=tmp_path / "r.db", run="asha")
    d = minimize(problem(), opt, budget=1200, seed=4, store=tmp_path / "r.db", run="asha")
    assert a.matches(b) and a.matches(c) and c.matches(d) and d.cost == a.cost
    with RunStore(tmp_path / "r.db") as store:
        ev = store.evaluations("asha")
    np.testing.assert_array_equal(ev["fidelity"], a.history["fidelity"])
    assert not a.matches(minimize(problem(), opt, budget=1200, seed=5))


def test_vectorised_objective_is_called_once_per_fidelity():
    calls = []

    def f(X, fidelity):
        calls.append((len(X), fidelity))
        return np.array([noisy(x, fidelity) for x in X])

    vec = minimize(problem(fn=f, vectorized=True), AsyncHalving("ga", 1, 27, workers=4),
                   budget=800, seed=6)
    one = minimize(problem(), AsyncHalving("ga", 1, 27, workers=4), budget=800, seed=6)
    assert vec.matches(one)
    h = vec.history
    assert len(calls) == h.groupby(batch_ids(h))["fidelity"].nunique().sum()


def test_failures_rank_last_and_do_not_stop_the_run():
    def flaky(x, fidelity):
        if fidelity == 1 and x[0] > 1.0:
            raise RuntimeError("diverged")
        if fidelity == 3 and x[1] > 1.5:
            return float("nan")
        return noisy(x, fidelity)

    res = minimize(problem(fn=flaky), AsyncHalving("ga", 1, 27), budget=1500, seed=3)
    h = res.history.reset_index(drop=True)
    assert {"error", "ok"} <= set(h["status"]) and np.isfinite(res.y)
    failed_low = {tuple(r) for r in h.loc[(h["status"] != "ok") & (h["fidelity"] == 1),
                                          COLS].to_numpy()}
    higher = {tuple(r) for r in h.loc[h["fidelity"] > 1, COLS].to_numpy()}
    assert failed_low and not failed_low & higher  # a failure is never promoted


def test_best_counts_only_full_fidelity():
    def biased(x, fidelity):  # low fidelity looks much better than it is
        return float(np.sum(x ** 2)) - 100.0 / fidelity

    res = minimize(problem(fn=biased), AsyncHalving("pso", 1, 27), budget=1000, seed=2)
    h = res.history
    assert res.y == h.loc[h["fidelity"] == 27, "y"].min()
    assert np.isinf(h["best_so_far"].iloc[0])  # nothing at full fidelity yet


def test_a_model_proposes_inside():
    pytest.importorskip("optuna")
    opt = make("asha(optuna_tpe, 1, 27, workers=4)")
    assert opt.name == "asha(optuna_tpe)"
    res = minimize(problem(), opt, budget=800, seed=0)
    again = minimize(problem(), opt, budget=800, seed=0)
    assert res.matches(again) and res.cost <= 800 and set(res.history["fidelity"]) == {
        1, 3, 9, 27}
    assert opt.optimizer.batch_size == 1  # the prototype is not changed by a run
    # most batches are full: the inner sampler proposes generations of 2 x workers
    sizes = np.bincount(batch_ids(res.history))[1:]
    assert np.mean(sizes == 4) > 0.6


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        AsyncHalving("ga", 1, 27, workers=0)
    with pytest.raises(ValueError, match="eta"):
        AsyncHalving("ga", 1, 27, eta=1)
    with pytest.raises(ValueError, match=r"hybridlab.make\('ga>>local'\)"):
        AsyncHalving("ga>>local", 1, 27)
    with pytest.raises(ValueError, match="end at its full fidelity"):
        minimize(problem(), AsyncHalving("ga", 1, 9), budget=100, seed=0)
    with pytest.raises(ValueError, match="one per point"):
        problem().evaluate_many(np.zeros((3, 3)), fidelity=np.array([1.0, 3.0]))


def test_batch_gather_puts_parts_back_in_order():
    a = Batch(np.array([1.0, 2.0]), ["ok", "error"], ["", "boom"], np.array([0.1, 0.2]),
              np.zeros((2, 0)))
    b = Batch(np.array([3.0]), ["ok"], [""], np.array([0.3]), np.zeros((1, 0)))
    g = Batch.gather([(np.array([2, 0]), a), (np.array([1]), b)], 3, 0)
    assert g.y.tolist() == [2.0, 3.0, 1.0] and g.status == ["error", "ok", "ok"]
    assert g.error == ["boom", "", ""] and g.seconds.tolist() == [0.2, 0.3, 0.1]
