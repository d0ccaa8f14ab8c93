"""HybridSampler: a hybridlab optimizer proposing the trials of an Optuna study.

Small budgets, in-memory studies (one SQLite study); all skip without Optuna.
"""

import math

import numpy as np
import pytest

pytest.importorskip("optuna")

import optuna

from hybridlab import Categorical, Integer, Problem, Real, Space, minimize
from hybridlab.integrations import HybridSampler, suggest
from hybridlab.integrations.optuna_sampler import FALLBACK_KEY, PHASE_KEY

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = Space({"x": Real(-3.0, 3.0), "y": Real(-3.0, 3.0)})


def quadratic(c):
    """Minimum 0 at x = 1, y = -0.5."""
    return (c["x"] - 1.0) ** 2 + 2.0 * (c["y"] + 0.5) ** 2


def run_study(f, space=SPACE, optimizer="ga>>local", n_trials=60, budget=60, seed=0,
              direction="minimize", storage=None, **optimize):
    sampler = HybridSampler(space, optimizer, seed=seed, budget=budget)
    study = optuna.create_study(sampler=sampler, direction=direction, storage=storage)
    study.optimize(lambda t: f(suggest(t, space)), n_trials=n_trials, **optimize)
    return study, sampler


def params(study, space):
    """The trials' parameters as the history columns of ``minimize``."""
    return {n: [t.params[n] for t in study.trials] for n in space.names}


def assert_replays(study, result, space):
    got, hist = params(study, space), result.history
    for n in space.names:
        assert list(hist[n]) == got[n], n
    assert len(study.trials) == result.n_evals


# -- (a) the same run as minimize ------------------------------------------------------


def test_same_trials_and_best_as_minimize():
    study, sampler = run_study(quadratic)
    r = minimize(Problem(lambda x: quadratic({"x": x[0], "y": x[1]}), SPACE), "ga>>local",
                 budget=60, seed=0)
    assert_replays(study, r, SPACE)
    assert study.best_value == r.y
    assert (sampler.n_suggested, sampler.n_told, sampler.n_fallback) == (60, 60, 0)
    phases = [t.system_attrs[PHASE_KEY] for t in study.trials]
    assert phases == list(r.history["phase"])


# -- (b) mixed space, maximised --------------------------------------------------------


MIXED = Space({"lr": Real(1e-4, 1e-1, log=True), "layers": Integer(1, 8),
               "act": Categorical(["relu", "tanh", "gelu"])})


def score(c):
    bonus = {"relu": 0.0, "tanh": 0.3, "gelu": 0.1}[c["act"]]
    return -(math.log10(c["lr"]) + 2.0) ** 2 - 0.1 * (c["layers"] - 3) ** 2 + bonus


def test_mixed_space_maximize_is_minimize_of_negated():
    study, _ = run_study(score, MIXED, "ga", n_trials=40, budget=40, direction="maximize")
    r = minimize(Problem(lambda c: -score(c), MIXED), "ga", budget=40, seed=0)
    assert_replays(study, r, MIXED)
    assert study.best_value == -r.y
    t = study.best_trial
    assert isinstance(t.params["layers"], int) and t.params["act"] in ("relu", "tanh", "gelu")


def test_search_space_is_the_optuna_distributions():
    sampler = HybridSampler(MIXED, seed=0)
    study = optuna.create_study(sampler=sampler)
    d = sampler.infer_relative_search_space(study, study.ask()._cached_frozen_trial)
    assert d == {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
                 "layers": optuna.distributions.IntDistribution(1, 8),
                 "act": optuna.distributions.CategoricalDistribution(["relu", "tanh", "gelu"])}


def test_dict_of_optuna_distributions_is_a_space():
    dists = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
             "layers": optuna.distributions.IntDistribution(1, 8),
             "act": optuna.distributions.CategoricalDistribution(["relu", "tanh", "gelu"])}
    assert HybridSampler(dists).space == MIXED


