"""Three generated, seeded tasks on which the choice of loss may matter.

* ``"imbalanced"`` -- scikit-learn's ``make_classification``: 3 classes in proportions
  0.80 / 0.15 / 0.05, 20 features (6 informative); metric: **balanced accuracy**
  (higher is better) on a held-out test set with the same imbalance;
* ``"label_noise"`` -- scikit-learn's digits (8x8 images as 64 features in [0, 1]) with
  40 % of the training and validation labels replaced by a uniformly drawn *other* class;
  metric: **accuracy** on the clean test labels;
* ``"outliers"`` -- ``make_friedman1`` (a smooth non-linear regression, 10 features,
  Gaussian noise sd 0.5) with 15 % of the training and validation targets shifted up by
  4 to 10 target standard deviations (one-sided gross errors, such as sensor spikes);
  metric: **MAE** on the clean test targets, in the targets' own units (lower is better).

Only the test set is clean: validation data (what a tuner sees) are corrupted like the
training data, as they would be in practice. Features are standardised with the training
split's mean and sd; regression targets with the training split's median and IQR (robust
to the outliers), and the MAE is reported back in the original units.

Example
-------
>>> task = loss_task("outliers", seed=0)
>>> task.kind, task.metric, task.n_outputs, tuple(task.train[0].shape)
('regression', 'mae', 1, (800, 10))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["LOSS_TASKS", "LossTask", "loss_task"]

#: The task names of :func:`loss_task`.
LOSS_TASKS = ("imbalanced", "label_noise", "outliers")

_Split = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class LossTask:
    """One generated task: tensors for train / val / test and how to score a model.

    Attributes
    ----------
    name : str
        One of :data:`LOSS_TASKS`.
    kind : {"classification", "regression"}
    metric : {"balanced_accuracy", "accuracy", "mae"}
    higher_is_better : bool
    n_outputs : int
        Number of classes, or 1 for regression.
    train, val, test : (X, y) pairs of tensors
        ``X`` float32; ``y`` int64 class indices or float32 (standardised) targets. Train
        and val are corrupted (imbalance is not a corruption), test is clean.
    target_scale : float
        Regression: the MAE of standardised targets times this is the MAE in the original
        units (1.0 for classification).

    Example
    -------
    >>> import torch
    >>> task = loss_task("imbalanced", seed=0)
    >>> torch.bincount(task.train[1]).tolist()
    [640, 120, 40]
    """

    name: str
    kind: str
    metric: str
    higher_is_better: bool
    n_outputs: int
    train: _Split
    val: _Split
    test: _Split
    target_scale: float = 1.0

    def score(self, model: nn.Module, split: str = "test") -> float:
        """The task's metric of ``model`` on ``split`` ("train", "val" or "test").

        The model is put in eval mode.

        Example
        -------
        >>> import torch
        >>> from hybridlab.ml.train import TinyMLP
        >>> task = loss_task("imbalanced", seed=0)
        >>> _ = torch.manual_seed(0)
        >>> 0.0 <= task.score(TinyMLP(20, 8, 3)) <= 1.0
        True
        """
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        X, y = getattr(self, split)
        model.eval()
        with torch.no_grad():
            out = model(X).float()
        if self.kind == "regression":
            err = (out.reshape(-1) - y).abs().mean()
            return float(err) * self.target_scale
        from sklearn.metrics import balanced_accuracy_score

        pred = out.argmax(1).numpy()
        if self.metric == "balanced_accuracy":
            return float(balanced_accuracy_score(y.numpy(), pred))
        return float((pred == y.numpy()).mean())


def loss_task(name: str, seed: int = 0) -> LossTask:
    """Generate task ``name`` (see the module docstring) with ``seed``.

    Parameters
    ----------
    name : str
        One of :data:`LOSS_TASKS`: "imbalanced", "label_noise", "outliers".
    seed : int
        Seeds the data, the splits and the corruption; the same seed gives the same task.

    Returns
    -------
    LossTask

    Example
    -------
    >>> task = loss_task("label_noise", seed=1)
    >>> task.metric, len(task.train[1]), len(task.val[1]), len(task.test[1])
    ('accuracy', 897, 300, 600)
    """
    if name not in LOSS_TASKS:
        raise ValueError(f"unknown task {name!r}; use one of {list(LOSS_TASKS)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return {"imbalanced": _imbalanced, "label_noise": _label_noise,
            "outliers": _outliers}[name](int(seed))


def _split(X: np.ndarray, y: np.ndarray, sizes: tuple[int, int], seed: int,
           stratify: bool) -> list[np.ndarray]:
    """``X_train, X_val, X_test, y_train, y_val, y_test`` with the first two sizes given."""
    from sklearn.model_selection import train_test_split

    n_train, n_val = sizes
    Xa, Xt, ya, yt = train_test_split(X, y, train_size=n_train + n_val, random_state=seed,
                                      stratify=y if stratify else None)
    Xtr, Xv, ytr, yv = train_test_split(Xa, ya, train_size=n_train, random_state=seed,
                                        stratify=ya if stratify else None)
    mean, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    return [(Xtr - mean) / sd, (Xv - mean) / sd, (Xt - mean) / sd, ytr, yv, yt]


def _tensors(parts: list[np.ndarray], y_dtype: torch.dtype) -> tuple[_Split, _Split, _Split]:
    Xtr, Xv, Xt, ytr, yv, yt = parts

    def pair(X: np.ndarray, y: np.ndarray) -> _Split:
        return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=y_dtype)

    return pair(Xtr, ytr), pair(Xv, yv), pair(Xt, yt)


def _imbalanced(seed: int) -> LossTask:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=3000, n_features=20, n_informative=6,
                               n_redundant=2, n_classes=3, n_clusters_per_class=1,
                               weights=[0.80, 0.15, 0.05], flip_y=0.0, class_sep=1.0,
                               random_state=seed)
    train, val, test = _tensors(_split(X, y, (800, 400), seed, stratify=True), torch.int64)
    return LossTask("imbalanced", "classification", "balanced_accuracy", True, 3,
                    train, val, test)


def _flip(y: np.ndarray, rate: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``y`` with a share ``rate`` of its labels replaced by a uniformly drawn other class."""
    y = y.copy()
    idx = rng.choice(len(y), size=round(rate * len(y)), replace=False)
    y[idx] = (y[idx] + rng.integers(1, n_classes, size=len(idx))) % n_classes
    return y


