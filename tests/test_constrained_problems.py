"""The constrained benchmark problems: known optima, constraint names, pickling, repairs.

The handlers that solve these problems are tested in ``test_constraints.py``.
"""

import doctest
import math
import pickle
import re
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from hybridlab import Problem, minimize
from hybridlab.benchmarks import (
    CONSTRAINED,
    G11,
    PRESSURE_VESSEL,
    ConstrainedBenchmark,
    g06,
    g06_repair,
    g08,
    g11,
    pressure_vessel,
    pressure_vessel_mixed_repair,
    pressure_vessel_repair,
    welded_beam,
)
from hybridlab.benchmarks import constrained as constrained_module
from hybridlab.constraints import EpsilonConstraint, FeasibilityRules, Penalty, Repair

KEYS = list(CONSTRAINED)

# |f(x_opt) - f_opt| / |f_opt|: f_opt is the literature's rounded value, so the tolerance is
# that rounding (measured gaps in brackets), not a numerical error.
F_REL_TOL = {
    "g06": 1e-12,                    # (2e-14)
    "g08": 1e-9,                     # f_opt has 10 digits (1.9e-10)
    "g11": 1e-12,                    # 0.75 for the exact equality (1.5e-16)
    "pressure_vessel": 1e-8,         # 5885.3328 vs 5885.332774 (4.5e-9)
    "pressure_vessel_mixed": 1e-10,  # (8e-12)
    "welded_beam": 5e-6,             # the literature's 6-digit x*: 1.7248557 (2.1e-6)
}

# Largest g(x_opt) allowed.  Where constraints are active at x* (g06, both pressure
# vessels) x_opt is exact but for float rounding, so a tiny slack: 1e-12 for g06's
# circles (measured -7e-15 and 0), 1e-9 for the vessel's volume constraint, whose terms
# are ~1.3e6 in^3 (measured -2.3e-10, one ulp, and 0).  No slack where none is needed:
# g08's optimum is interior, g11's exact equality is inside its tolerance band, and the
# welded beam's rounded literature point happens to be feasible (h = b exactly, the
# other six strictly).
G_SLACK = {"g06": 1e-12, "g08": 0.0, "g11": 0.0, "pressure_vessel": 1e-9,
           "pressure_vessel_mixed": 1e-9, "welded_beam": 0.0}


def user_value(bench):
    """x_opt as the objective receives it: an array for box spaces, a dict otherwise."""
    return dict(bench.x_opt) if isinstance(bench.x_opt, dict) else np.array(bench.x_opt)


def test_every_benchmark_is_listed_with_its_record():
    assert KEYS == ["g06", "g08", "g11", "pressure_vessel", "pressure_vessel_mixed",
                    "welded_beam"]
    assert set(F_REL_TOL) == set(G_SLACK) == set(KEYS)
    for make, bench in CONSTRAINED.values():
        assert isinstance(bench, ConstrainedBenchmark)
        p = make()
        assert isinstance(p, Problem) and p.name == bench.name
        assert isinstance(bench.f_opt, float) and bench.reference
        assert len(bench.x_opt) == p.space.dim
    with pytest.raises(AttributeError):
        G11.f_opt = 0.0  # frozen


@pytest.mark.parametrize("key", KEYS)
def test_objective_at_x_opt_is_f_opt(key):
    make, bench = CONSTRAINED[key]
    y = make().objective(user_value(bench))
    assert abs(y - bench.f_opt) / abs(bench.f_opt) <= F_REL_TOL[key], (key, y, bench.f_opt)


@pytest.mark.parametrize("key", KEYS)
def test_x_opt_is_feasible(key):
    make, bench = CONSTRAINED[key]
    p = make()
    x = user_value(bench)
    g = [float(c(x)) for c in p.constraints]
    assert max(g) <= G_SLACK[key], dict(zip(p.constraint_names, g, strict=True))
    ev = p.evaluate(x)
    assert ev.status == "ok" and max(ev.violations) <= G_SLACK[key]


