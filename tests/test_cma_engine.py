"""The CMA-ES engine (hybridlab.optimizers.cma): budget, seeding, restarts, hybrids."""

from __future__ import annotations

import copy
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import hybridlab as hl
from hybridlab import Population, Problem, Space, make, minimize
from hybridlab.optimizers import CMA, NAMES
from hybridlab.optimizers.cma import bipop, ipop


def sphere(x):
    return float(np.sum(np.asarray(x) ** 2))


def rastrigin(x):
    x = np.asarray(x)
    return float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


def ellipsoid(x):
    x = np.asarray(x)
    return float(np.sum(10 ** (6 * np.arange(len(x)) / (len(x) - 1)) * x**2))


SPHERE = Problem(sphere, Space.box(4, -5, 5))
RASTRIGIN = Problem(rastrigin, Space.box(3, -5.12, 5.12))
VARIANTS = [None, "ipop", "bipop"]


@pytest.mark.parametrize("restarts", VARIANTS)
@pytest.mark.parametrize("budget", [1, 5, 123])
def test_exact_budget(restarts, budget):
    r = minimize(SPHERE, CMA(restarts), budget=budget, seed=3)
    assert r.n_evals == budget == len(r.history)
    assert r.stopped == "budget"


def test_names_and_registry():
    assert make("cma").name == "cma" and make("ipop").name == "ipop"
    assert make("bipop").name == "bipop" and make("cma(restarts='bipop')").name == "bipop"
    assert {"cma", "ipop", "bipop"} <= set(NAMES)
    assert ipop().restarts == "ipop" and bipop(popsize=6).popsize == 6


@pytest.mark.parametrize("restarts", VARIANTS)
def test_same_seed_same_result_serial_and_process_pool(restarts):
    a = minimize(RASTRIGIN, CMA(restarts), budget=300, seed=5)
    b = minimize(RASTRIGIN, CMA(restarts), budget=300, seed=5)
    c = minimize(RASTRIGIN, CMA(restarts), budget=300, seed=6)
    assert a.matches(b) and not a.matches(c)
    with ProcessPoolExecutor(2) as pool:
        d = minimize(RASTRIGIN, CMA(restarts), budget=300, seed=5, executor=pool)
    assert a.matches(d)


def test_global_numpy_state_untouched():
    np.random.seed(123)
    before = np.random.get_state()
    minimize(RASTRIGIN, make("bipop"), budget=600, seed=0)
    after = np.random.get_state()
    assert np.array_equal(after[1], before[1]) and after[2:] == before[2:]  # not even read


def test_single_run_converges_and_stops():
    opt = CMA()
    r = minimize(SPHERE, opt, budget=5000, seed=0)
    assert r.stopped == "converged" and r.n_evals < 5000 and r.y < 1e-10
    assert opt.stop_reason_ and opt.n_restarts == 0


@pytest.mark.parametrize("restarts", ["ipop", "bipop"])
def test_restarts_use_the_whole_budget(restarts):
    opt = CMA(restarts)
    r = minimize(RASTRIGIN, opt, budget=3000, seed=1)
    assert r.n_evals == 3000 and r.stopped == "budget" and not opt.stop()
    assert opt.n_restarts >= 2 and len(opt.restarts_) == opt.n_restarts
    log = opt.restarts_
    assert all(e["reason"] for e in log) and [e["after"] for e in log] == sorted(
        e["after"] for e in log)
    if restarts == "ipop":  # pycma's 4 + 3 ln(3) = 7 points, doubled at each restart
        assert {e["regime"] for e in log} == {"large"}
        assert [e["popsize"] for e in log] == [7 * 2 ** (i + 1) for i in range(len(log))]


def test_bipop_alternates_regimes():
    opt = CMA("bipop")
    minimize(RASTRIGIN, opt, budget=6000, seed=2)
    regimes = [e["regime"] for e in opt.restarts_]
    assert regimes[0] == "large" and "small" in regimes
    small = [e for e in opt.restarts_ if e["regime"] == "small"]
    assert all(e["sigma0"] <= 0.3 and e["popsize"] >= 2 for e in small)


def test_max_restarts_then_stop():
    opt = CMA("ipop", max_restarts=1)
    r = minimize(SPHERE, opt, budget=20000, seed=0)
    assert opt.n_restarts == 1 and r.stopped == "converged" and r.n_evals < 20000


