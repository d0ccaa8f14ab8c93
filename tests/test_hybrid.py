"""Semantics of each combinator: hand-off, budget shares, racing, migration, refinement,
switching, and the string spelling."""

import numpy as np
import pytest

import hybridlab as hl
from hybridlab import Population, Problem, Space, minimize
from hybridlab.registry import parse

SPHERE = Problem(lambda X: np.sum(X**2, axis=1), Space.box(4, -5, 5), vectorized=True)


def rastrigin(X):
    return 10 * X.shape[1] + np.sum(X**2 - 10 * np.cos(2 * np.pi * X), axis=1)


RASTRIGIN = Problem(rastrigin, Space.box(4, -5.12, 5.12), vectorized=True)


def blocks(phases):
    """Run-length encoding of the phase column: [(label, count), ...]."""
    out = []
    for p in phases:
        if out and out[-1][0] == p:
            out[-1][1] += 1
        else:
            out.append([p, 1])
    return [tuple(b) for b in out]


class Stuck(hl.Optimizer):
    """Always proposes the same (poor) point: never improves after its first batch."""

    name = "stuck"

    def ask(self):
        return np.full((5, self.dim), 0.99)


# -- Sequential ------------------------------------------------------------------------
def test_sequential_runs_stages_in_order_with_split():
    r = minimize(SPHERE, hl.Sequential(hl.GA(pop_size=20), hl.LocalSearch(), split=0.3),
                 budget=300, seed=0)
    assert [b[0] for b in blocks(r.history["phase"])] == ["ga", "local"]
    assert (r.history["phase"] == "ga").sum() == 90


def test_sequential_hands_best_point_to_next_stage():
    r = minimize(SPHERE, hl.PSO(n_particles=10) >> hl.LocalSearch(), budget=200, seed=1)
    h = r.history
    pso = h[h["phase"] == "pso"]
    first_local = h[h["phase"] == "local"].iloc[0]
    best_pso = pso.loc[pso["y"].idxmin()]
    cols = [f"x{i}" for i in range(4)]
    np.testing.assert_allclose(first_local[cols].to_numpy(float), best_pso[cols].to_numpy(float))
    assert r.y < 1e-8 < pso["y"].min()


def test_three_stages_flatten_to_equal_shares():
    seq = hl.RandomSearch(batch_size=10) >> hl.GA(pop_size=10) >> hl.LocalSearch()
    assert len(seq.stages) == 3
    r = minimize(SPHERE, seq, budget=300, seed=0)
    assert blocks(r.history["phase"]) == [("random", 100), ("ga", 100), ("local", 100)]


def test_sequential_switches_early_when_a_stage_converges():
    r = minimize(SPHERE, hl.Grid(levels=2, batch_size=16) >> hl.LocalSearch(), budget=200,
                 seed=0)
    assert blocks(r.history["phase"])[:2] == [("grid", 16), ("local", 184)]


@pytest.mark.parametrize("kwargs", [{"split": 1.5}, {"split": [0.5, 0.2]}, {"split": 0}])
def test_sequential_bad_split(kwargs):
    with pytest.raises(ValueError, match="split"):
        hl.Sequential(hl.GA(), hl.PSO(), **kwargs)


def test_sequential_needs_two_stages():
    with pytest.raises(ValueError, match="at least two"):
        hl.Sequential(hl.GA())


# -- Portfolio -------------------------------------------------------------------------
def test_portfolio_evaluates_arms_together_and_splits_by_weight():
    seen = []
    r = minimize(SPHERE, hl.Portfolio(hl.GA(pop_size=20), hl.PSO(n_particles=10),
                                      weights=[3, 1]),
                 budget=400, seed=0, callbacks=[lambda p: seen.append(set(p.batch_phase))])
    assert seen[0] == {"ga", "pso"}  # one batch holds both arms
    counts = r.history["phase"].value_counts()
    assert counts["ga"] == 300 and counts["pso"] == 100


def test_portfolio_race_drops_the_laggard():
    budget = 2000
    calm = minimize(SPHERE, hl.Portfolio(hl.PSO(n_particles=10), Stuck()), budget=budget,
                    seed=0)
    race = minimize(SPHERE, hl.Portfolio(hl.PSO(n_particles=10), Stuck(), race=True,
                                         patience=3), budget=budget, seed=0)
    assert calm.history["phase"].value_counts()["stuck"] == budget // 2
    assert race.history["phase"].value_counts()["stuck"] <= 5 * 4
    assert race.y < calm.y


