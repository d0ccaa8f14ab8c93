"""Parameter schedules and the success rule (hybridlab.schedules)."""

from __future__ import annotations

import copy
import dataclasses
import doctest
import math

import numpy as np
import pytest

import hybridlab.schedules as schedules
from hybridlab.schedules import Constant, Cosine, Exponential, Linear, Schedule, SuccessRule


@pytest.mark.parametrize("sched, at0, at_half, at1", [
    (Constant(20.0), 20.0, 20.0, 20.0),
    (Linear(0.9, 0.4), 0.9, 0.65, 0.4),
    (Linear(-1.0, 3.0), -1.0, 1.0, 3.0),
    (Exponential(1.0, 0.01), 1.0, 0.1, 0.01),
    (Exponential(2.0, 8.0), 2.0, 4.0, 8.0),
    (Cosine(1.0, 0.0), 1.0, 0.5, 0.0),
    (Cosine(0.4, 0.9), 0.4, 0.65, 0.9),
])
def test_values_at_start_middle_end(sched: Schedule, at0: float, at_half: float,
                                    at1: float) -> None:
    assert sched(0.0) == at0 and sched(1.0) == at1  # exact at both ends
    assert sched(0.5) == pytest.approx(at_half, rel=1e-12)
    assert isinstance(sched(0.3), float)
    assert (sched.start, sched.end) == (at0, at1)


@pytest.mark.parametrize("cls", [Linear, Exponential, Cosine])
@pytest.mark.parametrize("a, b", [(0.9, 0.4), (0.1, 5.0)])
def test_monotone_between_the_ends(cls: type, a: float, b: float) -> None:
    v = np.array([cls(a, b)(t) for t in np.linspace(0, 1, 101)])
    steps = np.diff(v) * np.sign(b - a)
    assert (steps > 0).all()
    assert v.min() == min(a, b) and v.max() == max(a, b)


def test_exponential_keeps_equal_ratios_and_cosine_is_flat_at_the_ends() -> None:
    e = Exponential(1.0, 1e-4)
    assert e(0.25) / e(0.0) == pytest.approx(e(1.0) / e(0.75))
    c, lin = Cosine(1.0, 0.0), Linear(1.0, 0.0)
    assert 1 - c(0.05) < 1 - lin(0.05) and c(0.95) < lin(0.95)


@pytest.mark.parametrize("sched", [Constant(3), Linear(0.9, 0.4), Exponential(1.0, 0.5),
                                   Cosine(0.0, 1.0)])
def test_repr_round_trips_and_schedules_are_frozen(sched: Schedule) -> None:
    assert eval(repr(sched)) == sched
    assert repr(Linear(0.9, 0.4)) == "Linear(start=0.9, end=0.4)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        sched.start = 1.0  # type: ignore[misc]
    assert hash(sched) == hash(copy.deepcopy(sched))


@pytest.mark.parametrize("make, match", [
    (lambda: Constant(math.nan), "finite"),
    (lambda: Constant("1"), "finite"),
    (lambda: Linear(0.9, math.inf), "finite"),
    (lambda: Linear(True, 0.4), "finite"),
    (lambda: Cosine(None, 1.0), "finite"),
    (lambda: Exponential(0.0, 1.0), "both be > 0"),
    (lambda: Exponential(1.0, -0.1), "use Linear"),
])
def test_bad_schedules_raise(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("progress", [-0.01, 1.01, math.nan])
def test_progress_outside_unit_interval_raises(progress: float) -> None:
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        Linear(0.9, 0.4)(progress)


def test_success_rule_moves_up_above_target_down_below_and_stays_on_it() -> None:
    rule = SuccessRule(0.01, factor=1.5, target=0.2)
    assert rule.value == 0.01
    assert rule.update(0.5) == pytest.approx(0.015)    # too many successes: bolder
    assert rule.update(0.2) == pytest.approx(0.015)    # on target: unchanged
    assert rule.update(0.0) == pytest.approx(0.01)     # too few: more careful
    assert rule.update(0.1) == pytest.approx(0.01 / 1.5)
    assert rule.value == pytest.approx(0.01 / 1.5)
    assert rule.reset() is rule and rule.value == 0.01


def test_success_rule_is_clipped_to_its_bounds() -> None:
    rule = SuccessRule(0.1, factor=2.0, lower=0.05, upper=0.3)
    assert [rule.update(1.0) for _ in range(3)] == [0.2, 0.3, 0.3]
    assert [rule.update(0.0) for _ in range(4)] == [0.15, 0.075, 0.05, 0.05]
    default = SuccessRule(0.04)
    for _ in range(200):
        default.update(0.0)
    assert default.value == 1e-8
    for _ in range(200):
        default.update(1.0)
    assert default.value == 0.5


def test_success_rule_generalised_target() -> None:
    rule = SuccessRule(1.0, target=0.5, lower=0.1, upper=10.0)
    assert rule.update(0.4) < 1.0  # below a target of 1/2, although above 1/5
    assert "target=0.5" in repr(rule) and "upper=10.0" in repr(rule)


@pytest.mark.parametrize("kwargs, match", [
    ({"initial": 0.1, "factor": 1.0}, "factor must be > 1"),
    ({"initial": 0.1, "factor": 0.5}, "factor must be > 1"),
    ({"initial": 0.1, "target": 0.0}, "target"),
    ({"initial": 0.1, "target": 1.0}, "target"),
    ({"initial": 0.1, "lower": 0.0}, "0 < lower <= upper"),
    ({"initial": 0.1, "lower": 0.3, "upper": 0.2}, "0 < lower <= upper"),
    ({"initial": 20.0}, "outside"),
    ({"initial": math.nan}, "finite"),
])
def test_bad_success_rules_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SuccessRule(**kwargs)


@pytest.mark.parametrize("rate", [-0.1, 1.5, math.nan])
def test_success_rate_outside_unit_interval_raises(rate: float) -> None:
    with pytest.raises(ValueError, match="success_rate"):
        SuccessRule(0.1).update(rate)


def test_success_rule_is_not_a_schedule() -> None:
    """The GA tells a rule from a schedule: a rule must not be callable."""
    assert not callable(SuccessRule(0.1))
    assert all(callable(s) for s in (Constant(1), Linear(1, 2)))


def test_docstring_examples() -> None:
    result = doctest.testmod(schedules)
    assert result.attempted >= 10 and result.failed == 0