def test_conditioning_grows_on_an_ill_conditioned_function():
    opt = CMA()
    minimize(Problem(ellipsoid, Space.box(4, -5, 5)), opt, budget=1500, seed=0)
    assert opt.conditioning > 1e3
    fresh = CMA()
    assert np.isnan(fresh.conditioning) and np.isnan(fresh.sigma) and fresh.n_restarts == 0
    fresh.start(4, np.random.default_rng(0))
    assert fresh.conditioning == pytest.approx(1.0, rel=1e-3)


def test_failing_objective_does_not_crash():
    def flaky(x):
        if x[0] > 2.0:
            raise RuntimeError("boom")
        return float("nan") if x[1] > 2.0 else sphere(x)

    for restarts in VARIANTS:
        r = minimize(Problem(flaky, Space.box(3, -5, 5)), CMA(restarts), budget=400, seed=2)
        assert r.n_evals == 400 and r.n_failed > 0 and np.isfinite(r.y) and r.y < 1.0


def test_start_from_a_population_uses_its_best_and_spread():
    rng = np.random.default_rng(0)
    X = np.clip(0.7 + 0.01 * rng.standard_normal((20, 3)), 0, 1)
    X[5] = [0.7, 0.7, 0.7]
    init = Population(X, np.r_[np.ones(5), 0.0, np.ones(14)])
    opt = CMA(sigma0=0.3)
    opt.start(3, np.random.default_rng(1), init)
    np.testing.assert_allclose(opt.es_.mean, [0.7, 0.7, 0.7])
    assert 1e-3 <= opt.sigma < 0.05
    assert opt.population.y[0] == 0.0  # the handed population is kept best-first
    opt.start(3, np.random.default_rng(1), Population(X[:1], np.zeros(1)))
    assert opt.sigma == 0.3  # one point: no spread to measure


def test_partial_tells_complete_the_generation():
    opt = CMA()
    opt.start(3, np.random.default_rng(0))
    X = opt.ask()
    opt.tell(X[:2], np.zeros(2))
    rest = opt.ask()
    np.testing.assert_array_equal(rest, X[2:])
    assert not opt.stop()
    opt.tell(rest, np.ones(len(rest)))
    assert opt.es_.countiter == 1
    with pytest.raises(RuntimeError, match="without a pending"):
        opt.tell(X[:1], np.zeros(1))


def test_inject_puts_a_better_point_into_the_next_generation():
    opt = CMA()
    opt.start(3, np.random.default_rng(0))
    X = opt.ask()
    opt.tell(X, np.ones(len(X)))
    opt.inject(np.array([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]]), np.array([0.5, 2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = opt.ask()
        np.testing.assert_allclose(Y[0], [0.1, 0.2, 0.3], atol=1e-12)
        opt.tell(Y, np.ones(len(Y)))
    assert opt.population.y[0] == 0.5
    opt.inject(np.array([[0.4, 0.4, 0.4]]), np.array([3.0]))  # worse: archive only
    assert not np.allclose(opt.ask()[0], [0.4, 0.4, 0.4])


@pytest.mark.parametrize("spec", ["ga>>cma", "cma>>local", "ga>>bipop", "ipop|pso",
                                  "memetic(cma, local, every=3)"])
def test_inside_hybrids(spec):
    r = minimize(SPHERE, make(spec), budget=600, seed=0)
    assert r.n_evals == 600 and r.y < 1e-2
    again = minimize(SPHERE, make(spec), budget=600, seed=0)
    assert r.matches(again)


def test_operators_and_copies():
    opt = hl.GA() >> CMA("bipop")
    assert opt.name == "ga>>bipop"
    clone = copy.deepcopy(CMA("ipop", popsize=8))
    assert clone.name == "ipop" and clone.popsize == 8


def test_bad_arguments():
    with pytest.raises(ValueError, match="restarts must be one of"):
        CMA("lpop")
    with pytest.raises(ValueError, match="sigma0"):
        CMA(sigma0=0.0)
    with pytest.raises(ValueError, match="popsize"):
        CMA(popsize=1)
    with pytest.raises(ValueError, match="incpopsize"):
        CMA(incpopsize=0.5)
    with pytest.raises(ValueError, match="max_restarts"):
        CMA(max_restarts=-1)
    with pytest.raises(ValueError, match="set by CMA itself"):
        CMA(options={"seed": 1})
    with pytest.raises(ValueError, match="dict"):
        CMA(options=[("tolfun", 1)])
