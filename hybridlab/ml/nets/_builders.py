"""Networks built from a plain configuration: the search target of architecture search.

* :class:`NetConfig` -- depth, per-layer widths (units or channels), kernel sizes and
  activations, pooling, normalization, dropout, residual connections and shared blocks,
  validated on construction (a ``ValueError`` names the fix); a dict works wherever a
  config does;
* :func:`build_mlp`, :func:`build_cnn` -- a :class:`Net` from a config;
* :func:`count_parameters` -- parameters counted once each, however often they are used.

Architecture
------------
A :class:`Net` is ``stem -> block_1 -> ... -> block_depth -> head``. The stem flattens
the input (MLP) or passes it on (CNN). Block i is

    ``layer -> norm -> activation -> (+ skip) -> pool -> dropout``

where ``layer`` is ``Linear(w_{i-1}, w_i)`` (MLP) or ``Conv2d(c_{i-1}, c_i, k_i,
padding=k_i // 2)`` (CNN; odd kernels only, so the convolution keeps the spatial size).
``norm`` is ``BatchNorm1d/2d(w_i)`` ("batch"), ``LayerNorm(w_i)`` (MLP "layer") or
``GroupNorm(1, c_i)`` (CNN "layer": normalises over channels and positions of each sample,
with a per-channel scale and shift), or nothing ("none"). Before batch norm the layer has no
bias (the norm's shift replaces it). ``pool`` is ``MaxPool2d(2)`` / ``AvgPool2d(2)``
(halving height and width) or nothing; MLPs never pool. The head flattens and applies
``Linear(features, n_classes)``; the network returns logits.

*Residual connections* (``residual=True``) add a skip around ``layer -> norm ->
activation`` of every block: the identity where input and output shapes match, otherwise
a bias-free *projection* -- ``Linear(w_{i-1}, w_i)`` or a 1x1 ``Conv2d(c_{i-1}, c_i)`` --
as in ResNet's option B. The sum is taken before pooling, where spatial sizes always agree.

*Shared blocks* (``shared_blocks=True``) build block 2 once and apply that same module
``depth - 1`` times (a recurrent-style stack, as in ALBERT's cross-layer sharing): it needs
equal widths and kernel sizes from layer 1 on. Its parameters exist once, so
:func:`count_parameters` (and any optimizer) sees them once; a shared batch norm pools its
running statistics over all applications.

Example
-------
>>> import torch
>>> _ = torch.manual_seed(0)
>>> net = build_cnn({"depth": 2, "widths": (4, 8), "kernel_sizes": (3, 5)})
>>> net(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
>>> count_parameters(net)  # (1*4*9 + 4) + (4*8*25 + 8) + (8*2*2*10 + 10)
1178
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from hybridlab.ml.train import ACTIVATIONS

from ._activations import make_activation

__all__ = ["NORMS", "POOLINGS", "Block", "Net", "NetConfig", "as_config", "build_cnn",
           "build_mlp", "build_net", "count_parameters"]

#: Pooling names of :class:`NetConfig` (CNN only).
POOLINGS = ("max", "avg", "none")
#: Normalization names of :class:`NetConfig`.
NORMS = ("batch", "layer", "none")


def _per_layer(name: str, value: Any, depth: int, kind: type) -> tuple:
    """A scalar broadcast to ``depth`` entries, or a sequence of exactly ``depth``."""
    if isinstance(value, str | numbers.Number) and not isinstance(value, bool):
        return (value,) * depth
    try:
        values = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a {kind.__name__} or a sequence of {depth}, "
                         f"got {value!r}") from None
    if len(values) != depth:
        raise ValueError(f"{name} has {len(values)} entries for depth={depth}; give one per "
                         f"layer (or a single value for all)")
    return values


@dataclass(frozen=True)
class NetConfig:
    """What :func:`build_mlp` and :func:`build_cnn` build (see the module docstring).

    Per-layer fields take one value per layer or a single value for all layers; they are
    stored as tuples of length ``depth``.

    Parameters
    ----------
    depth : int, default 2
        Number of hidden blocks (>= 1).
    widths : int or sequence of int, default (16, 32)
        Units (MLP) or output channels (CNN) of each block.
    kernel_sizes : int or sequence of int, default 3
        Odd convolution kernel sizes (CNN only; ignored by MLPs).
    activations : str or sequence of str, default "relu"
        Activation of each block (see :func:`~hybridlab.ml.nets.make_activation`;
        ``"mixed"`` gives a learnable :class:`~hybridlab.ml.nets.MixedActivation`).
    pooling : {"max", "avg", "none"}, default "max"
        2x2 pooling after each conv block (CNN only).
    norm : {"batch", "layer", "none"}, default "none"
    dropout : float, default 0.0
        Dropout probability after each block, in [0, 1).
    residual : bool, default False
        Skip connections (identity or projection).
    shared_blocks : bool, default False
        Reuse one block module for layers 2..depth.

    Example
    -------
    >>> NetConfig(depth=3, widths=16, activations=["relu", "tanh", "gelu"]).widths
    (16, 16, 16)
    >>> NetConfig(depth=2, widths=(8, 16, 32))
    Traceback (most recent call last):
    ...
    ValueError: widths has 3 entries for depth=2; give one per layer (or a single value for all)
    """

    depth: int = 2
    widths: Any = (16, 32)
    kernel_sizes: Any = 3
    activations: Any = "relu"
    pooling: str = "max"
    norm: str = "none"
    dropout: float = 0.0
    residual: bool = False
    shared_blocks: bool = False

    def __post_init__(self) -> None:
        depth = self.depth
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
            raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
        depth = int(depth)
        object.__setattr__(self, "depth", depth)
        widths = _per_layer("widths", self.widths, depth, int)
        if any(isinstance(w, bool) or int(w) != w or w < 1 for w in widths):
            raise ValueError(f"widths must be positive integers, got {widths!r}")
        kernels = _per_layer("kernel_sizes", self.kernel_sizes, depth, int)
        if any(isinstance(k, bool) or int(k) != k or k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(f"kernel_sizes must be odd positive integers (so that padding "
                             f"k // 2 keeps the image size), got {kernels!r}; e.g. 3 or 5")
        acts = _per_layer("activations", self.activations, depth, str)
        known = [*ACTIVATIONS, "mixed"]
        bad = [a for a in acts if a not in known]
        if bad:
            raise ValueError(f"unknown activation(s) {bad}; use any of {known}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if isinstance(self.dropout, bool) or not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        for flag in ("residual", "shared_blocks"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        widths = tuple(int(w) for w in widths)
        kernels = tuple(int(k) for k in kernels)
        if self.shared_blocks and depth > 1 and (len(set(widths[1:] + widths[:1])) > 1
                                                 or len(set(kernels[1:])) > 1
                                                 or len(set(acts[1:])) > 1):
            raise ValueError("shared_blocks=True reuses one block for layers 2..depth, so "
                             "all widths, and the kernel sizes and activations of layers "
                             f"2..depth, must be equal; got widths={widths}, "
                             f"kernel_sizes={kernels}, activations={acts}")
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "kernel_sizes", kernels)
        object.__setattr__(self, "activations", tuple(acts))
        object.__setattr__(self, "dropout", float(self.dropout))

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (``NetConfig(**d)`` rebuilds it)."""
        return asdict(self)


