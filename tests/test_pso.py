"""PSO: a PySwarms-backend particle swarm stepped by ask/tell."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hybridlab import PSO, Population, Problem, Space, minimize
from hybridlab.schedules import Linear


def sphere(x: np.ndarray) -> float:
    return float(np.sum(x**2))


def sphere_problem(dim: int = 5) -> Problem:
    return Problem(sphere, Space.box(dim, -5, 5))


def test_converges_on_sphere() -> None:
    r = minimize(sphere_problem(5), PSO(), budget=3000, seed=0)
    assert r.n_evals == 3000
    assert r.y < 1e-3
    assert set(r.history["phase"]) == {"pso"}


def test_ring_topology_converges() -> None:
    r = minimize(sphere_problem(5), PSO(topology="ring", k=4, p=1), budget=3000, seed=0)
    assert r.y < 1e-2


@pytest.mark.parametrize("strategy", ["intermediate", "nearest", "periodic", "random",
                                      "reflective", "shrink"])
def test_every_bounds_strategy_stays_in_the_box(strategy: str) -> None:
    opt = PSO(n_particles=8, bounds_strategy=strategy, velocity_clamp=None, w=1.2)
    opt.start(3, np.random.default_rng(0))
    for _ in range(20):
        X = opt.ask()
        assert X.shape == (8, 3)
        assert np.all((X >= 0) & (X <= 1))
        opt.tell(X, np.sum((X - 1.0) ** 2, axis=1))  # optimum in a corner


def test_exact_budget_with_trimmed_last_batch() -> None:
    r = minimize(sphere_problem(3), PSO(n_particles=30), budget=1001, seed=3)
    assert r.n_evals == 1001 == len(r.history)


def test_partial_tell_updates_only_told_particles() -> None:
    opt = PSO(n_particles=10)
    opt.start(2, np.random.default_rng(1))
    X = opt.ask()
    opt.tell(X[:4], np.arange(4.0))
    assert np.array_equal(opt._swarm.pbest_cost[:4], np.arange(4.0))
    assert np.all(np.isinf(opt._swarm.pbest_cost[4:]))
    assert opt.ask().shape == (10, 2)


def test_same_seed_same_result_and_other_seed_differs() -> None:
    a = minimize(sphere_problem(4), PSO(topology="ring"), budget=400, seed=7)
    b = minimize(sphere_problem(4), PSO(topology="ring"), budget=400, seed=7)
    c = minimize(sphere_problem(4), PSO(topology="ring"), budget=400, seed=8)
    assert a.matches(b)
    assert not a.matches(c)


def test_caller_np_random_state_untouched() -> None:
    np.random.seed(12345)
    before = np.random.get_state()
    minimize(sphere_problem(3), PSO(bounds_strategy="random"), budget=300, seed=0)
    after = np.random.get_state()
    assert before[0] == after[0] and before[2:] == after[2:]
    assert np.array_equal(before[1], after[1])


def test_no_logging_side_effects(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    minimize(sphere_problem(2), PSO(topology="ring"), budget=60, seed=0)
    assert root.handlers == handlers and root.level == level
    assert not (tmp_path / "report.log").exists()


def test_init_population_gives_the_first_particles() -> None:
    rng = np.random.default_rng(0)
    X0 = rng.random((5, 3))
    y0 = np.array([4.0, 0.0, 3.0, 1.0, 2.0])
    opt = PSO(n_particles=4)
    opt.start(3, np.random.default_rng(1), init=Population(X0, y0))
    X = opt.ask()
    assert X.shape == (4, 3)
    assert np.array_equal(X, X0[[1, 3, 4, 2]])  # the best 4, best first
    small = PSO(n_particles=6)
    small.start(3, np.random.default_rng(1), init=Population(X0[:2], y0[:2]))
    X = small.ask()
    assert np.array_equal(X[:2], X0[[1, 0]]) and X.shape == (6, 3)


def test_failing_objective_does_not_crash() -> None:
    def flaky(x: np.ndarray) -> float:
        if x[0] > 1.0:
            raise RuntimeError("simulated failure")
        return sphere(x)

    r = minimize(Problem(flaky, Space.box(3, -5, 5)), PSO(), budget=600, seed=0)
    assert r.n_evals == 600 and r.n_failed > 0
    assert np.isfinite(r.y) and r.x[0] <= 1.0


def test_always_failing_objective_does_not_crash() -> None:
    def broken(x: np.ndarray) -> float:
        raise ValueError("nope")

    for topology in ("star", "ring"):
        r = minimize(Problem(broken, Space.box(2, 0, 1)), PSO(n_particles=5, topology=topology),
                     budget=40, seed=0)
        assert r.n_evals == 40 and r.n_failed == 40 and r.y == np.inf


def test_inf_and_nan_costs_never_become_best() -> None:
    opt = PSO(n_particles=4)
    opt.start(2, np.random.default_rng(0))
    X = opt.ask()
    opt.tell(X, np.array([np.inf, np.nan, 2.0, np.inf]))
    assert opt._swarm.best_cost == 2.0
    assert np.array_equal(opt._swarm.best_pos, X[2])


def test_stop_when_swarm_collapses() -> None:
    opt = PSO(n_particles=6)
    assert opt.stop() is False
    r = minimize(sphere_problem(2), PSO(n_particles=6), budget=50_000, seed=1)
    assert r.stopped == "converged" and r.n_evals < 50_000


@pytest.mark.parametrize("kwargs", [
    {"n_particles": 1}, {"n_particles": 2.5}, {"n_particles": True},
    {"topology": "wheel"},
    {"topology": "ring", "n_particles": 5, "k": 5}, {"topology": "ring", "k": 0},
    {"topology": "ring", "p": 0.5},
    {"w": "fast"}, {"c1": -1.0}, {"c2": float("nan")},
    {"bounds_strategy": "bounce"},
    {"velocity_clamp": 0.0}, {"velocity_clamp": -1},
])
def test_bad_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PSO(**kwargs)


def test_parameters_are_stored_unchanged() -> None:
    def sched(t: float) -> float:
        return 0.9 - 0.5 * t

    opt = PSO(n_particles=12, topology="ring", w=sched, k=2, velocity_clamp=None)
    assert opt.w is sched and opt.n_particles == 12 and opt.velocity_clamp is None
    assert opt.k == 2 and opt.topology == "ring"


def test_w_schedule_is_called_with_progress() -> None:
    seen: list[float] = []

    def w(progress: float) -> float:
        seen.append(progress)
        return 0.9 - 0.5 * progress

    minimize(sphere_problem(2), PSO(n_particles=10, w=w), budget=200, seed=0)
    assert len(seen) >= 18
    assert seen == sorted(seen) and 0.0 <= seen[0] and seen[-1] <= 1.0 and seen[-1] > 0.8


def test_constant_schedule_equals_constant() -> None:
    a = minimize(sphere_problem(3), PSO(w=0.6, c1=lambda t: 1.5), budget=300, seed=4)
    b = minimize(sphere_problem(3), PSO(w=lambda t: 0.6, c1=1.5), budget=300, seed=4)
    assert a.matches(b)


# --- inertia decay (Shi & Eberhart) ----------------------------------------------------

def test_linear_inertia_decay_is_used_at_every_step() -> None:
    w = Linear(0.9, 0.4)
    opt = PSO(n_particles=10, w=w, c1=2.0, c2=2.0)
    opt.start(3, np.random.default_rng(0), budget=200)
    used = []
    for _ in range(20):
        X = opt.ask()
        used.append((opt.n_told, opt._swarm.options["w"]))
        opt.tell(X, np.sum((X - 0.5) ** 2, axis=1))
    assert used[1] == (10, pytest.approx(0.9 - 0.5 * 10 / 200))
    assert all(v == pytest.approx(w(n / 200)) for n, v in used[1:])
    ws = [v for _, v in used[1:]]
    assert ws == sorted(ws, reverse=True) and ws[0] < 0.9 and ws[-1] == pytest.approx(0.425)
    assert opt._swarm.options["c1"] == 2.0 == opt._swarm.options["c2"]


def test_linear_inertia_decay_converges_and_repeats() -> None:
    kw = {"w": Linear(0.9, 0.4), "c1": 2.0, "c2": 2.0}
    a = minimize(sphere_problem(5), PSO(**kw), budget=3000, seed=0)
    b = minimize(sphere_problem(5), PSO(**kw), budget=3000, seed=0)
    assert a.matches(b) and a.n_evals == 3000
    assert a.y < 1e-3


def test_negative_coefficient_schedule_is_rejected() -> None:
    with pytest.raises(ValueError, match="c1 schedule must stay >= 0"):
        PSO(c1=Linear(2.0, -0.5))
    PSO(w=Linear(0.9, -0.1))  # a negative inertia is allowed, as for numbers


# --- inject ------------------------------------------------------------------------------

def told_pso(n: int = 6, topology: str = "star") -> tuple[PSO, np.ndarray]:
    opt = PSO(n_particles=n, topology=topology, k=2)
    opt.start(2, np.random.default_rng(0), budget=1000)
    X = opt.ask()
    opt.tell(X, 10.0 + np.arange(n))  # particle i has personal best 10 + i
    return opt, X


@pytest.mark.parametrize("topology", ["star", "ring"])
def test_inject_replaces_the_worst_particles(topology: str) -> None:
    opt, X = told_pso(topology=topology)
    s = opt._swarm
    V = s.velocity.copy()
    Xi = np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]])
    opt.inject(Xi, np.array([12.5, 1.0, 99.0]))  # 1.0 beats all; 12.5 beats 13..15; 99 none
    assert s.n_particles == 6 and opt.n_told == 6
    np.testing.assert_array_equal(s.pbest_cost, [10, 11, 12, 13, 12.5, 1.0])
    np.testing.assert_array_equal(s.pbest_pos[5], Xi[1])  # best point -> worst particle
    np.testing.assert_array_equal(s.pbest_pos[4], Xi[0])
    np.testing.assert_array_equal(s.pbest_pos[:4], X[:4])  # the best particles kept
    np.testing.assert_array_equal(s.position[4:], Xi[[0, 1]])  # they move there
    np.testing.assert_array_equal(s.velocity, V)
    assert s.best_cost == 1.0
    if topology == "star":
        np.testing.assert_array_equal(s.best_pos, Xi[1])
    assert opt.ask().shape == (6, 2)


def test_inject_keeps_swarm_best_when_worse() -> None:
    opt, X = told_pso()
    s = opt._swarm
    opt.inject(np.array([[0.4, 0.4]]), np.array([14.5]))
    assert s.pbest_cost[5] == 14.5 and s.best_cost == 10.0
    np.testing.assert_array_equal(s.best_pos, X[0])


def test_inject_more_points_than_particles_keeps_the_best() -> None:
    opt, _ = told_pso(n=4)
    Xi = np.random.default_rng(3).random((9, 2))
    yi = np.arange(9.0)[::-1]  # 8, 7, ..., 0
    opt.inject(Xi, yi)
    s = opt._swarm
    assert sorted(s.pbest_cost) == [0.0, 1.0, 2.0, 3.0] and s.n_particles == 4
    assert s.best_cost == 0.0 and opt.n_told == 4
    assert len(opt.population) == 4 + 9


def test_inject_ignores_empty_non_finite_and_rescores_copies() -> None:
    opt, X = told_pso()
    s = opt._swarm
    before = s.pbest_cost.copy()
    opt.inject(np.empty((0, 2)), np.empty(0))
    opt.inject(np.array([[0.3, 0.3], [0.4, 0.4]]), np.array([np.nan, np.inf]))
    np.testing.assert_array_equal(s.pbest_cost, before)
    opt.inject(X[[3, 3]], np.array([0.5, 0.5]))  # a copy of particle 3's best, twice
    np.testing.assert_array_equal(s.pbest_cost, [10, 11, 12, 0.5, 14, 15])
    assert s.best_cost == 0.5


def test_inject_before_the_first_tell_sets_memory_not_positions() -> None:
    opt = PSO(n_particles=5)
    opt.start(2, np.random.default_rng(0), budget=100)
    Xi = np.array([[0.5, 0.5], [0.25, 0.75]])
    opt.inject(Xi, np.array([2.0, 1.0]))
    s = opt._swarm
    np.testing.assert_array_equal(s.pbest_cost, [np.inf, np.inf, np.inf, 2.0, 1.0])
    assert s.best_cost == 1.0
    X = opt.ask()  # the initial points are still evaluated, none of the injected
    assert not any((X == x).all(axis=1).any() for x in Xi)
    opt.tell(X, np.array([5.0, 0.5, 5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(s.pbest_cost, [5.0, 0.5, 5.0, 2.0, 1.0])
    assert s.best_cost == 0.5 and opt.n_told == 5


class MigrantPSO(PSO):
    """Receives a fixed migrant after every tell, as an island would."""

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        self.inject(np.full((1, self.dim), 0.5), np.zeros(1))  # the optimum of the sphere


def test_runs_with_injection_keep_exact_budget_and_determinism() -> None:
    a = minimize(sphere_problem(4), MigrantPSO(n_particles=12), budget=301, seed=2)
    b = minimize(sphere_problem(4), MigrantPSO(n_particles=12), budget=301, seed=2)
    assert a.n_evals == 301 == len(a.history) and a.matches(b)
    opt = MigrantPSO(n_particles=12)
    minimize(sphere_problem(4), opt, budget=301, seed=2)
    assert opt.n_told == 301 and opt._swarm.n_particles == 12
    assert opt._swarm.best_cost == 0.0
    assert a.y < minimize(sphere_problem(4), PSO(n_particles=12), budget=301, seed=2).y


def test_docstring_examples() -> None:
    import doctest

    import hybridlab.optimizers.pso as pso_module

    result = doctest.testmod(pso_module)
    assert result.attempted >= 5 and result.failed == 0


# --- the lean loop: the velocity update without the global-state swap --------------------
def shifted_sphere(x: np.ndarray) -> float:
    return float(np.sum((x - 0.3) ** 2))


@pytest.mark.parametrize(("kwargs", "pinned"), [
    ({}, 0.00792724224366846),
    ({"topology": "ring", "bounds_strategy": "random"}, 0.004192892679361235),
    ({"w": Linear(0.9, 0.4)}, 0.000111535357897219),
])
def test_runs_are_those_of_pyswarms_operators(kwargs: dict, pinned: float) -> None:
    # pinned with PySwarms' compute_velocity under the swapped global state (before the
    # velocity update was written out): the same seeded runs
    p = Problem(shifted_sphere, Space.box(4, -5.12, 5.12))
    assert minimize(p, PSO(n_particles=15, **kwargs), budget=457, seed=7).y == pinned


@pytest.mark.parametrize("clamp", [0.5, None])
def test_velocity_equals_pyswarms_compute_velocity(clamp: float | None) -> None:
    from pyswarms.backend.operators import compute_velocity

    from hybridlab.optimizers.rng import private_rng

    opt = PSO(n_particles=12, velocity_clamp=clamp)
    opt.start(4, np.random.default_rng(0))
    X = opt.ask()
    opt.tell(X, np.sum(X**2, axis=1))
    s = opt._swarm
    s.velocity = 3.0 * np.random.default_rng(1).standard_normal(s.position.shape)
    twin = np.random.RandomState(5)
    opt._state.seed(5)
    with private_rng(twin):
        ref = compute_velocity(s, opt._clamp, opt._vh, opt._bounds)
    np.testing.assert_array_equal(opt._velocity(s), ref)


def test_random_bounds_leave_the_callers_state_untouched_and_repeat() -> None:
    p = Problem(shifted_sphere, Space.box(3, -5, 5))
    np.random.seed(11)
    before = np.random.get_state()
    a = minimize(p, PSO(n_particles=10, bounds_strategy="random"), budget=300, seed=2)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    b = minimize(p, PSO(n_particles=10, bounds_strategy="random"), budget=300, seed=2)
    assert a.y == b.y


def test_same_result_with_a_process_pool() -> None:
    from concurrent.futures import ProcessPoolExecutor

    p = Problem(shifted_sphere, Space.box(3, -5, 5))
    serial = minimize(p, PSO(n_particles=8), budget=80, seed=3)
    with ProcessPoolExecutor(2) as ex:
        pooled = minimize(p, PSO(n_particles=8), budget=80, seed=3, executor=ex)
    np.testing.assert_array_equal(serial.history["y"], pooled.history["y"])
