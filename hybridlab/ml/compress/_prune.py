"""Weight pruning with :mod:`torch.nn.utils.prune`: global and structured, one-shot and
progressive (with fine-tuning by :func:`~hybridlab.ml.train.fit` between steps).
Over 400 lines: half of it is the docstrings and examples of the twelve pruning functions.

* :func:`prune_global` -- global unstructured L1 pruning over the weights of all (or the
  given) ``Linear`` / ``Conv`` layers: the smallest ``amount`` of all their weights, taken
  together, are zeroed;
* :func:`prune_structured` -- L\\ :sub:`n` structured pruning of whole output channels
  (conv) / output neurons (linear), layer by layer;
* :func:`make_permanent` -- removes the pruning reparametrisation (``weight_orig`` +
  ``weight_mask`` become a plain ``weight`` with zeros);
* :func:`sparsity` -- the share of zero weights, overall and per layer;
* :func:`sparsity_schedule`, :func:`progressive_prune`, :func:`one_shot_prune` -- pruning
  to a target sparsity in steps (Zhu & Gupta's cubic schedule, or linear) with fine-tuning
  after each step, and the one-shot alternative with the same total fine-tuning budget.

Pruning only puts zeros in the weights: the tensors keep their shape, so a pruned model is
neither smaller nor faster by itself. :mod:`~hybridlab.ml.compress` stores the zeros
compactly (that is what shrinks the file); dense CPU kernels do not skip zeros.

Example
-------
>>> import torch
>>> from hybridlab.ml.train import SmallCNN
>>> _ = torch.manual_seed(0)
>>> model = prune_global(SmallCNN(), amount=0.5)
>>> round(sparsity(model).overall, 3)
0.5
>>> "weight_orig" in dict(make_permanent(model).named_parameters())
False
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune

from hybridlab.ml.train import Data, accuracy, fit

__all__ = [
    "PRUNABLE",
    "SparsityReport",
    "is_pruned",
    "make_permanent",
    "one_shot_prune",
    "permanent_copy",
    "progressive_prune",
    "prunable_layers",
    "prune_global",
    "prune_structured",
    "sparsity",
    "sparsity_schedule",
]

#: Layer types whose ``weight`` is pruned.
PRUNABLE: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class SparsityReport(NamedTuple):
    """What :func:`sparsity` returns.

    Attributes
    ----------
    overall : float
        Share of zeros among the weights of all prunable layers together.
    layers : pandas.DataFrame
        One row per prunable layer: ``layer``, ``kind``, ``params``, ``zeros``,
        ``sparsity``.
    """

    overall: float
    layers: pd.DataFrame


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs of ``model``'s :data:`PRUNABLE` layers, in order.

    Example
    -------
    >>> from hybridlab.ml.train import SmallCNN
    >>> [name for name, _ in prunable_layers(SmallCNN())]
    ['features.0', 'features.3', 'head.2', 'head.5']
    """
    return [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE)]


def _select(model: nn.Module, layers: Iterable[str | nn.Module] | None) -> list[nn.Module]:
    found = prunable_layers(model)
    if layers is None:
        chosen = [m for _, m in found]
    else:
        by_name = dict(found)
        chosen = []
        for layer in layers:
            if isinstance(layer, str):
                if layer not in by_name:
                    raise ValueError(f"{layer!r} is not a prunable layer of the model; "
                                     f"choose among {sorted(by_name)}")
                chosen.append(by_name[layer])
            elif any(layer is m for _, m in found):
                chosen.append(layer)
            else:
                raise ValueError(f"layer {type(layer).__name__} is not a prunable layer "
                                 f"(Linear/Conv) of the model")
    if not chosen:
        raise ValueError("the model has no Linear/Conv layers to prune")
    return chosen


