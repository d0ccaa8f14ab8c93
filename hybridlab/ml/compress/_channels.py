"""Structural pruning: whole channels and units removed, so a model gets smaller *and* faster.

Masking weights (:func:`prune_global`) leaves every tensor its size, so a masked model is
no faster.  Here `torch-pruning <https://github.com/VainF/Torch-Pruning>`_ (the
``compress`` extra) traces the model once with an example input, groups the layers whose
channels depend on each other (a convolution's outputs, the next layer's inputs, a
flatten into a linear layer) and removes the least important channels of each group by
the L2 norm of their weights: the tensors shrink.  The classifier's output layer is never
pruned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from hybridlab.ml.train import Data, fit

from ._prune import _val_accuracy, sparsity_schedule

__all__ = ["channel_counts", "progressive_channel_prune", "prune_channels"]

IMPORTANCES = ("l2", "l1", "random")


def _torch_pruning() -> Any:
    try:
        import torch_pruning
    except ImportError as exc:  # an optional extra
        raise ImportError("structural pruning needs torch-pruning: pip install "
                          "'hybridlab[compress]'") from exc
    return torch_pruning


def _output_layer(model: nn.Module) -> list[nn.Module]:
    """The last linear or convolutional layer (the classifier head's output)."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d | nn.Conv1d)]
    return layers[-1:]


def _importance(tp: Any, name: str) -> Any:
    if name not in IMPORTANCES:
        raise ValueError(f"importance must be one of {IMPORTANCES}, got {name!r}")
    if name == "random":
        return tp.importance.RandomImportance()
    return tp.importance.GroupMagnitudeImportance(p=2 if name == "l2" else 1)


def _check_ratio(amount: Any, what: str = "amount") -> float:
    if isinstance(amount, bool) or not isinstance(amount, int | float) \
            or not 0.0 <= amount < 1.0:
        raise ValueError(f"{what} must be a fraction of channels to remove in [0, 1), "
                         f"got {amount!r}")
    return float(amount)


def channel_counts(model: nn.Module, example: torch.Tensor) -> dict[str, float]:
    """``params`` and ``macs`` (multiply-accumulates of one forward pass of ``example``),
    counted by torch-pruning on the model as it is (pruned channels are gone).

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN
    >>> channel_counts(SmallCNN(channels=(8, 16), hidden=64), torch.zeros(1, 1, 8, 8))
    {'params': 6058.0, 'macs': 30218.0}
    """
    tp = _torch_pruning()
    macs, params = tp.utils.count_ops_and_params(model, example)
    return {"params": float(params), "macs": float(macs)}


class _Pruner:
    """torch-pruning's pruner for ``model``, stepping along cumulative ratios."""

    def __init__(self, model: nn.Module, example: torch.Tensor, ratios: Sequence[float],
                 importance: str, ignored_layers: Sequence[nn.Module] | None,
                 round_to: int | None) -> None:
        tp = _torch_pruning()
        ratios = [0.0, *ratios]
        self.importance = importance
        self._pruner = tp.pruner.BasePruner(
            model, example, importance=_importance(tp, importance),
            pruning_ratio=ratios[-1], iterative_steps=len(ratios) - 1,
            iterative_pruning_ratio_scheduler=lambda ratio, steps: ratios,
            ignored_layers=list(_output_layer(model) if ignored_layers is None
                                else ignored_layers),
            round_to=round_to)

    def step(self, model: nn.Module) -> None:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            self._pruner.step()
        model.train(was_training)


def prune_channels(model: nn.Module, example: torch.Tensor, amount: float, *,
                   importance: str = "l2", ignored_layers: Sequence[nn.Module] | None = None,
                   round_to: int | None = None) -> nn.Module:
    """Remove ``amount`` of the channels (and hidden units) of every prunable layer.

    Parameters
    ----------
    model : torch.nn.Module
        Changed in place and returned.  Its attributes that describe the architecture
        (``SmallCNN.channels``) keep the sizes before pruning: save the module itself
        (``torch.save(model)``), its ``state_dict`` no longer fits a fresh instance.
    example : torch.Tensor
        An input batch (its shape matters, not its values) to trace the model with.
    amount : float
        Fraction of each group's channels to remove, in ``[0, 1)``.
    importance : {"l2", "l1", "random"}
        Which channels go: those whose weights (in every layer of their group: the
        convolution's filter and the next layer's inputs) have the smallest L2 (default)
        or L1 norm, or random ones (a baseline).
    ignored_layers : sequence of modules, optional
        Layers whose outputs are kept (default: the last linear/conv layer, the output).
    round_to : int, optional
        Keep channel counts multiples of this (hardware-friendly sizes, e.g. 8).

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN(channels=(16, 32), hidden=128)
    >>> small = prune_channels(model, torch.zeros(1, 1, 8, 8), 0.5)
    >>> small.features[0].out_channels, small.head[-1].out_features
    (8, 10)
    """
    amount = _check_ratio(amount)
    if amount == 0.0:
        return model
    _Pruner(model, example, [amount], importance, ignored_layers, round_to).step(model)
    return model


def progressive_channel_prune(
    model: nn.Module,
    example: torch.Tensor,
    train: Data,
    val: Data | None = None,
    target: float = 0.5,
    steps: int = 4,
    schedule: str = "cubic",
    finetune_epochs: int = 1,
    importance: str = "l2",
    ignored_layers: Sequence[nn.Module] | None = None,
    round_to: int | None = None,
    **fit_kwargs: Any,
) -> tuple[nn.Module, pd.DataFrame]:
    """Remove channels in ``steps`` steps up to ``target``, fine-tuning between steps.

    Step t removes channels until ``sparsity_schedule(target, steps, schedule)[t]`` of
    each group's original channels are gone, then trains ``finetune_epochs`` epochs with
    :func:`~hybridlab.ml.train.fit` (seed ``seed + t``), as :func:`progressive_prune`
    does for masks.

    Returns
    -------
    model : torch.nn.Module
        Pruned in place (see :func:`prune_channels` on saving it).
    steps : pandas.DataFrame
        One row per step (0 = before): ``step``, ``target_ratio``, ``params``, ``macs``,
        ``val_accuracy_pruned`` (right after the step), ``val_accuracy`` (after
        fine-tuning), ``epochs`` (cumulative).

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN, digits_data
    >>> train, val, _ = digits_data()
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN(channels=(16, 32), hidden=128)
    >>> _ = fit(model, train, val, lr=3e-3, epochs=3)
    >>> model, table = progressive_channel_prune(model, torch.zeros(1, 1, 8, 8), train, val,
    ...                                          target=0.5, steps=2, lr=1e-3)
    >>> bool(table.params.iloc[-1] < 0.4 * table.params.iloc[0])
    True
    """
    target = _check_ratio(target, "target")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    ratios = [float(r) for r in sparsity_schedule(target, steps, schedule)]
    pruner = _Pruner(model, example, ratios, importance, ignored_layers, round_to)
    seed = int(fit_kwargs.pop("seed", 0))
    fit_kwargs.pop("epochs", None)
    acc0 = _val_accuracy(model, val)
    rows = [{"step": 0, "target_ratio": 0.0, **channel_counts(model, example),
             "val_accuracy_pruned": acc0, "val_accuracy": acc0, "epochs": 0}]
    epochs = 0
    for t, ratio in enumerate(ratios, start=1):
        pruner.step(model)
        acc = acc_pruned = _val_accuracy(model, val)
        if finetune_epochs > 0:
            h = fit(model, train, val, epochs=finetune_epochs, seed=seed + t, **fit_kwargs)
            epochs += finetune_epochs
            acc = float(h.val_accuracy.iloc[-1]) if val is not None else math.nan
        rows.append({"step": t, "target_ratio": ratio, **channel_counts(model, example),
                     "val_accuracy_pruned": acc_pruned, "val_accuracy": acc,
                     "epochs": epochs})
    return model, pd.DataFrame(rows)