def test_parameters_outside_the_space_are_sampled_at_random():
    sampler = HybridSampler(SPACE, "pso", seed=0, budget=20)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: quadratic(suggest(t, SPACE)) + t.suggest_float("z", 0, 1),
                   n_trials=20)
    z = [t.params["z"] for t in study.trials]
    assert all(0 <= v <= 1 for v in z) and len(set(z)) == 20
    assert sampler.n_told == 20


# -- (c) failures ----------------------------------------------------------------------


def failing(c):
    if c["x"] > 1.5:
        raise ValueError("diverged")
    return quadratic(c)


def test_failing_trials_get_the_worst_value_and_the_search_goes_on():
    study, sampler = run_study(failing, catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert len(states) == 60 and states.count(optuna.trial.TrialState.FAIL) > 0
    assert sampler.n_told == 60
    # minimize penalises the same failures with the worst value seen: the same run
    r = minimize(Problem(lambda x: failing({"x": x[0], "y": x[1]}), SPACE), "ga>>local",
                 budget=60, seed=0)
    assert_replays(study, r, SPACE)
    assert study.best_value == r.y


def test_pruned_trials_count_as_failures():
    def objective(t):
        c = suggest(t, SPACE)
        if c["y"] > 1.0:
            t.report(-100.0, step=0)  # a good-looking intermediate value is not used
            raise optuna.TrialPruned()
        return quadratic(c)

    sampler = HybridSampler(SPACE, "ga", seed=1, budget=30)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=30)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned and sampler.n_told == 30
    assert sampler.optimizer.population.y.min() >= 0.0  # -100 never reached the optimizer


# -- (d) Optuna storage ----------------------------------------------------------------


def test_rdb_storage(tmp_path):
    storage = optuna.storages.RDBStorage("sqlite:///" + str(tmp_path / "study.db"))
    study, sampler = run_study(quadratic, optimizer="ga", n_trials=20, budget=20,
                               storage=storage)
    loaded = optuna.load_study(study_name=study.study_name, storage=storage)
    r = minimize(Problem(lambda x: quadratic({"x": x[0], "y": x[1]}), SPACE), "ga",
                 budget=20, seed=0)
    assert_replays(loaded, r, SPACE)
    assert loaded.best_value == r.y and sampler.n_told == 20


# -- parallel workers, budget ----------------------------------------------------------


def test_trials_beyond_the_budget_are_random():
    study, sampler = run_study(quadratic, optimizer="ga", n_trials=25, budget=20)
    assert (sampler.n_suggested, sampler.n_told, sampler.n_fallback) == (20, 20, 5)
    assert [FALLBACK_KEY in t.system_attrs for t in study.trials] == [False] * 20 + [True] * 5


def test_a_trial_started_while_the_batch_is_pending_is_random():
    """What ``n_jobs > 1`` does, made deterministic with Optuna's ask/tell interface."""
    sampler = HybridSampler(SPACE, "ga", seed=0, budget=100)
    study = optuna.create_study(sampler=sampler)
    first = study.ask()
    suggest(first, SPACE)
    n = len(sampler._X)  # the first batch
    trials = [first] + [study.ask() for _ in range(n)]
    for t in trials[1:]:
        suggest(t, SPACE)
    late = study.trials[trials[-1].number]
    assert sampler.n_fallback == 1 and late.system_attrs[FALLBACK_KEY] == "batch pending"
    for t in reversed(trials):  # finish order does not matter
        study.tell(t, quadratic(t.params))
    assert sampler.n_told == n  # the fallback trial is not told
    t = study.ask()
    suggest(t, SPACE)
    assert PHASE_KEY in study.trials[t.number].system_attrs and sampler.n_suggested == n + 1


def test_parallel_workers():
    sampler = HybridSampler(SPACE, "ga", seed=0, budget=40)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: quadratic(suggest(t, SPACE)), n_trials=40, n_jobs=2)
    assert len(study.trials) == 40 and sampler.n_told > 0
    assert sampler.n_suggested + sampler.n_fallback == 40
    assert sum(FALLBACK_KEY in t.system_attrs for t in study.trials) == sampler.n_fallback


