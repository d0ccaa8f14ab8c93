"""Losses by name (hybridlab.ml.train.make_loss and friends): values against torch's own
implementations or closed forms, finite gradients, the registry, the loss as a searched
dimension, fit with a loss name, and the loss study in quick mode."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_class_weight
from torch.nn import functional as F

from hybridlab.ml.train import (
    LOSS_TASKS,
    TinyMLP,
    compare_losses,
    fit,
    loss_from_params,
    loss_names,
    loss_space,
    loss_summary,
    loss_task,
    make_loss,
    register_loss,
)
from hybridlab.space import Real

CLASSIFICATION = ["cross_entropy", "label_smoothing", "focal", "class_weighted"]
REGRESSION = ["mse", "mae", "huber", "quantile"]


def _logits(n: int = 12, k: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * 3, torch.randint(0, k, (n,), generator=g)


def _close(a: torch.Tensor, b: torch.Tensor | float) -> None:
    assert torch.allclose(torch.as_tensor(a, dtype=torch.float64),
                          torch.as_tensor(b, dtype=torch.float64), rtol=1e-5, atol=1e-6), (a, b)


# -- values ------------------------------------------------------------------------------
def test_builtin_names_by_task():
    assert loss_names("classification") == CLASSIFICATION
    assert loss_names("regression") == REGRESSION
    assert set(CLASSIFICATION + REGRESSION) <= set(loss_names())


def test_classification_losses_equal_torch():
    x, y = _logits()
    w = torch.tensor([1.0, 2.0, 0.5, 3.0])
    _close(make_loss("cross_entropy")(x, y), F.cross_entropy(x, y))
    _close(make_loss("label_smoothing", smoothing=0.2)(x, y),
           F.cross_entropy(x, y, label_smoothing=0.2))
    _close(make_loss("class_weighted", weights=w.tolist())(x, y), F.cross_entropy(x, y, weight=w))
    _close(make_loss("focal", gamma=0.0)(x, y), F.cross_entropy(x, y))
    _close(make_loss("focal", gamma=0.0, alpha=w.tolist())(x, y),
           F.cross_entropy(x, y, weight=w))


def test_balanced_weights_are_sklearns():
    x, y = _logits(n=40, k=3, seed=1)
    w = torch.tensor(compute_class_weight("balanced", classes=np.arange(3), y=y.numpy()),
                     dtype=torch.float32)
    _close(make_loss("class_weighted", y_train=y)(x, y), F.cross_entropy(x, y, weight=w))
    _close(make_loss("focal", gamma=0.0, alpha="balanced", y_train=y.numpy())(x, y),
           F.cross_entropy(x, y, weight=w))


def test_focal_closed_form():
    x, y = _logits(seed=2)
    p = torch.softmax(x.double(), 1)[torch.arange(len(y)), y]
    expected = (-(1 - p) ** 2 * torch.log(p)).mean()
    _close(make_loss("focal", gamma=2.0)(x, y), expected)


def test_regression_losses_equal_torch_and_match_shapes():
    g = torch.Generator().manual_seed(3)
    out, t = torch.randn(20, 1, generator=g), torch.randn(20, generator=g).double() * 4
    flat, t32 = out[:, 0], t.float()
    _close(make_loss("mse")(out, t), F.mse_loss(flat, t32))
    _close(make_loss("mae")(out, t), F.l1_loss(flat, t32))
    _close(make_loss("huber", delta=0.7)(out, t), F.huber_loss(flat, t32, delta=0.7))
    _close(make_loss("quantile", q=0.5)(out, t), F.l1_loss(flat, t32) / 2)
    r = (t32 - flat).numpy()
    _close(make_loss("quantile", q=0.9)(out, t), float(np.mean(np.where(r > 0, 0.9 * r,
                                                                         -0.1 * r))))
    assert make_loss("mse")(out, t).dtype == torch.float32
    with pytest.raises(ValueError, match="one output per target"):
        make_loss("mse")(torch.zeros(20, 2), t)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.integers(2, 5), st.integers(0, 10_000),
       st.floats(0.0, 5.0), st.floats(0.01, 0.99))
def test_loss_properties(n, k, seed, gamma, q):
    x, y = _logits(n, k, seed)
    ce = F.cross_entropy(x, y)
    focal = make_loss("focal", gamma=gamma)(x, y)
    assert 0.0 <= float(focal) <= float(ce) + 1e-6  # the focal factor is in [0, 1]
    out, t = x[:, :1], x[:, 1]
    pinball = make_loss("quantile", q=q)(out, t)
    mae = F.l1_loss(out[:, 0], t)
    assert min(q, 1 - q) * float(mae) - 1e-6 <= float(pinball) <= max(q, 1 - q) * float(mae) \
        + 1e-6
    assert float(make_loss("huber", delta=1.0)(out, t)) <= 0.5 * float(
        F.mse_loss(out[:, 0], t)) + 1e-6


@pytest.mark.parametrize("name,params", [
    ("cross_entropy", {}), ("label_smoothing", {"smoothing": 0.1}), ("focal", {"gamma": 0.5}),
    ("focal", {"gamma": 3.0, "alpha": [1.0, 2.0, 1.0]}),
    ("class_weighted", {"weights": [1.0, 3.0, 0.2]}),
])
def test_classification_gradients_finite_on_extreme_logits(name, params):
    x = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, 50.0], [1e4, 0.0, 0.0]],
                     requires_grad=True)
    y = torch.tensor([0, 0, 2, 1])  # right with certainty, wrong with certainty, ...
    loss = make_loss(name, **params)(x, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_gradients_finite_on_huge_residuals(name):
    out = torch.tensor([[1e6], [-1e6], [0.0]], requires_grad=True)
    loss = make_loss(name)(out, torch.tensor([0.0, 0.0, 0.0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(out.grad).all()


def test_losses_pickle():
    loss = make_loss("focal", gamma=1.5, alpha=[1.0, 2.0])
    again = pickle.loads(pickle.dumps(loss))
    x, y = _logits(k=2)
    _close(again(x, y), loss(x, y))


# -- registry and errors -----------------------------------------------------------------
def test_register_loss_round_trip():
    name = "test_scaled_mse_round_trip"

    def factory(scale: float = 1.0):
        return lambda o, t: scale * F.mse_loss(o.reshape(-1), t)

    register_loss(name, factory, space={"scale": Real(0.5, 2.0)})
    assert name in loss_names() and name not in loss_names("regression")
    _close(make_loss(name, scale=2.0)(torch.ones(3), torch.zeros(3)), 2.0)
    space = loss_space("regression", losses=["mse", name])
    params = space.decode(np.ones(space.dim))
    assert params == {"loss": name, "loss__scale": 2.0}
    _close(loss_from_params(params)(torch.ones(3), torch.zeros(3)), 2.0)
    with pytest.raises(ValueError, match="already registered"):
        register_loss(name, factory)
    register_loss(name, lambda: lambda o, t: o.sum() * 0, overwrite=True)
    _close(make_loss(name)(torch.ones(3), torch.zeros(3)), 0.0)


@pytest.mark.parametrize("call,match", [
    (lambda: make_loss("nope"), r"unknown loss 'nope'; use one of \[.*'cross_entropy'.*'huber'"),
    (lambda: make_loss("label_smoothing", smoothing=1.0), r"smoothing must be in \[0, 1\)"),
    (lambda: make_loss("label_smoothing", smoothing=-0.1), r"smoothing=0.1"),
    (lambda: make_loss("focal", gamma=-1), r"gamma must be >= 0.*gamma=2.0"),
    (lambda: make_loss("quantile", q=0.0), r"q must be in \(0, 1\)"),
    (lambda: make_loss("quantile", q=1.0), r"q=0.5"),
    (lambda: make_loss("huber", delta=0.0), r"delta must be > 0"),
    (lambda: make_loss("huber", delta=float("nan")), r"delta must be > 0"),
    (lambda: make_loss("mse", delta=1.0), r"takes no parameter\(s\) \['delta'\]"),
    (lambda: make_loss("class_weighted"), r"needs the training targets: pass y_train"),
    (lambda: make_loss("class_weighted", weights=[-1.0, 1.0]), r"non-negative"),
    (lambda: make_loss("focal", alpha="uniform"), r"use 'balanced'"),
    (lambda: loss_space("ranking"), r"unknown task 'ranking'"),
    (lambda: loss_space("regression", losses=["nope"]), r"unknown loss 'nope'"),
    (lambda: loss_space("regression", extra={"loss__q": Real(0, 1)}), r"rename them"),
    (lambda: loss_from_params({"lr": 0.1}), r"no 'loss' entry"),
    (lambda: register_loss("bad name", lambda: F.mse_loss), r"identifier"),
    (lambda: register_loss("x_ok", 3), r"factory must be callable"),
    (lambda: register_loss("x_ok", lambda: F.mse_loss, space={"a": 1}), r"use Real"),
    (lambda: loss_task("nope"), r"unknown task"),
    (lambda: compare_losses(tasks=("outliers",), seeds=(0,), budget=0), r"budget must be"),
])
def test_bad_arguments_raise_value_error_naming_the_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- the loss as a searched dimension ----------------------------------------------------
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_loss_space_decodes_to_working_losses(task):
    space = loss_space(task, extra={"lr": Real(1e-3, 1e-1, log=True)})
    x, y = _logits(n=30, k=3, seed=4)
    targets, outputs = (y, x) if task == "classification" else (x[:, 1], x[:, :1])
    seen = set()
    for u in np.random.default_rng(0).random((60, space.dim)):
        params = space.decode(u)
        seen.add(params["loss"])
        own = {k for k in params if k.startswith("loss__")}
        assert len(own) <= 1 and 0.001 <= params["lr"] <= 0.1
        loss = loss_from_params(params, y_train=y)
        assert torch.isfinite(loss(outputs, targets))
    assert seen == set(loss_names(task))


def test_loss_space_is_conditional():
    space = loss_space("classification")
    assert space.names == ["loss", "loss__smoothing[loss=label_smoothing]",
                           "loss__gamma[loss=focal]"]
    assert space.decode([0.1, 0.5, 0.5]) == {"loss": "cross_entropy"}
    assert space.decode([0.4, 0.5, 0.5]) == {"loss": "label_smoothing", "loss__smoothing": 0.15}


# -- fit with a loss name ----------------------------------------------------------------
def test_fit_with_classification_loss_name():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(96, 4, generator=g)
    y = (X[:, 0] > 0).long()
    torch.manual_seed(0)
    model = TinyMLP(4, 8, 2)
    h = fit(model, (X, y), (X, y), loss_fn="focal", lr=0.05, epochs=6, seed=0)
    assert h.train_loss.iloc[-1] < h.train_loss.iloc[0]
    assert h.val_accuracy.iloc[-1] > 0.85
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        fit(model, (X, y), loss_fn="nope")


@pytest.mark.parametrize("loss", ["mse", "huber", "quantile", "mae"])
def test_fit_with_regression_loss_name(loss):
    g = torch.Generator().manual_seed(1)
    X = torch.randn(96, 3, generator=g)
    y = (2 * X[:, 0] - X[:, 1]).double().numpy()  # float64 targets of shape (n,)
    torch.manual_seed(0)
    model = TinyMLP(3, 16, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no broadcasting warning from (n, 1) vs (n,)
        h = fit(model, (X.numpy(), y), (X.numpy(), y), loss_fn=loss, lr=0.02, epochs=8, seed=0)
    assert h.val_loss.iloc[-1] < 0.5 * h.val_loss.iloc[0]
    assert h.val_accuracy.isna().all()


# -- tasks and the study -----------------------------------------------------------------
def test_loss_tasks_are_seeded_and_corrupted_as_documented():
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    assert LOSS_TASKS == ("imbalanced", "label_noise", "outliers")
    a, b = loss_task("label_noise", seed=3), loss_task("label_noise", seed=3)
    assert torch.equal(a.train[1], b.train[1]) and torch.equal(a.test[0], b.test[0])
    assert not torch.equal(a.train[1], loss_task("label_noise", seed=4).train[1])
    # the clean test labels are learnable; about 40 % of the training labels disagree
    knn = KNeighborsClassifier(3)
    assert cross_val_score(knn, a.test[0].numpy(), a.test[1].numpy(), cv=3).mean() > 0.9
    agree = knn.fit(a.test[0].numpy(), a.test[1].numpy()).score(a.train[0].numpy(),
                                                                 a.train[1].numpy())
    assert 0.5 < agree < 0.7
    out = loss_task("outliers", seed=3)
    high = np.percentile(out.test[1].numpy(), 99.9)
    assert out.kind == "regression" and out.target_scale > 0
    assert 0.13 < np.mean(out.train[1].numpy() > high) < 0.17  # the 15 % gross errors
    imb = loss_task("imbalanced", seed=3)
    assert torch.bincount(imb.test[1]).tolist() == [1440, 270, 90]


def test_loss_summary_flags():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(6):
        base = 2.0 + rng.normal(0, 0.3)
        for loss, shift in (("mse", 0.0), ("mae", -0.5), ("huber", rng.normal(0, 0.3))):
            rows.append({"task": "outliers", "metric": "mae", "loss": loss, "seed": seed,
                         "test": base + shift + rng.normal(0, 0.02)})
    s = loss_summary(pd.DataFrame(rows)).set_index("loss")
    assert s.loc["mse", "diff"] == 0 and math.isnan(s.loc["mse", "p_ttest"])
    assert s.loc["mae", "better"] and not s.loc["mae", "within_noise"]
    assert s.loc["huber", "within_noise"] and not s.loc["huber", "better"]
    assert s.loc["mae", "diff"] == pytest.approx(-0.5, abs=0.05)


def test_compare_losses_quick_is_deterministic_at_equal_budget():
    kwargs = dict(tasks=("imbalanced", "outliers"), seeds=(0, 1), budget=2, epochs=1,
                  losses={"classification": ["focal"], "regression": ["huber"]})
    r1, s1 = compare_losses(**kwargs)
    r2, _ = compare_losses(**kwargs)
    cols = ["task", "loss", "seed", "test", "val", "chosen_loss", "lr", "weight_decay"]
    pd.testing.assert_frame_equal(r1[cols], r2[cols])
    assert (r1.trials == 2).all() and (r1.failed == 0).all()
    assert set(r1.loss) == {"cross_entropy", "focal", "mse", "huber", "searched"}
    assert r1.groupby(["task", "loss"]).size().eq(2).all()
    focal = r1[r1.loss == "focal"]
    assert all(0.5 <= p["gamma"] <= 5.0 for p in focal.loss_params)
    assert set(r1[r1.loss == "searched"].chosen_loss) <= set(loss_names())
    assert s1.groupby("task").size().to_dict() == {"imbalanced": 3, "outliers": 3}
    ref = s1.set_index(["task", "loss"]).loc[("outliers", "mse")]
    assert ref["diff"] == 0 and ref["n"] == 2
