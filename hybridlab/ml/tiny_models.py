"""Tiny models for examples and tests: :class:`TinyMLP` and :class:`TinyCNN`.

Both are top-level classes, so they (or a :func:`functools.partial` of them) pickle and can
be sent to the worker processes of :func:`~hybridlab.ml.distributed.train_ddp`.
:mod:`hybridlab.ml.hardware` re-exports them.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TinyCNN", "TinyMLP"]


class TinyMLP(nn.Module):
    """Flatten, one hidden ReLU layer, linear output: a model for examples and tests.

    Example
    -------
    >>> import torch
    >>> TinyMLP(64, 32, 10)(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 10])
    """

    def __init__(self, in_features: int = 64, hidden: int = 64, n_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TinyCNN(nn.Module):
    """A small CNN for 1x8x8 images (scikit-learn's digits): conv, pool, conv, linear.

    Example
    -------
    >>> import torch
    >>> TinyCNN()(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 10])
    """

    def __init__(self, channels: int = 16, n_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * channels * 4, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
