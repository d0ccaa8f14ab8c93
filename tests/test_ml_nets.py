"""hybridlab.ml.nets / activations / tying / nas: builders, exact parameter counts, mixed
activations, weight sharing and architecture search."""

import math
import os

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import hybridlab as hl
from hybridlab.conditional import ConditionalSpace
from hybridlab.constraints import FeasibilityRules, Penalty
from hybridlab.ml.nets import (
    ACTIVATION_NAMES,
    MixedActivation,
    NetConfig,
    TiedAutoencoder,
    TinySequenceModel,
    arch_parameters,
    architecture_space,
    as_config,
    build_cnn,
    build_mlp,
    build_net,
    config_from_params,
    count_parameters,
    derive_activations,
    make_activation,
    mixed_activations,
    nas_compare,
    nas_problem,
    shares_storage,
    tying_report,
)
from hybridlab.ml.train import digits_data, fit
from hybridlab.space import Space

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    train, val, test = digits_data(seed=0)
    return {
        "train": TensorDataset(*(t[:300] for t in train.tensors)),
        "val": TensorDataset(*(t[:150] for t in val.tensors)),
        "test": TensorDataset(*(t[:200] for t in test.tensors)),
    }


# ---- builders: shapes and exact parameter counts ----------------------------------------

# MLP 4 -> (8, 8) -> 3: Linear(4,8) 32+8, Linear(8,8) 64+8, head Linear(8,3) 24+3 = 139
MLP_CASES = [
    ({"depth": 2, "widths": 8}, 139),
    ({"depth": 2, "widths": 8, "dropout": 0.5}, 139),
    # layer 1 4 -> 8 needs a bias-free projection (4*8); layer 2 8 -> 8 is the identity
    ({"depth": 2, "widths": 8, "residual": True}, 139 + 32),
    # batch norm: the linears lose their biases (-16), each norm has 2*8
    ({"depth": 2, "widths": 8, "norm": "batch"}, 139 - 16 + 32),
    ({"depth": 2, "widths": 8, "norm": "layer"}, 139 + 32),
    # each MixedActivation holds one logit per candidate (5)
    ({"depth": 2, "widths": 8, "activations": "mixed"}, 139 + 10),
    ({"depth": 2, "widths": (8, 5), "activations": ["tanh", "gelu"]},
     (4 * 8 + 8) + (8 * 5 + 5) + (5 * 3 + 3)),
    # depth 3: layer 3 reuses layer 2's block (8 -> 8), counted once
    ({"depth": 3, "widths": 8, "shared_blocks": True}, 139),
    ({"depth": 3, "widths": 8}, 139 + 72),
]


@pytest.mark.parametrize(("config", "expected"), MLP_CASES)
def test_mlp_shape_and_exact_parameter_count(config, expected):
    net = build_mlp(config, 4, 3)
    assert net(torch.randn(5, 4)).shape == (5, 3)
    assert count_parameters(net) == expected


def test_mlp_flattens_image_inputs():
    net = build_mlp({"depth": 1, "widths": 16}, (1, 8, 8), 10)
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert count_parameters(net) == (64 * 16 + 16) + (16 * 10 + 10)


# CNN 1x8x8 -> (4, 8) channels, kernels (3, 5), 2x2 pooling: 8 -> 4 -> 2
# conv1 1*4*9+4 = 40, conv2 4*8*25+8 = 808, head 8*2*2*10+10 = 330 -> 1178
BASE = {"depth": 2, "widths": (4, 8), "kernel_sizes": (3, 5)}
CNN_CASES = [
    (BASE, 1178),
    ({**BASE, "pooling": "avg"}, 1178),
    ({**BASE, "pooling": "none"}, 40 + 808 + (8 * 8 * 8 * 10 + 10)),
    ({**BASE, "dropout": 0.3}, 1178),
    # 1x1 projections 1->4 and 4->8, no bias
    ({**BASE, "residual": True}, 1178 + 4 + 32),
    # conv biases go (-12), BatchNorm2d has 2 per channel (+24)
    ({**BASE, "norm": "batch"}, 1178 - 12 + 24),
    # GroupNorm(1, c): per-channel scale and shift
    ({**BASE, "norm": "layer"}, 1178 + 24),
    ({**BASE, "activations": ("mixed", "silu")}, 1178 + 5),
    # 3 layers of 8 channels: 1*8*9+8 = 80, 8*8*9+8 = 584 (x2 or shared), head 8*1*1*10+10
    ({"depth": 3, "widths": 8}, 80 + 2 * 584 + 90),
    ({"depth": 3, "widths": 8, "shared_blocks": True}, 80 + 584 + 90),
    ({"depth": 1, "widths": 4, "kernel_sizes": 1, "pooling": "none"},
     (1 * 4 + 4) + (4 * 64 * 10 + 10)),
]


