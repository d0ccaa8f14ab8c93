import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridlab.space import Categorical, Integer, Real, Space

finite = st.floats(-1e6, 1e6, allow_nan=False)


@st.composite
def reals(draw):
    log = draw(st.booleans())
    lo = draw(st.floats(1e-6, 1e3)) if log else draw(finite)
    width = draw(st.floats(1e-3, 1e4))
    return Real(lo, lo + width, log=log)


@st.composite
def integers(draw):
    log = draw(st.booleans())
    lo = draw(st.integers(1, 1000)) if log else draw(st.integers(-1000, 1000))
    return Integer(lo, lo + draw(st.integers(1, 5000)), log=log)


@given(reals(), st.floats(0, 1))
def test_real_round_trip(dim, u):
    v = float(dim.decode(np.array(u)))
    assert dim.low <= v <= dim.high
    assert np.isclose(dim.decode(np.array(dim.encode(v))), v, rtol=1e-9, atol=1e-9)


@given(integers(), st.data())
def test_integer_round_trip_and_uniform_slices(dim, data):
    v = data.draw(st.integers(dim.low, dim.high))
    u = dim.encode(v)
    assert 0.0 <= u <= 1.0
    assert int(dim.decode(np.array(u))) == v


@given(st.lists(st.text(max_size=3), min_size=1, max_size=8, unique=True), st.data())
def test_categorical_round_trip(choices, data):
    dim = Categorical(choices)
    c = data.draw(st.sampled_from(choices))
    assert dim.decode(np.array([dim.encode(c)]))[0] == c


def test_every_integer_is_reachable_with_equal_probability():
    dim = Integer(0, 4)
    vals = dim.decode(np.random.default_rng(0).random(50_000))
    counts = np.bincount(vals, minlength=5) / 50_000
    assert np.allclose(counts, 0.2, atol=0.01)


@given(st.data())
def test_mixed_space_round_trip(data):
    space = Space({"lr": Real(1e-5, 1.0, log=True), "n": Integer(1, 64, log=True),
                   "w": Real(-3, 3), "act": Categorical(["relu", "tanh", "gelu"])})
    value = {"lr": data.draw(st.floats(1e-5, 1.0)), "n": data.draw(st.integers(1, 64)),
             "w": data.draw(st.floats(-3, 3)), "act": data.draw(st.sampled_from(["relu", "tanh"]))}
    back = space.decode(space.encode(value))
    assert back["n"] == value["n"] and back["act"] == value["act"]
    assert np.isclose(back["lr"], value["lr"], rtol=1e-9)
    assert np.isclose(back["w"], value["w"], atol=1e-9)
    assert isinstance(back["n"], int) and isinstance(back["lr"], float)


def test_real_space_decodes_to_arrays_in_order():
    space = Space.box(3, [-1, 0, 10], [1, 2, 20])
    assert space.is_real
    np.testing.assert_allclose(space.decode([0, 0.5, 1]), [-1, 1, 20])
    X = space.decode_batch(np.array([[0.5, 0.5, 0.5], [1, 1, 1]]))
    np.testing.assert_allclose(X, [[0, 1, 15], [1, 2, 20]])
    np.testing.assert_allclose(space.encode(np.array([0.0, 1.0, 15.0])), [0.5, 0.5, 0.5])


def test_log_real_batch_matches_scalar():
    space = Space({"a": Real(1e-3, 10, log=True), "b": Real(0, 1)})
    U = np.random.default_rng(1).random((20, 2))
    X = space.decode_batch(U)
    for u, x in zip(U, X, strict=True):
        assert np.isclose(x[0], float(space.dims["a"].decode(np.array(u[0]))))


def test_out_of_box_points_are_clipped():
    space = Space({"k": Integer(0, 3), "c": Categorical("ab")})
    assert space.decode([1.7, -0.3]) == {"k": 3, "c": "a"}


def test_sample_is_seeded_and_in_box():
    s = Space.box(4, 0, 1)
    a, b = s.sample(10, 3), s.sample(10, 3)
    assert a.shape == (10, 4) and np.array_equal(a, b)
    assert (a >= 0).all() and (a <= 1).all()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Real(1, 1), "low must be < high"),
        (lambda: Real(2, 1), "low must be < high"),
        (lambda: Real(0, 1, log=True), "log=True needs low > 0"),
        (lambda: Real(0, float("inf")), "finite"),
        (lambda: Integer(5, 2), "low must be < high"),
        (lambda: Integer(0, 10, log=True), "log=True needs low > 0"),
        (lambda: Integer(0.5, 3), "whole numbers"),
        (lambda: Categorical([]), "empty"),
        (lambda: Categorical(["a", "a"]), "distinct"),
        (lambda: Space({}), "empty"),
        (lambda: Space({"x": (0, 1)}), "use Real, Integer or Categorical"),
        (lambda: Space.box(0, 0, 1), "positive integer"),
    ],
)
def test_bad_definitions_raise_helpful_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_values_raise_helpful_errors():
    space = Space({"x": Real(0, 1), "c": Categorical(["a", "b"])})
    with pytest.raises(ValueError, match="unknown name"):
        space.encode({"x": 0.5, "c": "a", "zzz": 1})
    with pytest.raises(ValueError, match="missing"):
        space.encode({"x": 0.5})
    with pytest.raises(ValueError, match="unknown category 'q'"):
        space.encode({"x": 0.5, "c": "q"})
    with pytest.raises(ValueError, match="outside"):
        space.encode({"x": 2.0, "c": "a"})
    with pytest.raises(ValueError, match="shape"):
        space.decode([0.5])


def test_decode_of_one_point_gives_plain_categorical_values():
    space = Space({"act": Categorical(["relu", "tanh"]), "k": Integer(1, 3)})
    value = space.decode([0.9, 0.5])
    assert value == {"act": "tanh", "k": 2} and type(value["act"]) is str
