"""hybridlab.ml.train: exact resumption, accumulation, schedules, callbacks, checkpoints."""

import itertools
import math
import os
import warnings

import pandas as pd
import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from hybridlab.ml.train import (
    HISTORY_COLUMNS,
    OPTIMIZERS,
    Checkpointer,
    CheckpointError,
    EarlyStopping,
    Monitor,
    SmallCNN,
    accuracy,
    digits_data,
    fit,
    latency,
    latest_checkpoint,
    load_checkpoint,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    train, val, test = digits_data(seed=0)
    X, y = train.tensors
    Xv, yv = val.tensors
    return {
        "train": train,
        "val": val,
        "test": test,
        "small": TensorDataset(X[:256], y[:256]),
        "small_val": TensorDataset(Xv[:128], yv[:128]),
    }


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    kw = {"channels": (4,), "hidden": 16, **kw}
    return SmallCNN(**kw)


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


# ---- models -----------------------------------------------------------------------------


def test_digits_data_splits_are_stratified_scaled_and_seeded(data):
    train, val, test = data["train"], data["val"], data["test"]
    assert len(train) + len(val) + len(test) == 1797
    assert len(test) == 450 and len(val) == 270
    X, y = train.tensors
    assert X.shape[1:] == (1, 8, 8) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    share = torch.bincount(y, minlength=10).float() / len(y)
    share_test = torch.bincount(test.tensors[1], minlength=10).float() / len(test)
    assert torch.allclose(share, share_test, atol=0.01)  # stratified
    again = digits_data(seed=0)[0].tensors[1]
    other = digits_data(seed=1)[0].tensors[1]
    assert torch.equal(again, y) and not torch.equal(other, y)
    assert digits_data(val_size=0)[1] is None


def test_small_cnn_shapes_options_and_errors():
    x = torch.rand(3, 1, 8, 8)
    for channels in [(4,), (8, 16), (4, 8, 16)]:
        for hidden in (0, 32):
            assert tiny(channels=channels, hidden=hidden)(x).shape == (3, 10)
    m = SmallCNN(dropout=0.5, activation="gelu", n_classes=4)
    assert m(x).shape == (3, 4)
    m.eval()
    assert torch.equal(m(x), m(x))  # dropout is off in eval mode
    with pytest.raises(ValueError, match="at most 3 blocks"):
        SmallCNN(channels=(4, 4, 4, 4))
    with pytest.raises(ValueError, match="activation"):
        SmallCNN(activation="swish2")
    with pytest.raises(ValueError, match="dropout"):
        SmallCNN(dropout=1.0)


# ---- exact resumption -----------------------------------------------------------------------


class Crash:
    """Simulates a crash at the start of an epoch."""

    def __init__(self, at):
        self.at = at

    def on_epoch_begin(self, state):
        if state.epoch == self.at:
            raise KeyboardInterrupt(f"crash in epoch {state.epoch}")


def test_interrupted_and_resumed_run_equals_uninterrupted_run(data, tmp_path):
    # on a GPU the claim holds with deterministic kernels (CPU kernels are deterministic)
    kw = dict(optimizer="adamw", lr=5e-3, epochs=4, batch_size=32, weight_decay=1e-2,
              scheduler={"name": "cosine", "warmup_epochs": 1}, seed=3,
              deterministic=torch.cuda.is_available())
    train, val = data["small"], data["small_val"]
    full_model = tiny(dropout=0.3)  # dropout: the torch RNG state must be restored too
    full = fit(full_model, train, val, early_stopping=EarlyStopping(patience=10), **kw)

    crashed = tiny(dropout=0.3)
    with pytest.raises(KeyboardInterrupt):
        fit(crashed, train, val, early_stopping=EarlyStopping(patience=10),
            checkpoint=Checkpointer(tmp_path), callbacks=[Crash(at=3)], **kw)
    assert latest_checkpoint(tmp_path).name == "epoch-0002.pt"

    resumed_model = tiny(seed=99, dropout=0.3)  # other initial weights: all come from the file
    resumed = fit(resumed_model, train, val, early_stopping=EarlyStopping(patience=10),
                  checkpoint=Checkpointer(tmp_path), resume=tmp_path, **kw)
    assert resumed.resumed_from == 2
    assert same_weights(full_model, resumed_model)
    pd.testing.assert_frame_equal(full.without_timing(), resumed.without_timing())
    assert not same_weights(full_model, crashed)  # the crashed run really stopped early


def test_resume_from_shorter_run_without_schedule(data, tmp_path):
    kw = dict(optimizer="sgd", lr=0.05, batch_size=32, seed=1,
              deterministic=torch.cuda.is_available())  # bit-exact on a GPU too
    full_model = tiny()
    full = fit(full_model, data["small"], data["small_val"], epochs=4, **kw)
    fit(tiny(), data["small"], data["small_val"], epochs=2, checkpoint=tmp_path, **kw)
    model = tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "different arguments" warning without a schedule
        resumed = fit(model, data["small"], data["small_val"], epochs=4,
                      resume=tmp_path / "epoch-0002.pt", **kw)
    assert same_weights(full_model, model)
    pd.testing.assert_frame_equal(full.without_timing(), resumed.without_timing())


# ---- gradient accumulation ------------------------------------------------------------------


@pytest.mark.parametrize("n", [32, 40])  # 40: a second, incomplete group of 8 still steps
def test_accumulation_equals_one_big_batch(data, n):
    X, y = data["train"].tensors
    train = (X[:n], y[:n])  # (X, y) tensors work as well as Datasets
    kw = dict(optimizer="sgd", momentum=0.0, lr=0.5, epochs=1, seed=0, device="cpu")
    big, acc, small = tiny(), tiny(), tiny()
    fit(big, train, batch_size=32, **kw)
    fit(acc, train, batch_size=8, accumulate=4, **kw)
    fit(small, train, batch_size=8, **kw)  # four separate updates: really different
    for (name, a), b in zip(big.state_dict().items(), acc.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6, rtol=0), name
    gap = max((a - c).abs().max() for a, c in zip(big.state_dict().values(),
                                                  small.state_dict().values(), strict=True))
    assert gap > 1e-4


# ---- early stopping -------------------------------------------------------------------------


def test_early_stopping_triggers_records_and_restores_best(data, tmp_path):
    X, y = data["small"].tensors
    # validation labels are a permutation of the truth: as the model learns the digits the
    # validation loss stops improving and grows
    wrong = TensorDataset(X[:128], (y[:128] + 3) % 10)
    model = tiny()
    es = EarlyStopping(patience=2, restore_best=True)
    h = fit(model, data["small"], wrong, optimizer="adam", lr=1e-2, epochs=30, batch_size=32,
            early_stopping=es, checkpoint=Checkpointer(tmp_path, keep_last=None))
    assert h.stopped_early and h.stop_epoch < 30 and len(h) == h.stop_epoch
    assert h.best_epoch == es.best_epoch == int(h.frame.val_loss.idxmin()) + 1
    assert h.stop_epoch == h.best_epoch + 2 == es.stopped_epoch
    assert "early stopping" in h.stop_reason and "val_loss" in h.stop_reason
    assert h.restored_best
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == h.best_epoch
    assert same_weights(model, _with_state(tiny(), best["model"]))  # weights of best epoch
    assert not same_weights(model, _with_state(tiny(), load_checkpoint(tmp_path)["model"]))


def _with_state(model, state):
    model.load_state_dict(state)
    return model


def test_early_stopping_unit_logic():
    class S:
        def __init__(self, epoch, acc):
            self.epoch, self.metrics = epoch, {"val_accuracy": acc}
            self.model, self.stop_reason = torch.nn.Linear(1, 1), None

    es = EarlyStopping(patience=2, min_delta=0.01, monitor="val_accuracy")
    assert es.mode == "max"
    stops = [es.on_epoch_end(S(e, a)) for e, a in enumerate([0.5, 0.6, 0.605, 0.59], 1)]
    assert stops == [False, False, False, True]  # 0.605 is within min_delta: no improvement
    assert es.best_epoch == 2 and es.stopped_epoch == 4


# ---- schedules ------------------------------------------------------------------------------


def _cos(lr, t, T):
    return lr * (1 + math.cos(math.pi * t / T)) / 2


@pytest.mark.parametrize(
    "scheduler, expected",
    [
        ({"name": "step", "step_size": 2, "gamma": 0.5}, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]),
        ("cosine", [_cos(0.1, t, 6) for t in range(6)]),
        ({"name": "cosine", "warmup_epochs": 2},
         [0.1 / 3, 0.2 / 3] + [_cos(0.1, t, 4) for t in range(4)]),
        ({"name": "step", "step_size": 1, "gamma": 0.5, "warmup_epochs": 1},
         [0.05, 0.1, 0.05, 0.025, 0.0125, 0.00625]),
        (lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9),
         [0.1 * 0.9**t for t in range(6)]),
    ],
    ids=["step", "cosine", "warmup-cosine", "warmup-step", "callable"],
)
def test_scheduler_lr_per_epoch(data, scheduler, expected):
    h = fit(tiny(), data["small"], optimizer="sgd", lr=0.1, epochs=6, batch_size=128,
            scheduler=scheduler)
    assert h.lr.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_onecycle_steps_per_optimizer_step_and_plateau_reduces(data):
    n, bs, acc, epochs = 256, 32, 2, 3
    h = fit(tiny(), data["small"], optimizer="sgd", lr=0.1, epochs=epochs, batch_size=bs,
            accumulate=acc, scheduler="onecycle")
    ref_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    steps = epochs * math.ceil(math.ceil(n / bs) / acc)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.1, total_steps=steps)
    expected = []
    for _ in range(epochs):
        expected.append(ref_opt.param_groups[0]["lr"])
        for _ in range(steps // epochs):
            ref_opt.step()
            ref.step()
    assert h.lr.tolist() == pytest.approx(expected)
    assert h.lr.iloc[0] == pytest.approx(0.1 / 25)  # OneCycleLR's default div_factor

    seen = []
    fit(tiny(), data["small"], optimizer="sgd", momentum=0.0, epochs=2, scheduler="onecycle",
        callbacks=[lambda state: seen.append(state.optimizer.param_groups[0]["momentum"])])
    assert seen == [0.0, 0.0]  # plain SGD stays plain: momentum is only cycled if present
    h = fit(tiny(), data["small"], optimizer="adagrad", epochs=2, scheduler="onecycle")
    assert h.lr.iloc[1] > h.lr.iloc[0]  # no momentum to cycle: still runs

    X, y = data["small"].tensors
    wrong = TensorDataset(X[:128], (y[:128] + 3) % 10)  # val loss that gets worse
    h = fit(tiny(), data["small"], wrong, optimizer="adam", lr=1e-2, epochs=8, batch_size=32,
            scheduler={"name": "plateau", "patience": 1, "factor": 0.5})
    lrs = h.lr.tolist()
    assert all(b <= a for a, b in itertools.pairwise(lrs)) and lrs[-1] < lrs[0]


# ---- checkpoints ----------------------------------------------------------------------------


def test_checkpoints_are_atomic_pruned_and_weights_only(data, tmp_path, monkeypatch):
    kw = dict(epochs=4, batch_size=64, seed=0)
    fit(tiny(), data["small"], data["small_val"], checkpoint=Checkpointer(tmp_path, keep_last=2),
        **kw)
    names = sorted(os.listdir(tmp_path))
    assert names == ["best.pt", "epoch-0003.pt", "epoch-0004.pt"]  # keep_last=2
    ck = torch.load(tmp_path / "epoch-0004.pt", weights_only=True)  # plain tensors and dicts
    assert ck["epoch"] == 4 and len(ck["history"]) == 4
    assert set(ck) >= {"model", "optimizer", "scheduler", "scaler", "rng", "callbacks"}
    assert isinstance(ck["rng"]["data"], torch.Tensor) and isinstance(ck["rng"]["torch"],
                                                                      torch.Tensor)
    before = (tmp_path / "epoch-0004.pt").read_bytes()

    real_save = torch.save

    def failing_save(obj, path, *args, **kwargs):
        real_save({"half": torch.zeros(10)}, path)  # something lands in the temp file...
        raise OSError("disk full")  # ...then the write fails

    monkeypatch.setattr(torch, "save", failing_save)
    ckpt = Checkpointer(tmp_path, keep_last=2)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(tmp_path / "epoch-0004.pt", {"epoch": 5})
    monkeypatch.undo()
    assert (tmp_path / "epoch-0004.pt").read_bytes() == before  # previous file intact
    assert sorted(os.listdir(tmp_path)) == names  # no temporary file left behind
    assert load_checkpoint(tmp_path)["epoch"] == 4


def test_checkpoint_every_and_stopped_run_does_not_train_on(data, tmp_path):
    fit(tiny(), data["small"], epochs=5, checkpoint=Checkpointer(tmp_path, every=2,
                                                                  keep_last=None))
    # every 2 epochs, plus the last; no best.pt without validation data
    assert sorted(os.listdir(tmp_path)) == ["epoch-0002.pt", "epoch-0004.pt", "epoch-0005.pt"]

    class StopAt2:
        def on_epoch_end(self, state):
            return state.epoch == 2

    other = tmp_path / "stopped"
    h = fit(tiny(), data["small"], epochs=5, checkpoint=other, callbacks=[StopAt2()])
    assert h.stopped_early and h.stop_epoch == 2 and "StopAt2" in h.stop_reason
    assert load_checkpoint(other)["stopped"]
    with pytest.warns(UserWarning, match="nothing more to train"):
        again = fit(tiny(), data["small"], epochs=5, resume=other, callbacks=[StopAt2()])
    assert len(again) == 2


# ---- optimizers and regularisation ----------------------------------------------------------


@pytest.mark.parametrize("optimizer", [*OPTIMIZERS, "callable"])
def test_each_optimizer_trains(data, optimizer):
    lr = {"adam": 0.03, "adamw": 0.03, "rmsprop": 5e-3}.get(optimizer, 0.1)
    if optimizer == "callable":
        optimizer = lambda params: torch.optim.NAdam(params, lr=0.03)  # noqa: E731
    model = tiny()
    h = fit(model, data["small"], data["small_val"], optimizer=optimizer, lr=lr, epochs=6,
            batch_size=32)
    assert h.train_loss.iloc[-1] < 0.8 * h.train_loss.iloc[0]
    assert h.val_accuracy.iloc[-1] > 0.3  # chance is 0.1


def test_plain_sgd_and_optimizer_settings_reach_torch(data):
    captured = {}

    def spy(state):
        captured.update(state.optimizer.param_groups[0])
        captured["type"] = type(state.optimizer).__name__

    fit(tiny(), data["small"], optimizer="sgd", momentum=0.0, epochs=1, callbacks=[spy])
    assert captured["type"] == "SGD" and captured["momentum"] == 0.0
    fit(tiny(), data["small"], optimizer="nesterov", weight_decay=1e-3, epochs=1,
        callbacks=[spy])
    assert captured["nesterov"] and captured["momentum"] == 0.9
    assert captured["weight_decay"] == 1e-3
    fit(tiny(), data["small"], optimizer="adamw", weight_decay=0.05, epochs=1, callbacks=[spy])
    assert captured["type"] == "AdamW" and captured["weight_decay"] == 0.05


def test_l1_penalises_weights_not_biases(data):
    def no_data_loss(out, y):
        return out.sum() * 0.0  # only the L1 penalty moves the parameters

    model = tiny()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    lr, l1 = 0.01, 0.1
    fit(model, data["small"], loss_fn=no_data_loss, optimizer="sgd", momentum=0.0, lr=lr, l1=l1,
        epochs=1, batch_size=256)  # one step: w -= lr * l1 * sign(w)
    for name, value in model.cpu().state_dict().items():
        if value.ndim >= 2:
            big = init[name].abs() > lr * l1
            expected = init[name] - lr * l1 * torch.sign(init[name])
            assert torch.allclose(value[big], expected[big], atol=1e-7), name
        else:
            assert torch.equal(value, init[name]), name  # biases untouched

    def weight_l1(m):
        return sum(p.abs().sum().item() for p in m.parameters() if p.ndim >= 2)

    plain, sparse = tiny(), tiny()
    kw = dict(optimizer="adam", lr=5e-3, epochs=3, batch_size=32)
    fit(plain, data["small"], **kw)
    fit(sparse, data["small"], l1=1e-3, **kw)
    assert weight_l1(sparse) < 0.9 * weight_l1(plain)


# ---- precision, determinism, NaN ------------------------------------------------------------


def test_bf16_on_cpu_runs_close_to_fp32_and_fp16_falls_back(data):
    kw = dict(optimizer="adam", lr=1e-2, epochs=4, batch_size=64, seed=0, device="cpu")
    f32 = fit(tiny(), data["train"], data["val"], precision="fp32", **kw)
    b16 = fit(tiny(), data["train"], data["val"], precision="bf16", **kw)
    assert b16.precision == "bf16" and b16.device == "cpu"
    assert f32.val_accuracy.iloc[-1] > 0.8
    assert abs(b16.val_accuracy.iloc[-1] - f32.val_accuracy.iloc[-1]) < 0.05
    assert not b16.without_timing().equals(f32.without_timing())  # bf16 really ran
    with pytest.warns(UserWarning, match="falls back to 'bf16'"):
        h = fit(tiny(), data["small"], precision="fp16", epochs=1, device="cpu")
    assert h.precision == "bf16"
    if not torch.cuda.is_available():  # GPU code runs on a CPU-only machine
        with pytest.warns(UserWarning) as caught:
            h = fit(tiny(), data["small"], device="cuda", precision="fp16", epochs=1)
        messages = " | ".join(str(w.message) for w in caught)
        assert "training on cpu" in messages and "falls back to 'bf16'" in messages
        assert h.device == "cpu" and h.precision == "bf16"


def test_same_seed_same_run_other_seed_other_run(data):
    kw = dict(optimizer="momentum", lr=0.05, epochs=3, batch_size=32, scheduler="cosine",
              deterministic=torch.cuda.is_available())  # bit-exact on a GPU too
    a, b, c = tiny(dropout=0.2), tiny(dropout=0.2), tiny(dropout=0.2)
    state = torch.get_rng_state()
    ha = fit(a, data["small"], data["small_val"], seed=5, **kw)
    assert torch.equal(state, torch.get_rng_state())  # the caller's RNG is left alone
    hb = fit(b, data["small"], data["small_val"], seed=5, progress=True, **kw)
    fit(c, data["small"], data["small_val"], seed=6, **kw)
    assert same_weights(a, b)
    pd.testing.assert_frame_equal(ha.without_timing(), hb.without_timing())
    assert not same_weights(a, c)


def test_dataset_without_fast_path_gives_the_same_run(data):
    ds = data["small"]
    a, b = tiny(), tiny()
    det = torch.cuda.is_available()  # bit-exact on a GPU too
    ha = fit(a, ds, epochs=2, batch_size=48, deterministic=det)
    hb = fit(b, Subset(ds, range(len(ds))), epochs=2, batch_size=48, deterministic=det)
    assert same_weights(a, b)
    pd.testing.assert_frame_equal(ha.without_timing(), hb.without_timing())


def test_nan_loss_stops_with_a_message(data):
    def poison(state):
        if state.epoch == 2:
            with torch.no_grad():
                next(state.model.parameters()).fill_(float("nan"))

    class Poison:
        def on_epoch_begin(self, state):
            poison(state)

    model = tiny()
    with pytest.warns(RuntimeWarning, match="non-finite training loss"):
        h = fit(model, data["small"], data["small_val"], epochs=5, early_stopping=3,
                callbacks=[Poison()])
    assert len(h) == 2 and h.stopped_early and h.stop_epoch == 2
    assert "non-finite training loss" in h.stop_reason and "epoch 2" in h.stop_reason
    assert math.isnan(h.train_loss.iloc[1]) and math.isfinite(h.train_loss.iloc[0])
    assert h.restored_best and all(torch.isfinite(p).all() for p in model.parameters())


# ---- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizer": "adamax"}, "unknown optimizer"),
        ({"scheduler": "linear"}, "unknown scheduler"),
        ({"scheduler": {"name": "step", "stepsize": 2}}, "bad options for scheduler 'step'"),
        ({"scheduler": {"name": "cosine", "warmup_epochs": 3}}, "fewer warm-up epochs"),
        ({"scheduler": {"name": "onecycle", "warmup_epochs": 1}}, "pct_start"),
        ({"scheduler": "plateau"}, "pass val="),
        ({"precision": "fp8"}, "unknown precision"),
        ({"accumulate": 0}, "accumulate must be an int >= 1"),
        ({"epochs": 0}, "epochs must be an int >= 1"),
        ({"batch_size": 1.5}, "batch_size must be an int"),
        ({"lr": -1}, "lr must be a positive number"),
        ({"l1": float("nan")}, "l1 must be a non-negative number"),
        ({"optimizer": "adam", "nesterov": True}, "optimizer='sgd' only"),
        ({"optimizer": "sgd", "momentum": 0.0, "nesterov": True}, "momentum > 0"),
        ({"device": "tpu9"}, "unknown device"),
        ({"device": "xla"}, "unsupported device"),
        ({"early_stopping": 2}, "pass val= or monitor='train_loss'"),
        ({"optimizer": lambda p: "not an optimizer"}, "must return a torch.optim.Optimizer"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_fix(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(tiny(), data["small"], **{"epochs": 3, **kwargs})


def test_bad_data_raises(data):
    with pytest.raises(ValueError, match="Dataset or an"):
        fit(tiny(), "digits")
    X, y = data["small"].tensors
    with pytest.raises(ValueError, match="different lengths"):
        fit(tiny(), (X, y[:-1]))


# ---- measurements -----------------------------------------------------------------------------


def test_history_columns_monitor_latency_and_accuracy(data):
    mon = Monitor()
    model = tiny()
    h = fit(model, data["small"], data["small_val"], epochs=3, batch_size=32, callbacks=[mon],
            device="cpu")
    assert list(h.columns) == list(HISTORY_COLUMNS) and h.epoch.tolist() == [1, 2, 3]
    assert (h.seconds > 0).all() and (h.peak_memory_mb > 10).all()
    assert h.samples_per_s.tolist() == pytest.approx((256 / h.seconds).tolist())
    assert not h.stopped_early and h.stop_reason is None and h.device == "cpu"
    # the Monitor callback timed whole epochs (validation included)
    frame = mon.frame()
    assert len(frame) == 3 and (frame.seconds >= h.seconds.to_numpy()).all()
    assert {"seconds", "samples_per_s", "peak_memory_mb", "rss_mb"} <= set(frame.columns)
    # accuracy() of the final model is the last epoch's val_accuracy
    assert accuracy(model, data["small_val"]) == pytest.approx(h.val_accuracy.iloc[-1])
    assert Monitor.accuracy(model, data["small_val"].tensors) == pytest.approx(
        h.val_accuracy.iloc[-1])

    model.train()
    table = latency(model, data["small"].tensors[0][:4], repeats=7, batch_sizes=(1, 16))
    assert model.training  # mode restored
    assert list(table.columns) == ["batch_size", "median_ms", "p95_ms", "samples_per_s"]
    assert table.batch_size.tolist() == [1, 16]
    assert ((table.median_ms > 0) & (table.median_ms <= table.p95_ms)).all()
    with pytest.raises(ValueError, match="x\\[None\\]"):
        Monitor.latency(model, torch.zeros(0, 1, 8, 8))


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "empty"])
def test_damaged_newest_checkpoint_is_skipped_and_resume_still_exact(data, tmp_path, damage):
    """The newest checkpoint damaged in the middle, cut short or empty (a kill or a bad
    disk): resume says which file it skipped and why, resumes from the previous intact
    one and still equals an uninterrupted run; loading the damaged file names it."""
    kw = dict(optimizer="sgd", lr=0.05, batch_size=32, seed=1, epochs=4,
              deterministic=torch.cuda.is_available())
    full_model = tiny()
    full = fit(full_model, data["small"], data["small_val"], **kw)
    crashed = tiny()
    with pytest.raises(KeyboardInterrupt):
        fit(crashed, data["small"], data["small_val"], checkpoint=Checkpointer(tmp_path),
            callbacks=[Crash(at=4)], **kw)
    newest = tmp_path / "epoch-0003.pt"
    raw = bytearray(newest.read_bytes())
    if damage == "random bytes":
        mid = len(raw) // 2
        raw[mid:mid + 512] = bytes(range(256)) * 2
    else:
        raw = raw[: len(raw) // 2] if damage == "truncated" else bytearray()
    newest.write_bytes(bytes(raw))
    leftover = tmp_path / ".tmp-0123.pt"  # a kill while writing leaves one
    leftover.write_bytes(b"half a checkpoint")

    with pytest.raises(CheckpointError, match=r"epoch-0003\.pt"):
        load_checkpoint(newest)
    with pytest.warns(RuntimeWarning, match=r"skipped checkpoint .*epoch-0003\.pt"):
        assert latest_checkpoint(tmp_path).name == "epoch-0002.pt"
    model = tiny(seed=99)
    with pytest.warns(RuntimeWarning, match="skipped checkpoint"):
        resumed = fit(model, data["small"], data["small_val"], checkpoint=Checkpointer(tmp_path),
                      resume=tmp_path, **kw)
    assert resumed.resumed_from == 2 and same_weights(full_model, model)
    pd.testing.assert_frame_equal(full.without_timing(), resumed.without_timing())
    assert not leftover.exists()