def test_portfolio_bad_arguments():
    with pytest.raises(ValueError, match="weights"):
        hl.Portfolio(hl.GA(), hl.PSO(), weights=[1, -1])
    with pytest.raises(ValueError, match="at least two"):
        hl.Portfolio(hl.GA())


# -- Islands ---------------------------------------------------------------------------
def test_islands_migrate_best_points():
    isl = hl.Islands(hl.GA(pop_size=10), n_islands=3, migrate_every=2, n_migrants=1)
    isl.start(4, np.random.default_rng(0), budget=300)
    for _ in range(2):
        X = isl.ask()
        isl.tell(X, np.sum((X - 0.5) ** 2, axis=1))
    best0 = isl.children[0].population.y[0]
    assert best0 in [ind.fitness.values[0] for ind in isl.children[1]._parents]


def test_islands_spelled_with_star_and_phases():
    r = minimize(RASTRIGIN, hl.GA(pop_size=20) * 4, budget=400, seed=0)
    assert set(r.history["phase"]) == {"ga[0]", "ga[1]", "ga[2]", "ga[3]"}
    assert (4 * hl.PSO()).n_islands == 4


@pytest.mark.parametrize("topology", ["ring", "complete", "random"])
def test_islands_topologies_run(topology):
    r = minimize(SPHERE, hl.Islands(hl.PSO(n_particles=8), 3, migrate_every=2,
                                    topology=topology), budget=240, seed=0)
    assert r.n_evals == 240


def test_islands_bad_arguments():
    with pytest.raises(ValueError, match="topology"):
        hl.Islands(hl.GA(), 2, topology="star")
    with pytest.raises(ValueError, match="n_islands"):
        hl.Islands(hl.GA(), 1)
    with pytest.raises(ValueError, match="at most 256"):  # not a million GAs in memory
        hl.make("ga*1000000")
    assert hl.Islands(hl.GA(pop_size=4), 256).n_islands == 256


# -- Memetic ---------------------------------------------------------------------------
def test_memetic_local_blocks_have_local_budget():
    m = hl.Memetic(hl.GA(pop_size=20), hl.LocalSearch(), every=3, top=2, local_budget=15)
    r = minimize(SPHERE, m, budget=500, seed=0)
    b = blocks(r.history["phase"])
    assert b[0] == ("ga", 60)  # three generations, then refinement
    assert b[1] == ("local", 30)  # two points x 15 evaluations, back to back
    assert r.y < 1e-6


@pytest.mark.parametrize("mode", ["lamarckian", "baldwinian"])
def test_memetic_writes_back_according_to_mode(mode):
    injected = []

    class Spy(hl.GA):
        def inject(self, X, y):
            injected.append((np.array(X), np.array(y)))
            super().inject(X, y)

    m = hl.Memetic(Spy(pop_size=10), hl.LocalSearch(), every=1, top=1, local_budget=20,
                   mode=mode)
    m.start(4, np.random.default_rng(0), budget=100)
    for _ in range(2):  # one GA generation, then the refinement of its best
        X = m.ask()
        m.tell(X, np.sum((X - 0.3) ** 2, axis=1))
    origin = m.children[0].population  # GA's view before the write-back
    while not injected:
        X = m.ask()
        m.tell(X, np.sum((X - 0.3) ** 2, axis=1))
    X_inj, y_inj = injected[0]
    refined_y = y_inj[0]
    assert refined_y < origin.y[0]
    if mode == "lamarckian":
        assert np.isclose(np.sum((X_inj[0] - 0.3) ** 2), refined_y)
    else:  # the original genotype, re-scored with the refined value
        assert any(np.allclose(X_inj[0], x) for x in origin.X)
    m.close()


def test_memetic_beats_plain_ga_on_sphere():
    ga = minimize(SPHERE, hl.GA(pop_size=20), budget=1000, seed=0)
    mem = minimize(SPHERE, hl.Memetic(hl.GA(pop_size=20), hl.LocalSearch(), every=5),
                   budget=1000, seed=0)
    assert mem.y < ga.y / 100


