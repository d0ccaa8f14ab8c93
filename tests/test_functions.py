"""Benchmark functions and the BBOB-style suite: optima, vectorisation, determinism."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlab.benchmarks.functions import FUNCTIONS, Instance, make_instance, suite
from hybridlab.problem import Problem
from hybridlab.space import Space

NAMES = list(FUNCTIONS)
DIMS = (2, 3, 7)


def _random_points(name: str, d: int, n: int, seed: int) -> np.ndarray:
    low, high = FUNCTIONS[name].domain
    return np.random.default_rng(seed).uniform(low, high, (n, d))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d", (1, *DIMS))
def test_known_optimum_has_zero_gap(name, d):
    info = FUNCTIONS[name]
    if d < info.min_dim:
        pytest.skip("below min_dim")
    x, f = info.x_opt(d), info.f_opt(d)
    assert x.shape == (d,)
    low, high = info.domain
    assert np.all((low <= x) & (x <= high))
    y = info.fn(x)
    assert isinstance(y, float)
    assert abs(y - f) <= 1e-6 * max(1.0, abs(f))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d", DIMS)
def test_positive_gap_and_vectorised_matches_per_point(name, d):
    info = FUNCTIONS[name]
    X = _random_points(name, d, 64, seed=d)
    y = info.fn(X)
    assert y.shape == (64,)
    np.testing.assert_allclose(y, [info.fn(x) for x in X], rtol=1e-12, atol=1e-12)
    assert np.all(y - info.f_opt(d) > 0)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_nothing_beats_the_optimum(name, data):
    info = FUNCTIONS[name]
    d = data.draw(st.integers(max(2, info.min_dim), 6))
    low, high = info.domain
    x = np.array(data.draw(st.lists(st.floats(low, high), min_size=d, max_size=d)))
    assert info.fn(x) >= info.f_opt(d) - 1e-9 * max(1.0, abs(info.f_opt(d)))


def test_rosenbrock_rejects_d1():
    with pytest.raises(ValueError, match="d >= 2"):
        FUNCTIONS["rosenbrock"].fn(np.zeros(1))


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        FUNCTIONS["sphere"].fn(np.zeros((2, 2, 2)))
    inst = make_instance("sphere", 3)
    with pytest.raises(ValueError, match="shape"):
        inst(np.zeros(4))


# -- suite ----------------------------------------------------------------------------

SUITE = suite(dims=(1, 2, 5, 10), instances=2, seed=0)


def test_suite_shape_and_names():
    # rosenbrock is skipped in d = 1
    assert len(SUITE) == (len(NAMES) * 4 - 1) * 2
    names = [inst.name for inst in SUITE]
    assert len(set(names)) == len(names)
    assert "rastrigin-d5-i1" in names and "rosenbrock-d1-i1" not in names
    assert all(isinstance(inst, Instance) for inst in SUITE)


@pytest.mark.parametrize("inst", SUITE, ids=lambda i: i.name)
def test_instance_optimum_and_gap(inst):
    d = inst.dim
    assert inst.x_opt.shape == (d,)
    assert np.all(np.abs(inst.x_opt) <= 5.0)
    assert abs(inst(inst.x_opt) - inst.f_opt) <= 1e-8
    assert abs(inst.gap(inst(inst.x_opt))) <= 1e-8
    X = np.random.default_rng(1).uniform(-5, 5, (50, d))
    y = inst(X)
    assert y.shape == (50,)
    assert np.all(inst.gap(y) > 0)
    np.testing.assert_allclose(y, [inst(x) for x in X], rtol=1e-12, atol=1e-9)
    # near the optimum, still above it
    near = inst.x_opt + 1e-3 * np.random.default_rng(2).standard_normal((20, d))
    assert np.all(inst.gap(inst(near)) > 0)


@pytest.mark.parametrize("d", (2, 5))
def test_schwefel_instance_optimum_is_global_in_box(d):
    # the base is unbounded below outside its domain; the instance's penalty keeps
    # x_opt the global minimiser, even at the box's corners
    for inst in suite(dims=(d,), instances=5, functions=["schwefel"]):
        corners = np.array(np.meshgrid(*[[-5.0, 5.0]] * d)).reshape(d, -1).T
        X = np.vstack([corners, np.random.default_rng(3).uniform(-5, 5, (2000, d))])
        assert np.all(inst.gap(inst(X)) > 0)


def test_suite_is_deterministic_and_instances_differ():
    a = suite(dims=(3,), instances=3, seed=7)
    b = suite(dims=(3,), instances=3, seed=7)
    c = suite(dims=(3,), instances=3, seed=8)
    X = np.random.default_rng(0).uniform(-5, 5, (10, 3))
    for ia, ib, ic in zip(a, b, c, strict=True):
        assert ia.name == ib.name == ic.name
        np.testing.assert_array_equal(ia.x_opt, ib.x_opt)
        np.testing.assert_array_equal(ia(X), ib(X))
        assert ia.f_opt == ib.f_opt
        assert not np.allclose(ia.x_opt, ic.x_opt)
    sphere = [i for i in a if i.function == "sphere"]
    assert not np.allclose(sphere[0].x_opt, sphere[1].x_opt)
    assert not np.allclose(sphere[0](X), sphere[1](X))


def test_subset_gives_the_same_instances():
    full = {i.name: i for i in suite(dims=(4,), instances=2, seed=3)}
    for inst in suite(dims=(4,), instances=2, seed=3, functions=["levy"]):
        np.testing.assert_array_equal(inst.x_opt, full[inst.name].x_opt)
        np.testing.assert_array_equal(inst.rotation, full[inst.name].rotation)


def test_rotation_is_orthogonal():
    for inst in suite(dims=(1, 6), instances=1, functions=["ellipsoid"]):
        R = inst.rotation
        np.testing.assert_allclose(R @ R.T, np.eye(inst.dim), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
    assert np.array_equal(suite(dims=(1,), instances=1, functions=["sphere"])[0].rotation,
                          np.eye(1))


def test_f_offsets_are_rounded_and_in_range():
    for inst in SUITE:
        assert -100 <= inst.f_opt <= 100
        assert inst.f_opt == round(inst.f_opt, 2)


def test_instance_pickles():
    X = np.random.default_rng(0).uniform(-5, 5, (8, 5))
    for inst in suite(dims=(5,), instances=1):
        back = pickle.loads(pickle.dumps(inst))
        assert back.name == inst.name and back.f_opt == inst.f_opt
        np.testing.assert_array_equal(back(X), inst(X))
    p = pickle.loads(pickle.dumps(make_instance("ackley", 5).problem()))
    np.testing.assert_array_equal(p.objective(X), make_instance("ackley", 5)(X))


def test_problem():
    inst = make_instance("rastrigin", 5, instance=2, seed=1)
    p = inst.problem()
    assert isinstance(p, Problem)
    assert p.vectorized is True
    assert p.name == "rastrigin-d5-i2"
    assert p.space == Space.box(5, -5, 5)
    assert p.objective is inst
    assert inst.problem(vectorized=False).vectorized is False
    u = p.space.sample(4, 0)
    np.testing.assert_array_equal(p.objective(p.space.decode_batch(u)),
                                  inst(p.space.decode_batch(u)))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown benchmark function"):
        suite(functions=["nope"])
    with pytest.raises(ValueError, match="dims"):
        suite(dims=(0,))
    with pytest.raises(ValueError, match="instances"):
        suite(instances=0)
    with pytest.raises(ValueError, match="rosenbrock needs"):
        make_instance("rosenbrock", 1)
