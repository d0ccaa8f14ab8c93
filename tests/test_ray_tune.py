"""HybridSearcher: a hybridlab optimizer proposing Ray Tune trials.

The unit tests call ``suggest``/``on_trial_complete`` directly (no Tune run); the last two
run real ``Tuner``s on a local two-CPU Ray.  All skip when Ray Tune is not installed.
"""

import math
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("ray.tune")

from ray.tune.search import Searcher

import hybridlab as hl
from hybridlab import Categorical, Integer, Real, Space
from hybridlab.integrations import HybridSearcher

# one local Ray per test run: both Ray modules on one xdist worker (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("ray")

FINISHED = Searcher.FINISHED
SPACE = Space({"x": Real(-3.0, 3.0), "y": Real(-3.0, 3.0)})


def quadratic(c):
    """Minimum 0 at x = 1, y = -0.5."""
    return (c["x"] - 1.0) ** 2 + 2.0 * (c["y"] + 0.5) ** 2


def drain(searcher, start=0):
    """Suggest until the searcher waits or finishes: ([(trial_id, config)], last answer)."""
    out, k = [], start
    while True:
        c = searcher.suggest(f"t{k}")
        if c is None or c == FINISHED:
            return out, c
        out.append((f"t{k}", c))
        k += 1


def run_loop(searcher, metric=quadratic, fail=(), reverse=True):
    """Drive a searcher as Tune would, completing each batch in reverse order."""
    configs, k = [], 0
    while True:
        batch, last = drain(searcher, k)
        k += len(batch)
        configs += [c for _, c in batch]
        for tid, c in reversed(batch) if reverse else batch:
            if tid in fail:
                searcher.on_trial_complete(tid, None, error=True)
            else:
                searcher.on_trial_complete(tid, {"loss": metric(c)})
        if last == FINISHED or not batch:
            return configs


# -- unit tests: no Tune run ----------------------------------------------------------


def test_batch_is_handed_out_point_by_point_and_told_when_complete():
    s = HybridSearcher(SPACE, "random", metric="loss", mode="min", seed=0, budget=100)
    batch, last = drain(s)
    n = len(batch)
    assert n >= 2 and last is None  # None: waiting for the batch's results
    assert s.n_suggested == n and s.n_told == 0
    assert s.suggest("extra") is None  # still waiting: nothing is asked ahead
    for tid, c in batch[:-1]:
        s.on_trial_complete(tid, {"loss": quadratic(c)})
    assert s.n_told == 0 and s.suggest("extra") is None
    tid, c = batch[-1]
    s.on_trial_complete(tid, {"loss": quadratic(c)})
    assert s.n_told == n
    assert s.optimizer.n_told == n  # the optimizer saw the whole batch at once
    assert isinstance(s.suggest("next"), dict)


def test_same_seed_gives_the_run_minimize_gives():
    """Tell order does not matter: the searcher replays ``minimize`` exactly."""
    problem = hl.Problem(quadratic_array, SPACE)
    ref = hl.minimize(problem, "ga>>local", budget=30, seed=3)
    s = HybridSearcher(SPACE, "ga>>local", metric="loss", mode="min", seed=3, budget=30)
    configs = run_loop(s)
    assert len(configs) == 30 and s.n_told == 30
    np.testing.assert_array_equal([[c["x"], c["y"]] for c in configs],
                                  ref.history[["x", "y"]].to_numpy())
    assert s.best_value == ref.y and s.suggest("after") == FINISHED
    again = run_loop(HybridSearcher(SPACE, "ga>>local", metric="loss", mode="min", seed=3,
                                    budget=30), reverse=False)
    assert again == configs
    other = run_loop(HybridSearcher(SPACE, "ga>>local", metric="loss", mode="min", seed=4,
                                    budget=30))
    assert other != configs


def quadratic_array(x):
    return quadratic({"x": x[0], "y": x[1]})


