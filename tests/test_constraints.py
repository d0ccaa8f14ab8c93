"""Constraint handlers: their fitness transforms, and known constrained optima.

The problems, their known optima and references are in
:mod:`hybridlab.benchmarks.constrained` (``gap = (y - f*) / |f*|``).  The comment on each
test gives the gaps measured over seeds 0-7 with the same budget and settings, so the
tolerance is not a lucky seed's.
"""

import itertools
import math
import pickle

import numpy as np
import pytest

from hybridlab import GA, PSO, Integer, LocalSearch, Problem, Real, Space, minimize
from hybridlab.benchmarks import constrained as bench
from hybridlab.benchmarks.constrained import (
    g06,
    g06_objective,
    g06_outside_circle_1,
    g06_repair,
    g08,
    g08_objective,
    g11,
    g11_on_parabola,
    pressure_vessel,
    pressure_vessel_cost,
    pressure_vessel_mixed_repair,
    pressure_vessel_repair,
    welded_beam,
    welded_beam_cost,
)
from hybridlab.constraints import (
    EpsilonConstraint,
    Equality,
    FeasibilityRules,
    Penalty,
    Repair,
    equality,
)

# -- problems (hybridlab.benchmarks.constrained) -------------------------------------------

G06, G08, G11, PV, PV_MIXED, WB = (b.f_opt for b in (
    bench.G06, bench.G08, bench.G11, bench.PRESSURE_VESSEL, bench.PRESSURE_VESSEL_MIXED,
    bench.WELDED_BEAM))


def assert_optimum(r, f_star, rel_tol, n_constraints):
    """Best point feasible (each constraint reported, all 0) and within ``rel_tol``."""
    assert r.feasible and r.violation == 0.0
    assert list(r.violations.values()) == [0.0] * n_constraints
    assert r.history["violation"].min() == 0.0
    gap = (r.y - f_star) / abs(f_star)
    assert abs(gap) <= rel_tol, f"{r.problem}: gap {gap:.3g} > {rel_tol:g} (y={r.y!r})"
    return gap


def test_known_optima_hold():
    assert g06_objective([14.095, 0.84296079]) == pytest.approx(G06, abs=1e-3)
    assert g08_objective([1.2279713, 4.2453733]) == pytest.approx(G08, rel=1e-8)
    assert pressure_vessel_cost([0.7781686, 0.3846492, 40.3196187, 200]) \
        == pytest.approx(PV, rel=1e-6)
    assert pressure_vessel(mixed_integer=True).objective(
        {"ts": 13, "th": 7, "r": 42.0984456, "length": 176.6365958}) \
        == pytest.approx(PV_MIXED, rel=1e-8)
    x = [0.205730, 3.470489, 9.036624, 0.205730]
    assert welded_beam_cost(x) == pytest.approx(WB, rel=1e-5)
    assert max(g(x) for g in welded_beam().constraints) < 1e-3 * 13600


# -- known optima, one handler at a time ---------------------------------------------------

def test_static_penalty_g08_pso():
    # seeds 0-7: every gap -1.9e-10 (f* is rounded at 1e-10)
    r = minimize(g08(Penalty()), PSO(), budget=5000, seed=0)
    assert_optimum(r, G08, 1e-6, 2)
    assert r.x == pytest.approx([1.2279713, 4.2453733], abs=1e-4)


def test_static_penalty_g06_nelder_mead():
    # seeds 0-7: gaps 2e-9 ... 1.05e-6 (seed 0; median 4e-8), except seed 2, where the
    # simplex stalls on the boundary at 8.9e-2
    r = minimize(g06(Penalty()), LocalSearch(method="Nelder-Mead"), budget=2000, seed=0)
    assert_optimum(r, G06, 1e-5, 2)
    assert r.x == pytest.approx([14.095, 0.84296], abs=1e-3)


