"""LocalSearch: scipy.optimize.minimize made ask/tell through a worker thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hybridlab import LocalSearch, Population, Problem, Space, minimize


def sphere(x):
    return float(np.sum(np.asarray(x) ** 2))


def rosenbrock(x):
    x = np.asarray(x)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


SPHERE5 = Problem(sphere, Space.box(5, -5, 5))
ROSEN2 = Problem(rosenbrock, Space.box(2, -2, 2))


def test_lbfgsb_solves_sphere():
    r = minimize(SPHERE5, LocalSearch(), budget=500, seed=0)
    assert r.y < 1e-8
    assert r.n_evals == 500
    assert set(r.history["phase"]) == {"local"}


@pytest.mark.parametrize("method", ["Nelder-Mead", "Powell"])
def test_derivative_free_methods_improve_rosenbrock(method):
    r = minimize(ROSEN2, LocalSearch(method), budget=300, seed=1)
    assert r.history["y"].iloc[0] > 1e-2 > r.y
    assert r.n_evals == 300


@pytest.mark.parametrize("method", ["L-BFGS-B", "Nelder-Mead", "Powell"])
@pytest.mark.parametrize("budget", [1, 2, 7, 123])
def test_exact_budget(method, budget):
    r = minimize(ROSEN2, LocalSearch(method), budget=budget, seed=3)
    assert r.n_evals == budget == len(r.history)
    assert r.stopped == "budget"


def test_restarts_after_convergence():
    opt = LocalSearch()
    r = minimize(Problem(sphere, Space.box(2, -1, 1)), opt, budget=400, seed=0)
    assert r.n_evals == 400
    assert opt.n_runs > 2 and len(opt.results_) >= 2  # far more budget than one run needs
    first = opt.results_[0]
    assert first.nfev < 100


def test_no_restarts_stops_when_converged():
    opt = LocalSearch(restarts=False)
    r = minimize(Problem(sphere, Space.box(2, -1, 1)), opt, budget=1000, seed=0)
    assert r.stopped == "converged"
    assert r.n_evals < 1000
    assert opt.n_runs == 1 and len(opt.results_) == 1


@pytest.mark.parametrize("method", ["L-BFGS-B", "Nelder-Mead", "Powell"])
def test_same_seed_same_result(method):
    a = minimize(ROSEN2, LocalSearch(method), budget=250, seed=42)
    b = minimize(ROSEN2, LocalSearch(method), budget=250, seed=42)
    c = minimize(ROSEN2, LocalSearch(method), budget=250, seed=43)
    assert a.matches(b)
    assert not a.matches(c)


def test_no_thread_leaks():
    baseline = threading.active_count()
    for method in ("L-BFGS-B", "Nelder-Mead", "Powell"):
        for budget in (1, 5, 40):  # scipy is mid-run when the driver closes it
            minimize(ROSEN2, LocalSearch(method), budget=budget, seed=budget)
    assert threading.active_count() == baseline


def test_start_again_closes_previous_thread():
    baseline = threading.active_count()
    opt = LocalSearch()
    for seed in range(3):
        opt.start(3, np.random.default_rng(seed))
        X = opt.ask()
        opt.tell(X, np.sum((X - 0.3) ** 2, axis=1))  # scipy goes on: the thread lives
        assert threading.active_count() == baseline + 1
    opt.close()
    opt.close()  # idempotent
    assert threading.active_count() == baseline


def _first_starts(opt, init, n):
    opt.start(2, np.random.default_rng(0), init)
    starts = []
    while len(starts) < n:  # short runs: each starts at the next start point
        runs = opt.n_runs
        x = opt.ask()
        if opt.n_runs > runs:
            starts.append(x[0])
        opt.tell(x, [sphere(x[0])])
    opt.close()
    return starts


def test_starts_from_best_init_points_then_random():
    X = np.array([[0.9, 0.9], [0.2, 0.3], [0.6, 0.1]])
    init = Population(X, np.array([5.0, 1.0, 2.0]))
    opt = LocalSearch("Nelder-Mead", options={"maxfev": 3}, init_starts=3)
    starts = _first_starts(opt, init, 4)
    np.testing.assert_array_equal(starts[:3], [[0.2, 0.3], [0.6, 0.1], [0.9, 0.9]])
    assert not any(np.array_equal(starts[3], p) for p in X)  # then uniform random


def test_init_starts_limits_the_start_points_taken_from_init():
    X = np.array([[0.9, 0.9], [0.2, 0.3], [0.6, 0.1]])
    init = Population(X, np.array([5.0, 1.0, 2.0]))
    starts = _first_starts(LocalSearch("Nelder-Mead", options={"maxfev": 3}, init_starts=1),
                           init, 2)
    np.testing.assert_array_equal(starts[0], [0.2, 0.3])
    assert not any(np.array_equal(starts[1], p) for p in X)
    default = _first_starts(LocalSearch("Nelder-Mead", options={"maxfev": 3}), init, 3)
    np.testing.assert_array_equal(default, [[0.2, 0.3], [0.6, 0.1], [0.9, 0.9]])


def test_failing_objective_does_not_crash():
    def flaky(x):
        if x[0] > 0.5:
            raise RuntimeError("boom")
        return float("nan") if x[1] > 0.5 else sphere(x)

    for method in ("L-BFGS-B", "Nelder-Mead", "Powell"):
        r = minimize(Problem(flaky, Space.box(2, -2, 2)), LocalSearch(method), budget=150,
                     seed=2)
        assert r.n_evals == 150
        assert np.isfinite(r.y) and r.y < 1.0
        assert r.n_failed > 0


def test_scipy_error_surfaces_at_ask():
    baseline = threading.active_count()
    opt = LocalSearch("Nelder-Mead", options={"initial_simplex": np.zeros((2, 2))})
    opt.start(3, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="Nelder-Mead"):
        opt.ask()
    opt.close()
    assert threading.active_count() == baseline


def test_bad_arguments():
    with pytest.raises(ValueError, match="choose one of"):
        LocalSearch("BFGS")
    with pytest.raises(ValueError, match="init_step"):
        LocalSearch(init_step=0.0)
    assert LocalSearch("Powell", restarts=False).method == "Powell"


# -- model-based methods: COBYQA (scipy) and BOBYQA (Py-BOBYQA) ---------------------------
MODEL = ["COBYQA", "BOBYQA"]


@pytest.mark.parametrize("method", MODEL)
def test_model_based_methods_solve_rosenbrock_with_exact_budget(method):
    opt = LocalSearch(method)
    r = minimize(ROSEN2, opt, budget=200, seed=1)
    assert r.n_evals == 200 == len(r.history) and r.stopped == "budget"
    assert r.y < 1e-6 and set(r.history["phase"]) == {method.lower()}
    assert opt.name == method.lower() and opt.n_runs >= 1
    for budget in (1, 2, 7):
        assert minimize(ROSEN2, LocalSearch(method), budget=budget, seed=3).n_evals == budget


@pytest.mark.parametrize("method", MODEL)
def test_model_based_same_seed_serial_and_process_pool(method):
    from concurrent.futures import ProcessPoolExecutor

    a = minimize(ROSEN2, LocalSearch(method), budget=120, seed=42)
    b = minimize(ROSEN2, LocalSearch(method), budget=120, seed=42)
    c = minimize(ROSEN2, LocalSearch(method), budget=120, seed=43)
    assert a.matches(b) and not a.matches(c)
    with ProcessPoolExecutor(2) as pool:
        assert a.matches(minimize(ROSEN2, LocalSearch(method), budget=120, seed=42,
                                  executor=pool))


def test_bobyqa_leaves_the_global_numpy_state_alone():
    np.random.seed(7)
    before = np.random.get_state()
    minimize(ROSEN2, LocalSearch("BOBYQA"), budget=150, seed=0)
    after = np.random.get_state()
    assert np.array_equal(after[1], before[1]) and after[2:] == before[2:]


@pytest.mark.parametrize("method", MODEL)
def test_model_based_failures_restarts_and_threads(method):
    def flaky(x):
        if x[0] > 0.5:
            raise RuntimeError("boom")
        return float("nan") if x[1] > 0.5 else sphere(x)

    baseline = threading.active_count()
    r = minimize(Problem(flaky, Space.box(2, -2, 2)), LocalSearch(method), budget=150, seed=2)
    assert r.n_evals == 150 and r.n_failed > 0 and np.isfinite(r.y) and r.y < 1.0
    opt = LocalSearch(method, restarts=False)
    r = minimize(Problem(sphere, Space.box(2, -1, 1)), opt, budget=1000, seed=0)
    assert r.stopped == "converged" and r.n_evals < 1000 and opt.n_runs == 1
    assert threading.active_count() == baseline


@pytest.mark.parametrize("spec", ["cobyqa", "bobyqa", "ga>>cobyqa", "pso>>bobyqa",
                                  "cma>>bobyqa", "cobyqa|pso"])
def test_model_based_inside_hybrids(spec):
    from hybridlab import make

    r = minimize(SPHERE5, make(spec), budget=300, seed=0)
    assert r.n_evals == 300 and r.y < 1e-2


def test_model_based_options_and_errors(monkeypatch):
    opt = LocalSearch("BOBYQA", options={"rhobeg": 0.5})  # BOBYQA needs rhobeg <= 0.5
    assert minimize(ROSEN2, opt, budget=30, seed=0).n_evals == 30
    bad = LocalSearch("BOBYQA", options={"rhobeg": 0.9})
    bad.start(2, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="gap between lower and upper"):
        bad.ask()
    bad.close()
    monkeypatch.setitem(__import__("sys").modules, "pybobyqa", None)
    with pytest.raises(ImportError, match="pip install Py-BOBYQA"):
        LocalSearch("BOBYQA")
    with pytest.raises(ValueError, match="COBYQA"):
        LocalSearch("COBYQ")