def as_config(config: NetConfig | Mapping[str, Any] | None) -> NetConfig:
    """A :class:`NetConfig` from a config, a dict of its fields, or None (the defaults).

    Example
    -------
    >>> as_config({"depth": 1, "widths": 8}).widths
    (8,)
    >>> as_config({"layers": 2})
    Traceback (most recent call last):
    ...
    ValueError: unknown config key(s) ['layers']; NetConfig has ['depth', 'widths', \
'kernel_sizes', 'activations', 'pooling', 'norm', 'dropout', 'residual', 'shared_blocks']
    """
    if config is None:
        return NetConfig()
    if isinstance(config, NetConfig):
        return config
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a NetConfig or a dict of its fields, got "
                         f"{type(config).__name__}")
    names = [f.name for f in fields(NetConfig)]
    unknown = [k for k in config if k not in names]
    if unknown:
        raise ValueError(f"unknown config key(s) {unknown}; NetConfig has {names}")
    return NetConfig(**config)


def _norm(kind: str, norm: str, width: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm1d(width) if kind == "mlp" else nn.BatchNorm2d(width)
    if norm == "layer":
        return nn.LayerNorm(width) if kind == "mlp" else nn.GroupNorm(1, width)
    return nn.Identity()


class Block(nn.Module):
    """``layer -> norm -> activation -> (+ skip) -> pool -> dropout`` (see :mod:`nets`).

    ``skip`` is None without residual connections, ``nn.Identity`` when shapes match, a
    bias-free projection otherwise.
    """

    def __init__(self, kind: str, n_in: int, n_out: int, *, kernel_size: int = 3,
                 activation: str = "relu", norm: str = "none", pooling: str = "none",
                 dropout: float = 0.0, residual: bool = False) -> None:
        super().__init__()
        bias = norm != "batch"
        if kind == "mlp":
            self.layer: nn.Module = nn.Linear(n_in, n_out, bias=bias)
            proj: nn.Module = nn.Linear(n_in, n_out, bias=False)
            pooling = "none"
        else:
            self.layer = nn.Conv2d(n_in, n_out, kernel_size, padding=kernel_size // 2,
                                   bias=bias)
            proj = nn.Conv2d(n_in, n_out, 1, bias=False)
        self.norm = _norm(kind, norm, n_out)
        self.act = make_activation(activation)
        self.skip: nn.Module | None = ((nn.Identity() if n_in == n_out else proj)
                                       if residual else None)
        self.pool: nn.Module = {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2)}.get(
            pooling, nn.Identity())
        self.drop: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.norm(self.layer(x)))
        if self.skip is not None:
            out = out + self.skip(x)
        return self.drop(self.pool(out))