def test_adaptive_penalty_rescues_too_small_weight_pressure_vessel():
    # weight 1 is far too small for a cost ~6000.  seeds 0-7, 20k evals, GA:
    # adaptive gaps 0.027-0.13 (seed 0: 0.054, median 0.039); static weight 1: 0.20-0.57
    # (seed 0: 0.30), more than twice the adaptive gap on every seed
    adaptive, static = Penalty(1.0, adaptive=True), Penalty(1.0)
    r = minimize(pressure_vessel(adaptive), GA(), budget=20_000, seed=0)
    gap = assert_optimum(r, PV, 0.15, 4)
    assert adaptive.weight > 1e3  # it grew (and reset() would restore 1.0)
    r_static = minimize(pressure_vessel(static), GA(), budget=20_000, seed=0)
    assert static.weight == 1.0
    assert not r_static.feasible or (r_static.y - PV) / PV > 2 * gap


def test_adaptive_penalty_welded_beam_pso():
    # seeds 0-7, 20k evals: gaps 1.4e-6 (seed 0), 1.7e-2, 4.9e-6, 9.1e-4, 1.6e-4, 2.6e-2,
    # 1.4e-3, 5.8e-5: the tolerance covers every seed
    pen = Penalty(1.0, adaptive=True)
    r = minimize(welded_beam(pen), PSO(), budget=20_000, seed=0)
    assert_optimum(r, WB, 3e-2, 7)
    assert pen.weight > 1.0


class SpyPSO(PSO):
    """A PSO that keeps the points it was told."""

    def start(self, *args, **kwargs):
        super().start(*args, **kwargs)
        self.told = []

    def tell(self, X, y):
        self.told.append(np.array(X))
        super().tell(X, y)


@pytest.mark.parametrize("lamarckian", [True, False])
def test_repair_projection_g06_lamarckian_vs_baldwinian(lamarckian):
    # seeds 0-7, 5k evals, PSO: Lamarckian gaps 1e-12 ... 1.7e-11; Baldwinian 6e-9 ... 0.48
    # (seed 0: 2.8e-4): particles that keep their own (infeasible) positions see plateaus
    # of f(repair(x)) and often stall
    opt = SpyPSO()
    p = g06(Repair(g06_repair, lamarckian=lamarckian))
    r = minimize(p, opt, budget=5000, seed=0)
    told = p.space.decode_batch(np.vstack(opt.told))
    evaluated = r.history[["x0", "x1"]].to_numpy()
    if lamarckian:
        assert_optimum(r, G06, 1e-9, 2)
        assert np.allclose(told, evaluated)  # the swarm moved to the repaired points
    else:
        assert_optimum(r, G06, 1e-3, 2)
        assert not np.allclose(told, evaluated)  # it kept its own points
        inside_c1 = [g06_outside_circle_1(x) > 0 for x in told]
        assert any(inside_c1)                # ... infeasible ones included
    assert np.all(r.history["x0"] >= 13)     # projecting into circle 2 can leave the box:
    #                                          the repaired point was clipped back


def test_repair_pressure_vessel_continuous_ga_baldwinian():
    # seeds 0-7, 5k evals: gaps 4e-8 ... 6.7e-5 (seed 0: 3.1e-5)
    r = minimize(pressure_vessel(Repair(pressure_vessel_repair, lamarckian=False)), GA(),
                 budget=5000, seed=0)
    assert_optimum(r, PV, 2e-4, 4)
    assert r.x == pytest.approx([0.7781686, 0.3846492, 40.3196187, 200], rel=1e-3)


def test_repair_pressure_vessel_continuous_ga_lamarckian():
    # The GA adopts the projected points: the population collapses onto the boundary and
    # the GA ends further from f* than the Baldwinian run above.  Seeds 0-7, 5k evals:
    # gaps 3.8e-5 ... 1.5e-3 (seed 0: 2.0e-4)
    r = minimize(pressure_vessel(Repair(pressure_vessel_repair)), GA(), budget=5000, seed=0)
    assert_optimum(r, PV, 2e-3, 4)