@pytest.mark.parametrize(("config", "expected"), CNN_CASES)
def test_cnn_shape_and_exact_parameter_count(config, expected):
    net = build_cnn(config)
    net.train()
    assert net(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    assert count_parameters(net) == expected


def test_cnn_modules_follow_the_config():
    net = build_cnn({"depth": 2, "widths": (8, 8), "residual": True, "norm": "layer",
                     "pooling": "avg", "activations": ["tanh", "leaky_relu"]},
                    in_shape=(3, 8, 8), n_classes=4)
    b0, b1 = net.blocks
    assert isinstance(b0.skip, nn.Conv2d) and b0.skip.kernel_size == (1, 1)  # 3 -> 8
    assert isinstance(b1.skip, nn.Identity)  # 8 -> 8
    assert isinstance(b0.norm, nn.GroupNorm) and b0.norm.num_groups == 1
    assert isinstance(b0.pool, nn.AvgPool2d)
    assert isinstance(b0.act, nn.Tanh) and isinstance(b1.act, nn.LeakyReLU)
    assert net(torch.zeros(2, 3, 8, 8)).shape == (2, 4)
    assert build_net(net.config, "mlp", (3, 8, 8), 4)(torch.zeros(2, 3, 8, 8)).shape == (2, 4)


def test_config_validation_names_the_fix():
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        NetConfig(depth=0)
    with pytest.raises(ValueError, match="widths has 3 entries for depth=2"):
        NetConfig(depth=2, widths=(4, 8, 16))
    with pytest.raises(ValueError, match="odd positive"):
        NetConfig(kernel_sizes=4)
    with pytest.raises(ValueError, match="unknown activation"):
        NetConfig(activations="swish")
    with pytest.raises(ValueError, match="pooling must be one of"):
        NetConfig(pooling="sum")
    with pytest.raises(ValueError, match="norm must be one of"):
        NetConfig(norm="group")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        NetConfig(dropout=1.0)
    with pytest.raises(ValueError, match="shared_blocks=True reuses one block"):
        NetConfig(depth=3, widths=(8, 8, 16), shared_blocks=True)
    with pytest.raises(ValueError, match="unknown config key"):
        as_config({"layers": 2})
    with pytest.raises(ValueError, match="pooling='none'"):
        build_cnn({"depth": 4, "widths": 4})
    assert build_cnn({"depth": 4, "widths": 4, "pooling": "none"})(
        torch.zeros(1, 1, 8, 8)).shape == (1, 10)
    with pytest.raises(ValueError, match="n_classes"):
        build_mlp(None, 4, 0)
    with pytest.raises(ValueError, match="kind must be"):
        build_net(None, "rnn", (4,), 2)
    assert as_config(NetConfig(depth=1, widths=3).to_dict()) == NetConfig(depth=1, widths=3)


def test_count_parameters_counts_shared_parameters_once():
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    naive = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    by_id = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert naive == 24
    assert count_parameters(model) == by_id == 12
    lin.bias.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 9


# ---- mixed activations -------------------------------------------------------------------

def _train_mix(target, candidates, steps=300, seed=0):
    torch.manual_seed(seed)
    mix = MixedActivation(candidates)
    net = nn.Sequential(nn.Linear(1, 8), mix, nn.Linear(8, 1))
    x = torch.linspace(-3, 3, 256)[:, None]
    y = target(x)
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    for _ in range(steps):
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
    return mix


def test_mixed_activation_is_a_softmax_weighted_sum():
    mix = MixedActivation(["relu", "tanh", "silu"])
    with torch.no_grad():
        mix.alpha.copy_(torch.tensor([0.0, 1.0, -1.0]))
    x = torch.linspace(-2, 2, 7)
    w = torch.softmax(mix.alpha.detach(), 0)
    expected = w[0] * torch.relu(x) + w[1] * torch.tanh(x) + w[2] * nn.functional.silu(x)
    torch.testing.assert_close(mix(x), expected)
    assert math.isclose(sum(mix.weights().values()), 1.0, abs_tol=1e-5)
    assert mix.chosen() == "tanh"
    assert MixedActivation().names == ACTIVATION_NAMES
    with pytest.raises(ValueError, match="distinct"):
        MixedActivation(["relu", "relu"])
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("swish")


def test_mix_weights_move_toward_the_better_activation():
    # a large relu-shaped target: tanh saturates at 1 and loses weight
    mix = _train_mix(lambda x: 3 * torch.relu(x), ["relu", "tanh"])
    assert mix.weights()["relu"] > 0.75 and mix.chosen() == "relu"
    # a step target: tanh's saturation is what is needed
    mix = _train_mix(torch.sign, ["relu", "tanh"])
    assert mix.weights()["tanh"] > 0.85 and mix.chosen() == "tanh"
    # all five candidates: tanh ends last, far below its initial 1/5
    w = _train_mix(lambda x: 3 * torch.relu(x), ACTIVATION_NAMES).weights()
    assert w["tanh"] < 0.1 and w["tanh"] == min(w.values())


def test_derive_activations_replaces_mixes_and_keeps_shapes():
    torch.manual_seed(0)
    net = build_cnn({"depth": 2, "widths": (4, 8), "activations": "mixed"})
    mixes = mixed_activations(net)
    assert len(mixes) == 2 and len(arch_parameters(net)) == 2
    with torch.no_grad():
        mixes["blocks.0.act"].alpha[3] = 2.0   # tanh
        mixes["blocks.1.act"].alpha[2] = 2.0   # silu
    x = torch.randn(4, 1, 8, 8)
    before = net(x).shape
    n_before = count_parameters(net)
    assert derive_activations(net) is net
    assert not mixed_activations(net)
    assert isinstance(net.blocks[0].act, nn.Tanh) and isinstance(net.blocks[1].act, nn.SiLU)
    assert net(x).shape == before
    assert count_parameters(net) == n_before - 2 * len(ACTIVATION_NAMES)
    assert isinstance(derive_activations(MixedActivation(["gelu", "relu"])), nn.GELU)


# ---- weight tying ------------------------------------------------------------------------

def test_tied_autoencoder_shares_one_parameter():
    torch.manual_seed(0)
    ae = TiedAutoencoder(64, 16)
    w, dec = ae.encoder.weight, ae.decoder_weight
    assert dec.shape == (64, 16) and dec.data_ptr() == w.data_ptr()
    assert shares_storage(w, dec)
    assert count_parameters(ae) == 64 * 16 + 16 + 64
    assert count_parameters(TiedAutoencoder(64, 16, tied=False)) - count_parameters(ae) \
        == 64 * 16
    old = w.detach().clone()
    opt = torch.optim.SGD(ae.parameters(), lr=0.1)
    x = torch.rand(8, 1, 8, 8)
    loss = ((ae(x) - x.flatten(1)) ** 2).mean()
    loss.backward()
    opt.step()
    assert not torch.equal(w, old)  # the step moved the weight ...
    torch.testing.assert_close(ae.decoder_weight, w.t(), rtol=0, atol=0)  # ... and its view
    assert ae(x).shape == (8, 64)


@pytest.mark.parametrize("encoder", ["gru", "mean"])
def test_tied_embeddings_share_storage_and_train_together(encoder):
    vocab, dim = 12, 6
    torch.manual_seed(0)
    m = TinySequenceModel(vocab, dim, encoder=encoder)
    untied = TinySequenceModel(vocab, dim, tie_embeddings=False, encoder=encoder)
    assert m.output.weight is m.embedding.weight
    assert m.output.weight.data_ptr() == m.embedding.weight.data_ptr()
    assert count_parameters(untied) - count_parameters(m) == vocab * dim
    core = 6 * dim * dim + 6 * dim if encoder == "gru" else dim * dim + dim
    assert count_parameters(m) == vocab * dim + core + vocab
    # toy task: the next token is the last one + 1 (mod vocab)
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, vocab, (96, 4), generator=g)
    data = TensorDataset(tokens, (tokens[:, -1] + 1) % vocab)
    old = m.embedding.weight.detach().clone()
    fit(m, data, epochs=2, lr=0.05, batch_size=32, seed=0, device="cpu")
    assert not torch.equal(m.embedding.weight, old)
    assert m.output.weight is m.embedding.weight  # still one tensor after training
    assert m(tokens[:5]).shape == (5, vocab)