def _check_amount(amount: float) -> float:
    amount = float(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be a fraction in [0, 1], got {amount!r}")
    return amount


def prune_global(
    model: nn.Module, amount: float, layers: Iterable[str | nn.Module] | None = None
) -> nn.Module:
    """Global unstructured L1 pruning: zero the ``amount`` smallest weights of all layers.

    The weights of the chosen layers are ranked together by absolute value
    (``prune.global_unstructured`` with ``L1Unstructured``), so layers with many small
    weights lose more of them. Applied again, the mask is extended: ``amount`` counts from
    the weights that are still unpruned, here turned into a *total* so that the result has
    ``round(amount * n)`` zeros in the mask among the ``n`` weights -- i.e. ``amount`` is the
    target cumulative sparsity, not an increment (it must not be below what is already
    pruned). Biases are not pruned.

    Parameters
    ----------
    model : torch.nn.Module
        Pruned in place (and returned); gets the ``weight_orig`` / ``weight_mask``
        reparametrisation of :mod:`torch.nn.utils.prune`.
    amount : float
        Target share of zeroed weights in [0, 1].
    layers : iterable of names or modules, optional
        Which layers (by name, as in :func:`prunable_layers`, or module); default all
        :data:`PRUNABLE` layers.

    Returns
    -------
    torch.nn.Module
        ``model``.

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> m = prune_global(SmallCNN(), 0.3, layers=["head.2"])
    >>> sparsity(m).layers.set_index("layer").sparsity.round(2).to_dict()
    {'features.0': 0.0, 'features.3': 0.0, 'head.2': 0.3, 'head.5': 0.0}
    >>> round(float(sparsity(prune_global(m, 0.6, layers=["head.2"])).layers.sparsity[2]), 2)
    0.6
    """
    amount = _check_amount(amount)
    modules = _select(model, layers)
    total = sum(m.weight.numel() for m in modules)
    pruned = sum(int((m.weight_mask == 0).sum()) for m in modules
                 if hasattr(m, "weight_mask"))
    extra = round(amount * total) - pruned
    if extra < 0:
        raise ValueError(f"the layers already have sparsity {pruned / total:.4f} > amount "
                         f"{amount}; pruning cannot be undone")
    prune.global_unstructured([(m, "weight") for m in modules],
                              pruning_method=prune.L1Unstructured, amount=int(extra))
    return model


def prune_structured(
    model: nn.Module,
    amount: float,
    dim: int = 0,
    n: int | float = 2,
    layers: Iterable[str | nn.Module] | None = None,
) -> nn.Module:
    """Structured pruning: zero whole output channels / neurons of each layer.

    Each chosen layer loses the ``amount`` share of its slices along ``dim`` with the
    smallest L\\ :sub:`n` norm (``prune.ln_structured``); ``dim=0`` is the output channels of
    a conv and the output neurons of a linear layer. Per layer, not global.

    Parameters
    ----------
    model : torch.nn.Module
        Pruned in place (and returned).
    amount : float
        Share of slices to zero in each layer, in [0, 1].
    dim : int, default 0
        Weight dimension whose slices are removed (0: outputs, 1: inputs).
    n : int or float, default 2
        The norm ranking the slices.
    layers : iterable of names or modules, optional
        Default: all :data:`PRUNABLE` layers *except the last one* when ``dim=0`` (its output
        neurons are the model's outputs, e.g. class logits, which should not be deleted).

    Returns
    -------
    torch.nn.Module
        ``model``.

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> m = prune_structured(SmallCNN(channels=(8, 16)), 0.5)
    >>> w = m.features[0].weight                      # (8, 1, 3, 3)
    >>> int((w.flatten(1).abs().sum(1) == 0).sum())   # 4 of 8 channels are all zeros
    4
    >>> bool(m.head[5].weight.abs().sum() > 0)       # the output layer is left alone
    True
    """
    amount = _check_amount(amount)
    if layers is None and dim == 0:
        found = prunable_layers(model)
        layers = [name for name, _ in found[:-1]] or [name for name, _ in found]
    for m in _select(model, layers):
        prune.ln_structured(m, "weight", amount=amount, n=n, dim=dim)
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold the pruning masks into the weights (``prune.remove``), in place.

    Afterwards the model has plain ``weight`` parameters (with zeros) and no
    ``weight_orig`` / ``weight_mask`` / forward pre-hooks; models that were never pruned are
    returned unchanged.

    Example
    -------
    >>> from torch import nn
    >>> m = prune_global(nn.Linear(4, 4), 0.5)
    >>> sorted(n for n, _ in m.named_parameters())
    ['bias', 'weight_orig']
    >>> sorted(n for n, _ in make_permanent(m).named_parameters())
    ['bias', 'weight']
    """
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                prune.remove(module, hook._tensor_name)
    return model


def is_pruned(model: nn.Module) -> bool:
    """True when some module of ``model`` carries a pruning reparametrisation."""
    return prune.is_pruned(model)


def sparsity(model: nn.Module) -> SparsityReport:
    """Share of zero weights in the prunable layers: overall and per layer.

    Counts exact zeros of the effective weights (the masked ones while the
    reparametrisation is in place), so it also sees weights that were zero anyway.

    Example
    -------
    >>> from torch import nn
    >>> m = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 10))
    >>> with torch.no_grad():
    ...     m[0].weight[:5] = 0
    >>> report = sparsity(m)
    >>> report.overall, report.layers.sparsity.tolist()
    (0.25, [0.5, 0.0])
    """
    rows = []
    for name, m in prunable_layers(model):
        w = m.weight.detach()
        rows.append({"layer": name, "kind": type(m).__name__, "params": w.numel(),
                     "zeros": int((w == 0).sum())})
    layers = pd.DataFrame(rows, columns=["layer", "kind", "params", "zeros"])
    layers["sparsity"] = layers.zeros / layers.params
    total = int(layers.params.sum())
    overall = float(layers.zeros.sum() / total) if total else math.nan
    return SparsityReport(overall, layers)


def sparsity_schedule(
    target: float, steps: int, schedule: str = "cubic", initial: float = 0.0
) -> list[float]:
    """Sparsity after each of ``steps`` pruning steps, ending at ``target``.

    * ``"cubic"`` (Zhu & Gupta, 2017, "To prune, or not to prune"):
      ``s_t = target + (initial - target) * (1 - t / steps) ** 3`` -- prunes fast while
      there are many redundant weights, slowly near the target;
    * ``"linear"``: equal increments.

    Example
    -------
    >>> [round(s, 4) for s in sparsity_schedule(0.9, 4, "cubic")]
    [0.5203, 0.7875, 0.8859, 0.9]
    >>> sparsity_schedule(0.8, 4, "linear")
    [0.2, 0.4, 0.6, 0.8]
    """
    target, initial = _check_amount(target), _check_amount(initial)
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if schedule == "cubic":
        return [target + (initial - target) * (1 - t / steps) ** 3 for t in range(1, steps + 1)]
    if schedule == "linear":
        return [round(initial + (target - initial) * t / steps, 12) for t in range(1, steps + 1)]
    raise ValueError(f"unknown schedule {schedule!r}; use 'cubic' or 'linear'")


def _val_accuracy(model: nn.Module, val: Data | None) -> float:
    return accuracy(model, val) if val is not None else math.nan


def progressive_prune(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    target: float = 0.9,
    steps: int = 4,
    schedule: str = "cubic",
    finetune_epochs: int = 1,
    layers: Sequence[str] | None = None,
    **fit_kwargs: Any,
) -> tuple[nn.Module, pd.DataFrame]:
    """Prune a trained model to ``target`` sparsity in ``steps`` steps, fine-tuning between.

    Step t prunes globally (:func:`prune_global`) to ``sparsity_schedule(...)[t]`` and then
    trains ``finetune_epochs`` epochs with :func:`~hybridlab.ml.train.fit` (masked weights
    stay zero: the mask is applied in every forward pass and their gradient is zero). Each
    fine-tuning run gets ``seed + t`` so batch orders differ between steps.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model; pruned and fine-tuned in place. The pruning reparametrisation is
        left in place (call :func:`make_permanent` before export).
    train, val : data
        As for :func:`fit`; ``val`` gives the accuracy column (NaN without it).
    target : float, default 0.9
        Final global sparsity of the prunable weights.
    steps : int, default 4
        Number of pruning steps.
    schedule : {"cubic", "linear"}
        See :func:`sparsity_schedule`.
    finetune_epochs : int, default 1
        Epochs of fine-tuning after each step (0: none).
    layers : sequence of str, optional
        Layers to prune (default all prunable layers).
    **fit_kwargs
        Passed to :func:`fit` (``lr``, ``optimizer``, ``batch_size``, ``seed``...).

    Returns
    -------
    model : torch.nn.Module
    steps : pandas.DataFrame
        One row per step (step 0 = before pruning): ``step``, ``target_sparsity``,
        ``sparsity`` (measured), ``val_accuracy_pruned`` (right after pruning),
        ``val_accuracy`` (after fine-tuning), ``epochs`` (cumulative fine-tuning).

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN, digits_data
    >>> train, val, _ = digits_data()
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN()
    >>> _ = fit(model, train, val, lr=3e-3, epochs=3)
    >>> model, table = progressive_prune(model, train, val, target=0.8, steps=2,
    ...                                  schedule="linear", lr=1e-3)
    >>> table.target_sparsity.round(2).tolist(), bool(table.val_accuracy.iloc[-1] > 0.5)
    ([0.0, 0.4, 0.8], True)
    """
    seed = int(fit_kwargs.pop("seed", 0))
    fit_kwargs.pop("epochs", None)
    acc0 = _val_accuracy(model, val)
    rows = [{"step": 0, "target_sparsity": 0.0, "sparsity": _layers_sparsity(model, layers),
             "val_accuracy_pruned": acc0, "val_accuracy": acc0, "epochs": 0}]
    epochs = 0
    for t, s in enumerate(sparsity_schedule(target, steps, schedule), start=1):
        prune_global(model, s, layers=layers)
        acc_pruned = _val_accuracy(model, val)
        acc = acc_pruned
        if finetune_epochs > 0:
            h = fit(model, train, val, epochs=finetune_epochs, seed=seed + t, **fit_kwargs)
            epochs += finetune_epochs
            acc = float(h.val_accuracy.iloc[-1]) if val is not None else math.nan
        rows.append({"step": t, "target_sparsity": s,
                     "sparsity": _layers_sparsity(model, layers),
                     "val_accuracy_pruned": acc_pruned, "val_accuracy": acc,
                     "epochs": epochs})
    return model, pd.DataFrame(rows)


def _layers_sparsity(model: nn.Module, layers: Sequence[str] | None) -> float:
    table = sparsity(model).layers
    if layers is not None:
        table = table[table.layer.isin(list(layers))]
    return float(table.zeros.sum() / table.params.sum())


def one_shot_prune(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    target: float = 0.9,
    finetune_epochs: int = 4,
    layers: Sequence[str] | None = None,
    **fit_kwargs: Any,
) -> tuple[nn.Module, pd.DataFrame]:
    """Prune to ``target`` at once, then fine-tune ``finetune_epochs`` epochs.

    The comparison point for :func:`progressive_prune`: give it
    ``finetune_epochs = steps * progressive finetune_epochs`` for the same training budget.
    Returns the model and a two-row table with the columns of :func:`progressive_prune`.

    Example
    -------
    >>> from torch import nn
    >>> X, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    >>> m, table = one_shot_prune(nn.Linear(4, 2), (X, y), (X, y), target=0.5,
    ...                           finetune_epochs=1)
    >>> table.sparsity.tolist()
    [0.0, 0.5]
    """
    seed = int(fit_kwargs.pop("seed", 0))
    fit_kwargs.pop("epochs", None)
    acc0, s0 = _val_accuracy(model, val), _layers_sparsity(model, layers)
    prune_global(model, target, layers=layers)
    acc_pruned = acc = _val_accuracy(model, val)
    if finetune_epochs > 0:
        h = fit(model, train, val, epochs=finetune_epochs, seed=seed + 1, **fit_kwargs)
        acc = float(h.val_accuracy.iloc[-1]) if val is not None else math.nan
    rows = [{"step": 0, "target_sparsity": 0.0, "sparsity": s0, "val_accuracy_pruned": acc0,
             "val_accuracy": acc0, "epochs": 0},
            {"step": 1, "target_sparsity": target,
             "sparsity": _layers_sparsity(model, layers), "val_accuracy_pruned": acc_pruned,
             "val_accuracy": acc, "epochs": finetune_epochs}]
    return model, pd.DataFrame(rows)


def permanent_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with the pruning masks folded in (the original is kept).

    Works after forward passes too: the masked ``weight`` attributes that pruning computes
    are non-leaf tensors, which ``copy.deepcopy`` refuses; they are detached for the copy.

    Example
    -------
    >>> from torch import nn
    >>> m = prune_global(nn.Linear(4, 4), 0.5)
    >>> _ = m(torch.zeros(1, 4))
    >>> c = permanent_copy(m)
    >>> hasattr(c, "weight_orig"), hasattr(m, "weight_orig")
    (False, True)
    """
    saved = []
    for module in model.modules():
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, prune.BasePruningMethod):
                name = hook._tensor_name
                value = getattr(module, name, None)
                if isinstance(value, torch.Tensor) and not value.is_leaf:
                    saved.append((module, name, value))
                    setattr(module, name, value.detach())
    try:
        clone = copy.deepcopy(model)
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
    return make_permanent(clone)