def test_enqueued_trial_tells_the_evaluated_point():
    """An enqueued value overrides the proposed one: the optimizer learns where the
    trial really was (a fully enqueued trial uses no proposed point at all)."""
    sampler = HybridSampler(SPACE, "ga", seed=0, budget=20)
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({"x": 1.0})
    study.enqueue_trial({"x": 2.0, "y": 0.0})
    study.optimize(lambda t: quadratic(suggest(t, SPACE)), n_trials=21)
    assert study.trials[0].params["x"] == 1.0
    assert (sampler.n_suggested, sampler.n_told) == (20, 20)
    pop = sampler.optimizer.population
    i = int(np.argmin(np.abs(pop.X[:, 0] - SPACE.encode([1.0, 0.0])[0])))
    assert pop.X[i, 0] == pytest.approx(2 / 3) and pop.y[i] == study.trials[0].value


# -- (e) bad arguments -----------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"space": [1, 2]},
    {"space": {}},
    {"space": {"x": (0, 1)}},
    {"space": {"x": optuna.distributions.FloatDistribution(0, 1, step=0.1)}},
    {"space": Space({"x": Categorical([(1, 2), (3, 4)])})},
    {"space": SPACE, "budget": 0},
    {"space": SPACE, "budget": 2.5},
    {"space": SPACE, "seed": -1},
    {"space": SPACE, "seed": "zero"},
    {"space": SPACE, "optimizer": object()},
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        HybridSampler(**kwargs)


def test_unknown_optimizer_spec():
    with pytest.raises((ValueError, KeyError)):
        HybridSampler(SPACE, "no-such-optimizer")


def test_multi_objective_is_refused():
    study = optuna.create_study(sampler=HybridSampler(SPACE, seed=0),
                                directions=["minimize", "minimize"])
    with pytest.raises(ValueError, match="multi-objective"):
        study.optimize(lambda t: (t.suggest_float("x", -3, 3), 0.0), n_trials=1)


def test_one_sampler_per_study():
    sampler = HybridSampler(SPACE, "ga", seed=0, budget=10)
    optuna.create_study(sampler=sampler).optimize(
        lambda t: quadratic(suggest(t, SPACE)), n_trials=2)
    with pytest.raises(ValueError, match="another study"):
        optuna.create_study(sampler=sampler).optimize(
            lambda t: quadratic(suggest(t, SPACE)), n_trials=1)


def test_trials_finished_without_after_trial_are_read_from_storage():
    """E.g. a stale trial failed by Optuna's heartbeat: read back from the study."""
    sampler = HybridSampler(SPACE, "ga", seed=0, budget=100)
    study = optuna.create_study(sampler=sampler)
    first = study.ask()
    suggest(first, SPACE)
    trials = [first] + [study.ask() for _ in range(len(sampler._X) - 1)]
    for t in trials[1:]:
        suggest(t, SPACE)
    for t in trials[1:]:
        study.tell(t, quadratic(t.params))
    study._storage.set_trial_state_values(first._trial_id, optuna.trial.TrialState.FAIL)
    assert sampler.n_told == 0
    suggest(study.ask(), SPACE)
    assert sampler.n_told == len(trials) and sampler.n_fallback == 0


def test_suggest_draws_a_conditional_space_as_decode_does():
    from hybridlab.conditional import Choice, ConditionalSpace

    space = ConditionalSpace({"C": Real(1e-2, 10, log=True),
                              "k": Choice({"a": 1, "b": (2, {"g": Real(0, 1),
                                                              "h": Categorical(["x", "y"])})})})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = [suggest(study.ask(), space) for _ in range(20)]
    assert {frozenset(d) for d in drawn} == {frozenset({"C", "k"}),
                                            frozenset({"C", "k", "g", "h"})}
    assert all((d["k"] == 2) == ("g" in d) for d in drawn)
    decoded = space.decode(np.full(space.dim, 0.9))
    assert set(decoded) == {"C", "k", "g", "h"}
    with pytest.raises(ValueError, match="no Optuna distribution"):
        suggest(study.ask(), {"x": object()})