def test_finished_after_budget_and_last_batch_trimmed():
    s = HybridSearcher(SPACE, "pso", metric="loss", mode="min", seed=0, budget=7)
    batch, last = drain(s)
    assert len(batch) == 7 and last == FINISHED  # pso asks more; the batch is trimmed
    for tid, c in batch:
        s.on_trial_complete(tid, {"loss": quadratic(c)})
    assert s.n_told == 7 and s.suggest("z") == FINISHED


def test_failures_get_the_worst_value_seen():
    s = HybridSearcher(SPACE, "random", metric="loss", mode="min", seed=0, budget=100)
    batch, _ = drain(s)
    (t0, _), (t1, _), (t2, _), (t3, _) = batch[:4]
    s.on_trial_complete(t0, None, error=True)  # the trial raised
    s.on_trial_complete(t1, {"other": 1.0})  # no metric
    s.on_trial_complete(t2, {"loss": float("nan")})
    s.on_trial_complete(t3, {"loss": 5.0})
    for i, (tid, _) in enumerate(batch[4:]):
        s.on_trial_complete(tid, {"loss": float(i)})
    told = s.optimizer.population  # the random search keeps what it was told
    worst = max(5.0, len(batch) - 5.0)
    assert np.count_nonzero(told.y == worst) >= 3
    assert np.isfinite(told.y).all()


def test_failures_before_any_value_are_inf():
    s = HybridSearcher(SPACE, "random", metric="loss", mode="min", seed=0, budget=100)
    batch, _ = drain(s)
    for tid, _ in batch:
        s.on_trial_complete(tid, None, error=True)
    assert np.isinf(s.optimizer.population.y).all() and s.best_config is None


def test_mode_max_negates_the_metric():
    s = HybridSearcher(SPACE, "random", metric="acc", mode="max", seed=0, budget=100)
    batch, _ = drain(s)
    for i, (tid, _) in enumerate(batch):
        s.on_trial_complete(tid, {"acc": float(i)})
    assert s.optimizer.population.y[0] == -(len(batch) - 1)
    assert s.best_value == len(batch) - 1 and s.best_config == batch[-1][1]


def test_mixed_space_configs_and_points_to_evaluate():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "layers": Integer(1, 4),
                   "act": Categorical(["relu", "tanh"])})
    first = {"lr": 1e-2, "layers": 3, "act": "tanh"}
    s = HybridSearcher(space, "ga", metric="loss", mode="min", seed=1, budget=12,
                       points_to_evaluate=[first])
    given = s.suggest("a")
    assert given == {**first, "lr": pytest.approx(1e-2)}  # the warm start goes first
    assert s.suggest("b") is None
    s.on_trial_complete("a", {"loss": 1.0})
    configs = [first, *run_loop(s, metric=lambda c: c["lr"] + c["layers"])]
    assert len(configs) == 12
    for c in configs:
        assert set(c) == {"lr", "layers", "act"} and 1e-4 <= c["lr"] <= 1e-1
        assert type(c["layers"]) is int and c["act"] in ("relu", "tanh")


def test_set_search_properties_and_checks():
    s = HybridSearcher(SPACE, "random", seed=0)
    with pytest.raises(ValueError, match="metric and mode"):
        s.suggest("a")
    assert s.set_search_properties("loss", "min", {"const": 1}, num_samples=9)
    assert (s.metric, s.mode) == ("loss", "min")
    from ray import tune

    assert not s.set_search_properties(None, None, {"x": tune.uniform(0, 1)})
    with pytest.raises(ValueError, match="mode"):
        HybridSearcher(SPACE, mode="best")
    with pytest.raises(ValueError, match="budget"):
        HybridSearcher(SPACE, budget=0)
    with pytest.raises(ValueError, match="ask/tell"):
        HybridSearcher(SPACE, optimizer=42)
    with pytest.raises(ValueError, match="points_to_evaluate"):
        HybridSearcher(SPACE, points_to_evaluate=[{"x": 9.0, "y": 0.0}])