def test_x_opt_lies_in_the_box():
    for key, (make, bench) in CONSTRAINED.items():
        p, x = make(), user_value(bench)
        for (name, dim), v in zip(p.space.dims.items(), x.values() if isinstance(x, dict)
                                  else x, strict=True):
            assert dim.low <= v <= dim.high, (key, name, v)


def test_g11_optimum_moves_with_the_equality_tolerance():
    # |x1 - x0^2| <= tol: best at x0^2 = 0.5 - tol, x1 = 0.5, f = 0.75 - tol
    for tol in (1e-4, 1e-2):
        p = g11(tol=tol)
        x = np.array([math.sqrt(0.5 - tol), 0.5])
        assert p.objective(x) == pytest.approx(0.75 - tol, abs=1e-12)
        assert p.constraints[0](x) <= 1e-12 and p.constraints[0].tol == tol
    assert g11(tol=0.0).constraints[0](np.array(G11.x_opt)) <= 1e-15


@pytest.mark.parametrize("key", KEYS)
def test_constraint_names_are_readable_and_unique(key):
    p = CONSTRAINED[key][0]()
    names = p.constraint_names
    assert len(set(names)) == len(names) == len(p.constraints)
    prefix = "pressure_vessel_" if key.startswith("pressure") else f"{key}_"
    for name in names:
        assert name.startswith(prefix) and not re.fullmatch(r"g\d+(_\d+)?", name), name


def test_constraint_names_spelled_out():
    assert g06().constraint_names == ["g06_outside_circle_1", "g06_inside_circle_2"]
    assert g08().constraint_names == ["g08_above_parabola", "g08_right_of_parabola"]
    assert g11().constraint_names == ["g11_on_parabola"]
    names = ["pressure_vessel_shell_thickness", "pressure_vessel_head_thickness",
             "pressure_vessel_volume", "pressure_vessel_length"]
    assert pressure_vessel().constraint_names == names
    assert pressure_vessel(mixed_integer=True).constraint_names == names
    assert welded_beam().constraint_names == [
        "welded_beam_shear_stress", "welded_beam_bending_stress",
        "welded_beam_weld_thinner_than_bar", "welded_beam_cost_limit",
        "welded_beam_min_weld", "welded_beam_deflection", "welded_beam_buckling"]


def test_result_violations_show_the_names():
    r = minimize(g08(FeasibilityRules()), "pso", budget=200, seed=0)
    assert list(r.violations) == ["g08_above_parabola", "g08_right_of_parabola"]


def sample(p, n, seed):
    rng = np.random.default_rng(seed)
    return p.space.decode_batch(rng.random((n, p.space.dim)))


HANDLERS = [None, Penalty(10.0, adaptive=True), FeasibilityRules(), EpsilonConstraint(),
            Repair(g06_repair)]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("handler", HANDLERS, ids=repr)
def test_problems_pickle(key, handler):
    p = CONSTRAINED[key][0](handler)
    q = pickle.loads(pickle.dumps(p))
    assert (q.name, q.constraint_names, repr(q.handler)) == \
        (p.name, p.constraint_names, repr(p.handler))
    values = sample(p, 20, 0)
    assert [q.evaluate(v)[::4] for v in values] == [p.evaluate(v)[::4] for v in values]


def test_problems_run_in_a_process_pool():
    values = {key: sample(make(), 8, 1) for key, (make, _) in CONSTRAINED.items()}
    with ProcessPoolExecutor(2) as pool:
        for key, (make, _) in CONSTRAINED.items():
            p = make()
            par = p.evaluate_many(values[key], executor=pool)
            ser = p.evaluate_many(values[key])
            assert par.status == ser.status and np.array_equal(par.y, ser.y), key
            assert np.array_equal(par.violations, ser.violations), key
        r = minimize(pressure_vessel(mixed_integer=True), "ga", budget=60, seed=0,
                     executor=pool)
    assert r.n_evals == 60


# -- repairs -----------------------------------------------------------------------------

def total_violation(p, x):
    return sum(max(0.0, float(g(x))) for g in p.constraints)