def test_repair_pressure_vessel_mixed_integer_dict_space():
    # Baldwinian (the GA keeps its genotypes; Lamarckian write-back collapses diversity
    # here too: seeds 0-7 gave 2.5e-5 ... 9.6e-3).  Seeds 0-7, 5k evals: gaps 4.6e-7 ...
    # 1.8e-4 (seed 0: 2.7e-6)
    r = minimize(pressure_vessel(Repair(pressure_vessel_mixed_repair, lamarckian=False),
                                 mixed_integer=True), GA(), budget=5000, seed=0)
    assert_optimum(r, PV_MIXED, 5e-4, 4)
    assert (r.x["ts"], r.x["th"]) == (13, 7)  # 0.8125 and 0.4375 inches
    assert r.x["r"] == pytest.approx(42.0984456, rel=1e-3)


def test_feasibility_rules_g06_ga():
    # seeds 0-7, 20k evals: gaps 2.4e-3 ... 1.4e-2 (seed 0: 2.8e-3); the GA's precision, not
    # the rules, limits it (Nelder-Mead with the same rules reaches 1e-8)
    r = minimize(g06(FeasibilityRules()), GA(), budget=20_000, seed=0)
    assert_optimum(r, G06, 2e-2, 2)


def test_feasibility_rules_g08_pso():
    # seeds 0-7, 5k evals: every gap -1.9e-10
    r = minimize(g08(FeasibilityRules()), PSO(), budget=5000, seed=0)
    assert_optimum(r, G08, 1e-6, 2)


def test_epsilon_constraint_g11_equality_beats_static_penalty():
    # seeds 0-7, 20k evals, GA: |gap| 5e-5 ... 2.1e-3 for 7 seeds (seed 0: 5.1e-5, median
    # 6e-5), seed 5 3e-2.  Static Penalty() on the same seeds: 0.016-0.22 (seed 0: 0.22);
    # it is worse than the ε-constraint on 7 of 8 seeds
    eps = EpsilonConstraint()
    r = minimize(g11(eps), GA(), budget=20_000, seed=0)
    gap = assert_optimum(r, G11, 5e-3, 1)
    assert abs(abs(r.x[0]) - 1 / math.sqrt(2)) < 1e-2 and abs(r.x[1] - 0.5) < 1e-2
    assert eps.epsilon == 0.0  # the run ended under exact rules
    r_pen = minimize(g11(Penalty()), GA(), budget=20_000, seed=0)
    assert abs(r_pen.y - G11) / G11 > abs(gap)


# -- fitness transforms --------------------------------------------------------------------

Y = np.array([3.0, 1.0, 0.0, -5.0, 2.0])
VIOL = np.array([0.0, 0.0, 2.0, 1.0, 0.0])
OK = np.array([True, True, True, True, False])


@pytest.mark.parametrize("handler", [Penalty(1e6), Penalty(1e6, adaptive=True),
                                     Repair(lambda x: x), FeasibilityRules(),
                                     EpsilonConstraint(0.0)], ids=repr)
def test_transform_orders_feasible_first_then_by_violation(handler):
    handler.reset(100)
    fit = handler.fitness(Y, VIOL, OK)
    assert fit[4] == np.inf                          # failed: +inf
    assert fit[1] < fit[0] < fit[3] < fit[2]         # feasible by y, then by violation
    assert fit[0] == 3.0 and fit[1] == 1.0           # feasible points keep their value


def test_feasibility_rules_rank_infeasible_after_every_feasible_seen():
    h = FeasibilityRules()
    h.reset(10)
    h.fitness(np.array([10.0, 50.0]), np.array([0.0, 3.0]), np.ones(2, bool))
    fit = h.fitness(np.array([-100.0, 1.0]), np.array([1e-9, 0.0]), np.ones(2, bool))
    assert fit[0] > 50.0 > 10.0 > fit[1] == 1.0       # base: largest y seen so far
    h.reset(10)
    assert h.base == -math.inf


def test_static_penalty_value():
    fit = Penalty(10.0).fitness(np.array([1.0, 1.0]), np.array([0.0, 0.5]), np.ones(2, bool))
    assert fit.tolist() == [1.0, 6.0]


