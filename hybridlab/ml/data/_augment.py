"""Training-set augmentation: tabular noise/mixup and small-image shifts/flips/noise.

Augmentation must touch the training set only, so it is a meta-estimator
(:class:`Augment`, :class:`ImageAugment`) that enlarges ``(X, y)`` in ``fit`` and fits a
clone of the wrapped estimator; prediction passes every row through unchanged.

Example
-------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.arange(12.0).reshape(6, 2); y = [0, 0, 0, 1, 1, 1]
>>> model = Augment(LogisticRegression(), method="mixup", factor=2, random_state=0)
>>> model.fit(X, y).n_synthetic_
12
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ._wrapping import (
    _check_input,
    _check_number,
    _check_option,
    _column_stat,
    _is_sample_aligned,
    _numeric,
    _take,
    _TrainingWrapper,
)

__all__ = ["Augment", "ImageAugment", "augment_images", "shift_images"]


def _check_count(owner: str, name: str, value: Any) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{owner}: {name} must be an integer >= 0, got {value!r}")
    return int(value)


def _rebuild(X_aug: np.ndarray, like: Any) -> Any:
    """``X_aug`` as a DataFrame with ``like``'s columns when ``like`` is a DataFrame."""
    if hasattr(like, "columns") and hasattr(like, "iloc"):
        import pandas as pd

        return pd.DataFrame(X_aug, columns=like.columns)
    return X_aug


def _class_codes(y: np.ndarray) -> np.ndarray:
    """Integer code per row: equal codes for equal labels (rows for 2-d ``y``)."""
    if y.ndim == 1:
        return np.unique(y, return_inverse=True)[1].ravel()
    seen: dict[tuple[Any, ...], int] = {}
    return np.array([seen.setdefault(tuple(row), len(seen)) for row in y.tolist()])


# --------------------------------------------------------------------------------------
# Augment (tabular)
# --------------------------------------------------------------------------------------
class Augment(_TrainingWrapper):
    """Enlarge the training set with synthetic rows, then fit a clone of ``estimator``.

    Parameters
    ----------
    estimator : estimator
        The model fitted on the augmented data; cloned.
    method : {"noise", "mixup"} or None, default="noise"
        ``"noise"``: a random real row plus gaussian noise of standard deviation
        ``noise * std(column)`` (label kept).  ``"mixup"``: ``lam*x_i + (1-lam)*x_j`` with
        ``lam ~ Beta(alpha, alpha)``.  For classifiers ``j`` is drawn from the *same class*
        as ``i`` so labels stay hard (ordinary mixup mixes one-hot targets, which a
        scikit-learn classifier cannot take); for regressors (and any estimator that is not
        a classifier) ``j`` is any row and the targets are mixed with the same ``lam``.
        ``None``: no augmentation (lets a search switch it off).
    factor : float, default=1.0
        Synthetic rows per real row (``round(factor * n_samples)`` in all), ``>= 0``.
    noise : float, default=0.05
        Noise standard deviation relative to each column's standard deviation, ``>= 0``.
    alpha : float, default=0.2
        Beta parameter of mixup, ``> 0`` (small: mixes stay close to a real row).
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    estimator_ : estimator
        The clone fitted on real plus synthetic rows.
    n_synthetic_ : int
        Synthetic rows added.
    classes_, n_features_in_, feature_names_in_
        From the inner estimator.

    Notes
    -----
    Real rows come first, synthetic rows after them.  NaN propagates: a synthetic row
    made from a row with a missing value has it missing too (constant or all-missing
    columns get no noise).  Per-row ``fit`` keyword arguments (``sample_weight``) are
    copied from each synthetic row's source row ``i``.  ``X`` must be numeric; a DataFrame
    stays a DataFrame with the same columns.

    Example
    -------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> X = np.arange(20.0).reshape(10, 2); y = X.sum(axis=1)
    >>> model = Augment(Ridge(), method="noise", factor=0.5, random_state=0).fit(X, y)
    >>> model.n_synthetic_
    5
    """

    def __init__(self, estimator: Any, method: str | None = "noise", factor: float = 1.0,
                 noise: float = 0.05, alpha: float = 0.2, random_state: Any = None) -> None:
        self.estimator = estimator
        self.method = method
        self.factor = factor
        self.noise = noise
        self.alpha = alpha
        self.random_state = random_state

    def _validate_params(self) -> None:
        name = type(self).__name__
        _check_option(name, "method", self.method, ("noise", "mixup", None))
        _check_number(name, "factor", self.factor, low=0.0,
                      hint="it is the number of synthetic rows per real row, e.g. 1.0")
        _check_number(name, "noise", self.noise, low=0.0,
                      hint="it is relative to each column's std, e.g. 0.05")
        _check_number(name, "alpha", self.alpha, low=0.0, low_open=True,
                      hint="mixup draws lam ~ Beta(alpha, alpha), e.g. alpha=0.2")

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> Augment:
        """Augment ``(X, y)`` and fit ``estimator_`` on real plus synthetic rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric; may contain NaN.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        **fit_params
            Passed to the inner ``fit``; per-row arrays are extended with the rows.

        Returns
        -------
        self
        """
        name = type(self).__name__
        self._validate_params()
        _check_input(name, X, y)
        n_new = 0
        if self.method is not None and self.factor > 0:
            Xa = _numeric(name, X)
            n = Xa.shape[0]
            n_new = round(self.factor * n)
        if n_new:
            rng = check_random_state(self.random_state)
            y_arr = None if y is None else np.asarray(y)
            src = rng.randint(0, n, size=n_new)
            if self.method == "noise":
                std = _column_stat(Xa, np.nanstd, 0.0)
                X_new = Xa[src] + rng.normal(size=(n_new, Xa.shape[1])) * (self.noise * std)
                y_new = None if y_arr is None else y_arr[src]
            else:
                lam = rng.beta(self.alpha, self.alpha, size=n_new)
                if y_arr is not None and is_classifier(self.estimator):
                    codes = _class_codes(y_arr)
                    order = np.argsort(codes, kind="stable")
                    counts = np.bincount(codes)
                    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
                    c = codes[src]
                    partner = order[starts[c] + (rng.random_sample(n_new) * counts[c])
                                    .astype(np.int64)]
                    y_new = y_arr[src]
                else:
                    partner = rng.randint(0, n, size=n_new)
                    y_new = None
                    if y_arr is not None:
                        ya = check_array(y_arr, ensure_2d=False, dtype=np.float64,
                                         ensure_all_finite=False)
                        lam_y = lam.reshape((-1,) + (1,) * (ya.ndim - 1))
                        y_new = lam_y * ya[src] + (1 - lam_y) * ya[partner]
                        y_arr = ya
                X_new = lam[:, None] * Xa[src] + (1 - lam[:, None]) * Xa[partner]
            X = _rebuild(np.concatenate([Xa, X_new]), X)
            if y_arr is not None:
                y = np.concatenate([y_arr, np.asarray(y_new, dtype=y_arr.dtype)])
            fit_params = {k: np.concatenate([np.asarray(v), _take(v, src)])
                          if _is_sample_aligned(v, n) else v for k, v in fit_params.items()}
        self.n_synthetic_ = int(n_new)
        self._fit_inner(X, y, fit_params)
        return self


