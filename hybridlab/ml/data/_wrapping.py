"""Validation helpers and the training-only meta-estimator base shared by the outlier
(:mod:`._outliers`) and augmentation (:mod:`._augment`) estimators of the data room."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from numbers import Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_array, check_consistent_length, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted


def _check_number(owner: str, name: str, value: Any, *, low: float, high: float = np.inf,
                  low_open: bool = False, high_open: bool = False, hint: str = "") -> float:
    """Raise a ValueError naming the allowed range unless ``low <= value <= high``."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
    if not ok:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{owner}: {name} must be a finite number in {lo}{low}, {high}{hi}, "
                         f"got {value!r}{'; ' + hint if hint else ''}")
    return float(value)


def _check_option(owner: str, name: str, value: Any, options: tuple[Any, ...]) -> None:
    if not any(value is o or (isinstance(value, str) and value == o) for o in options):
        raise ValueError(f"{owner}: {name} must be one of {list(options)}, got {value!r}")


def _check_input(owner: str, X: Any, y: Any) -> None:
    """Reject sparse X and an ``(X, y)`` pair of different lengths."""
    if sp.issparse(X):
        raise TypeError(f"{owner} does not support sparse input; pass a dense array "
                        "(X.toarray()) or drop the wrapper")
    if y is not None:
        check_consistent_length(X, y)


def _numeric(owner: str, X: Any) -> np.ndarray:
    """X as a float64 array for detection/augmentation (NaN allowed, inf rejected)."""
    try:
        return check_array(X, dtype=np.float64, ensure_all_finite="allow-nan")
    except ValueError as exc:
        if "could not convert" in str(exc) or "convert string" in str(exc):
            raise ValueError(f"{owner} needs numeric X; encode categorical columns first "
                             "(e.g. put it last in a Pipeline after a ColumnTransformer with "
                             "a OneHotEncoder)") from exc
        raise


def _column_stat(X: np.ndarray, func: Callable[..., np.ndarray], fill: float,
                 **kwargs: Any) -> np.ndarray:
    """``func`` (a nan-aware reducer) per column; ``fill`` for all-NaN columns, no warnings."""
    out = np.full(X.shape[1], fill, dtype=np.float64)
    has = ~np.all(np.isnan(X), axis=0) if X.shape[0] else np.zeros(X.shape[1], dtype=bool)
    if has.any():
        out[has] = func(X[:, has], axis=0, **kwargs)
    return out


def _take(data: Any, index: np.ndarray) -> Any:
    """Rows ``index`` (int or bool) of an array, DataFrame/Series or array-like."""
    if hasattr(data, "iloc"):
        return data.iloc[index]
    return np.asarray(data)[index]


def _is_sample_aligned(value: Any, n: int) -> bool:
    return (not isinstance(value, str | bytes) and hasattr(value, "__len__")
            and not isinstance(value, dict) and len(value) == n)


def _inner_has(attr: str) -> Callable[[Any], bool]:
    """For ``available_if``: the fitted (else the unfitted) inner estimator has ``attr``."""

    def check(self: Any) -> bool:
        inner = self.estimator_ if hasattr(self, "estimator_") else self.estimator
        return hasattr(inner, attr)

    return check


class _TrainingWrapper(BaseEstimator):
    """Base of meta-estimators that change the training set and delegate everything else.

    Subclasses implement ``fit`` and store the fitted clone as ``estimator_``; prediction,
    scoring, ``transform``, ``classes_``, ``n_features_in_`` and the estimator tags come from
    the wrapped estimator, so the wrapper can replace it anywhere (e.g. as the last step of
    a :class:`~sklearn.pipeline.Pipeline`).
    """

    estimator: Any

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.transformer_tags = deepcopy(inner.transformer_tags)
        tags.target_tags = deepcopy(inner.target_tags)
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = False
        return tags

    def _fit_inner(self, X: Any, y: Any, fit_params: dict[str, Any]) -> None:
        self.estimator_ = clone(self.estimator)
        self.estimator_.fit(X, y, **fit_params)  # y=None: a supervised model says it needs y

    # -- delegation --------------------------------------------------------------------
    @property
    def classes_(self) -> np.ndarray:
        """Class labels of the fitted inner classifier."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the inner estimator during ``fit``."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Feature names seen by the inner estimator (DataFrame input only)."""
        return self.estimator_.feature_names_in_

    @available_if(_inner_has("predict"))
    def predict(self, X: Any, **params: Any) -> Any:
        """Predict with the fitted inner estimator (all rows, none dropped)."""
        check_is_fitted(self)
        return self.estimator_.predict(X, **params)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any, **params: Any) -> Any:
        """Class probabilities from the fitted inner estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X, **params)

    @available_if(_inner_has("predict_log_proba"))
    def predict_log_proba(self, X: Any, **params: Any) -> Any:
        """Log class probabilities from the fitted inner estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X, **params)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """Decision function of the fitted inner estimator."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_inner_has("score"))
    def score(self, X: Any, y: Any = None, **params: Any) -> float:
        """Score of the fitted inner estimator on ``(X, y)``."""
        check_is_fitted(self)
        return self.estimator_.score(X, y, **params)

    @available_if(_inner_has("transform"))
    def transform(self, X: Any) -> Any:
        """Transform with the fitted inner estimator (all rows)."""
        check_is_fitted(self)
        return self.estimator_.transform(X)

    @available_if(_inner_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output feature names of the fitted inner estimator."""
        check_is_fitted(self)
        return self.estimator_.get_feature_names_out(input_features)