def test_adaptive_weight_moves_in_the_right_direction_and_resets():
    pen = Penalty(10.0, adaptive=True, k=3, beta1=2.0, beta2=4.0)
    pen.reset(1000)
    ones = np.ones(2, bool)
    infeasible_best = (np.array([0.0, 1e6]), np.array([1.0, 0.0]), ones)
    feasible_best = (np.array([5.0, 0.0]), np.array([0.0, 1.0]), ones)
    pen.fitness(*infeasible_best)
    pen.fitness(*infeasible_best)
    assert pen.weight == 10.0                    # not yet k batches
    pen.fitness(*infeasible_best)
    assert pen.weight == 20.0                    # k infeasible bests: up by beta1
    for _ in range(2):
        pen.fitness(*infeasible_best)
    pen.fitness(*feasible_best)
    assert pen.weight == 20.0                    # mixed window: unchanged
    for _ in range(3):
        pen.fitness(*feasible_best)
    assert pen.weight == 5.0                     # k feasible bests: down by beta2
    pen.reset(1000)
    assert pen.weight == 10.0
    static = Penalty(10.0)
    for _ in range(10):
        static.fitness(*infeasible_best)
    assert static.weight == 10.0


def test_adaptive_weight_is_bounded():
    pen = Penalty(1.0, adaptive=True, k=1)
    pen.reset(10)
    for _ in range(200):
        pen.fitness(np.array([0.0]), np.array([1.0]), np.ones(1, bool))
    assert pen.weight == 1e6


def test_epsilon_shrinks_to_zero_at_the_given_fraction():
    h = EpsilonConstraint(eps0=2.0, decay=2.0, until=0.5)
    h.reset(budget=100)
    eps = []
    for _ in range(10):
        eps.append(h.epsilon)
        h.fitness(np.zeros(10), np.zeros(10), np.ones(10, bool))
    assert eps[0] == 2.0
    assert all(a > b for a, b in itertools.pairwise(eps[:6]))  # strictly down to 0
    assert eps[1] == pytest.approx(2.0 * (1 - 0.1 / 0.5) ** 2)
    assert eps[5:] == [0.0] * 5                  # from 50 of 100 evaluations on
    h.reset(budget=100)
    assert h.epsilon == 2.0 and h.n_seen == 0


def test_epsilon_relaxes_then_tightens():
    h = EpsilonConstraint(eps0=1.0, decay=1.0, until=0.5)
    h.reset(budget=4)
    y, v, ok = np.array([0.0, 1.0]), np.array([0.5, 0.0]), np.ones(2, bool)
    assert np.argmin(h.fitness(y, v, ok)) == 0  # ε = 1: violation 0.5 counts as feasible
    assert np.argmin(h.fitness(y, v, ok)) == 1  # half the budget used, ε = 0: no longer
    assert h.epsilon == 0.0


def test_epsilon_auto_takes_eps0_from_first_batch():
    h = EpsilonConstraint(eps0=None)
    h.reset(1000)
    viol = np.linspace(0.0, 10.0, 11)
    h.fitness(np.zeros(11), viol, np.ones(11, bool))
    assert h.epsilon == pytest.approx(2.0 * (1 - 0.011 / 0.5) ** 2)  # 2.0: 20 % quantile
    h.reset(1000)
    assert h.epsilon == math.inf                 # until the next run's first batch


def test_equality_tolerance_and_pickle():
    g = equality(g11_on_parabola, tol=1e-3)
    assert isinstance(g, Equality)
    assert g([0.0, 0.0005]) <= 0 and g([0.0, -0.0005]) <= 0
    assert g([0.0, 0.002]) > 0 and g([0.0, -0.002]) == pytest.approx(1e-3)
    assert pickle.loads(pickle.dumps(g))([0.0, 0.5]) == pytest.approx(0.499)
    assert "g11_on_parabola" in repr(g) and "tol=0.001" in repr(g)
    r = minimize(Problem(lambda x: float(x[0]), Space.box(1, 0, 1),
                         constraints=[equality(lambda x: x[0] - 0.3, tol=1e-3)],
                         handler=FeasibilityRules()), "pso", budget=500, seed=0)
    assert r.feasible and list(r.violations.values()) == [0.0]
    assert 0.299 <= r.x[0] < 0.2995  # inside the band |x - 0.3| <= 1e-3, near its low end