def _label_noise(seed: int) -> LossTask:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    parts = _split(X / 16.0, y, (897, 300), seed, stratify=True)
    rng = np.random.default_rng([seed, 1])
    parts[3] = _flip(parts[3], 0.4, 10, rng)
    parts[4] = _flip(parts[4], 0.4, 10, rng)
    train, val, test = _tensors(parts, torch.int64)
    return LossTask("label_noise", "classification", "accuracy", True, 10, train, val, test)


def _outliers(seed: int) -> LossTask:
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=2000, n_features=10, noise=0.5, random_state=seed)
    parts = _split(X, y, (800, 400), seed, stratify=False)
    rng = np.random.default_rng([seed, 2])
    sd = float(parts[3].std())
    for i in (3, 4):  # gross errors in train and val targets only
        t = parts[i].copy()
        idx = rng.choice(len(t), size=round(0.15 * len(t)), replace=False)
        t[idx] += rng.uniform(4.0, 10.0, size=len(idx)) * sd
        parts[i] = t
    q1, med, q3 = np.percentile(parts[3], [25, 50, 75])
    scale = float((q3 - q1) / 1.349)
    for i in (3, 4, 5):
        parts[i] = (parts[i] - med) / scale
    train, val, test = _tensors(parts, torch.float32)
    return LossTask("outliers", "regression", "mae", False, 1, train, val, test,
                    target_scale=scale)