class Net(nn.Module):
    """``stem -> blocks -> head``, built by :func:`build_mlp` / :func:`build_cnn`.

    Attributes
    ----------
    config : NetConfig
    kind : {"mlp", "cnn"}
    blocks : torch.nn.ModuleList
        One entry per layer; with ``shared_blocks`` entries 2..depth are the same module.
    """

    def __init__(self, kind: str, config: NetConfig, in_shape: tuple[int, ...],
                 n_classes: int) -> None:
        super().__init__()
        self.kind, self.config = kind, config
        self.in_shape, self.n_classes = tuple(in_shape), n_classes
        c = config
        if kind == "mlp":
            self.stem: nn.Module = nn.Flatten()
            n_in, side = math.prod(in_shape), 1
        else:
            self.stem = nn.Identity()
            n_in, side = in_shape[0], in_shape[1]
        blocks: list[nn.Module] = []
        for i in range(c.depth):
            if c.shared_blocks and i >= 2:
                block = blocks[1]
            else:
                block = Block(kind, n_in, c.widths[i], kernel_size=c.kernel_sizes[i],
                              activation=c.activations[i], norm=c.norm, pooling=c.pooling,
                              dropout=c.dropout, residual=c.residual)
            blocks.append(block)
            n_in = c.widths[i]
            if kind == "cnn" and c.pooling != "none":
                side //= 2
        self.blocks = nn.ModuleList(blocks)
        features = n_in if kind == "mlp" else n_in * side * side
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(features, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)``."""
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, in_shape={self.in_shape}, n_classes={self.n_classes}"


def _check_classes(n_classes: int) -> int:
    if isinstance(n_classes, bool) or int(n_classes) != n_classes or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    return int(n_classes)


def build_mlp(config: NetConfig | Mapping[str, Any] | None, in_features: int | Sequence[int],
              n_classes: int) -> Net:
    """A fully connected :class:`Net` (inputs are flattened first).

    ``kernel_sizes`` and ``pooling`` of the config are ignored.

    Parameters
    ----------
    config : NetConfig, dict or None
    in_features : int or shape
        Features per sample, or the shape of one sample (flattened).
    n_classes : int

    Example
    -------
    >>> net = build_mlp({"depth": 2, "widths": 8, "residual": True}, 4, 3)
    >>> count_parameters(net)  # 4*8 (projection) + (4*8+8) + (8*8+8) + (8*3+3)
    171
    """
    cfg = as_config(config)
    shape = (int(in_features),) if isinstance(in_features, int) else tuple(in_features)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"in_features must be a positive int or shape, got {in_features!r}")
    return Net("mlp", cfg, shape, _check_classes(n_classes))


def build_cnn(config: NetConfig | Mapping[str, Any] | None,
              in_shape: Sequence[int] = (1, 8, 8), n_classes: int = 10) -> Net:
    """A convolutional :class:`Net` for images of shape ``in_shape = (C, H, W)``.

    Raises ``ValueError`` when pooling would shrink the image below 1x1 (use fewer layers
    or ``pooling="none"``).

    Example
    -------
    >>> net = build_cnn({"depth": 3, "widths": 8, "shared_blocks": True})
    >>> count_parameters(net)  # (1*8*9+8) + (8*8*9+8), shared + (8*1*1*10+10)
    754
    """
    cfg = as_config(config)
    shape = tuple(int(s) for s in in_shape)
    if len(shape) != 3 or any(s < 1 for s in shape):
        raise ValueError(f"in_shape must be (channels, height, width), got {in_shape!r}")
    if cfg.pooling != "none" and min(shape[1:]) < 2 ** cfg.depth:
        raise ValueError(f"{cfg.depth} pooling layers halve a {shape[1]}x{shape[2]} image "
                         f"below 1x1; use depth <= {int(math.log2(min(shape[1:])))} or "
                         f"pooling='none'")
    if shape[1] != shape[2]:
        raise ValueError(f"build_cnn needs square images, got {shape[1]}x{shape[2]}")
    return Net("cnn", cfg, shape, _check_classes(n_classes))


def build_net(config: NetConfig | Mapping[str, Any] | None, kind: str,
              in_shape: Sequence[int], n_classes: int) -> Net:
    """:func:`build_mlp` (``kind="mlp"``, flattening ``in_shape``) or :func:`build_cnn`."""
    if kind == "mlp":
        return build_mlp(config, tuple(in_shape), n_classes)
    if kind == "cnn":
        return build_cnn(config, in_shape, n_classes)
    raise ValueError(f"kind must be 'mlp' or 'cnn', got {kind!r}")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model``, each shared tensor counted once.

    ``model.parameters()`` yields each Parameter object once however many modules hold it
    (tied embeddings, shared blocks); a weight used through a view (a transposed tied
    decoder) is one Parameter anyway. Distinct Parameters that alias the same storage are
    counted once too.

    Parameters
    ----------
    model : torch.nn.Module
    trainable_only : bool, default False
        Count only parameters with ``requires_grad``.

    Example
    -------
    >>> lin = nn.Linear(3, 3)
    >>> count_parameters(nn.Sequential(lin, nn.ReLU(), lin))  # one layer used twice
    12
    """
    seen: set[tuple[int, int, tuple[int, ...], tuple[int, ...]]] = set()
    total = 0
    for p in model.parameters():
        if trainable_only and not p.requires_grad:
            continue
        key = (p.data_ptr(), p.storage_offset(), tuple(p.shape), tuple(p.stride()))
        if key in seen:
            continue
        seen.add(key)
        total += p.numel()
    return total
