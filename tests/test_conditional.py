"""Conditional spaces: Choice flattening, active-only decoding, encode round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlab import Categorical, Integer, Problem, Real, minimize
from hybridlab.conditional import Choice, ConditionalSpace


class Est:
    """A stand-in for an estimator object (compared by class, not equality)."""

    def __init__(self, name="est"):
        self.name = name

    def get_params(self, deep=True):
        return {}

    def __eq__(self, other):
        return isinstance(other, Est) and other.name == self.name

    __hash__ = object.__hash__


SVC, TREE = Est("SVC"), Est("Tree")


def nested_space() -> ConditionalSpace:
    return ConditionalSpace({
        "model": Choice({
            "svc": (SVC, {"C": Real(1e-2, 1e2, log=True),
                            "kernel": Choice({"linear": "linear",
                                              "rbf": ("rbf", {"gamma": Real(1e-3, 1.0)})})}),
            "tree": (TREE, {"max_depth": Integer(1, 8)}),
            "none": "passthrough",
        }),
        "scale": Categorical(["standard", "minmax"]),
    })


def test_flat_box_has_every_branch_dimension():
    space = nested_space()
    assert space.dim == 6  # model, C, kernel, gamma, max_depth, scale
    # gamma is a sibling of the (string-valued) kernel choice: a parameter of the SVC
    assert "model__gamma[model=svc][model__kernel=rbf]" in space.names


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=6, max_size=6))
def test_decode_gives_only_active_params_and_round_trips(u):
    space = nested_space()
    p = space.decode(np.array(u))
    if p["model"] == SVC:
        assert "model__C" in p and "model__max_depth" not in p
        assert ("model__gamma" in p) == (p["model__kernel"] == "rbf")
    elif p["model"] == TREE:
        assert set(p) == {"model", "model__max_depth", "scale"}
    else:
        assert set(p) == {"model", "scale"}
    assert space.decode(space.encode(p)) == p


def test_encode_matches_objects_by_class_and_labels():
    class Other(Est):
        pass

    a, b = Other(), object()
    space = ConditionalSpace({"m": Choice({"est": (a, {"k": Integer(1, 3)}), "obj": b})})
    assert space.decode(space.encode({"m": Other("x"), "m__k": 2}))["m__k"] == 2
    assert space.decode(space.encode({"m": "obj"}))["m"] is b


def test_bad_input_raises_value_errors_naming_the_fix():
    with pytest.raises(ValueError, match="distinct"):
        Choice(["a", "a"])
    with pytest.raises(ValueError, match="empty"):
        Choice([])
    with pytest.raises(ValueError, match="must be Real"):
        Choice({"a": ("x", {"p": 3})})
    with pytest.raises(ValueError, match="use Real"):
        ConditionalSpace({"p": [1, 2]})
    space = nested_space()
    with pytest.raises(ValueError, match="inactive"):
        space.encode({"model": TREE, "model__max_depth": 3, "model__C": 1.0,
                      "scale": "minmax"})
    with pytest.raises(ValueError, match="matches no option"):
        space.encode({"model": "XGB", "scale": "minmax"})
    with pytest.raises(ValueError, match="missing"):
        space.encode({"model": TREE, "scale": "minmax"})


def test_any_optimizer_searches_a_conditional_space():
    space = nested_space()

    def objective(p):
        if p["model"] != TREE:
            return 10.0
        return abs(p["model__max_depth"] - 6) + (p["scale"] != "minmax")

    r = minimize(Problem(objective, space), "ga", budget=200, seed=0)
    assert r.y == 0
    assert r.x == {"model": TREE, "model__max_depth": 6, "scale": "minmax"}


def test_sub_params_of_plain_values_are_siblings_in_the_owner_estimator():
    space = ConditionalSpace({"sgd__penalty": Choice({
        "l2": "l2", "elasticnet": ("elasticnet", {"l1_ratio": Real(0.0, 1.0)})})})
    assert space.decode([0.9, 0.5]) == {"sgd__penalty": "elasticnet", "sgd__l1_ratio": 0.5}
    assert space.decode([0.1, 0.5]) == {"sgd__penalty": "l2"}


def test_estimator_sub_params_left_out_are_read_off_the_estimator():
    from sklearn.impute import SimpleImputer

    space = ConditionalSpace({"impute": Choice({
        "mean": (SimpleImputer(strategy="mean"), {"add_indicator": Categorical([False, True])}),
        "median": (SimpleImputer(strategy="median"),
                   {"add_indicator": Categorical([False, True])}),
    })})
    p = space.decode(space.encode({"impute": SimpleImputer(strategy="median",
                                                           add_indicator=True)}))
    assert p["impute__add_indicator"] is True
    assert repr(p["impute"]) == repr(SimpleImputer(strategy="median"))
