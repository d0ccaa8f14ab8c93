import random
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import hybridlab as hl
from hybridlab import Categorical, Integer, Problem, Real, Space, minimize


def sphere(x):
    return float(np.sum(x**2))


def flaky(x):
    """Raises on part of the box, returns NaN on another part."""
    if x[0] > 3:
        raise RuntimeError("simulated crash")
    if x[0] < -3:
        return float("nan")
    return float(np.sum(x**2))


SPHERE = Problem(sphere, Space.box(3, -5, 5), name="sphere")


@pytest.mark.parametrize("opt", ["ga", "pso", "local", "random", "lhs"])
@pytest.mark.parametrize("budget", [1, 7, 101])
def test_budget_is_exact(opt, budget):
    r = minimize(SPHERE, opt, budget=budget, seed=0)
    assert r.n_evals == budget == len(r.history)
    assert r.history["eval"].tolist() == list(range(1, budget + 1))


def test_history_is_tidy_and_consistent():
    r = minimize(SPHERE, "ga", budget=120, seed=1)
    h = r.history
    assert list(h.columns[:8]) == ["eval", "y", "best_so_far", "status", "error", "phase",
                                   "seconds", "time"]
    assert list(h.columns[8:]) == ["x0", "x1", "x2"]
    assert (np.diff(h["best_so_far"]) <= 0).all()
    assert h["best_so_far"].iloc[-1] == r.y == h["y"].min()
    best_row = h.loc[h["y"].idxmin(), ["x0", "x1", "x2"]].to_numpy(float)
    np.testing.assert_allclose(best_row, r.x)
    assert np.isclose(sphere(r.x), r.y)
    assert set(h["phase"]) == {"ga"}


@pytest.mark.parametrize("opt", ["ga", "pso", "local", "random"])
def test_same_seed_same_result_different_seed_differs(opt):
    a = minimize(SPHERE, opt, budget=150, seed=42)
    b = minimize(SPHERE, opt, budget=150, seed=42)
    c = minimize(SPHERE, opt, budget=150, seed=43)
    assert a.matches(b)
    assert not a.matches(c)


def test_seed_none_is_recorded_and_repeatable():
    a = minimize(SPHERE, "pso", budget=60)
    b = minimize(SPHERE, "pso", budget=60, seed=a.seed)
    assert a.matches(b)


@pytest.mark.parametrize("opt", ["ga", "pso"])
def test_process_pool_gives_identical_result(opt):
    serial = minimize(SPHERE, opt, budget=90, seed=7)
    with ProcessPoolExecutor(2) as pool:
        par = minimize(SPHERE, opt, budget=90, seed=7, executor=pool)
    assert serial.matches(par)


def test_thread_pool_executor_works():
    with ThreadPoolExecutor(2) as pool:
        r = minimize(SPHERE, "random", budget=30, seed=0, executor=pool)
    assert r.matches(minimize(SPHERE, "random", budget=30, seed=0))


@pytest.mark.parametrize("opt", ["ga", "pso", "local", "random"])
def test_failing_objective_does_not_crash(opt):
    p = Problem(flaky, Space.box(2, -5, 5))
    r = minimize(p, opt, budget=200, seed=3)
    h = r.history
    assert r.n_evals == 200
    assert r.n_failed == (h["status"] != "ok").sum()
    errors = h[h["status"] == "error"]
    if len(errors):
        assert errors["error"].str.contains("simulated crash").all()
        assert errors["y"].isna().all()
    assert np.isfinite(r.y) and r.y == h.loc[h["status"] == "ok", "y"].min()


def test_failures_recorded_and_optimizer_told_worst_value():
    told = []

    class Spy(hl.RandomSearch):
        def tell(self, X, y):
            told.extend(y)
            super().tell(X, y)

    p = Problem(flaky, Space.box(1, -5, 5))
    r = minimize(p, Spy(batch_size=20), budget=200, seed=0)
    h = r.history
    assert {"ok", "error", "nan"} <= set(h["status"])
    told = np.array(told)
    bad = (h["status"] != "ok").to_numpy()
    assert np.isfinite(told).all()
    worst_ok = h.loc[h["status"] == "ok", "y"].max()
    assert told[bad].max() <= worst_ok


