import math

import numpy as np
import pytest

from hybridlab import Problem, Real, Space
from hybridlab.problem import evaluate


def test_real_space_objective_gets_array():
    seen = []
    p = Problem(lambda x: seen.append(type(x)) or 0.0, Space.box(2, 0, 1))
    p.evaluate(p.space.decode([0.1, 0.2]))
    assert seen == [np.ndarray]


def test_mixed_space_objective_gets_dict():
    p = Problem(lambda v: v["x"] ** 2, {"x": Real(-1, 1), "k": Real(0, 1)})
    assert isinstance(p.space, Space)
    e = p.evaluate({"x": 0.5, "k": 0.1})
    assert e.status == "ok" and e.y == 0.25


def test_failures_become_statuses():
    def bad(x):
        raise KeyError("boom")

    e = evaluate(bad, (), np.zeros(1))
    assert e.status == "error" and "KeyError" in e.error and "boom" in e.error
    assert e.y == math.inf
    e = evaluate(lambda x: float("nan"), (), np.zeros(1))
    assert e.status == "nan" and "nan" in e.error
    e = evaluate(lambda x: -math.inf, (), np.zeros(1))
    assert e.status == "nan"


def test_constraint_violations():
    p = Problem(lambda x: 0.0, Space.box(1, 0, 1), constraints=[lambda x: x[0] - 0.5])
    assert p.evaluate(np.array([0.2])).violations == (0.0,)
    assert p.evaluate(np.array([0.75])).violations == (0.25,)


def test_bad_arguments():
    with pytest.raises(ValueError, match="callable"):
        Problem(3, Space.box(1, 0, 1))
    with pytest.raises(ValueError, match="constraint"):
        Problem(abs, Space.box(1, 0, 1), constraints=[1])
    with pytest.raises(ValueError, match="empty"):
        Problem(abs, {})


def test_a_constraint_returning_nan_fails_the_evaluation_and_is_named():
    def ok(x):
        return -1.0

    def budget_left(x):
        return float("nan") if x[0] > 0 else -1.0

    p = Problem(lambda x: float(x[0] ** 2), Space.box(1, -1, 1), constraints=[ok, budget_left])
    e = p.evaluate(np.array([0.5]))
    assert e.status == "error" and "budget_left returned nan" in e.error
    assert e.violations == (math.inf, math.inf)
    assert p.evaluate(np.array([-0.5])).status == "ok"
    # vectorised: only the point whose constraint failed fails
    q = Problem(lambda X: np.sum(X ** 2, axis=1), Space.box(1, -1, 1),
                constraints=[ok, budget_left], vectorized=True)
    b = q.evaluate_many(np.array([[0.5], [-0.5]]))
    assert b.status == ["error", "ok"] and "budget_left returned nan" in b.error[0]
    assert np.isinf(b.y[0]) and b.y[1] == 0.25 and b.violation[1] == 0.0
    # in a run: a NaN constraint is never taken as feasible
    from hybridlab import minimize

    r = minimize(p, "random", budget=40, seed=0)
    assert r.x[0] <= 0 and r.feasible
