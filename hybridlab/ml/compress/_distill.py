"""Knowledge distillation (Hinton et al., 2015) with the standard training loop.

* :func:`distillation_loss` -- ``alpha * T^2 * KL(softmax(teacher / T) || softmax(student /
  T)) + (1 - alpha) * cross_entropy(student, labels)``;
* :func:`distill` -- trains a student on a teacher's softened outputs with
  :func:`~hybridlab.ml.train.fit`.

How ``fit`` sees the teacher: its ``loss_fn(outputs, targets)`` gets no inputs, so the
teacher's logits travel *in the targets*: :func:`distill` runs the teacher once over the
training set (eval mode, no gradient) and trains on ``(x, [label, teacher logits...])``
float rows; :func:`distillation_loss` recognises such targets. ``fit`` feeds every training
sample unchanged every epoch (no augmentation), so this equals running the teacher inside
the loop, at a fraction of the cost. Validation keeps integer labels: there the loss is
plain cross-entropy and ``fit`` reports ``val_accuracy`` as usual.

Example
-------
>>> import torch
>>> s, t, y = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
>>> ce = torch.nn.functional.cross_entropy(s, y)
>>> bool(torch.isclose(distillation_loss(s, t, y, alpha=0.0), ce))
True
>>> float(distillation_loss(t, t, y, alpha=1.0))
0.0
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from hybridlab.ml.train import Data, History, as_dataset, fit, make_loader

__all__ = ["distill", "distillation_loss", "distillation_targets"]


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.7,
) -> torch.Tensor:
    """Hinton's distillation loss: soft-target KL times ``T**2`` plus hard-label CE.

    ``alpha * T**2 * KL(p_T || q_T) + (1 - alpha) * CE(student_logits, targets)`` with
    ``p_T = softmax(teacher_logits / T)``, ``q_T = softmax(student_logits / T)`` and the KL
    averaged over the batch. The ``T**2`` keeps the soft term's gradients on the scale of the
    hard term's as ``T`` changes. The teacher is detached.

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor
        Shape ``(batch, classes)``.
    targets : torch.Tensor
        Integer class labels, shape ``(batch,)``.
    temperature : float, default 4.0
        ``T > 0``; higher values soften the teacher's distribution.
    alpha : float, default 0.7
        Weight of the soft term in [0, 1]; 0 gives plain cross-entropy.

    Example
    -------
    >>> s = torch.tensor([[2.0, 0.0]], requires_grad=True)
    >>> loss = distillation_loss(s, torch.tensor([[2.0, 0.0]]), torch.tensor([0]), alpha=1.0)
    >>> loss.backward()
    >>> float(loss.detach()), s.grad.abs().max().item()
    (0.0, 0.0)
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    hard = F.cross_entropy(student_logits, targets) if alpha < 1 else None
    if alpha == 0:
        return hard  # type: ignore[return-value]
    t = float(temperature)
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=1),
                    F.log_softmax(teacher_logits.detach() / t, dim=1),
                    reduction="batchmean", log_target=True) * t * t
    return alpha * soft if hard is None else alpha * soft + (1 - alpha) * hard


def distillation_targets(teacher: nn.Module, data: Data, batch_size: int = 1024) -> TensorDataset:
    """``(x, [label, teacher logits...])`` rows for :func:`distill` (teacher in eval mode).

    Example
    -------
    >>> from torch import nn
    >>> X, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    >>> ds = distillation_targets(nn.Linear(4, 3), (X, y))
    >>> ds.tensors[1].shape, ds.tensors[1][:, 0].long().tolist()
    (torch.Size([6, 4]), [0, 1, 2, 0, 1, 2])
    """
    ds = as_dataset(data, "train")
    device = next((p.device for p in teacher.parameters()), torch.device("cpu"))
    xs, rows = [], []
    was_training = teacher.training
    teacher.eval()
    try:
        with torch.no_grad():
            for xb, yb in make_loader(ds, batch_size, shuffle=False, generator=None,
                                  device=device):
                logits = teacher(xb.to(device)).float().cpu()
                xs.append(xb.cpu())
                rows.append(torch.cat([yb.float().reshape(-1, 1), logits], dim=1))
    finally:
        teacher.train(was_training)
    return TensorDataset(torch.cat(xs), torch.cat(rows))


def distill(
    student: nn.Module,
    teacher: nn.Module,
    train: Data,
    val: Data | None = None,
    temperature: float = 4.0,
    alpha: float = 0.7,
    **fit_kwargs: Any,
) -> History:
    """Train ``student`` (in place) to mimic ``teacher``; return :func:`fit`'s history.

    The teacher's logits are computed once (see the module docstring) and
    :func:`distillation_loss` is passed to :func:`~hybridlab.ml.train.fit` as ``loss_fn``;
    on validation data (integer labels) the loss is plain cross-entropy, so ``val_loss`` and
    ``val_accuracy`` mean what they mean for any other run. ``**fit_kwargs`` go to ``fit``
    (``epochs``, ``lr``, ``optimizer``, ``seed``...; not ``loss_fn``).

    Example
    -------
    >>> import torch
    >>> from hybridlab.ml.train import SmallCNN, digits_data
    >>> train, val, _ = digits_data()
    >>> _ = torch.manual_seed(0)
    >>> teacher = SmallCNN(channels=(16, 32), hidden=128)
    >>> _ = fit(teacher, train, val, lr=3e-3, epochs=3)
    >>> student = SmallCNN(channels=(4,), hidden=0)
    >>> h = distill(student, teacher, train, val, epochs=3, lr=1e-2)
    >>> bool(h.val_accuracy.iloc[-1] > 0.5)
    True
    """
    if "loss_fn" in fit_kwargs:
        raise ValueError("distill sets fit's loss_fn itself; do not pass loss_fn")
    targets = distillation_targets(teacher, train)

    def loss_fn(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.is_floating_point() and target.ndim == 2:  # [label, teacher logits]
            return distillation_loss(outputs, target[:, 1:], target[:, 0].long(),
                                     temperature=temperature, alpha=alpha)
        return F.cross_entropy(outputs, target)

    return fit(student, targets, val, loss_fn=loss_fn, **fit_kwargs)