def test_all_failures_give_inf_and_no_crash():
    p = Problem(lambda x: 1 / 0, Space.box(2, 0, 1))
    r = minimize(p, "ga", budget=30, seed=0)
    assert r.y == np.inf and r.n_failed == 30 and r.x is None


def test_on_error_raise():
    p = Problem(flaky, Space.box(1, -5, 5))
    with pytest.raises(hl.EvaluationError, match=r"simulated crash|nan"):
        minimize(p, "random", budget=200, seed=0, on_error="raise")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budget": 0}, "budget must be an integer >= 1"),
        ({"budget": 2.5}, "budget must be an integer >= 1"),
        ({"budget": 10, "on_error": "ignore"}, "on_error"),
        ({"budget": 10, "optimizer": "nope"}, "unknown optimizer 'nope'"),
        ({"budget": 10, "problem": sphere}, "wrap your function"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"problem": SPHERE, "optimizer": "ga"} | kwargs
    with pytest.raises(ValueError, match=match):
        minimize(**args)


def test_callback_sees_progress_and_can_stop():
    seen = []

    def cb(p):
        seen.append((p.n_evals, p.best_y))
        return p.n_evals >= 100

    r = minimize(SPHERE, "ga", budget=1000, seed=0, callbacks=[cb])
    assert r.stopped == "callback" and r.n_evals == 100
    assert [n for n, _ in seen] == [50, 100]
    assert seen[-1][1] == r.y


def test_optimizer_stop_ends_run_early():
    p = Problem(sphere, Space.box(2, -1, 1))
    r = minimize(p, hl.Grid(levels=3), budget=100, seed=0)
    assert r.stopped == "converged" and r.n_evals == 9 and r.y == 0.0


def test_callers_random_states_untouched():
    random.seed(123)
    np.random.seed(123)
    py, npy = random.getstate(), np.random.get_state()
    for opt in ("ga", "pso", "local"):
        minimize(SPHERE, opt, budget=80, seed=0)
    assert random.getstate() == py
    after = np.random.get_state()
    assert after[0] == npy[0] and np.array_equal(after[1], npy[1]) and after[2] == npy[2]


def test_mixed_space_history_has_user_values():
    space = Space({"lr": Real(1e-4, 1, log=True), "k": Integer(1, 5),
                   "act": Categorical(["relu", "tanh"])})

    def f(v):
        return (np.log10(v["lr"]) + 2) ** 2 + (v["k"] - 3) ** 2 + (v["act"] == "tanh")

    r = minimize(Problem(f, space), "ga", budget=300, seed=0)
    assert set(r.x) == {"lr", "k", "act"}
    assert r.x["k"] == 3 and r.x["act"] == "relu"
    assert r.history["k"].dtype.kind == "i"
    assert set(r.history["act"]) <= {"relu", "tanh"}


def test_vectorized_problem_called_once_per_batch():
    calls = []

    def f(X):
        calls.append(X.shape)
        return np.sum(X**2, axis=1)

    r = minimize(Problem(f, Space.box(3, -5, 5), vectorized=True), "ga", budget=120, seed=0)
    assert calls == [(50, 3), (50, 3), (20, 3)]
    assert r.matches(minimize(SPHERE, "ga", budget=120, seed=0))


def test_vectorized_problem_failure_is_recorded():
    def f(X):
        raise ValueError("bad batch")

    r = minimize(Problem(f, Space.box(2, 0, 1), vectorized=True), "pso", budget=40, seed=0)
    assert r.n_failed == 40 and r.history["error"].str.contains("bad batch").all()


def test_constraints_best_feasible_is_reported():
    p = Problem(sphere, Space.box(2, -5, 5), constraints=[lambda x: 1 - x[0]])  # x0 >= 1
    r = minimize(p, "ga", budget=1500, seed=0)
    assert r.feasible and r.violation == 0.0
    assert r.x[0] >= 1 and abs(r.y - 1) < 0.05
    assert "violation" in r.history


def test_violations_are_named_after_the_constraints():
    def x0_at_least_1(x):
        return 1 - x[0]

    p = Problem(sphere, Space.box(2, -5, 5), constraints=[x0_at_least_1, lambda x: 2 - x[1]])
    r = minimize(p, "random", budget=50, seed=0)
    assert set(r.violations) == {"x0_at_least_1", "g1"}
    assert r.violation == pytest.approx(sum(r.violations.values()))


