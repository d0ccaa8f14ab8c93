"""Switch: switching on the measured problem state, and its decision log."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import hybridlab as hl


def rastrigin(x: np.ndarray) -> float:
    return float(10 * len(x) + np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)))


def shifted_sphere(x: np.ndarray) -> float:
    return float(np.sum((x - 1.3) ** 2))


def flaky(x: np.ndarray) -> float:
    if x[0] > 3.0:
        raise RuntimeError("simulator diverged")
    if x[1] > 3.5:
        return float("nan")
    return rastrigin(x)


RASTRIGIN = hl.Problem(rastrigin, hl.Space.box(3, -5, 5), name="rastrigin")
SPHERE = hl.Problem(shifted_sphere, hl.Space.box(4, -5, 5), name="sphere")


def switch(**kw: object) -> hl.Switch:
    return hl.Switch(hl.LocalSearch(), hl.PSO(), **kw)


@pytest.mark.parametrize("budget", [1, 7, 150, 1001])
def test_exact_budget(budget: int) -> None:
    assert hl.minimize(RASTRIGIN, switch(), budget=budget, seed=0).n_evals == budget


def test_same_seed_same_result_serial_and_process_pool() -> None:
    a = hl.minimize(RASTRIGIN, switch(), budget=800, seed=3)
    b = hl.minimize(RASTRIGIN, switch(), budget=800, seed=3)
    with ProcessPoolExecutor(2) as pool:
        c = hl.minimize(RASTRIGIN, switch(), budget=800, seed=3, executor=pool)
    assert a.matches(b) and a.matches(c)
    assert a.decisions.equals(b.decisions) and a.decisions.equals(c.decisions)


def test_unimodal_landscape_keeps_the_local_search() -> None:
    r = hl.minimize(SPHERE, switch(), budget=1200, seed=0)
    assert set(r.history["phase"]) == {"local"}
    assert r.y < 1e-10
    first = r.decisions.iloc[0]
    assert first["to"] == "probe" and first["reason"].startswith("unimodal so far")
    assert first["optima"] >= 2 and first["spread"] <= 1e-3


def test_multimodal_landscape_moves_the_budget_to_the_explorer() -> None:
    r = hl.minimize(RASTRIGIN, switch(), budget=1500, seed=0)
    d = r.decisions
    assert d.loc[0, "from"] == "probe" and d.loc[0, "to"] == "explore"
    assert d.loc[0, "reason"].startswith("multimodal")
    assert d.loc[0, "spread"] > 1e-3
    switched_at = int(d.loc[0, "evaluation"])
    phases = r.history["phase"]
    assert set(phases.iloc[:switched_at]) == {"local"}
    assert "pso" in set(phases.iloc[switched_at:])
    # the decisions are in evaluation order and the log says where each went
    assert d["evaluation"].is_monotonic_increasing
    assert set(d["to"]) <= {"probe", "explore", "polish"}


def test_a_small_budget_keeps_the_local_search() -> None:
    r = hl.minimize(RASTRIGIN, switch(min_multimodal=10_000), budget=1500, seed=0)
    assert set(r.history["phase"]) == {"local"}
    assert "too little for the explorer" in r.decisions.loc[0, "reason"]


def ellipsoid(x: np.ndarray) -> float:
    weights = 10 ** (6 * np.arange(len(x)) / (len(x) - 1))
    return float(np.sum(weights * (x - 0.7) ** 2))


def test_a_slow_local_search_hands_over_to_the_explorer() -> None:
    p = hl.Problem(ellipsoid, hl.Space.box(8, -5, 5))
    s = hl.Switch(hl.LocalSearch(), hl.PSO(), probes=5, min_explore=10)
    r = hl.minimize(p, s, budget=2000, seed=0)
    assert r.decisions.loc[0, "reason"].startswith("slow local search")
    assert int(r.decisions.loc[0, "evaluation"]) >= 400


def test_each_move_has_its_own_budget_threshold() -> None:
    # a slow local search needs min_explore x dim left; min_multimodal does not apply to it
    p = hl.Problem(ellipsoid, hl.Space.box(8, -5, 5))
    s = hl.Switch(hl.LocalSearch(), hl.PSO(), probes=5, min_explore=10_000, min_multimodal=0)
    r = hl.minimize(p, s, budget=2000, seed=0)
    first = r.decisions.loc[0]
    assert first["to"] == "probe" and first["reason"].startswith("slow local search")
    assert "10000 x dim: too little" in first["reason"]


def test_final_share_polishes_the_incumbent() -> None:
    r = hl.minimize(RASTRIGIN, switch(polish_share=0.1), budget=1500, seed=0)
    last = r.decisions.iloc[-1]
    assert last["to"] == "polish" and last["reason"] == "final polish of the incumbent"
    assert int(last["evaluation"]) >= 1500 - 150
    assert set(r.history["phase"].iloc[int(last["evaluation"]):]) == {"local"}


def test_a_stalled_explorer_is_polished_then_resumes() -> None:
    r = hl.minimize(RASTRIGIN, switch(stall=60), budget=2000, seed=1)
    reasons = list(r.decisions["reason"])
    stalled = [i for i, why in enumerate(reasons) if "has not improved" in why]
    assert stalled, reasons
    assert any("polish done" in why for why in reasons[stalled[0]:])


def test_a_restarting_explorer_is_polished_when_a_run_ends() -> None:
    s = hl.Switch(hl.LocalSearch(), hl.make("ipop"))
    r = hl.minimize(RASTRIGIN, s, budget=4000, seed=0)
    reasons = list(r.decisions["reason"])
    ended = [why for why in reasons if "ended its run" in why]
    assert ended, reasons
    assert not any("has not improved" in why for why in reasons)


def test_failures_do_not_crash_the_run() -> None:
    p = hl.Problem(flaky, hl.Space.box(3, -5, 5))
    r = hl.minimize(p, switch(), budget=600, seed=0)
    assert r.n_evals == 600 and np.isfinite(r.y)
    assert {"error", "nan"} & set(r.history["status"])


def test_inside_other_hybrids_and_as_a_spec() -> None:
    assert hl.minimize(RASTRIGIN, hl.GA() >> switch(), budget=400, seed=0).n_evals == 400
    assert hl.minimize(RASTRIGIN, switch() | hl.PSO(), budget=400, seed=0).n_evals == 400
    s = hl.make("switch(local, pso, probes=3)")
    assert isinstance(s, hl.Switch) and s.probes == 3 and s.name == "switch(local,pso)"


def test_plain_optimizers_have_no_decisions() -> None:
    r = hl.minimize(RASTRIGIN, "pso", budget=100, seed=0)
    assert r.decisions.empty


@pytest.mark.parametrize("kw, match", [
    ({"probes": 1}, "probes"), ({"tol": 0}, "tol"), ({"probe_share": 1.5}, "probe_share"),
    ({"polish_share": 0}, "polish_share"), ({"stall": 0}, "stall"),
    ({"min_explore": -1}, "min_explore"),
    ({"min_multimodal": 1.5}, "min_multimodal"),
])
def test_bad_arguments_name_the_fix(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        switch(**kw)
