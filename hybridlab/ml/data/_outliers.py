"""Outlier treatment: clip values in a transformer, or drop training rows in a meta-estimator.

:class:`OutlierClipper` is an ordinary transformer (it changes values, never the number of
rows), so it can sit anywhere in a :class:`~sklearn.pipeline.Pipeline`.  A pipeline step
cannot drop rows, so :class:`DropOutliers` wraps the *final* estimator instead: it removes
the rows an outlier detector flags from the training set only and fits a clone of the
wrapped estimator on the rest; at predict time every row is passed through unchanged.

Example
-------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
>>> OutlierClipper(method="iqr", factor=1.5).fit_transform(X).ravel()
array([1., 2., 3., 4., 7.])
>>> model = DropOutliers(LogisticRegression(), detector="lof", contamination=0.2)
>>> model.fit(X, [0, 0, 1, 1, 1]).n_removed_
1
"""

from __future__ import annotations

import warnings
from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.base import is_classifier as _is_classifier
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    _num_samples,
    check_is_fitted,
    validate_data,
)

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

__all__ = ["DropOutliers", "OutlierClipper"]


# --------------------------------------------------------------------------------------
# OutlierClipper
# --------------------------------------------------------------------------------------
class OutlierClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip every column to bounds learned on the training data.

    Parameters
    ----------
    method : {"iqr", "zscore"}, default="iqr"
        Bounds for ``mode="clip"``: Tukey fences ``[Q1 - factor*IQR, Q3 + factor*IQR]``
        or ``mean ± threshold*std``.
    factor : float, default=1.5
        Fence width in IQRs (``method="iqr"``), ``>= 0``.
    threshold : float, default=3.0
        Width in standard deviations (``method="zscore"``), ``> 0``.
    mode : {"clip", "winsorize"}, default="clip"
        ``"winsorize"`` clips at the learned quantiles ``limits`` instead (``method``,
        ``factor`` and ``threshold`` are then unused).
    limits : tuple of float, default=(0.01, 0.99)
        Lower and upper quantile for ``mode="winsorize"``, ``0 <= low < high <= 1``.

    Attributes
    ----------
    lower_, upper_ : ndarray of shape (n_features,)
        Learned bounds; ``-inf``/``+inf`` where a column is left unchanged, ``nan`` for
        an all-missing column.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.

    Notes
    -----
    * Missing values are ignored when learning bounds and stay missing in ``transform``.
    * A column whose spread is zero (IQR or std of 0, or equal winsorizing quantiles, e.g.
      a constant or mostly-constant column) is left unchanged: fences of zero width would
      flatten every differing value.  Consequently 0/1 indicator columns are never changed
      by ``"iqr"`` or ``"winsorize"``.
    * An all-missing column gets ``nan`` bounds and passes through.
    * float32 input stays float32.

    Example
    -------
    >>> import numpy as np
    >>> X = np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [3.0, np.nan], [50.0, 5.0]])
    >>> clip = OutlierClipper(method="iqr").fit(X)
    >>> clip.upper_
    array([ 6., inf])
    >>> clip.transform([[60.0, 9.0], [np.nan, 1.0]])
    array([[ 6.,  9.],
           [nan,  1.]])
    """

    def __init__(self, method: str = "iqr", factor: float = 1.5, threshold: float = 3.0,
                 mode: str = "clip", limits: tuple[float, float] = (0.01, 0.99)) -> None:
        self.method = method
        self.factor = factor
        self.threshold = threshold
        self.mode = mode
        self.limits = limits

    def _validate_params(self) -> None:
        name = type(self).__name__
        _check_option(name, "method", self.method, ("iqr", "zscore"))
        _check_option(name, "mode", self.mode, ("clip", "winsorize"))
        _check_number(name, "factor", self.factor, low=0.0,
                      hint="use e.g. factor=1.5 (Tukey) or 3.0 (far out)")
        _check_number(name, "threshold", self.threshold, low=0.0, low_open=True,
                      hint="use e.g. threshold=3.0")
        lim = self.limits
        if (not isinstance(lim, tuple | list) or len(lim) != 2
                or not all(isinstance(v, Real) and not isinstance(v, bool) for v in lim)
                or not 0.0 <= lim[0] < lim[1] <= 1.0):
            raise ValueError(f"{name}: limits must be two quantiles (low, high) with "
                             f"0 <= low < high <= 1, e.g. (0.01, 0.99); got {lim!r}")

    def fit(self, X: Any, y: Any = None) -> OutlierClipper:
        """Learn per-column bounds from ``X`` (NaN ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")
        X64 = X.astype(np.float64, copy=False)
        empty = np.all(np.isnan(X64), axis=0)
        if self.mode == "winsorize":
            q = np.asarray(self.limits, dtype=np.float64) * 100.0
            lo = _column_stat(X64, np.nanpercentile, np.nan, q=q[0])
            hi = _column_stat(X64, np.nanpercentile, np.nan, q=q[1])
            spread = hi - lo
        elif self.method == "iqr":
            q1 = _column_stat(X64, np.nanpercentile, np.nan, q=25.0)
            q3 = _column_stat(X64, np.nanpercentile, np.nan, q=75.0)
            spread = q3 - q1
            lo, hi = q1 - self.factor * spread, q3 + self.factor * spread
        else:
            mean = _column_stat(X64, np.nanmean, np.nan)
            spread = _column_stat(X64, np.nanstd, np.nan)
            lo, hi = mean - self.threshold * spread, mean + self.threshold * spread
        keep = ~empty & (spread <= 0)  # zero spread: leave the column unchanged
        lo[keep], hi[keep] = -np.inf, np.inf
        self.lower_, self.upper_ = lo, hi
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Clip ``X`` to the learned bounds; NaN stays NaN.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan",
                          reset=False, copy=True)
        lo = np.where(np.isnan(self.lower_), -np.inf, self.lower_).astype(X.dtype)
        hi = np.where(np.isnan(self.upper_), np.inf, self.upper_).astype(X.dtype)
        return np.clip(X, lo, hi, out=X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# --------------------------------------------------------------------------------------
# DropOutliers
# --------------------------------------------------------------------------------------
_MIN_ROWS_FOR_DETECTION = 5


class DropOutliers(_TrainingWrapper):
    """Fit an estimator on the training rows that an outlier detector keeps.

    Parameters
    ----------
    estimator : estimator
        The model (or any estimator) fitted on the inlier rows; cloned.
    detector : {"iforest", "lof"}, outlier detector or None, default="iforest"
        ``"iforest"``: :class:`~sklearn.ensemble.IsolationForest`; ``"lof"``:
        :class:`~sklearn.neighbors.LocalOutlierFactor` (``n_neighbors=min(20, n - 1)``);
        an estimator with ``fit_predict`` returning ``1`` for inliers and ``-1`` for
        outliers (e.g. ``IsolationForest(contamination=0.1)``; cloned, uses its own
        settings, so a search can reach ``detector__contamination``); ``None``: keep
        every row (lets a search switch removal off).
    contamination : float, default=0.05
        Expected share of outliers for the string detectors, in ``(0, 0.5]`` (checked
        whatever the detector).
    random_state : int, RandomState or None, default=None
        Seed of the isolation forest (also set on a detector instance that has a
        ``random_state`` of ``None``).

    Attributes
    ----------
    estimator_ : estimator
        The clone fitted on the kept rows.
    detector_ : estimator or None
        The fitted detector.
    inlier_mask_ : ndarray of bool, shape (n_samples,)
        Training rows kept.
    n_removed_ : int
        Training rows dropped.
    classes_ : ndarray
        The inner classifier's classes (classifiers only).
    n_features_in_, feature_names_in_
        As seen by the inner estimator.

    Notes
    -----
    * Detection runs on a copy of ``X`` whose NaN are replaced by column medians, so rows
      with missing values work; the inner estimator receives the original rows.
    * For classifiers, rows are never removed if that would delete a class entirely.
    * With fewer than 5 training rows nothing is removed.
    * ``predict``, ``predict_proba``, ``decision_function``, ``score`` and ``transform``
      use all rows: removal applies to training only.  Use it as the last step of a
      :class:`~sklearn.pipeline.Pipeline` (a step cannot drop rows).
    * Extra ``fit`` keyword arguments with one entry per row (e.g. ``sample_weight``) are
      subset along with ``X``.

    Example
    -------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X @ [1.0, 2.0]
    >>> X[:5] += 20  # five far-away rows
    >>> model = DropOutliers(Ridge(), detector="iforest", random_state=0).fit(X, y)
    >>> model.n_removed_, bool(model.inlier_mask_[:5].any())
    (5, False)
    """

    def __init__(self, estimator: Any, detector: Any = "iforest", contamination: float = 0.05,
                 random_state: Any = None) -> None:
        self.estimator = estimator
        self.detector = detector
        self.contamination = contamination
        self.random_state = random_state

    def _validate_params(self) -> None:
        name = type(self).__name__
        det = self.detector
        if not (det is None or (isinstance(det, str) and det in ("iforest", "lof"))
                or (not isinstance(det, str) and hasattr(det, "fit_predict"))):
            raise ValueError(f"{name}: detector must be 'iforest', 'lof', None or an outlier "
                             f"detector with fit_predict (e.g. IsolationForest()), got {det!r}")
        _check_number(name, "contamination", self.contamination, low=0.0, high=0.5,
                      low_open=True, hint="it is the expected share of outliers, e.g. 0.05; "
                      "use detector=None to keep every row")

    def _make_detector(self, n: int) -> Any:
        if isinstance(self.detector, str) and self.detector == "iforest":
            return IsolationForest(contamination=self.contamination,
                                   random_state=self.random_state)
        if isinstance(self.detector, str) and self.detector == "lof":
            return LocalOutlierFactor(contamination=self.contamination,
                                      n_neighbors=max(1, min(20, n - 1)))
        det = clone(self.detector)
        if self.random_state is not None and det.get_params().get("random_state", 0) is None:
            det.set_params(random_state=self.random_state)
        return det

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> DropOutliers:
        """Detect outliers among the training rows, drop them, fit ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric; may contain NaN.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        **fit_params
            Passed to the inner ``fit``; per-row arrays are subset with ``X``.

        Returns
        -------
        self
        """
        name = type(self).__name__
        self._validate_params()
        _check_input(name, X, y)
        if self.detector is None:
            self.detector_ = None
            n = _num_samples(X)
            self.inlier_mask_ = np.ones(n, dtype=bool)
            self.n_removed_ = 0
            self._fit_inner(X, y, fit_params)
            return self

        Xd = _numeric(name, X)
        n = Xd.shape[0]
        mask = np.ones(n, dtype=bool)
        self.detector_ = None
        if n >= _MIN_ROWS_FOR_DETECTION:
            medians = _column_stat(Xd, np.nanmedian, 0.0)
            Xd = np.where(np.isnan(Xd), medians, Xd)
            self.detector_ = self._make_detector(n)
            with warnings.catch_warnings():
                # LOF on rows with many duplicates: its note on duplicate values, per fit
                warnings.filterwarnings("ignore", message="Duplicate values are leading")
                labels = np.asarray(self.detector_.fit_predict(Xd))
            mask = labels != -1
            if y is not None and _is_classifier(self.estimator):
                mask = self._keep_every_class(y, mask)
        self.inlier_mask_ = mask
        self.n_removed_ = int(n - mask.sum())
        if self.n_removed_:
            X = _take(X, mask)
            y = None if y is None else _take(y, mask)
            fit_params = {k: _take(v, mask) if _is_sample_aligned(v, n) else v
                          for k, v in fit_params.items()}
        self._fit_inner(X, y, fit_params)
        return self

    @staticmethod
    def _keep_every_class(y: Any, mask: np.ndarray) -> np.ndarray:
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or type_of_target(y_arr) not in ("binary", "multiclass"):
            return mask
        lost = np.setdiff1d(np.unique(y_arr), np.unique(y_arr[mask]))
        if lost.size:
            mask = mask | np.isin(y_arr, lost)
        return mask