def test_infeasible_everywhere_reports_least_violation():
    p = Problem(sphere, Space.box(1, 0, 1), constraints=[lambda x: 2 - x[0]])
    r = minimize(p, "pso", budget=200, seed=0)
    assert not r.feasible and r.violation == pytest.approx(1.0, abs=1e-3)


def test_result_plot_returns_axes():
    import matplotlib

    matplotlib.use("Agg")
    ax = minimize(SPHERE, "ga", budget=100, seed=0).plot()
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "evaluations"
    assert len(ax.get_lines()) == 1


def test_init_points_are_evaluated_first_and_seed_the_optimizer():
    x0 = [np.array([1.0, 1.0, 1.0]), np.array([0.1, -0.2, 0.05])]
    r = minimize(SPHERE, hl.LocalSearch(), budget=100, seed=0, init=x0)
    h = r.history
    assert list(h["phase"][:2]) == ["init", "init"] and r.n_evals == 100
    np.testing.assert_allclose(h.loc[1, ["x0", "x1", "x2"]].to_numpy(float), x0[1])
    first_local = h.loc[2, ["x0", "x1", "x2"]].to_numpy(float)
    np.testing.assert_allclose(first_local, x0[1])  # local search starts from the best
    assert r.y < 1e-8


def test_init_with_mixed_space_and_bad_points():
    space = Space({"k": Integer(1, 5), "act": Categorical(["relu", "tanh"])})
    p = Problem(lambda v: v["k"] + (v["act"] == "tanh"), space)
    r = minimize(p, "ga", budget=30, seed=0, init=[{"k": 1, "act": "relu"}])
    assert r.y == 1 and r.history["phase"].iloc[0] == "init"
    with pytest.raises(ValueError, match="init: unknown category"):
        minimize(p, "ga", budget=30, init=[{"k": 1, "act": "sigmoid"}])
    with pytest.raises(ValueError, match="init is empty"):
        minimize(p, "ga", budget=30, init=[])


def _vandal(x):
    """An objective that writes into its argument after computing its value."""
    y = float(np.sum(np.asarray(x) ** 2))
    x[:] = 999
    return y


def _vandal_dict(p):
    y = (p["a"] - 0.3) ** 2 + (0.0 if p["k"] == "x" else 1.0)
    p["a"], p["k"] = 999.0, "vandalised"
    return y


@pytest.mark.parametrize("executor", [None, "threads"])
def test_an_objective_that_changes_its_input_does_not_change_the_result(executor):
    pool = ThreadPoolExecutor(2) if executor else None
    try:
        r = minimize(Problem(_vandal, Space.box(3, -1, 1)), "ga", budget=60, seed=0,
                     executor=pool)
    finally:
        if pool:
            pool.shutdown()
    assert np.all(np.abs(r.x) <= 1) and r.y == pytest.approx(float(np.sum(r.x ** 2)))
    h = r.history
    X = h[["x0", "x1", "x2"]].to_numpy()
    np.testing.assert_allclose(h["y"], np.sum(X ** 2, axis=1))

    space = Space({"a": Real(0, 1), "k": Categorical(["x", "y"])})
    r = minimize(Problem(_vandal_dict, space), "random", budget=30, seed=0)
    assert r.x["k"] in ("x", "y") and 0 <= r.x["a"] <= 1
    assert r.y == pytest.approx(_vandal_dict(dict(r.x)))


@pytest.mark.parametrize("kwargs, message", [
    ({"executor": "threads"}, "executor must have a map"),
    ({"callbacks": [1]}, "every callback must be callable"),
    ({"callbacks": print}, "callbacks must be a list"),
    ({"seed": "abc"}, "seed must be an integer"),
    ({"seed": -1}, "seed must be an integer"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"optimizer": hl.GA}, r"call it, e.g. GA\(\)"),
])
def test_bad_arguments_are_refused_before_any_evaluation(kwargs, message):
    calls = []

    def f(x):
        calls.append(1)
        return float(np.sum(x ** 2))

    kwargs = {"optimizer": "ga", "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        minimize(Problem(f, Space.box(2, -1, 1)), kwargs.pop("optimizer"), budget=20,
                 **kwargs)
    assert calls == []