def test_memetic_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        hl.Memetic(hl.GA(), hl.LocalSearch(), mode="darwin")
    with pytest.raises(ValueError, match="every"):
        hl.Memetic(hl.GA(), hl.LocalSearch(), every=0)


# -- Adaptive --------------------------------------------------------------------------
def test_adaptive_switches_on_stagnation_and_hands_over_best():
    a = hl.Adaptive(Stuck(), hl.LocalSearch(), rule="stagnation", patience=20)
    r = minimize(SPHERE, a, budget=300, seed=0)
    b = blocks(r.history["phase"])
    assert b[0][0] == "stuck" and b[1][0] == "local"
    assert b[0][1] == 25  # first batch (an improvement) + 20 stale evaluations
    assert r.y < 1e-8


def test_bandit_prefers_the_arm_that_improves():
    from hybridlab.benchmarks import rosenbrock

    problem = Problem(rosenbrock, Space.box(4, -2, 2), vectorized=True)
    a = hl.Adaptive(Stuck(), hl.LocalSearch(), rule="bandit")
    r = minimize(problem, a, budget=400, seed=0)
    assert a.pulls["1:local"] > 2 * a.pulls["0:stuck"]
    assert r.y < 1e-3


def test_adaptive_bad_arguments():
    with pytest.raises(ValueError, match="rule"):
        hl.Adaptive(hl.GA(), hl.PSO(), rule="roulette")
    with pytest.raises(ValueError, match="at least two"):
        hl.Adaptive(hl.GA())


# -- string spelling -------------------------------------------------------------------
@pytest.mark.parametrize("spec, cls, name", [
    ("ga>>local", hl.Sequential, "ga>>local"),
    ("(ga>>local)|pso", hl.Portfolio, "ga>>local|pso"),
    ("memetic(ga,local)", hl.Memetic, "memetic(ga,local)"),
    ("ga*4", hl.Islands, "ga*4"),
    ("pso(n_particles=12, topology='ring') >> local(method='Powell')", hl.Sequential,
     "pso>>local"),
    ("adaptive(ga, pso, local, rule='bandit', window=3)", hl.Adaptive,
     "adaptive[bandit](ga,pso,local)"),
    ("sequential(ga, pso, local, split=[0.2, 0.3, 0.5])", hl.Sequential, "ga>>pso>>local"),
])
def test_spec_strings(spec, cls, name):
    opt = parse(spec)
    assert isinstance(opt, cls) and opt.name == name
    assert minimize(SPHERE, spec, budget=120, seed=0).n_evals == 120


def test_spec_keyword_arguments_reach_the_optimizer():
    seq = parse("pso(n_particles=12)>>local(method='Powell')")
    assert seq.stages[0].n_particles == 12 and seq.stages[1].method == "Powell"


@pytest.mark.parametrize("spec, match", [
    ("ga >>", "cannot parse"), ("ga >> nope", "unknown name 'nope'"),
    ("ga + pso", "unsupported operator"), ("__import__('os')", "unknown name"),
])
def test_spec_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        hl.make(spec)


def test_population_handed_on_is_best_first():
    seq = hl.GA(pop_size=10) >> hl.LocalSearch()
    seq.start(4, np.random.default_rng(0), budget=40)
    X = seq.ask()
    seq.tell(X, np.sum(X**2, axis=1))
    seq.tell(seq.ask(), np.zeros(10))  # the GA's 2nd generation
    assert isinstance(seq.population, Population)
    assert np.all(np.diff(seq.population.y) >= 0)
    seq.close()


# -- default() -------------------------------------------------------------------------
def test_default_is_a_switch_from_local_search_to_bipop():
    d = hl.default()
    assert isinstance(d, hl.Switch)
    assert (d.local.name, d.explore.name) == ("local", "bipop")
    assert hl.make("default") is not d  # a fresh object each time, also by name


def test_default_solves_sphere_locally_and_explores_rastrigin():
    r = minimize(SPHERE, "default", budget=600, seed=0)
    assert r.y < 1e-8 and set(r.history["phase"]) == {"local"}
    rastrigin = hl.Problem(
        lambda x: float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x))),
        hl.Space.box(3, -5, 5))
    r = minimize(rastrigin, "default", budget=1500, seed=0)
    assert r.decisions.loc[0, "to"] == "explore"
    assert {"local", "bipop"} <= set(r.history["phase"])