# --------------------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------------------
def shift_images(images: Any, dy: Any, dx: Any) -> np.ndarray:
    """Shift images by whole pixels, filling the uncovered border with zeros (no wrap).

    Parameters
    ----------
    images : array-like of shape (n, h, w)
    dy, dx : int or array-like of int of shape (n,)
        Shift down (positive ``dy``) and right (positive ``dx``), per image or for all;
        pixel ``(r, c)`` moves to ``(r + dy, c + dx)``; pixels moved out are lost.

    Returns
    -------
    ndarray of shape (n, h, w)

    Example
    -------
    >>> img = np.zeros((1, 3, 3)); img[0, 0, 0] = 1.0
    >>> shift_images(img, 1, 2)[0]
    array([[0., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]])
    >>> shift_images(img, -1, 0).sum()  # moved out of the frame, no wrap-around
    np.float64(0.0)
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"shift_images: images must have shape (n, h, w), got {images.shape}")
    n, h, w = images.shape
    dy = np.broadcast_to(np.asarray(dy, dtype=np.int64), (n,))
    dx = np.broadcast_to(np.asarray(dx, dtype=np.int64), (n,))
    s = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    s_y, s_x = min(s, h), min(s, w)
    padded = np.pad(images, ((0, 0), (s_y, s_y), (s_x, s_x)))
    dy, dx = np.clip(dy, -s_y, s_y), np.clip(dx, -s_x, s_x)
    rows = (s_y - dy)[:, None] + np.arange(h)  # out[r] = in[r - dy]
    cols = (s_x - dx)[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def augment_images(images: Any, y: Any = None, shifts: int = 1, flips: bool = False,
                   noise: float = 0.0, factor: int = 1,
                   random_state: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Add ``factor`` randomly shifted/flipped/noisy copies of each image.

    Parameters
    ----------
    images : array-like of shape (n, h, w)
        Pixel values, in ``[0, 1]`` when ``noise > 0`` (e.g. ``load_digits().images / 16``).
    y : array-like of shape (n,) or None
        Labels, repeated for the copies.
    shifts : int, default=1
        Largest shift in pixels; each copy moves by ``dy, dx`` drawn uniformly from
        ``-shifts..shifts`` with zero fill (see :func:`shift_images`).
    flips : bool, default=False
        Flip each copy left-right with probability 1/2 (not for digits or text!).
    noise : float, default=0.0
        Standard deviation of gaussian pixel noise; results are clipped to ``[0, 1]``.
    factor : int, default=1
        Copies per image.
    random_state : int, RandomState or None, default=None

    Returns
    -------
    images_aug : ndarray of shape (n * (factor + 1), h, w)
        The originals first, then copy ``k`` of image ``i`` at row ``n * (k + 1) + i``.
    y_aug : ndarray of shape (n * (factor + 1),) or None

    Example
    -------
    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> X, y = augment_images(digits.images[:10] / 16, digits.target[:10], factor=2,
    ...                       random_state=0)
    >>> X.shape, y.shape, bool(X.min() >= 0 and X.max() <= 1)
    ((30, 8, 8), (30,), True)
    """
    name = "augment_images"
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"{name}: images must have shape (n, h, w), got {images.shape}; "
                         "reshape flat rows with X.reshape(-1, h, w)")
    shifts = _check_count(name, "shifts", shifts)
    factor = _check_count(name, "factor", factor)
    noise = _check_number(name, "noise", noise, low=0.0, hint="e.g. noise=0.05")
    if not isinstance(flips, bool | np.bool_):
        raise ValueError(f"{name}: flips must be True or False, got {flips!r}")
    if noise > 0 and images.size and (np.nanmin(images) < 0 or np.nanmax(images) > 1):
        raise ValueError(f"{name}: noise > 0 clips pixels to [0, 1] but images range over "
                         f"[{np.nanmin(images)}, {np.nanmax(images)}]; scale them first "
                         "(e.g. digits.images / 16)")
    n = images.shape[0]
    y_arr = None if y is None else np.asarray(y)
    if y_arr is not None and y_arr.shape[0] != n:
        raise ValueError(f"{name}: {n} images but {y_arr.shape[0]} labels")
    rng = check_random_state(random_state)
    copies = np.tile(images, (factor, 1, 1))
    m = copies.shape[0]
    if shifts and m:
        copies = shift_images(copies, rng.randint(-shifts, shifts + 1, size=m),
                              rng.randint(-shifts, shifts + 1, size=m))
    if flips and m:
        flip = rng.random_sample(m) < 0.5
        copies[flip] = copies[flip, :, ::-1]
    if noise > 0 and m:
        copies = np.clip(copies + rng.normal(scale=noise, size=copies.shape), 0.0, 1.0)
    out = np.concatenate([images, copies])
    y_out = None if y_arr is None else np.concatenate([y_arr] * (factor + 1))
    return out, y_out


