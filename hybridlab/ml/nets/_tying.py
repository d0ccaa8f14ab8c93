"""Weight tying and parameter sharing: one tensor, several uses.

* :class:`TiedAutoencoder` -- the decoder is the encoder's weight *transposed*: a view of
  the same Parameter, not a copy (``tied=False`` gives the untied twin to compare with);
* :class:`TinySequenceModel` -- embedding, a GRU (or mean pooling and an MLP), and an
  output projection whose weight *is* the embedding matrix (``tie_embeddings=True``, as in
  Press & Wolf, 2017);
* CNN/MLP blocks shared across layers: ``NetConfig(shared_blocks=True)`` of
  :mod:`hybridlab.ml.nets`;
* :func:`shares_storage` -- whether two tensors are views of one storage;
* :func:`tying_report` -- parameter counts with and without sharing for the three.

Sharing cuts parameters (memory, checkpoint size), not compute: every use still does its
multiply. A gradient step on the one Parameter moves every use at once; gradients from the
uses add up.

Example
-------
>>> import torch
>>> _ = torch.manual_seed(0)
>>> ae = TiedAutoencoder(64, 16)
>>> shares_storage(ae.encoder.weight, ae.decoder_weight)
True
>>> count_parameters(ae), count_parameters(TiedAutoencoder(64, 16, tied=False))
(1104, 2128)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ._activations import make_activation
from ._builders import NetConfig, build_cnn, count_parameters

__all__ = ["TiedAutoencoder", "TinySequenceModel", "shares_storage", "tying_report"]


def shares_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b`` are views of the same memory (same untyped storage).

    Example
    -------
    >>> w = torch.zeros(3, 2)
    >>> shares_storage(w, w.t()), shares_storage(w, w.clone())
    (True, False)
    """
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


