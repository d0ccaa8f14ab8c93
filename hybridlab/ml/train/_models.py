"""The small model zoo: torch models and a data set for the notebooks, searches and tests.

* :class:`SmallCNN` -- a few conv-activation-pool blocks and a small fully connected head,
  sized for the 1x8x8 images of scikit-learn's digits (a few thousand parameters, trains in
  seconds on one CPU core);
* :func:`digits_data` -- scikit-learn's digits as torch ``TensorDataset`` s (train, val,
  test), scaled to [0, 1], shape ``(n, 1, 8, 8)``, stratified splits. Nothing is downloaded:
  the digits ship with scikit-learn;
* :class:`TinyMLP`, :class:`TinyCNN` -- even smaller models for examples and tests. Being
  top-level classes, they (or a :func:`functools.partial` of them) pickle and can be sent
  to the worker processes of :func:`hybridlab.ml.hardware.train_ddp`.

Example
-------
>>> import torch
>>> from hybridlab.ml.train import SmallCNN, digits_data
>>> train, val, test = digits_data(seed=0)
>>> len(train), len(val), len(test)
(1077, 270, 450)
>>> _ = torch.manual_seed(0)
>>> SmallCNN()(train.tensors[0][:5]).shape
torch.Size([5, 10])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.data import TensorDataset

__all__ = ["ACTIVATIONS", "SmallCNN", "TinyCNN", "TinyMLP", "digits_data"]

#: Activation names accepted by :class:`SmallCNN`.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}


class SmallCNN(nn.Module):
    """A small convolutional classifier for 1x8x8 images (scikit-learn digits).

    Each entry of ``channels`` adds one block ``Conv2d(3x3, padding=1) -> activation ->
    MaxPool2d(2)``: the 3x3 convolution with padding keeps the spatial size, the pooling
    halves it, so an 8x8 image becomes 4x4, 2x2, then 1x1 -- at most three blocks fit.
    The head flattens, then ``Dropout -> Linear(hidden) -> activation -> Dropout ->
    Linear(n_classes)`` (``hidden=0`` drops the hidden layer: ``Dropout -> Linear``).
    Dropout sits in front of every fully connected layer and is a no-op in ``eval()`` mode.

    The forward pass returns logits (no softmax): pair it with
    ``torch.nn.functional.cross_entropy``, as :func:`hybridlab.ml.train.fit` does.

    Parameters
    ----------
    channels : sequence of int, default (8, 16)
        Output channels of each conv block (1 to 3 blocks for 8x8 inputs).
    hidden : int, default 64
        Width of the hidden fully connected layer; 0 for none.
    dropout : float, default 0.0
        Dropout probability in front of each fully connected layer, in [0, 1).
    activation : str, default "relu"
        One of :data:`ACTIVATIONS` (relu, gelu, silu, tanh, elu, leaky_relu).
    n_classes : int, default 10
        Number of output logits.
    in_channels : int, default 1
        Input channels.
    image_size : int, default 8
        Height and width of the (square) input images.

    Example
    -------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN(channels=(8, 16), hidden=64, dropout=0.1)
    >>> model(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    >>> sum(p.numel() for p in model.parameters())
    6058
    """

    def __init__(
        self,
        channels: Sequence[int] = (8, 16),
        hidden: int = 64,
        dropout: float = 0.0,
        activation: str = "relu",
        n_classes: int = 10,
        *,
        in_channels: int = 1,
        image_size: int = 8,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or any(c < 1 for c in channels):
            raise ValueError(f"channels must be a non-empty sequence of positive ints, got "
                             f"{channels!r}; e.g. channels=(8, 16)")
        if image_size % (2 ** len(channels)) != 0:
            raise ValueError(
                f"{len(channels)} conv blocks halve a {image_size}x{image_size} image "
                f"{len(channels)} times, which does not divide it evenly; use at most "
                f"{_max_blocks(image_size)} blocks (e.g. channels=(8, 16))"
            )
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of "
                             f"{sorted(ACTIVATIONS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if hidden < 0 or n_classes < 1:
            raise ValueError(f"hidden must be >= 0 and n_classes >= 1, got hidden={hidden}, "
                             f"n_classes={n_classes}")
        act = ACTIVATIONS[activation]
        self.channels, self.hidden, self.dropout_p = channels, hidden, dropout
        self.activation, self.n_classes = activation, n_classes

        blocks: list[nn.Module] = []
        c_in = in_channels
        for c in channels:
            blocks += [nn.Conv2d(c_in, c, kernel_size=3, padding=1), act(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*blocks)
        side = image_size // 2 ** len(channels)
        flat = c_in * side * side
        head: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout)]
        if hidden:
            head += [nn.Linear(flat, hidden), act(), nn.Dropout(dropout),
                     nn.Linear(hidden, n_classes)]
        else:
            head += [nn.Linear(flat, n_classes)]
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(batch, n_classes)`` for inputs ``(batch, in_channels, H, W)``."""
        return self.head(self.features(x))

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, hidden={self.hidden}, dropout={self.dropout_p}, "
                f"activation={self.activation!r}")


def _max_blocks(size: int) -> int:
    n = 0
    while size % 2 == 0 and size > 1:
        size //= 2
        n += 1
    return n


def digits_data(
    test_size: float = 0.25, val_size: float = 0.2, seed: int = 0
) -> tuple[TensorDataset, TensorDataset | None, TensorDataset]:
    """scikit-learn's digits as torch data sets ``(train, val, test)``.

    Pixels (0..16) are divided by 16, so inputs lie in [0, 1]; images have shape
    ``(n, 1, 8, 8)`` (float32) and labels are int64 in 0..9. ``test_size`` is the share of
    all 1797 images held out for test; ``val_size`` the share of the *remaining* images
    held out for validation. Both splits are stratified by label and depend only on
    ``seed``.

    Parameters
    ----------
    test_size : float, default 0.25
        Fraction of all images in the test set, in (0, 1).
    val_size : float, default 0.2
        Fraction of the non-test images in the validation set, in [0, 1); 0 returns
        ``val=None``.
    seed : int, default 0
        Seed of the (stratified) shuffles.

    Returns
    -------
    train, val, test : torch.utils.data.TensorDataset
        Each holds ``(images, labels)``; ``val`` is None when ``val_size=0``.

    Example
    -------
    >>> train, val, test = digits_data(test_size=0.25, val_size=0.2, seed=0)
    >>> X, y = train.tensors
    >>> tuple(X.shape), X.dtype, float(X.min()), float(X.max()), y.dtype
    ((1077, 1, 8, 8), torch.float32, 0.0, 1.0, torch.int64)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
    if not 0.0 <= val_size < 1.0:
        raise ValueError(f"val_size must be in [0, 1), got {val_size!r}")
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype("float32").reshape(-1, 1, 8, 8)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed
    )

    def tds(a, b) -> TensorDataset:
        return TensorDataset(torch.from_numpy(a.copy()), torch.from_numpy(b.astype("int64")))

    if val_size == 0:
        return tds(X_rest, y_rest), None, tds(X_test, y_test)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_size, stratify=y_rest, random_state=seed
    )
    return tds(X_train, y_train), tds(X_val, y_val), tds(X_test, y_test)


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