def test_shared_cnn_blocks_are_one_module():
    torch.manual_seed(0)
    net = build_cnn({"depth": 3, "widths": 8, "shared_blocks": True})
    plain = build_cnn({"depth": 3, "widths": 8})
    assert net.blocks[1] is net.blocks[2]
    a, b = net.blocks[1].layer.weight, net.blocks[2].layer.weight
    assert a.data_ptr() == b.data_ptr()
    one_block = sum(p.numel() for p in plain.blocks[2].parameters())
    assert one_block == 8 * 8 * 9 + 8
    assert count_parameters(plain) - count_parameters(net) == one_block
    old = a.detach().clone()
    net(torch.rand(4, 1, 8, 8)).sum().backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    assert not torch.equal(b, old)
    report = tying_report(autoencoder=(64, 16), sequence=(12, 6),
                          cnn={"depth": 3, "widths": 8})
    assert report["saved"].tolist() == [64 * 16, 12 * 6, one_block]
    assert (report["tied"] < report["untied"]).all()


# ---- architecture search -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["cnn", "mlp"])
@pytest.mark.parametrize("conditional", [True, False])
def test_architecture_space_points_build(kind, conditional):
    spec = architecture_space(kind, max_depth=3, conditional=conditional)
    space = ConditionalSpace.of(spec)
    assert isinstance(spec, dict if conditional else Space)
    rng = np.random.default_rng(0)
    depths = set()
    for params in space.decode_batch(rng.random((12, space.dim))):
        config = config_from_params(params)
        depths.add(config.depth)
        if conditional:  # only the active layers are decoded
            assert f"width_{config.depth - 1}" in params and f"width_{config.depth}" \
                not in params
        net = build_net(config, kind, (1, 8, 8), 10)
        assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
        assert ("pooling" in params) == (kind == "cnn")
    assert depths == {1, 2, 3}


