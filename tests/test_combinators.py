"""Properties every combinator must keep, checked on random nestings (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hybridlab as hl
from hybridlab import Problem, Space, minimize

PROBLEM = Problem(lambda X: np.sum(X**2, axis=1), Space.box(3, -5, 5), vectorized=True)

leaves = st.sampled_from([
    lambda: hl.GA(pop_size=10), lambda: hl.PSO(n_particles=8), lambda: hl.LocalSearch(),
    lambda: hl.RandomSearch(batch_size=7), lambda: hl.LatinHypercube(batch_size=5),
])


def _tree(depth):
    if depth == 0:
        return leaves.map(lambda f: f())
    sub = _tree(depth - 1)
    return st.one_of(
        leaves.map(lambda f: f()),
        st.tuples(sub, sub).map(lambda ab: ab[0] >> ab[1]),
        st.tuples(sub, sub, st.booleans()).map(
            lambda t: hl.Portfolio(t[0], t[1], race=t[2], patience=2)),
        sub.map(lambda a: hl.Islands(a, 2, migrate_every=2)),
        st.tuples(sub, leaves).map(lambda t: hl.Memetic(t[0], t[1](), every=2,
                                                        local_budget=7)),
        st.tuples(sub, sub, st.sampled_from(["stagnation", "bandit"])).map(
            lambda t: hl.Adaptive(t[0], t[1], rule=t[2], patience=15)),
    )


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(_tree(2), st.integers(1, 160), st.integers(0, 3))
def test_any_nesting_gives_exact_budget_and_is_deterministic(opt, budget, seed):
    a = minimize(PROBLEM, opt, budget=budget, seed=seed)
    b = minimize(PROBLEM, opt, budget=budget, seed=seed)
    if a.stopped == "budget":
        assert a.n_evals == budget
    assert a.n_evals == len(a.history) <= budget
    assert a.matches(b)
    assert len(a.history["phase"]) == a.n_evals and a.history["phase"].map(len).min() > 0


@SETTINGS
@given(_tree(2))
def test_failing_objective_inside_any_hybrid(opt):
    def flaky(x):
        if x[0] > 2:
            raise RuntimeError("boom")
        return np.nan if x[1] > 3 else float(np.sum(x**2))

    r = minimize(Problem(flaky, Space.box(3, -5, 5)), opt, budget=120, seed=0)
    assert r.n_evals <= 120 and np.isfinite(r.y)


@pytest.mark.parametrize("spec", ["ga>>local", "(ga>>local)|pso", "memetic(ga,local)",
                                  "ga*3", "adaptive(pso, local, rule='bandit')"])
def test_hybrids_leave_no_threads(spec):
    import threading

    before = threading.active_count()
    for seed in range(3):
        minimize(PROBLEM, spec, budget=90, seed=seed)
    assert threading.active_count() == before


def test_combinators_do_not_mutate_their_prototypes():
    ga = hl.GA(pop_size=10)
    seq = ga >> hl.LocalSearch()
    minimize(PROBLEM, seq, budget=50, seed=0)
    assert not hasattr(ga, "dim") and not hasattr(seq.stages[0], "dim")
