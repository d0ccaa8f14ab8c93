"""Vectorised objectives: same results as per-point ones, failures per row or per batch,
dict-of-columns batches for mixed spaces, and the torch wrapper."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlab import GA, PSO, Problem, Space, minimize
from hybridlab.conditional import Choice, ConditionalSpace
from hybridlab.problem import VECTORIZED, columns
from hybridlab.space import Categorical, Integer, Real
from hybridlab.vectorize import TorchObjective, torch_objective, vectorize

BOX = Space.box(4, -5.12, 5.12)
MIXED = Space({"x": Real(-2.0, 2.0), "k": Integer(1, 6),
               "act": Categorical(["relu", "tanh", "gelu"])})


def rastrigin_batch(X):
    """Column by column, so that each row's value does not depend on the batch size."""
    y = np.zeros(len(X))
    for j in range(X.shape[1]):
        y = y + X[:, j] * X[:, j] - 10.0 * np.cos(2 * np.pi * X[:, j]) + 10.0
    return y


def rastrigin(x):
    return float(rastrigin_batch(x[None, :])[0])


def mixed_batch(cols):
    d = cols["x"] - 0.3
    return d * d + (cols["k"] - 3) * (cols["k"] - 3) + np.where(cols["act"] == "tanh", 0.0, 0.5)


def mixed(p):
    d = p["x"] - 0.3
    return d * d + (p["k"] - 3) * (p["k"] - 3) + (0.0 if p["act"] == "tanh" else 0.5)


def torch_sphere(T):
    return (T * T).sum(dim=1)


def numpy_sphere(X):
    return np.einsum("ij,ij->i", X, X)


def run(problem, optimizer, budget=400, seed=3):
    return minimize(problem, optimizer, budget=budget, seed=seed)


# -- same seed, same result -----------------------------------------------------------------
@pytest.mark.parametrize("optimizer", [lambda: GA(pop_size=20), lambda: PSO(n_particles=15),
                                       lambda: "ga>>local"], ids=["ga", "pso", "ga>>local"])
def test_vectorised_matches_per_point_real_space(optimizer):
    point = run(Problem(rastrigin, BOX), optimizer())
    batch = run(Problem(rastrigin_batch, BOX, vectorized=True), optimizer())
    assert batch.matches(point)
    assert batch.n_evals == 400


@pytest.mark.parametrize("optimizer", ["ga", "pso", "ga>>local"])
def test_vectorised_matches_per_point_mixed_space(optimizer):
    seen = []

    def spy(cols):
        seen.append(cols)
        return mixed_batch(cols)

    point = run(Problem(mixed, MIXED), optimizer)
    batch = run(Problem(spy, MIXED, vectorized=True), optimizer)
    assert batch.matches(point)
    assert point.x == batch.x and isinstance(batch.x["k"], int)
    cols = seen[0]
    assert list(cols) == ["x", "k", "act"]
    assert cols["x"].dtype == np.float64 and cols["k"].dtype.kind == "i"
    assert cols["act"].dtype == object and set(cols["act"]) <= {"relu", "tanh", "gelu"}
    assert sum(len(c["x"]) for c in seen) == 400


def test_records_mode_gets_a_list_of_dicts():
    seen = []

    def f(records):
        seen.append(records)
        return [mixed(r) for r in records]

    batch = run(Problem(f, MIXED, vectorized="records"), "ga")
    assert batch.matches(run(Problem(mixed, MIXED), "ga"))
    assert isinstance(seen[0], list) and isinstance(seen[0][0], dict)


def test_records_mode_on_a_real_space_gets_the_array():
    seen = []
    r = run(Problem(lambda X: seen.append(X) or rastrigin_batch(X), BOX, vectorized="records"),
            "pso")
    assert isinstance(seen[0], np.ndarray) and seen[0].shape[1] == 4
    assert r.matches(run(Problem(rastrigin, BOX), "pso"))


