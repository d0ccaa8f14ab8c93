"""BayesOpt: GP-EI on the unit box."""

import numpy as np
import pytest

from hybridlab import Problem, Space, make, minimize
from hybridlab.optimizers import BayesOpt, Population
from hybridlab.optimizers.bayes import expected_improvement


def quad(d=2):
    return Problem(lambda x: float(np.sum((x - 0.3) ** 2)), Space.box(d, -1, 1))


def test_expected_improvement_is_zero_far_above_and_positive_below():
    ei = expected_improvement(np.array([5.0, 0.0, -1.0]), np.array([0.1, 1.0, 0.1]), best=0.0)
    assert ei[0] < 1e-12 and ei[1] > 0 and ei[2] == pytest.approx(1.0, rel=1e-3)


def test_beats_random_search_on_a_smooth_function_at_small_budget():
    bo = [minimize(quad(3), BayesOpt(), budget=30, seed=s).y for s in range(3)]
    rs = [minimize(quad(3), "random", budget=30, seed=s).y for s in range(3)]
    assert max(bo) < min(rs)


def test_design_phase_then_model_phase_and_batches():
    r = minimize(quad(), BayesOpt(n_init=6, batch_size=3), budget=15, seed=0)
    phases = list(r.history["phase"])
    assert phases[:6] == ["lhs"] * 6 and set(phases[6:]) == {"bayes"}
    X = r.history[["x0", "x1"]].to_numpy()
    assert len(np.unique(X[6:], axis=0)) == 9  # believer points of a batch differ


def test_same_seed_same_run_and_warm_start_counts_towards_the_design():
    a = minimize(quad(), BayesOpt(), budget=12, seed=3)
    b = minimize(quad(), BayesOpt(), budget=12, seed=3)
    assert a.history["y"].tolist() == b.history["y"].tolist()
    opt = BayesOpt(n_init=4)
    opt.start(2, np.random.default_rng(0), Population(np.full((4, 2), 0.5), np.zeros(4)), 10)
    assert opt.ask().shape == (1, 2) and opt.phase == "bayes"


def test_failures_do_not_break_the_surrogate():
    p = Problem(lambda x: np.nan if x[0] > 0.5 else float(np.sum(x ** 2)), Space.box(2, -1, 1))
    r = minimize(p, BayesOpt(), budget=20, seed=0)
    assert r.n_evals == 20 and np.isfinite(r.y)


@pytest.mark.parametrize("kw", [{"n_init": 0}, {"batch_size": 1.5}, {"candidates": 5},
                                {"xi": -1.0}, {"refit_every": 0}])
def test_bad_arguments(kw):
    with pytest.raises(ValueError, match="BayesOpt"):
        BayesOpt(**kw)


def test_registered_names():
    assert make("bayes").name == "bayes"
    assert make("expensive").name


def test_nested_inner_optimizer_maximises_the_acquisition_in_high_dimensions():
    p = Problem(lambda x: float(np.sum((x - 0.3) ** 2)), Space.box(12, -1, 1))
    plain = minimize(p, BayesOpt(), budget=40, seed=0)
    nested = minimize(p, BayesOpt(inner="local", inner_budget=200), budget=40, seed=0)
    assert nested.y < plain.y
    assert set(nested.history["phase"]) == {"lhs", "bayes[local]"}
    low = BayesOpt(inner="local", inner_min_dim=20)
    assert minimize(p, low, budget=30, seed=0).history["y"].tolist() == \
        minimize(p, BayesOpt(), budget=30, seed=0).history["y"].tolist()
    with pytest.raises(ValueError, match="inner must be"):
        BayesOpt(inner=3)
    with pytest.raises(ValueError, match=r"inner=hybridlab.make\('pso>>local'\)"):
        BayesOpt(inner="pso>>local")
    assert BayesOpt(inner=make("pso>>local")).name == "bayes[pso>>local]"
    with pytest.raises(ValueError, match="inner_budget"):
        BayesOpt(inner="local", inner_budget=5)


def test_copula_warp_is_invariant_to_monotone_transforms_of_the_objective():
    space = Space.box(2, -1, 1)
    a = minimize(Problem(lambda x: float(np.sum((x - 0.3) ** 2)), space),
                 BayesOpt(warp="copula"), budget=16, seed=0)
    b = minimize(Problem(lambda x: float(np.exp(5 * np.sum((x - 0.3) ** 2))), space),
                 BayesOpt(warp="copula"), budget=16, seed=0)
    np.testing.assert_allclose(a.history[["x0", "x1"]], b.history[["x0", "x1"]])
    assert a.y < 0.05
    with pytest.raises(ValueError, match="warp"):
        BayesOpt(warp="log")
