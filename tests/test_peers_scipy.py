"""scipy's global optimizers as peers (hybridlab.peers.scipy_global) and the worker-thread
bridge under them (hybridlab.optimizers.threaded): budget, restarts, seeding, failures,
hybrids, threads."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import hybridlab as hl
from hybridlab.optimizers.base import Population
from hybridlab.optimizers.threaded import Bridge
from hybridlab.peers import (
    PEERS,
    SHGO,
    BasinHopping,
    DifferentialEvolution,
    Direct,
    DualAnnealing,
)

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

NAMES = ["dual_annealing", "differential_evolution", "direct", "shgo", "basinhopping"]
#: options that end scipy's loop after a few evaluations, so restarts must happen
SHORT = {
    "dual_annealing": DualAnnealing(options={"maxiter": 2, "no_local_search": True}),
    "differential_evolution": DifferentialEvolution(popsize=3, options={"maxiter": 1,
                                                                        "polish": False}),
    "direct": Direct(options={"maxiter": 2}),
    "shgo": SHGO(options={"options": {"maxiter": 1}}),
    "basinhopping": BasinHopping(options={"niter": 1}),
}


def shifted_sphere(x: np.ndarray) -> float:
    return float(np.sum((np.asarray(x) - 1.3) ** 2))


def rastrigin(x: np.ndarray) -> float:
    x = np.asarray(x) - 0.7
    return float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


SPHERE = hl.Problem(shifted_sphere, hl.Space.box(3, -5, 5))
RASTRIGIN = hl.Problem(rastrigin, hl.Space.box(3, -5, 5))


def bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hybridlab-")
            and t.name.split("-", 1)[1] in NAMES]


@pytest.fixture(autouse=True)
def no_thread_left():
    yield
    assert bridge_threads() == []


@pytest.mark.parametrize("name", NAMES)
def test_registry_and_budget_is_exact(name):
    assert name in PEERS
    r = hl.minimize(SPHERE, hl.make(name), budget=137, seed=0)
    assert r.n_evals == 137 and r.stopped == "budget" and r.optimizer == name
    assert r.y < 1.0  # random search gets ~5 here


@pytest.mark.parametrize("name", NAMES)
def test_restarts_use_the_whole_budget(name):
    opt = copy.deepcopy(SHORT[name])
    r = hl.minimize(SPHERE, opt, budget=250, seed=1)
    assert r.n_evals == 250
    assert opt.n_runs >= 2 and len(opt.results_) >= 1


@pytest.mark.parametrize("name", NAMES)
def test_without_restarts_the_run_converges(name):
    opt = copy.deepcopy(SHORT[name])
    opt.restarts = False
    r = hl.minimize(SPHERE, opt, budget=5000, seed=1)
    assert r.stopped == "converged" and r.n_evals < 5000 and opt.n_runs == 1


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_result(name):
    a = hl.minimize(RASTRIGIN, hl.make(name), budget=150, seed=3)
    b = hl.minimize(RASTRIGIN, hl.make(name), budget=150, seed=3)
    assert a.matches(b)
    if name not in ("direct", "shgo"):  # deterministic until their first restart
        c = hl.minimize(RASTRIGIN, hl.make(name), budget=150, seed=4)
        assert not a.matches(c)


def test_restarts_of_deterministic_methods_depend_on_the_seed():
    for opt in (SHORT["direct"], SHORT["shgo"]):
        a = hl.minimize(RASTRIGIN, copy.deepcopy(opt), budget=200, seed=3)
        c = hl.minimize(RASTRIGIN, copy.deepcopy(opt), budget=200, seed=4)
        assert not a.matches(c)


def test_process_pool_gives_the_serial_result():
    serial = {n: hl.minimize(RASTRIGIN, hl.make(n), budget=120, seed=5) for n in NAMES}
    with ProcessPoolExecutor(2) as pool:
        for n in NAMES:
            r = hl.minimize(RASTRIGIN, hl.make(n), budget=120, seed=5, executor=pool)
            assert r.matches(serial[n]), n


def test_batches():
    de = DifferentialEvolution(popsize=4)
    de.start(3, np.random.default_rng(0))
    assert de.ask().shape == (12, 3)  # one generation
    de.close()
    sh = SHGO()
    sh.start(3, np.random.default_rng(0))
    assert len(sh.ask()) > 1  # the first sampling round
    sh.close()
    bh = BasinHopping()
    bh.start(3, np.random.default_rng(0))
    assert bh.ask().shape == (4, 3)  # a point and its stencil
    bh.close()


def test_partial_tell_asks_the_rest_again():
    de = DifferentialEvolution(popsize=4)
    de.start(2, np.random.default_rng(0))
    X = de.ask()
    de.tell(X[:3], np.ones(3))
    rest = de.ask()
    assert np.array_equal(rest, X[3:])
    de.tell(rest, np.ones(len(rest)))
    nxt = de.ask()
    assert nxt.shape == X.shape and not np.array_equal(nxt, X)
    with pytest.raises(RuntimeError, match="values for"):
        de.tell(np.vstack([nxt, nxt]), np.ones(2 * len(nxt)))
    de.close()


@pytest.mark.parametrize("name", NAMES)
def test_close_mid_run_ends_the_thread(name):
    opt = hl.make(name)
    opt.start(3, np.random.default_rng(0), budget=1000)
    for _ in range(3):
        X = opt.ask()
        opt.tell(X, np.array([shifted_sphere(x) for x in X]))
    opt.ask()
    assert len(bridge_threads()) == 1
    opt.close()
    opt.close()  # twice is harmless
    assert bridge_threads() == []
    opt.start(3, np.random.default_rng(0))  # and it starts again
    opt.ask()
    opt.start(3, np.random.default_rng(1))  # start() ends the old thread
    opt.ask()
    assert len(bridge_threads()) == 1
    opt.close()


@pytest.mark.parametrize("name", ["dual_annealing", "differential_evolution",
                                  "basinhopping"])
def test_init_best_point_is_x0(name):
    x0 = np.array([0.1, 0.9, 0.3])
    init = Population(np.vstack([np.full(3, 0.5), x0]), np.array([2.0, 1.0]))
    opt = hl.make(name)
    opt.start(3, np.random.default_rng(0), init=init)
    assert any(np.allclose(x, x0) for x in opt.ask())
    opt.close()


@pytest.mark.parametrize("name", NAMES)
def test_failures_do_not_crash_the_run(name):
    def flaky(x):
        if x[0] > 2:
            raise ValueError("boom")
        if x[1] > 2:
            return float("nan")
        return shifted_sphere(x)

    r = hl.minimize(hl.Problem(flaky, hl.Space.box(3, -5, 5)), hl.make(name), budget=200,
                    seed=0)
    assert r.n_evals == 200 and np.isfinite(r.y)


def test_scipy_error_is_raised_in_the_main_thread():
    opt = DifferentialEvolution(options={"strategy": "no-such-strategy"})
    with pytest.raises(RuntimeError, match="differential_evolution failed"):
        hl.minimize(SPHERE, opt, budget=50, seed=0)


@pytest.mark.parametrize("spec", ["ga>>direct", "differential_evolution>>local",
                                  "dual_annealing|pso", "shgo|basinhopping"])
def test_inside_hybrids(spec):
    r = hl.minimize(RASTRIGIN, hl.make(spec), budget=300, seed=0)
    assert r.n_evals == 300
    assert set(r.history["phase"]) <= set(spec.replace(">>", "|").split("|"))


@pytest.mark.parametrize("make_bad, fix", [
    (lambda: DifferentialEvolution(popsize=0), "popsize must be an integer >= 1"),
    (lambda: DifferentialEvolution(options={"vectorized": False}), "set by the adapter"),
    (lambda: Direct(options={"maxfun": 10}), "leave them out of options"),
    (lambda: DualAnnealing(options=[1]), "options must be a dict"),
    (lambda: SHGO(n=0), "n must be an integer >= 1"),
    (lambda: BasinHopping(minimizer="BFGS"), "choose one of"),
    (lambda: BasinHopping(stepsize=2.0), "0 < stepsize <= 1"),
])
def test_bad_arguments_name_the_fix(make_bad, fix):
    with pytest.raises(ValueError, match=fix):
        make_bad()


def test_copies_carry_parameters_only():
    opt = BasinHopping(minimizer="COBYQA", stepsize=0.3)
    opt.start(3, np.random.default_rng(0))
    opt.ask()
    twin = copy.deepcopy(opt)
    opt.close()
    assert (twin.minimizer, twin.stepsize) == ("COBYQA", 0.3) and twin._bridge is None
    r = hl.minimize(SPHERE, twin, budget=100, seed=0)
    assert r.n_evals == 100


def test_global_numpy_state_untouched():
    np.random.seed(123)
    before = np.random.get_state()
    for n in NAMES:
        hl.minimize(RASTRIGIN, hl.make(n), budget=100, seed=0)
    after = np.random.get_state()
    assert np.array_equal(after[1], before[1]) and after[2:] == before[2:]


def test_bridge_gradient_is_one_batch():
    sent = []

    def body(ev):
        return ev.jac(np.array([0.2, 1.0]))

    bridge = Bridge(body, name="hybridlab-test")
    kind, X = bridge.receive()
    sent.append(X)
    bridge.send(X @ np.array([1.0, 2.0]))  # a linear function: gradient (1, 2)
    kind, grad = bridge.receive()
    assert kind == "done" and len(sent[0]) == 3 and np.allclose(grad, [1.0, 2.0])
    assert sent[0][2, 1] < 1.0  # the step turns back at the edge of the box
    assert not bridge.alive


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # NGOpt's
@pytest.mark.parametrize("name, module", [("ipop_cmaes", "cma"), ("ngopt", "nevergrad"),
                                          ("optuna_cmaes", "optuna")])
def test_the_other_peers_of_issue_17_are_named(name, module):
    pytest.importorskip(module)
    assert name in PEERS
    r = hl.minimize(SPHERE, hl.make(name), budget=60, seed=0)
    assert r.n_evals == 60