def test_vectorize_helper_matches_per_point():
    assert run(Problem(vectorize(mixed), MIXED, vectorized=True), "ga").matches(
        run(Problem(mixed, MIXED), "ga"))
    assert run(Problem(vectorize(rastrigin), BOX, vectorized=True), "pso").matches(
        run(Problem(rastrigin, BOX), "pso"))


def test_constraints_stay_per_point_with_a_mixed_vectorised_objective():
    got = []

    def k_at_most_2(p):
        got.append(type(p))
        return p["k"] - 2

    point = run(Problem(mixed, MIXED, constraints=[k_at_most_2]), "ga")
    batch = run(Problem(mixed_batch, MIXED, constraints=[k_at_most_2], vectorized=True), "ga")
    assert batch.matches(point)
    assert set(got) == {dict}
    assert batch.feasible and batch.x["k"] <= 2


def test_conditional_space_columns_hold_none_where_inactive():
    space = ConditionalSpace({
        "penalty": Choice({"l2": "l2", "en": ("elasticnet", {"l1_ratio": Real(0.0, 1.0)})}),
        "alpha": Real(0.0, 1.0),
    })
    seen = []

    def f(cols):
        seen.append(cols)
        return cols["alpha"] + np.array([0.0 if r is None else r for r in cols["l1_ratio"]])

    r = run(Problem(f, space, vectorized=True), "ga", budget=100)
    assert r.n_failed == 0
    cols = seen[0]
    inactive = cols["penalty"] == "l2"
    assert cols["l1_ratio"].dtype == object and inactive.any() and (~inactive).any()
    assert all(v is None for v in cols["l1_ratio"][inactive])
    assert all(isinstance(v, float) for v in cols["l1_ratio"][~inactive])


# -- failures -------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), cut=st.floats(-4.0, 4.0))
def test_nan_rows_fail_alone_and_match_per_point(seed, cut):
    def batch_f(X):
        return np.where(X[:, 0] > cut, np.nan, rastrigin_batch(X))

    def point_f(x):
        return float(batch_f(x[None, :])[0])

    b = minimize(Problem(batch_f, BOX, vectorized=True), GA(pop_size=20), 200, seed=seed)
    assert b.matches(minimize(Problem(point_f, BOX), GA(pop_size=20), 200, seed=seed))
    h = b.history
    expect = np.where(h["x0"] > cut, "nan", "ok")
    assert (h["status"].to_numpy() == expect).all()
    assert h.loc[h["status"] == "nan", "error"].eq("objective returned nan").all()


def test_an_exception_fails_its_whole_batch_only():
    calls = []

    def f(X):
        calls.append(len(X))
        if len(calls) in (2, 5):
            raise RuntimeError("overflow in batch")
        return rastrigin_batch(X)

    r = minimize(Problem(f, BOX, vectorized=True), GA(pop_size=20), 400, seed=0)
    assert r.n_evals == 400 and len(calls) == 20
    status = r.history["status"].to_numpy().reshape(-1, 20)
    expect = np.isin(np.arange(1, 21), [2, 5])[:, None]
    assert ((status == "error") == expect).all()  # whole batches, and only those
    assert r.history.loc[r.history["status"] == "error", "error"].str.contains(
        "RuntimeError: overflow in batch").all()
    assert np.isfinite(r.y)


@pytest.mark.parametrize("wrong", [lambda X: rastrigin_batch(X)[:-1],
                                   lambda X: np.c_[rastrigin_batch(X), rastrigin_batch(X)],
                                   lambda X: None],
                         ids=["short", "two-columns", "none"])
def test_wrong_output_is_an_error_with_a_clear_message(wrong):
    r = minimize(Problem(wrong, BOX, vectorized=True), GA(pop_size=20), 60, seed=0)
    assert r.n_evals == 60 and r.n_failed == 60
    msg = r.history["error"].iloc[0]
    assert "for a batch of 20 points" in msg and "shape (20,)" in msg


