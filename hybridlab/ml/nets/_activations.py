"""Per-layer activations: by name, or learned as a softmax-weighted mix (DARTS-style).

* :func:`make_activation` -- an activation module from its name (:data:`ACTIVATION_NAMES`,
  plus ``"elu"`` and ``"mixed"``);
* :class:`MixedActivation` -- ``sum_i softmax(alpha)_i * f_i(x)`` over candidate
  activations, with learnable logits ``alpha``: the continuous relaxation of a
  categorical "which activation?" choice (Liu et al., *DARTS*, 2019). Train it with the
  rest of the network, then read :meth:`MixedActivation.weights` and
  :meth:`MixedActivation.chosen`;
* :func:`derive_activations` -- replace every :class:`MixedActivation` of a model by its
  argmax choice: the discrete architecture that the gradient-based search found;
* :func:`arch_parameters` -- the mixing logits, e.g. for their own optimizer or learning
  rate (bilevel DARTS trains them on validation data).

The gradient-based choice is the counterpart of searching the activation as a categorical
(:func:`hybridlab.ml.nets.architecture_space` has one ``act_i`` per layer): one training run
instead of many, at the price of evaluating every candidate in every forward pass and of a
relaxation gap (the mix that trained well is not the argmax network; retrain after
:func:`derive_activations`).

Example
-------
>>> import torch
>>> _ = torch.manual_seed(0)
>>> mix = MixedActivation(["relu", "tanh"])
>>> mix.weights()
{'relu': 0.5, 'tanh': 0.5}
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), mix, torch.nn.Linear(4, 2))
>>> with torch.no_grad():
...     _ = mix.alpha.copy_(torch.tensor([0.0, 2.0]))
>>> derive_activations(net)[1]
Tanh()
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hybridlab.ml.train import ACTIVATIONS

__all__ = ["ACTIVATION_NAMES", "MixedActivation", "arch_parameters", "derive_activations",
           "make_activation", "mixed_activations"]

#: The activations searched per layer (a categorical of the search space, the candidates of
#: :class:`MixedActivation`). :func:`make_activation` also knows ``"elu"`` and ``"mixed"``.
ACTIVATION_NAMES: tuple[str, ...] = ("relu", "gelu", "silu", "tanh", "leaky_relu")


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATION_NAMES`, ``"elu"``, or ``"mixed"`` (a
        :class:`MixedActivation` over :data:`ACTIVATION_NAMES`).

    Example
    -------
    >>> make_activation("leaky_relu")
    LeakyReLU(negative_slope=0.01)
    """
    if name == "mixed":
        return MixedActivation()
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; use one of "
                         f"{[*ACTIVATION_NAMES, 'elu', 'mixed']}")
    return ACTIVATIONS[name]()


class MixedActivation(nn.Module):
    """A learnable softmax-weighted sum of candidate activations.

    ``forward(x) = sum_i w_i * f_i(x)`` with ``w = softmax(alpha / temperature)``. The logits
    ``alpha`` start at zero (equal weights) and are trained by backpropagation like any
    weight: a candidate whose output lowers the loss gains weight.

    Parameters
    ----------
    candidates : sequence of str, default :data:`ACTIVATION_NAMES`
        Distinct activation names (see :func:`make_activation`; not ``"mixed"``).
    temperature : float, default 1.0
        Softmax temperature (> 0); lower values sharpen the mix.

    Notes
    -----
    Trained jointly with the weights on the training loss this is first-order,
    single-level DARTS; for the bilevel version train :func:`arch_parameters` on validation
    batches with their own optimizer. Each forward pass evaluates every candidate, so a mix
    costs about ``len(candidates)`` times one activation.

    Example
    -------
    >>> mix = MixedActivation(["relu", "tanh"])
    >>> mix(torch.tensor([-1.0, 2.0]))  # (relu + tanh) / 2
    tensor([-0.3808,  1.4820], grad_fn=<SumBackward1>)
    >>> mix.chosen()  # a tie goes to the first candidate
    'relu'
    """

    def __init__(self, candidates: Sequence[str] = ACTIVATION_NAMES,
                 temperature: float = 1.0) -> None:
        super().__init__()
        names = tuple(candidates)
        if not names or len(set(names)) != len(names) or "mixed" in names:
            raise ValueError(f"candidates must be distinct activation names (not 'mixed'), "
                             f"got {names!r}; e.g. {ACTIVATION_NAMES}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.names = names
        self.temperature = float(temperature)
        self.ops = nn.ModuleList(make_activation(n) for n in names)
        self.alpha = nn.Parameter(torch.zeros(len(names)))

    def probabilities(self) -> torch.Tensor:
        """The mixing weights as a tensor (differentiable)."""
        return torch.softmax(self.alpha / self.temperature, dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.probabilities().to(x.dtype)
        return torch.stack([op(x) for op in self.ops], dim=0).mul(
            w.view(-1, *([1] * x.ndim))).sum(dim=0)

    def weights(self) -> dict[str, float]:
        """Candidate name -> current mixing weight (they sum to 1)."""
        w = self.probabilities().detach().cpu().tolist()
        return {n: round(float(v), 6) for n, v in zip(self.names, w, strict=True)}

    def chosen(self) -> str:
        """The candidate with the largest weight (the first one on ties)."""
        return self.names[int(torch.argmax(self.alpha.detach()))]

    def extra_repr(self) -> str:
        return f"candidates={list(self.names)}, temperature={self.temperature}"


def mixed_activations(model: nn.Module) -> dict[str, MixedActivation]:
    """Qualified module name -> :class:`MixedActivation`, for every mix in ``model``.

    Example
    -------
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), MixedActivation())
    >>> list(mixed_activations(net))
    ['1']
    """
    return {n: m for n, m in model.named_modules() if isinstance(m, MixedActivation)}


def arch_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The mixing logits ``alpha`` of every :class:`MixedActivation` in ``model``."""
    return [m.alpha for m in mixed_activations(model).values()]


def derive_activations(model: nn.Module) -> nn.Module:
    """Replace each :class:`MixedActivation` of ``model`` by a fresh module of its
    :meth:`~MixedActivation.chosen` activation, in place; return ``model``.

    A mix shared by several parents (the same object used twice) is replaced everywhere by
    one module. The result has no mixing logits left; output shapes are unchanged.
    A bare :class:`MixedActivation` passed as ``model`` returns the chosen module.
    """
    if isinstance(model, MixedActivation):
        return make_activation(model.chosen())
    replaced: dict[int, nn.Module] = {}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, MixedActivation):
                new = replaced.setdefault(id(child), make_activation(child.chosen()))
                setattr(parent, name, new)
    return model