def test_repair_clips_into_bounds_and_rounds_integers():
    space = Space({"k": Integer(0, 5), "x": Real(0.0, 1.0)})
    rep = Repair(lambda v: {"k": v["k"] + 2.6, "x": v["x"] + 10})
    X = space.encode_batch([{"k": 1, "x": 0.5}, {"k": 4, "x": 0.0}])
    X_eval, vals, X_tell = rep.prepare(X, space.decode_batch(X), space)
    assert vals == [{"k": 4, "x": 1.0}, {"k": 5, "x": 1.0}]
    assert isinstance(vals[0]["k"], int)
    assert np.array_equal(X_tell, X_eval) and np.allclose(space.decode_batch(X_eval)[0]["x"], 1)
    box = Space.box(2, 0, 1)
    X = np.array([[0.2, 0.9]])
    X_eval, vals, X_tell = Repair(lambda x: x * 2, lamarckian=False).prepare(
        X, box.decode_batch(X), box)
    assert vals.tolist() == [[0.4, 1.0]] and np.array_equal(X_tell, X)


def test_repair_that_breaks_the_value_says_so():
    box = Space.box(2, 0, 1)
    with pytest.raises(ValueError, match="Repair fn"):
        Repair(lambda x: x[:1]).prepare(np.zeros((1, 2)), box.decode_batch(np.zeros((1, 2))),
                                        box)


# -- no feasible point -----------------------------------------------------------------------

def at_least_08(x):
    return 0.8 - x[0]


def at_most_02(x):
    return 2 * (x[0] - 0.2)


@pytest.mark.parametrize("handler", [Penalty(), Penalty(adaptive=True), Repair(lambda x: x),
                                     FeasibilityRules(), EpsilonConstraint()], ids=repr)
def test_no_feasible_point_reports_least_violation(handler):
    # total violation 0.8 - x + max(0, 2 (x - 0.2)): least 0.6 at x = 0.2, all of it from g1
    p = Problem(lambda x: float(-x[0]), Space.box(1, 0, 1),
                constraints=[at_least_08, at_most_02], handler=handler)
    r = minimize(p, "pso", budget=300, seed=0)
    assert not r.feasible
    assert r.violation == pytest.approx(0.6, abs=1e-3)
    assert list(r.violations.values()) == pytest.approx([0.6, 0.0], abs=1e-3)  # which failed
    assert r.x[0] == pytest.approx(0.2, abs=1e-3)


# -- arguments and repr ----------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: Penalty(0), "weight must be a finite number > 0"),
    (lambda: Penalty(float("nan")), "weight"),
    (lambda: Penalty(1.0, adaptive=True, k=0), "k must be an integer >= 1"),
    (lambda: Penalty(1.0, beta1=0.5), "beta1 must be a finite number > 1"),
    (lambda: Penalty(1.0, beta1=2.0, beta2=2.0), "must differ"),
    (lambda: Repair("round"), "callable"),
    (lambda: Repair(round, weight=-1), "Repair weight must be a finite number > 0"),
    (lambda: EpsilonConstraint(-1.0), "eps0 must be a finite number >= 0"),
    (lambda: EpsilonConstraint(1.0, decay=0), "decay must be a finite number > 0"),
    (lambda: EpsilonConstraint(1.0, until=1.5), "until is a fraction"),
    (lambda: equality(3), "callable"),
    (lambda: equality(abs, tol=-1e-3), "tol must be a finite number >= 0"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_reprs():
    assert repr(Penalty(100)) == "Penalty(weight=100)"
    assert repr(Penalty(100, adaptive=True, k=3)) == \
        "Penalty(weight=100, adaptive=True, k=3, beta1=2, beta2=1.5)"
    assert repr(Repair(g06_repair, lamarckian=False)) == \
        "Repair(g06_repair, lamarckian=False, weight=1e+06)"
    assert repr(FeasibilityRules()) == "FeasibilityRules()"
    assert repr(EpsilonConstraint(0.5)) == "EpsilonConstraint(eps0=0.5, decay=2, until=0.5)"