def test_column_vector_output_is_accepted():
    r = run(Problem(lambda X: rastrigin_batch(X)[:, None], BOX, vectorized=True), "ga")
    assert r.n_failed == 0 and r.matches(run(Problem(rastrigin, BOX), "ga"))


@pytest.mark.parametrize("bad", ["yes", "Records", 1, None, "true"])
def test_bad_vectorized_value_is_refused(bad):
    with pytest.raises(ValueError, match=r"vectorized must be one of False, True, 'records'"):
        Problem(rastrigin, BOX, vectorized=bad)


def test_accepted_vectorized_values():
    assert VECTORIZED == (False, True, "records")
    assert Problem(rastrigin, BOX, vectorized=np.True_).vectorized is True
    assert Problem(rastrigin, BOX, vectorized="records").vectorized == "records"


# -- columns --------------------------------------------------------------------------------
VALUE = st.one_of(st.integers(-5, 5), st.floats(-1e3, 1e3), st.sampled_from(["a", "b"]),
                  st.none(), st.just((1, 2)))


@given(st.lists(st.dictionaries(st.sampled_from(["p", "q", "r"]), VALUE), min_size=1,
                max_size=6))
def test_columns_round_trip(records):
    cols = columns(records)
    assert list(cols) == list(dict.fromkeys(k for r in records for k in r))
    for k, col in cols.items():
        assert col.shape == (len(records),)
        vals = [r.get(k) for r in records]
        numeric = all(isinstance(v, int | float) for v in vals)
        assert (col.dtype != object) == numeric
        assert col.tolist() == vals


# -- torch ----------------------------------------------------------------------------------
pytest.importorskip("torch")


def test_torch_objective_on_cpu_equals_numpy():
    f = torch_objective(torch_sphere, device="cpu")
    X = np.random.default_rng(0).uniform(-5, 5, (64, 7))
    y = f(X)
    assert isinstance(y, np.ndarray) and y.dtype == np.float64 and y.shape == (64,)
    np.testing.assert_allclose(y, numpy_sphere(X), rtol=1e-12)
    a = run(Problem(f, Space.box(5, -5, 5), vectorized=True), "pso")
    b = run(Problem(numpy_sphere, Space.box(5, -5, 5), vectorized=True), "pso")
    np.testing.assert_allclose(a.history["y"], b.history["y"], rtol=1e-9)


def test_torch_objective_float32_and_auto_device():
    import torch

    f = torch_objective(torch_sphere, dtype="float32")
    X = np.random.default_rng(1).uniform(-1, 1, (8, 3))
    np.testing.assert_allclose(f(X), numpy_sphere(X), rtol=1e-5)
    assert f.resolved_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="dtype"):
        torch_objective(torch_sphere, device="cpu", dtype="float33")(X)


def test_torch_objective_runs_without_grad():
    seen = []

    def fn(T):
        import torch

        seen.append(torch.is_grad_enabled())
        return T.sum(dim=1)

    torch_objective(fn, device="cpu")(np.ones((2, 2)))
    assert seen == [False]


def test_torch_objective_pickles():
    f = torch_objective(torch_sphere, device="auto")
    X = np.random.default_rng(2).uniform(-1, 1, (5, 3))
    y = f(X)  # resolves the device; a copy chooses its own
    g = pickle.loads(pickle.dumps(f))
    assert isinstance(g, TorchObjective) and g._device is None
    np.testing.assert_array_equal(g(X), y)
    assert "torch_sphere" in repr(g)


def test_torch_objective_refuses_a_dict_of_columns():
    r = run(Problem(torch_objective(torch_sphere, device="cpu"), MIXED, vectorized=True), "ga",
            budget=20)
    assert r.n_failed == 20 and "real space" in r.history["error"].iloc[0]


def test_importing_vectorize_does_not_import_torch():
    code = "import sys, hybridlab.vectorize; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
