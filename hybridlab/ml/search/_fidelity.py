"""Training-set subsampling for multi-fidelity :class:`~hybridlab.ml.search.HybridSearchCV`
(``resource="n_samples"``): a cv splitter that keeps a fraction of each training fold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__: list[str] = []


class _SubsampledTrain:
    """A cv splitter that keeps ``fraction`` of each training fold of ``base_cv``.

    Test folds stay whole.  The kept samples are a prefix of a random order fixed by
    ``(seed, fold)``, so a larger fraction keeps a superset of a smaller one; with
    ``stratify`` the order interleaves the classes, so every prefix keeps the class
    proportions (up to rounding).
    """

    def __init__(self, base_cv: Any, fraction: float, seed: int, stratify: bool) -> None:
        self.base_cv, self.fraction, self.seed, self.stratify = base_cv, fraction, seed, stratify

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.base_cv.get_n_splits(X, y, groups)

    def split(self, X: Any, y: Any = None, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
        labels = np.asarray(y) if self.stratify and y is not None else None
        for fold, (train, test) in enumerate(self.base_cv.split(X, y, **kwargs)):
            train = np.asarray(train)
            u = np.random.default_rng([self.seed, fold]).random(len(train))
            key = u
            if labels is not None and labels.ndim == 1:
                _, cls = np.unique(labels[train], return_inverse=True)
                key = np.empty(len(train))
                for c in range(cls.max() + 1 if len(cls) else 0):
                    idx = np.flatnonzero(cls == c)
                    key[idx[np.argsort(u[idx])]] = (np.arange(len(idx)) + 0.5) / len(idx)
            keep = np.lexsort((u, key))[:_n_kept(self.fraction, len(train))]
            yield train[np.sort(keep)], test


def _n_kept(fraction: float, n: int) -> int:
    return max(1, min(n, int(fraction * n + 1e-9)))


def _positive(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not 0 < value < np.inf:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)
