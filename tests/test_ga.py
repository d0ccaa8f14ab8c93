import numpy as np
import pytest
from deap import creator

from hybridlab import GA, Population, Problem, Space, minimize


def rastrigin(x):
    return float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


def test_converges_on_sphere():
    p = Problem(lambda x: float(np.sum(x**2)), Space.box(5, -5, 5))
    r = minimize(p, GA(pop_size=40), budget=4000, seed=0)
    assert r.y < 1e-3


def test_makes_progress_on_rastrigin():
    p = Problem(rastrigin, Space.box(4, -5.12, 5.12))
    r = minimize(p, "ga", budget=3000, seed=1)
    first_gen_best = r.history["y"].iloc[:50].min()
    assert r.y < first_gen_best / 5


def test_no_deap_creator_globals():
    minimize(Problem(lambda x: 0.0, Space.box(2, 0, 1)), "ga", budget=60, seed=0)
    assert not any(hasattr(creator, n) for n in ("FitnessMin", "Individual", "_Fitness"))


def test_elitism_keeps_best():
    ga = GA(pop_size=10, elitism=1)
    ga.start(2, np.random.default_rng(0))
    f = lambda X: np.sum((X - 0.3) ** 2, axis=1)  # noqa: E731
    best = np.inf
    for _ in range(20):
        X = ga.ask()
        ga.tell(X, f(X))
        gen_best = min(ind.fitness.values[0] for ind in ga._parents)
        assert gen_best <= best
        best = gen_best


def test_starts_from_handed_population():
    init = Population(np.array([[0.1, 0.2], [0.9, 0.9]]), np.array([5.0, 1.0]))
    ga = GA(pop_size=6)
    ga.start(2, np.random.default_rng(0), init)
    X = ga.ask()
    assert X.shape == (6, 2)
    np.testing.assert_array_equal(X[:2], [[0.9, 0.9], [0.1, 0.2]])  # best first
    assert ga.population.y[0] == 1.0


def test_partial_tell_is_accepted():
    ga = GA(pop_size=8)
    ga.start(3, np.random.default_rng(0))
    X = ga.ask()
    ga.tell(X[:3], np.arange(3.0))
    assert len(ga.population) == 3
    assert ga.ask().shape == (8, 3)


def test_offspring_stay_in_box():
    ga = GA(pop_size=20, eta_mut=1.0, eta_cx=1.0)
    ga.start(4, np.random.default_rng(5))
    for _ in range(10):
        X = ga.ask()
        assert (X >= 0).all() and (X <= 1).all()
        ga.tell(X, X.sum(axis=1))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"pop_size": 1}, "pop_size"), ({"cxpb": 1.5}, "cxpb"), ({"mutpb": -0.1}, "mutpb"),
     ({"indpb": 0}, "indpb"), ({"eta_cx": 0}, "eta"), ({"tournsize": 0}, "tournsize"),
     ({"pop_size": 4, "elitism": 4}, "elitism")],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GA(**kwargs)
