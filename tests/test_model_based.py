"""The model-based components: the GP, the surrogates, TrustRegion, SurrogateAssisted,
and Optuna's model-based samplers inside combinators."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime

import hybridlab as hl
from hybridlab import Problem, Space, minimize
from hybridlab.optimizers import Population, TrustRegion
from hybridlab.optimizers.gp import GP
from hybridlab.optimizers.surrogates import MLPEnsemble, make_surrogate


def quad(d=3):
    return Problem(lambda x: float(np.sum((x - 0.3) ** 2)), Space.box(d, -1, 1))


# -- the GP ------------------------------------------------------------------------------


def test_gp_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.random((25, 4))
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2
    D2 = (X[:, None, :] - X[None, :, :]) ** 2
    z = (y - y.mean()) / y.std()
    theta = np.array([np.log(0.4)] * 4 + [0.2, np.log(0.02)])
    grad = GP._nll(theta, D2, z)[1]
    num = approx_fprime(theta, lambda t: GP._nll(t, D2, z)[0], 1e-6)
    np.testing.assert_allclose(grad, num, rtol=1e-3, atol=1e-3)


def test_gp_interpolates_and_is_uncertain_far_from_data():
    rng = np.random.default_rng(0)
    X = rng.random((30, 2)) * 0.5  # data in one corner only
    y = np.sin(6 * X[:, 0]) + X[:, 1]
    gp = GP().fit(X, y)
    mu, sd = gp.predict(X)
    far = gp.predict(np.array([[1.0, 1.0]]))[1]
    assert np.allclose(mu, y, atol=0.05) and far[0] > 5 * sd.mean()


def test_gp_rejects_non_finite_values():
    with pytest.raises(ValueError, match="finite"):
        GP().fit(np.zeros((3, 1)), np.array([0.0, np.nan, 1.0]))


@pytest.mark.parametrize("model", ["gp", "mlp"])
def test_surrogates_learn_a_smooth_function(model):
    rng = np.random.default_rng(0)
    X, Xt = rng.random((60, 3)), rng.random((200, 3))
    f = lambda A: ((A - 0.5) ** 2).sum(1)  # noqa: E731
    mu, sd = make_surrogate(model, seed=0).fit(X, f(X)).predict(Xt)
    assert np.corrcoef(mu, f(Xt))[0, 1] > 0.9 and np.all(sd > 0)


def test_bad_surrogates_and_ensembles():
    with pytest.raises(ValueError, match="fit"):
        make_surrogate("forest")
    with pytest.raises(ValueError, match="members"):
        MLPEnsemble(members=1)


# -- TrustRegion ---------------------------------------------------------------------------


def test_trust_region_beats_random_search_and_is_reproducible():
    tr = [minimize(quad(4), "trust_region", budget=30, seed=s) for s in range(3)]
    rs = [minimize(quad(4), "random", budget=30, seed=s).y for s in range(3)]
    assert max(r.y for r in tr) < min(rs)
    again = minimize(quad(4), "trust_region", budget=30, seed=0)
    assert again.history["y"].tolist() == tr[0].history["y"].tolist()
    assert tr[0].n_evals == 30


def test_trust_region_phases_and_restart_after_collapse():
    opt = TrustRegion(n_init=4, global_steps=2, min_length=0.2, length=0.4,
                      failure_tol=1)
    flat = Problem(lambda x: 1.0, Space.box(2, 0, 1))  # never improves: the region collapses
    r = minimize(flat, opt, budget=20, seed=0)
    phases = list(r.history["phase"])
    assert phases[:4] == ["design"] * 4 and phases[4:6] == ["tr-global"] * 2
    assert "trust_region" in phases and phases.count("tr-global") > 2  # restarted


def test_trust_region_starts_from_a_previous_stage_and_batches():
    opt = TrustRegion(batch_size=3)
    init = Population(np.random.default_rng(0).random((8, 2)), np.arange(8.0))
    opt.start(2, np.random.default_rng(1), init, 30)
    X = opt.ask()
    assert X.shape == (3, 2) and opt.phase == "trust_region"
    assert len(np.unique(X, axis=0)) == 3  # believer points of a batch differ


def test_trust_region_survives_failures():
    p = Problem(lambda x: np.nan if x[0] > 0.5 else float(np.sum(x ** 2)), Space.box(2, -1, 1))
    r = minimize(p, "trust_region", budget=20, seed=0)
    assert r.n_evals == 20 and np.isfinite(r.y)


@pytest.mark.parametrize("kw", [{"n_init": 0}, {"global_steps": -1}, {"candidates": 3},
                                {"batch_size": 1.5}, {"min_length": 1.0},
                                {"failure_tol": 0}])
def test_trust_region_bad_arguments(kw):
    with pytest.raises(ValueError, match="TrustRegion"):
        TrustRegion(**kw)


# -- SurrogateAssisted ------------------------------------------------------------------


def test_surrogate_assisted_screens_and_keeps_the_exact_budget():
    r = minimize(quad(4), hl.SurrogateAssisted(hl.GA(pop_size=20), screen=4), budget=61,
                 seed=0)
    assert r.n_evals == 61
    phases = set(r.history["phase"])
    assert {"ga", "ga+sa"} <= phases  # evaluated before the model, then screened


def test_surrogate_assisted_beats_its_plain_population_method():
    sa = [minimize(quad(4), "surrogate(ga(pop_size=20))", budget=60, seed=s).y
          for s in range(3)]
    ga = [minimize(quad(4), "ga(pop_size=20)", budget=60, seed=s).y for s in range(3)]
    assert np.mean(sa) < np.mean(ga)


def test_surrogate_assisted_is_reproducible_and_survives_failures():
    p = Problem(lambda x: np.nan if x[0] > 0.6 else float(np.sum(x ** 2)), Space.box(3, -1, 1))
    a = minimize(p, "surrogate(pso, model='gp')", budget=40, seed=2)
    b = minimize(p, "surrogate(pso, model='gp')", budget=40, seed=2)
    assert a.history["y"].tolist() == b.history["y"].tolist() and np.isfinite(a.y)


def test_surrogate_assisted_with_a_neural_network():
    r = minimize(quad(2), hl.SurrogateAssisted("pso", model="mlp"), budget=30, seed=0)
    assert r.n_evals == 30 and r.optimizer == "sa(pso,mlp)"


@pytest.mark.parametrize("kw", [{"screen": 0}, {"kappa": -1.0}, {"min_data": 0},
                                {"model": "forest"}])
def test_surrogate_assisted_bad_arguments(kw):
    with pytest.raises(ValueError):
        hl.SurrogateAssisted("ga", **kw)


# -- model-based engines inside combinators ---------------------------------------------


@pytest.mark.parametrize("spec", [
    "trust_region >> local", "optuna_tpe >> trust_region", "bayes | trust_region",
    "adaptive(optuna_tpe, trust_region)", "memetic(surrogate(ga), trust_region, every=2)",
    "optuna_gp >> local"])
def test_model_based_components_compose(spec):
    pytest.importorskip("optuna")
    r = minimize(quad(2), spec, budget=24, seed=0)
    again = minimize(quad(2), spec, budget=24, seed=0)
    assert r.n_evals == 24 and r.history["y"].tolist() == again.history["y"].tolist()


def test_model_based_sampler_inside_multifidelity():
    pytest.importorskip("optuna")

    def f(x, fidelity):
        return float(np.sum((x - 0.3) ** 2) + 0.1 / fidelity)

    p = Problem(f, Space.box(2, -1, 1), fidelity=(1, 9))
    mf = hl.MultiFidelity(hl.make("optuna_tpe", batch_size=9), 1, 9)
    r = minimize(p, mf, budget=150, seed=0)
    assert r.cost <= 150 and sorted(set(r.history["fidelity"])) == [1.0, 3.0, 9.0]


def test_hyperband_brackets_with_a_model_are_bohb():
    pytest.importorskip("optuna")
    seen = []

    def f(x, fidelity):
        seen.append(fidelity)
        return float(np.sum((x - 0.3) ** 2) + 0.1 / fidelity)

    p = Problem(f, Space.box(2, -1, 1), fidelity=(1, 9))
    mf = hl.MultiFidelity(hl.make("optuna_tpe", batch_size=9), 1, 9, brackets="hyperband")
    r = minimize(p, mf, budget=400, seed=0)
    assert r.optimizer == "hb(optuna_tpe)" and r.cost <= 400
    # brackets 0, 1, 2 start 9, 5, 3 candidates at rungs 1, 3, 9
    assert seen[:9] == [1.0] * 9 and seen[9:12] == [3.0] * 3 and seen[12] == 9.0
    assert seen[13:18] == [3.0] * 5 and seen[18] == 9.0 and seen[19:22] == [9.0] * 3
    again = minimize(p, mf, budget=400, seed=0)
    assert again.history["y"].tolist() == r.history["y"].tolist()


def test_hyperband_brackets_need_a_sizeable_batch():
    with pytest.raises(ValueError, match="batch_size"):
        hl.MultiFidelity("ga", 1, 9, brackets="hyperband")
    with pytest.raises(ValueError, match="hyperband"):
        hl.MultiFidelity("ga", 1, 9, brackets="bohb")


def test_expensive_is_tpe_then_a_trust_region_on_all_the_data():
    pytest.importorskip("optuna")
    r = minimize(quad(4), hl.expensive(), budget=30, seed=0)
    phases = list(r.history["phase"])
    assert phases[:15] == ["optuna_tpe"] * 15 and set(phases[15:]) <= {"trust_region",
                                                                      "tr-global"}
    rs = [minimize(quad(4), "random", budget=30, seed=s).y for s in range(3)]
    assert r.y < min(rs)


def _huge_on_half(x):
    """1e308 (np.std of a few such values overflows) on half the box."""
    return 1e308 if x[0] > 0 else float(np.sum(x**2))


@pytest.mark.parametrize("spec", ["bayes", "expensive", "trust_region", "surrogate(ga)"])
def test_model_based_optimizers_survive_huge_finite_values(spec):
    # regression: "Input y contains NaN" / "array must not contain infs or NaNs"
    p = hl.Problem(_huge_on_half, hl.Space.box(3, -1, 1))
    r = hl.minimize(p, spec, budget=30, seed=0)
    assert r.n_evals == 30 and r.y < 1.0


def test_tame_targets_leaves_ordinary_values_alone_and_keeps_order():
    from hybridlab.optimizers.gp import tame_targets

    y = np.array([3.0, -2.0, 1e6])
    assert np.array_equal(tame_targets(y), y)
    t = tame_targets(np.array([1.0, 1e308, -1e300, 2.0]))
    assert np.all(np.isfinite(t)) and np.isfinite(np.std(t))
    assert list(np.argsort(t)) == [2, 0, 3, 1]
    assert np.array_equal(tame_targets(np.array([1e300, 1e308])), [1.0, 2.0])