class ImageAugment(_TrainingWrapper):
    """Fit ``estimator`` on flattened images plus shifted/flipped/noisy copies.

    Parameters
    ----------
    estimator : estimator
        Model for flattened images (one row of ``h * w`` pixels per image); cloned.
    shifts, flips, noise, factor, random_state
        As in :func:`augment_images`.
    image_shape : tuple of int or None, default=(8, 8)
        ``(h, w)`` of each image (8x8 for :func:`sklearn.datasets.load_digits`); ``None``
        treats each row as a ``1 x n_features`` strip.

    Attributes
    ----------
    estimator_ : estimator
    n_synthetic_ : int
    classes_, n_features_in_, feature_names_in_
        From the inner estimator.

    Notes
    -----
    Augmentation happens in ``fit`` only; ``predict`` and friends see the rows as given.

    Example
    -------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_digits(return_X_y=True)
    >>> model = ImageAugment(LogisticRegression(max_iter=200), shifts=1, factor=1,
    ...                      random_state=0).fit(X[:100] / 16, y[:100])
    >>> model.n_synthetic_
    100
    """

    def __init__(self, estimator: Any, shifts: int = 1, flips: bool = False,
                 noise: float = 0.0, factor: int = 1,
                 image_shape: tuple[int, int] | None = (8, 8),
                 random_state: Any = None) -> None:
        self.estimator = estimator
        self.shifts = shifts
        self.flips = flips
        self.noise = noise
        self.factor = factor
        self.image_shape = image_shape
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> ImageAugment:
        """Reshape rows to images, augment them, flatten and fit ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, h * w)
        y : array-like of shape (n_samples,), optional
        **fit_params
            Passed to the inner ``fit``; per-row arrays are repeated with the copies.

        Returns
        -------
        self
        """
        name = type(self).__name__
        _check_input(name, X, y)
        Xa = _numeric(name, X)
        n, d = Xa.shape
        shape = (1, d) if self.image_shape is None else self.image_shape
        if (not isinstance(shape, tuple | list) or len(shape) != 2
                or not all(isinstance(v, Integral) and v > 0 for v in shape)):
            raise ValueError(f"{name}: image_shape must be (height, width) or None, "
                             f"got {self.image_shape!r}")
        if shape[0] * shape[1] != d:
            raise ValueError(f"{name}: image_shape={tuple(shape)} needs {shape[0] * shape[1]}"
                             f" features per row, got {d}; set image_shape to the images' "
                             "(height, width)")
        images, y_aug = augment_images(Xa.reshape(n, *shape), y, shifts=self.shifts,
                                       flips=self.flips, noise=self.noise,
                                       factor=self.factor, random_state=self.random_state)
        reps = self.factor + 1
        fit_params = {k: np.concatenate([np.asarray(v)] * reps)
                      if _is_sample_aligned(v, n) else v for k, v in fit_params.items()}
        self.n_synthetic_ = int(n * self.factor)
        self._fit_inner(_rebuild(images.reshape(n * reps, d), X), y_aug, fit_params)
        return self
