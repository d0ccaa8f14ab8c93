"""The pieces of the one stepping loop, and the optimizer contract they rely on."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hybridlab as hl
from hybridlab.fidelity import Fidelity
from hybridlab.optimizers.adapted import Adapted, adapt
from hybridlab.optimizers.base import Optimizer, OptimizerProtocol
from hybridlab.optimizers.engines import run
from hybridlab.stepping import (
    FailureRule,
    batch_fidelity,
    checked_ask,
    checked_fidelity,
    encode_init,
    phase_labels,
)


class Fixed:
    """A duck-typed optimizer: start/ask/tell only."""

    def __init__(self, X):
        self.X = np.asarray(X, dtype=float)

    def start(self, dim, rng, init=None, budget=None):
        self.told = 0

    def ask(self):
        return self.X

    def tell(self, X, y):
        self.told += len(y)


def test_checked_ask_shapes_and_clips() -> None:
    assert checked_ask(Fixed([0.5, 2.0]), 2).tolist() == [[0.5, 1.0]]
    with pytest.raises(RuntimeError, match="expected \\(n >= 1, 3\\)"):
        checked_ask(Fixed([[0.5, 0.5]]), 3)
    with pytest.raises(RuntimeError, match="non-finite"):
        checked_ask(Fixed([[np.nan, 0.5]]), 2)


def test_phase_labels_one_rule() -> None:
    assert phase_labels(hl.GA(), 2) == ["ga", "ga"]
    assert phase_labels(Fixed([0.5]), 1) == ["fixed"]

    class Many(Fixed):
        phase = ("a", "b", "c")

    assert phase_labels(Many([0.5]), 2) == ["a", "b"]
    with pytest.raises(RuntimeError, match="3 labels for 4 points"):
        phase_labels(Many([0.5]), 4)


def test_encode_init_names_the_argument() -> None:
    space = hl.Space.box(2, 0, 10)
    assert encode_init(space, np.array([5.0, 10.0])).tolist() == [[0.5, 1.0]]
    with pytest.raises(ValueError, match="points_to_evaluate is empty"):
        encode_init(space, [], "points_to_evaluate")
    with pytest.raises(ValueError, match="init: value"):
        encode_init(space, [[11, 0]])


def test_failure_rule_remembers_the_worst_across_batches() -> None:
    rule = FailureRule()
    assert rule.fill(np.array([np.nan])).tolist() == [math.inf]
    assert rule.fill(np.array([2.0, np.inf, 1.0])).tolist() == [2.0, 2.0, 1.0]
    assert rule.fill(np.array([np.nan, 0.5])).tolist() == [2.0, 0.5]
    y = np.array([1.0, 7.0])  # explicit ok: a non-finite ok value stays, 7 is a failure
    assert rule.fill(y, np.array([True, False])).tolist() == [1.0, 2.0]
    assert y.tolist() == [1.0, 7.0]  # the input is not modified


def test_fidelity_per_batch() -> None:
    spec = Fidelity(1, 27, resumable=True)
    mf = hl.MultiFidelity(hl.GA(pop_size=9), 1, 27)
    mf.start(2, np.random.default_rng(0))
    mf.ask()
    assert batch_fidelity(mf, spec) == (1.0, 1.0)
    assert batch_fidelity(hl.GA(), spec) == (27.0, 27.0)
    assert batch_fidelity(None, spec) == (27.0, 27.0)
    assert batch_fidelity(hl.GA(), None) == (None, 1.0)
    plain = hl.Problem(lambda x: 0.0, hl.Space.box(2, 0, 1))
    with pytest.raises(ValueError, match="declares none"):
        checked_fidelity(plain, mf)
    assert checked_fidelity(plain, hl.GA()) is None


def test_the_base_class_names_the_whole_contract() -> None:
    members = ["name", "phase", "start", "ask", "tell", "population", "stop", "close",
               "inject", "rungs", "fidelity", "previous_fidelity"]
    for m in members:
        assert hasattr(OptimizerProtocol, m) or m in OptimizerProtocol.__annotations__, m
        assert hasattr(Optimizer, m), m
    opt = hl.RandomSearch()
    assert (opt.rungs, opt.fidelity, opt.previous_fidelity) == (None, None, 0.0)
    opt.start(2, np.random.default_rng(0))
    assert isinstance(opt, OptimizerProtocol)


def test_a_duck_typed_optimizer_runs_in_every_loop() -> None:
    duck = Fixed([[0.2, 0.8], [0.6, 0.4]])
    p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(2, -1, 1))
    r = hl.minimize(p, duck, budget=5, seed=0)
    assert r.n_evals == 5 and duck.told == 5 and r.optimizer == "fixed"
    assert set(r.history["phase"]) == {"fixed"}
    a = adapt(duck)
    assert isinstance(a, Adapted) and a.stop() is False and a.rungs is None
    a.close()
    a.inject(np.zeros((1, 2)), np.zeros(1))  # no-ops for a duck without them
    assert adapt(hl.GA()).name == "ga"


def test_nested_run_matches_minimize() -> None:
    """The bare loop of nested searches gives what minimize gives on the unit box."""

    def f(U):
        return np.sum((U - 0.3) ** 2, axis=1)

    init = np.array([[0.1, 0.9], [0.5, 0.5]])
    for spec in ("pso", "local", "ga>>local"):
        x, y = run(hl.make(spec), f, 2, 150, np.random.default_rng(np.random.SeedSequence(7)),
                   init=init)
        p = hl.Problem(f, hl.Space.box(2, 0.0, 1.0), vectorized=True)
        r = hl.minimize(p, hl.make(spec), 150, seed=7, init=list(init))
        assert y == r.y and np.array_equal(x, r.x)


def test_nested_run_survives_failures() -> None:
    def bad(U):
        raise RuntimeError("no")

    assert run(hl.RandomSearch(), bad, 2, 10, np.random.default_rng(0)) == (None, math.inf)