def test_g06_repair_never_increases_the_violation_and_keeps_feasible_points():
    # a partial repair: three rounds of alternating projections (see its docstring)
    p = g06()
    for x in sample(p, 2000, 2):
        fixed = g06_repair(x.copy())
        assert total_violation(p, fixed) <= total_violation(p, x) + 1e-12
        if total_violation(p, x) == 0:
            assert np.array_equal(fixed, x)
        assert 0 <= fixed[1] <= 100  # x0 may drop below 13: Repair clips it (next test)


def test_g06_repair_makes_points_right_of_the_crescent_feasible():
    # points in the band 3 <= x1 <= 7 project onto circle 2 outside circle 1 (up to
    # rounding: 1e-12)
    rng = np.random.default_rng(3)
    X = rng.uniform([13, 3], [100, 7], size=(2000, 2))
    p = g06()
    assert max(total_violation(p, g06_repair(x)) for x in X) <= 1e-12


def test_g06_repair_through_the_handler_stays_in_the_box():
    p = g06()
    X = np.random.default_rng(4).random((500, 2))
    X_eval, vals, _ = Repair(g06_repair).prepare(X, p.space.decode_batch(X), p.space)
    assert np.all((X_eval >= 0) & (X_eval <= 1))
    assert np.all(vals >= [13, 0]) and np.all(vals <= [100, 100])


R_MIN = PRESSURE_VESSEL.x_opt[2]  # below this radius no length <= 200 holds the volume


def test_pressure_vessel_repair_is_feasible_and_in_bounds_for_random_radii():
    p = pressure_vessel()
    lo, hi = np.array([0, 0, 10, 10.0]), np.array([99, 99, 200, 200.0])
    rng = np.random.default_rng(5)
    X = rng.uniform(lo, hi, size=(2000, 4))
    X[:, 2] = rng.uniform(R_MIN, 200, size=len(X))
    for x in X:
        before = x.copy()
        fixed = pressure_vessel_repair(x)
        assert np.array_equal(x, before)                    # a new array
        assert np.all(fixed >= lo) and np.all(fixed <= hi)
        assert max(float(g(fixed)) for g in p.constraints) <= 1e-9  # volume: rounding
        assert fixed[2] == x[2] and np.all(fixed >= x)      # only raises Ts, Th, L
    assert pressure_vessel_repair(np.array(PRESSURE_VESSEL.x_opt)) == \
        pytest.approx(PRESSURE_VESSEL.x_opt, rel=1e-15)     # the optimum is a fixed point


def test_pressure_vessel_repair_below_the_least_radius_needs_a_longer_vessel():
    # documented limit: thickness and volume hold, but L leaves the box (Repair clips it)
    p = pressure_vessel()
    fixed = pressure_vessel_repair(np.array([0.0, 0.0, 30.0, 100.0]))
    assert fixed[3] > 200
    assert max(float(g(fixed)) for g in p.constraints[:3]) <= 1e-9


def test_pressure_vessel_mixed_repair_is_feasible_and_in_bounds_for_random_radii():
    p = pressure_vessel(mixed_integer=True)
    rng = np.random.default_rng(6)
    for _ in range(2000):
        v = {"ts": int(rng.integers(1, 100)), "th": int(rng.integers(1, 100)),
             "r": float(rng.uniform(R_MIN, 200)), "length": float(rng.uniform(10, 200))}
        before = dict(v)
        fixed = pressure_vessel_mixed_repair(v)
        assert v == before                                  # a new dict
        assert max(float(g(fixed)) for g in p.constraints) <= 1e-9
        for name, dim in p.space.dims.items():
            assert dim.low <= fixed[name] <= dim.high, (name, fixed)
        assert isinstance(fixed["ts"], int) and isinstance(fixed["th"], int)
        # the thinnest plates that hold, unless the caller's were thicker already
        assert fixed["ts"] == max(v["ts"], math.ceil(0.0193 * v["r"] / 0.0625))
        assert fixed["th"] == max(v["th"], math.ceil(0.00954 * v["r"] / 0.0625))
        assert fixed["r"] == v["r"] and fixed["length"] >= v["length"]


def test_docstring_examples():
    result = doctest.testmod(constrained_module)
    assert result.attempted >= 10 and result.failed == 0
