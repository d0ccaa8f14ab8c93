"""What :func:`hybridlab.ml.train.fit` trains on: the :data:`Data` type, data sets and
loaders, and the evaluation pass (shared with :func:`~hybridlab.ml.train.accuracy`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, TensorDataset

from ._device import _sum_dtype

__all__ = ["Data", "as_dataset", "make_loader"]

#: What the training functions accept as data: a map-style torch ``Dataset`` of ``(x, y)``
#: pairs, or an ``(X, y)`` pair of tensors or arrays (see :func:`as_dataset`).
Data = Dataset | tuple[Any, Any] | Sequence[Any]



def as_dataset(data: Data, name: str = "data") -> Dataset:
    """``data`` as a map-style torch Dataset.

    Parameters
    ----------
    data : Dataset or (X, y)
        A Dataset is returned as it is; a pair of tensors or arrays becomes a
        ``TensorDataset`` (floating inputs as float32).
    name : str
        What to call ``data`` in error messages.

    Returns
    -------
    torch.utils.data.Dataset

    Example
    -------
    >>> import numpy as np
    >>> ds = as_dataset((np.zeros((4, 2)), np.arange(4)))
    >>> len(ds), ds[0][0].dtype
    (4, torch.float32)
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple | list) and len(data) == 2:
        X, y = (torch.as_tensor(np.asarray(a)) if not isinstance(a, torch.Tensor) else a
                for a in data)
        if X.is_floating_point() and X.dtype != torch.float32:
            X = X.float()
        if len(X) != len(y):
            raise ValueError(f"{name}: X and y have different lengths ({len(X)} != {len(y)})")
        return TensorDataset(X, y)
    raise ValueError(f"{name} must be a torch Dataset or an (X, y) pair of tensors, got "
                     f"{type(data).__name__}")


def make_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool, generator: torch.Generator | None,
    device: torch.device,
) -> DataLoader:
    """The DataLoader :func:`fit` uses: whole-batch indexing for a ``TensorDataset``.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        What to load (see :func:`as_dataset`).
    batch_size : int
        Samples per batch; the last batch may be smaller.
    shuffle : bool
        Reshuffle every epoch (drawn from ``generator``).
    generator : torch.Generator or None
        Source of the batch order.
    device : torch.device
        Memory is pinned when it is a CUDA device.

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``(x, y)`` batches, in the same order as a standard DataLoader would.

    Example
    -------
    >>> import torch
    >>> ds = as_dataset((torch.zeros(5, 2), torch.arange(5)))
    >>> [len(y) for _, y in make_loader(ds, 2, shuffle=False, generator=None,
    ...                                 device=torch.device("cpu"))]
    [2, 2, 1]
    """
    pin = device.type == "cuda"
    if isinstance(dataset, TensorDataset):
        # fast path: index the tensors with a whole batch of indices at once (no per-item
        # __getitem__ and collate); the order is the same as with the standard path below
        sampler: Iterable[Any] = (RandomSampler(dataset, generator=generator) if shuffle
                                  else range(len(dataset)))
        batches = BatchSampler(sampler, batch_size, drop_last=False)  # type: ignore[arg-type]
        return DataLoader(dataset, sampler=batches, batch_size=None, generator=generator,
                          pin_memory=pin)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      pin_memory=pin)


def _evaluate(
    model: nn.Module, loader: DataLoader, loss_fn: Callable[..., torch.Tensor],
    device: torch.device, autocast: Callable[[], Any],
) -> tuple[float, float]:
    model.eval()
    loss_sum = torch.zeros((), dtype=_sum_dtype(device), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n, classify = 0, True
    with torch.no_grad():
        for xb, yb in loader:
            xb = xb.to(device, non_blocking=True)
            yb = yb.to(device, non_blocking=True)
            with autocast():
                out = model(xb)
            out = out.float()
            loss_sum += loss_fn(out, yb).to(loss_sum.dtype) * len(xb)
            if classify and out.ndim == 2 and not yb.is_floating_point():
                correct += (out.argmax(1) == yb).sum()
            else:
                classify = False
            n += len(xb)
    if n == 0:
        return math.nan, math.nan
    return float(loss_sum) / n, (float(correct) / n if classify else math.nan)