@pytest.mark.parametrize("spec", ["ga>>local", "random"])
def test_save_and_restore_resume_the_same_run(spec, tmp_path):
    """Saved mid-batch; restore replays the told batches into a fresh optimizer (a
    running local search cannot be pickled) and the run goes on as if never stopped."""
    ref = run_loop(HybridSearcher(SPACE, spec, metric="loss", mode="min", seed=2, budget=40))
    s = HybridSearcher(SPACE, spec, metric="loss", mode="min", seed=2, budget=40)
    configs, k = [], 0
    while len(configs) < 25:  # complete a few batches
        batch, _ = drain(s, k)
        k += len(batch)
        configs += [c for _, c in batch]
        for tid, c in batch:
            s.on_trial_complete(tid, {"loss": quadratic(c)})
    batch, _ = drain(s, k)
    configs += [c for _, c in batch]
    s.on_trial_complete(batch[0][0], {"loss": quadratic(batch[0][1])})  # one of the batch
    s.save(str(tmp_path / "s.pkl"))
    t = HybridSearcher(SPACE, "pso", seed=9)  # settings come from the checkpoint
    t.restore(str(tmp_path / "s.pkl"))
    assert (t.metric, t.n_suggested, t.budget) == ("loss", len(configs), 40)
    for tid, c in batch[1:]:
        t.on_trial_complete(tid, {"loss": quadratic(c)})
    assert configs + run_loop(t) == ref


def test_importing_the_integrations_does_not_import_ray():
    code = ("import sys, hybridlab.integrations as i; assert 'ray' not in sys.modules; "
            "i.HybridSearcher; assert 'ray.tune' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- Tune runs ------------------------------------------------------------------------
# reuse_actors=True: one trial actor per CPU instead of one per trial (~0.1 s per trial
# here instead of ~4 s on a loaded two-core machine).


def trainable(config):
    from ray import tune

    tune.report({"loss": quadratic(config) + config.get("offset", 0.0)})


def iterative(config):
    """Several iterations: the loss falls towards the quadratic, as training would."""
    from ray import tune

    for step in range(1, 9):
        tune.report({"loss": quadratic(config) + 1.0 / step})


@pytest.fixture(scope="module")
def local_ray(ray_session):
    """The session's local Ray; this module's functions are shipped by value (Ray's
    workers cannot import ``tests/`` modules)."""
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray_session
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_tuner_finds_the_optimum(local_ray, tmp_path):
    from ray import tune

    searcher = HybridSearcher(SPACE, "ga>>local", metric="loss", mode="min", seed=0)
    tuner = tune.Tuner(
        trainable, param_space={"offset": 0.0},  # a constant: Tune merges it in
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=24, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="quad", verbose=0))
    results = tuner.fit()
    assert len(results) == 24 and not results.errors
    configs = [r.config for r in results]
    assert all(-3 <= c["x"] <= 3 and -3 <= c["y"] <= 3 for c in configs)
    best = results.get_best_result("loss", "min")
    assert best.metrics["loss"] < 0.05
    assert abs(best.config["x"] - 1.0) < 0.2 and abs(best.config["y"] + 0.5) < 0.2
    # num_samples was the plan, as minimize's budget: the same run as minimize
    ref = hl.minimize(hl.Problem(quadratic_array, SPACE), "ga>>local", budget=24, seed=0)
    assert best.metrics["loss"] == ref.y and searcher.n_told == 24


def test_tuner_with_asha(local_ray, tmp_path):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    searcher = HybridSearcher(SPACE, "ga>>local", metric="loss", mode="min", seed=1,
                              budget=16)
    tuner = tune.Tuner(
        iterative,
        tune_config=tune.TuneConfig(
            search_alg=searcher, num_samples=16, reuse_actors=True,
            scheduler=ASHAScheduler(metric="loss", mode="min", max_t=8, grace_period=1,
                                    reduction_factor=2)),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="asha", verbose=0))
    results = tuner.fit()
    assert len(results) == 16 and not results.errors
    iters = [r.metrics["training_iteration"] for r in results]
    assert min(iters) < 8 and max(iters) == 8  # ASHA stopped some trials early
    assert searcher.n_told == 16  # early-stopped trials were told their last result
    assert searcher.best_value < 1.0 and math.isfinite(searcher.best_value)
