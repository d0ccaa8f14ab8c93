"""Matheuristic (outer optimizer over discrete coordinates + an exact completion of the
continuous ones) and the capacitated facility location benchmark it is measured on."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import hybridlab as hl
from hybridlab.benchmarks import FacilityInstance, facility_instance, facility_suite
from hybridlab.hybrid import Matheuristic
from hybridlab.hybrid.matheuristic import FALLBACK


@pytest.fixture(scope="module")
def small() -> FacilityInstance:
    return facility_instance(0, n_facilities=6, n_customers=12)


def _fresh(inst: FacilityInstance) -> FacilityInstance:
    """A copy with an empty completion cache (so runs do not share solved LPs)."""
    return pickle.loads(pickle.dumps(inst))


class Recording(hl.RandomSearch):
    """Random search that keeps every value it is told."""

    def start(self, dim, rng, init=None, budget=None):
        super().start(dim, rng, init, budget)
        self.told_X: list[np.ndarray] = []
        self.told_y: list[np.ndarray] = []

    def tell(self, X, y):
        super().tell(X, y)
        self.told_X.append(np.array(X))
        self.told_y.append(np.array(y))


# -- toy problem: coordinate 2 picks a branch, coordinate 0 is chosen, 1 is solved --------

def _toy(x: np.ndarray) -> float:
    target = 0.8 if x[2] >= 0.5 else 0.3
    return float((x[2] >= 0.5) * 0.1 + (x[1] - target) ** 2 + (x[0] - 0.5) ** 2)


def _solve(z: np.ndarray) -> np.ndarray:  # discrete = [2, 0]: z = (x2, x0)
    return np.array([0.8 if z[0] >= 0.5 else 0.3])


TOY = hl.Problem(_toy, hl.Space.box(3, 0, 1), name="toy")


def test_full_points_are_assembled_in_index_order():
    mh = Matheuristic(Recording(batch_size=7), _solve, [2, 0])
    r = hl.minimize(TOY, mh, budget=21, seed=0)
    X = np.vstack([r.history[f"x{i}"] for i in range(3)]).T
    told = np.vstack(mh.children[0].told_X)
    np.testing.assert_array_equal(told, X[:, [2, 0]])  # the outer sees (x2, x0)
    np.testing.assert_array_equal(X[:, 1], np.where(X[:, 2] >= 0.5, 0.8, 0.3))
    assert mh.name == "matheuristic(random)" and set(r.history["phase"]) == {"random"}
    assert mh.complete_seconds > 0 and mh.failures == 0


def test_finds_the_milp_optimum_on_a_small_instance(small):
    inst = _fresh(small)
    r = hl.minimize(inst.problem(), inst.matheuristic(hl.GA(pop_size=30, eta_mut=2.0)),
                    budget=150, seed=0)
    assert r.n_evals == 150
    assert inst.gap(r.y) <= 1e-6 * inst.f_opt
    np.testing.assert_array_equal(r.x_unit[:6] >= 0.5, inst.open_opt)


@pytest.mark.parametrize("budget", [1, 37, 101])
def test_evaluations_equal_the_budget(small, budget):
    inst = _fresh(small)
    r = hl.minimize(inst.problem(), inst.matheuristic(hl.GA(pop_size=20)), budget=budget,
                    seed=1)
    assert r.n_evals == budget == len(r.history)


def test_same_seed_same_result(small):
    runs = [hl.minimize(_fresh(small).problem(), _fresh(small).matheuristic(
        hl.GA(pop_size=10)), budget=60, seed=s) for s in (3, 3, 4)]
    assert runs[0].matches(runs[1])
    assert not runs[0].matches(runs[2])


@pytest.mark.parametrize("mode", ["raise", "nan"])
def test_failed_completion_is_a_failure_not_a_crash(mode):
    def flaky(z):
        if z[0] >= 0.5:
            if mode == "raise":
                raise RuntimeError("solver exploded")
            return np.array([np.nan])
        return np.array([0.3])

    mh = Matheuristic(Recording(batch_size=8), flaky, [2, 0])
    with pytest.warns(RuntimeWarning, match="complete failed"):
        r = hl.minimize(TOY, mh, budget=40, seed=0)
    assert r.n_evals == 40 and (r.history["status"] == "ok").all()
    X = np.vstack([r.history[f"x{i}"] for i in range(3)]).T
    bad = X[:, 2] >= 0.5
    assert bad.any() and (~bad).any() and mh.failures == bad.sum()
    np.testing.assert_array_equal(X[bad, 1], FALLBACK)  # evaluated at the fallback
    assert ("RuntimeError" if mode == "raise" else "NaN") in mh.last_error
    # the outer is told the worst successful value so far for each failed candidate
    told = np.concatenate(mh.children[0].told_y)
    y = r.history["y"].to_numpy()
    for start in range(0, 40, 8):  # one batch: failures get the batch's running worst
        rows = slice(start, start + 8)
        ok_y = y[rows][~bad[rows]]
        if ok_y.size:
            prev = y[:start][~bad[:start]]
            expect = max(ok_y.max(), prev.max() if prev.size else -np.inf)
            np.testing.assert_allclose(told[rows][bad[rows]], expect)
        np.testing.assert_allclose(told[rows][~bad[rows]], y[rows][~bad[rows]])


def test_completion_that_always_fails_still_spends_the_budget():
    def broken(z):
        raise ValueError("no solver")

    mh = Matheuristic("random", broken, [0])
    with pytest.warns(RuntimeWarning):
        r = hl.minimize(TOY, mh, budget=25, seed=0)
    assert r.n_evals == 25 and mh.failures == 25
    assert (r.history["x1"] == FALLBACK).all() and (r.history["x2"] == FALLBACK).all()


def test_no_warning_without_failures(small):
    inst = _fresh(small)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        hl.minimize(inst.problem(), inst.matheuristic("random"), budget=20, seed=0)


def test_warm_start_and_inject_hand_discrete_parts_to_the_outer(small):
    inst = _fresh(small)
    mh = inst.matheuristic(Recording(batch_size=5))
    r = hl.minimize(inst.problem(), mh, budget=11, seed=0,
                    init=[inst.x_opt])
    assert r.y == pytest.approx(inst.f_opt, rel=1e-9)
    np.testing.assert_array_equal(mh.children[0].population.X[0], inst.x_opt[:6])
    mh.inject(inst.x_opt[None], [inst.f_opt])
    assert mh.population.y[0] == pytest.approx(inst.f_opt)


@pytest.mark.parametrize("kwargs, match", [
    ({"outer": 3}, "outer"),
    ({"outer": "ga>>local"}, "plain engine"),
    ({"complete": "linprog"}, "complete must be a callable"),
    ({"discrete": []}, "discrete"),
    ({"discrete": [0, 0]}, "distinct"),
    ({"discrete": [-1]}, "distinct indices >= 0"),
    ({"discrete": [0.0]}, "discrete"),
    ({"discrete": [True]}, "discrete"),
    ({"discrete": 2}, "discrete"),
])
def test_bad_arguments_raise(kwargs, match):
    args = {"outer": "random", "complete": _solve, "discrete": [2, 0]} | kwargs
    with pytest.raises(ValueError, match=match):
        Matheuristic(**args)


@pytest.mark.parametrize("discrete", [[3], [0, 1, 2]])
def test_discrete_must_fit_the_box(discrete):
    with pytest.raises(ValueError, match="do not fit a box of dim 3"):
        hl.minimize(TOY, Matheuristic("random", _solve, discrete), budget=5, seed=0)


def test_completion_of_the_wrong_length_raises():
    mh = Matheuristic("random", lambda z: np.zeros(2), [2, 0])
    with pytest.raises(ValueError, match="must return the 1 continuous"):
        hl.minimize(TOY, mh, budget=5, seed=0)


# -- the facility location benchmark --------------------------------------------------------

def test_milp_optimum_matches_the_lp_completion_of_its_open_set(small):
    inst = _fresh(small)
    z = inst.open_opt.astype(float)
    w = inst.complete(z)
    assert inst(np.concatenate([z, w])) == pytest.approx(inst.f_opt, rel=1e-9)
    assert inst(inst.x_opt) == pytest.approx(inst.f_opt, rel=1e-9)
    _, flows = inst.decode(np.concatenate([z, w]))
    np.testing.assert_allclose(flows[0].sum(axis=0), 1.0)  # every customer served
    assert (flows[0] * inst.demand).sum(axis=1) == pytest.approx(
        np.minimum((flows[0] * inst.demand).sum(axis=1), inst.capacity), abs=1e-6)


def test_every_point_is_at_least_the_optimum(small):
    inst = _fresh(small)
    rng = np.random.default_rng(0)
    X = rng.random((3000, inst.dim))
    X[:1000, :6] = rng.random((1000, 6)) < 0.5  # explicit open sets
    assert (inst(X) >= inst.f_opt - 1e-9).all()
    every_set = (np.arange(64)[:, None] >> np.arange(6) & 1).astype(float)
    completed = np.array([np.concatenate([z, inst.complete(z)]) for z in every_set])
    values = inst(completed)
    assert values.min() == pytest.approx(inst.f_opt, rel=1e-9)  # exhaustive check
    short = every_set @ inst.capacity < inst.demand.sum()
    assert short.any() and (values[short] >= inst.shortfall_penalty).all()


def test_instances_are_seeded_and_picklable(small):
    again = facility_instance(0, n_facilities=6, n_customers=12)
    assert again.f_opt == small.f_opt and again.name == "cflp-6x12-i0"
    np.testing.assert_array_equal(again.unit_cost, small.unit_cost)
    assert facility_instance(1, 6, 12).f_opt != small.f_opt
    copy = pickle.loads(pickle.dumps(small))
    assert copy(small.x_opt) == small(small.x_opt)
    assert copy.capacity.sum() == pytest.approx(3.0 * copy.demand.sum())


@pytest.mark.parametrize("kwargs", [{"instance": -1}, {"n_facilities": 1},
                                    {"n_customers": 0}, {"ratio": 0.5},
                                    {"n_facilities": 2.5}])
def test_bad_instance_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        facility_instance(**kwargs)


def test_compare_measures_the_gap_to_the_milp_optimum(small):
    from hybridlab.study import compare

    (inst,) = facility_suite([0], 6, 12)
    study = compare({"mh": inst.matheuristic("random"), "random": "random"}, [inst],
                    budget=30, seeds=2, progress=False)
    final = study.final()
    assert study.measure == "gap" and len(final) == 4
    assert (final["gap"] >= 0).all() and (final["evals"] == 30).all()
    mh, rnd = (final.loc[final["optimizer"] == k, "gap"].median() for k in ("mh", "random"))
    assert mh < rnd