class TiedAutoencoder(nn.Module):
    """A one-hidden-layer autoencoder whose decoder weight is the encoder weight transposed.

    ``h = act(x W^T + b)``, ``x_hat = h W + c``: the encoder ``W`` is ``(hidden,
    in_features)``, the decoder uses ``W^T`` of shape ``(in_features, hidden)`` through
    :attr:`decoder_weight`, a view of the same Parameter. Only the decoder bias ``c`` is
    new. Inputs of any shape ``(batch, ...)`` are flattened; outputs are ``(batch,
    in_features)``.

    Parameters
    ----------
    in_features, hidden : int
    activation : str, default "relu"
        See :func:`~hybridlab.ml.nets.make_activation`.
    tied : bool, default True
        False gives the decoder its own ``Linear(hidden, in_features)`` weight (for
        comparison: ``in_features * hidden`` more parameters).

    Example
    -------
    >>> ae = TiedAutoencoder(4, 2)
    >>> ae(torch.zeros(3, 4)).shape, ae.decoder_weight.shape
    (torch.Size([3, 4]), torch.Size([4, 2]))
    """

    def __init__(self, in_features: int, hidden: int, activation: str = "relu",
                 tied: bool = True) -> None:
        super().__init__()
        if min(in_features, hidden) < 1:
            raise ValueError(f"in_features and hidden must be >= 1, got {in_features}, "
                             f"{hidden}")
        self.tied = bool(tied)
        self.encoder = nn.Linear(in_features, hidden)
        self.act = make_activation(activation)
        self.decoder_bias = nn.Parameter(torch.zeros(in_features))
        self.decoder: nn.Linear | None = None
        if not self.tied:
            self.decoder = nn.Linear(hidden, in_features, bias=False)

    @property
    def decoder_weight(self) -> torch.Tensor:
        """``(in_features, hidden)``: ``encoder.weight.t()`` (a view) when tied."""
        if self.decoder is None:
            return self.encoder.weight.t()
        return self.decoder.weight

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.encoder(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``(batch, in_features)`` of ``x`` (flattened)."""
        return F.linear(self.encode(x), self.decoder_weight, self.decoder_bias)


class TinySequenceModel(nn.Module):
    """Next-token classifier: embedding -> GRU (or mean pool + MLP) -> vocabulary logits.

    ``forward(tokens)`` takes int64 tokens ``(batch, length)`` and returns logits
    ``(batch, vocab)`` for the next token: the GRU's last hidden state (``encoder="gru"``),
    or the mean of the embeddings through ``Linear(dim, dim) -> tanh`` (``encoder="mean"``),
    projected by ``Linear(dim, vocab)``. With ``tie_embeddings=True`` that projection's
    weight **is** the embedding matrix (same Parameter, shape ``(vocab, dim)``), which
    saves ``vocab * dim`` parameters; its bias stays its own. Train it with
    :func:`hybridlab.ml.train.fit` on ``(tokens, next_token)`` pairs.

    Parameters
    ----------
    vocab, dim : int
    tie_embeddings : bool, default True
    encoder : {"gru", "mean"}, default "gru"

    Example
    -------
    >>> m = TinySequenceModel(vocab=20, dim=8)
    >>> m(torch.zeros(2, 5, dtype=torch.long)).shape
    torch.Size([2, 20])
    >>> m.output.weight is m.embedding.weight
    True
    >>> count_parameters(m)  # 20*8 embedding + GRU 3*(8*8+8*8+8+8) + 20 output bias
    612
    """

    def __init__(self, vocab: int, dim: int, tie_embeddings: bool = True,
                 encoder: str = "gru") -> None:
        super().__init__()
        if min(vocab, dim) < 1:
            raise ValueError(f"vocab and dim must be >= 1, got {vocab}, {dim}")
        if encoder not in ("gru", "mean"):
            raise ValueError(f"encoder must be 'gru' or 'mean', got {encoder!r}")
        self.encoder_kind = encoder
        self.tie_embeddings = bool(tie_embeddings)
        self.embedding = nn.Embedding(vocab, dim)
        if encoder == "gru":
            self.encoder: nn.Module = nn.GRU(dim, dim, batch_first=True)
        else:
            self.encoder = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.output = nn.Linear(dim, vocab)
        if self.tie_embeddings:
            self.output.weight = self.embedding.weight  # one Parameter, two uses

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        e = self.embedding(tokens)
        if self.encoder_kind == "gru":
            _, h = self.encoder(e)
            z = h[-1]
        else:
            z = self.encoder(e.mean(dim=1))
        return self.output(z)


def _pair_counts(tied: nn.Module, untied: nn.Module) -> dict[str, int]:
    return {"untied": count_parameters(untied), "tied": count_parameters(tied)}


def tying_report(autoencoder: tuple[int, int] = (64, 32),
                 sequence: tuple[int, int] = (100, 32),
                 cnn: Mapping[str, Any] | NetConfig | None = None) -> pd.DataFrame:
    """Parameter counts without and with sharing, for the three kinds of sharing.

    Parameters
    ----------
    autoencoder : (in_features, hidden)
        :class:`TiedAutoencoder` vs ``tied=False``.
    sequence : (vocab, dim)
        :class:`TinySequenceModel` with and without ``tie_embeddings``.
    cnn : NetConfig or dict, optional
        A CNN config for 1x8x8 images built with ``shared_blocks`` False and True
        (default: depth 3, 16 channels, 3x3 kernels).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``untied``, ``tied``, ``saved``, ``saved_pct``.

    Example
    -------
    >>> tying_report()[["model", "untied", "tied", "saved"]]
                        model  untied  tied  saved
    0  tied autoencoder 64x32    4192  2144   2048
    1   sequence model 100x32   12836  9636   3200
    2    cnn shared blocks x3    4970  2650   2320
    """
    rows = []
    n_in, hidden = autoencoder
    rows.append({"model": f"tied autoencoder {n_in}x{hidden}",
                 **_pair_counts(TiedAutoencoder(n_in, hidden),
                                TiedAutoencoder(n_in, hidden, tied=False))})
    vocab, dim = sequence
    rows.append({"model": f"sequence model {vocab}x{dim}",
                 **_pair_counts(TinySequenceModel(vocab, dim),
                                TinySequenceModel(vocab, dim, tie_embeddings=False))})
    base = (cnn.to_dict() if isinstance(cnn, NetConfig)
            else dict(cnn) if cnn is not None else {"depth": 3, "widths": 16})
    base.pop("shared_blocks", None)
    rows.append({"model": f"cnn shared blocks x{base.get('depth', 2)}",
                 **_pair_counts(build_cnn({**base, "shared_blocks": True}),
                                build_cnn({**base, "shared_blocks": False}))})
    frame = pd.DataFrame(rows)
    frame["saved"] = frame["untied"] - frame["tied"]
    frame["saved_pct"] = (100 * frame["saved"] / frame["untied"]).round(1)
    return frame