def test_config_from_params_errors():
    with pytest.raises(ValueError, match="need 'depth'"):
        config_from_params({"width_0": 8})
    with pytest.raises(ValueError, match=r"miss \['width_1'\]"):
        config_from_params({"depth": 2, "width_0": 8})
    with pytest.raises(ValueError, match="kind must be"):
        architecture_space("rnn")


def test_nas_problem_respects_the_constraint_and_is_deterministic(digits):
    max_params = 5000
    p = nas_problem(digits["train"], digits["val"], kind="cnn", epochs=1,
                    max_params=max_params)
    assert isinstance(p.handler, FeasibilityRules) and p.constraint_names == ["max_params"]
    r = hl.minimize(p, "random", budget=6, seed=0)
    h = r.history
    assert r.n_evals == 6 and (h.status == "ok").all()
    assert (h.violation > 0).any() and (h.violation == 0).any()  # both kinds were seen
    assert r.feasible and r.violation == 0.0
    best = build_cnn(config_from_params(r.x))
    assert count_parameters(best) <= max_params
    assert r.y == h.y[h.violation == 0].min()
    records = p.objective.records
    assert [rec["trained"] for rec in records] == (h.violation == 0).tolist()
    for rec, y in zip(records, h.y, strict=True):
        if rec["trained"]:
            assert 0 <= rec["val_accuracy"] <= 1 and y == pytest.approx(
                1 - rec["val_accuracy"])
    again = hl.minimize(nas_problem(digits["train"], digits["val"], kind="cnn", epochs=1,
                                    max_params=max_params), "random", budget=6, seed=0)
    assert again.matches(r)


def test_nas_problem_penalties_and_options(digits):
    p = nas_problem(digits["train"], digits["val"], kind="mlp", epochs=1,
                    size_penalty=0.5, latency_penalty=0.01, handler=Penalty(10.0),
                    max_params=100_000)
    assert isinstance(p.handler, Penalty)
    r = hl.minimize(p, "random", budget=2, seed=1)
    for rec, y in zip(p.objective.records, r.history.y, strict=True):
        assert rec["latency_ms"] > 0
        assert y == pytest.approx(1 - rec["val_accuracy"] + 0.5 * rec["params"] / 1e5
                                  + 0.01 * rec["latency_ms"])
    with pytest.raises(ValueError, match="kind='mlp'"):
        nas_problem((torch.zeros(8, 5), torch.zeros(8, dtype=torch.long)), None, kind="cnn")
    with pytest.raises(ValueError, match="max_params"):
        nas_problem(digits["train"], digits["val"], max_params=0)
    with pytest.raises(ValueError, match="size_penalty"):
        nas_problem(digits["train"], digits["val"], size_penalty=-1.0)


def test_nas_compare_equal_budget(digits):
    trials, summary = nas_compare(digits["train"], digits["val"], digits["test"],
                                  optimizers=("random", "ga>>local"), budget=3, seeds=(0,),
                                  kind="mlp", epochs=1, max_params=8000)
    assert trials.groupby("optimizer").size().to_dict() == {"random": 3, "ga>>local": 3}
    for _, run in trials.groupby(["optimizer", "seed"]):
        best = run.best_so_far.to_numpy()
        assert (np.diff(best[np.isfinite(best)]) <= 0).all()
    assert {"params", "val_accuracy", "latency_ms", "violation", "config"} <= set(trials)
    assert list(summary.optimizer) == ["random", "ga>>local"]
    feasible = summary.dropna(subset=["test_accuracy"])
    assert len(feasible) >= 1
    assert feasible.test_accuracy.between(0, 1).all()
    assert (feasible.params <= 8000).all() and (feasible.latency_ms > 0).all()
