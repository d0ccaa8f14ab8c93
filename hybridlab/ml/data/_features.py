"""Feature extraction: new columns built from the numeric columns, as one searchable step.

The ``"features"`` step of :func:`~hybridlab.ml.data.preprocessing_pipeline` sits in the
numeric branch after imputation and outlier clipping and *before* scaling
(``impute -> outliers -> features -> scale``).  Its options:

* ``"none"``: ``"passthrough"``;
* ``"poly"``: scikit-learn's :class:`~sklearn.preprocessing.PolynomialFeatures` (degree 2
  or 3, ``interaction_only`` searchable, no bias column), preceded by its own
  :class:`~sklearn.preprocessing.StandardScaler`;
* ``"spline"``: scikit-learn's :class:`~sklearn.preprocessing.SplineTransformer`
  (``n_knots`` and ``degree`` searchable);
* ``"log_ratio"``: :class:`LogRatioFeatures` (below): the columns, their signed
  ``log1p``, and, if ``ratios``, every ratio of two columns with a safe denominator.

Why that position.  The step sees imputed, clipped values on their own scale, so
``log1p`` and ratios act on quantities as measured (a ratio of standardized, zero-centred
columns is mostly noise around sign changes).  Splines do not care: their knots follow
each column's range (uniform knots) and their outputs are B-spline values in ``[0, 1]``.
Polynomials do: powers of raw values are ill-conditioned (``x**3`` of values near 1000)
and uncentred ``x``, ``x**2`` are nearly collinear, so the ``"poly"`` option standardizes
its input itself.  The ``"scale"`` step after it then scales every new column, so a
penalized model (ridge, logistic regression) penalizes products, spline bases and ratios
on one footing.

Width (``n`` numeric columns in): poly ``n + n(n+1)/2`` (degree 2) or ``n + n(n+1)/2 +
n(n+1)(n+2)/6`` (degree 3); with ``interaction_only`` ``n + C(n, 2) [+ C(n, 3)]``; spline
``n * (n_knots + degree - 1)``; log_ratio ``2n`` or, with ratios, ``2n + n(n-1)``.
Categorical (one-hot) columns are not crossed.

Example
-------
>>> import numpy as np
>>> X = np.array([[1.0, 2.0], [3.0, -4.0], [0.0, 8.0]])
>>> LogRatioFeatures(ratios=False).fit_transform(X).round(3)
array([[ 1.   ,  2.   ,  0.693,  1.099],
       [ 3.   , -4.   ,  1.386, -1.609],
       [ 0.   ,  8.   ,  0.   ,  2.197]])
>>> feature_extractor("poly", degree=2).fit_transform(X).shape
(3, 5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, SplineTransformer, StandardScaler
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from hybridlab.conditional import Choice
from hybridlab.space import Categorical, Integer

from ._wrapping import _check_number, _column_stat

__all__ = ["FEATURE_KINDS", "LogRatioFeatures", "feature_extractor"]

#: The options of the ``"features"`` step, in the order :func:`preprocessing_space` lists.
FEATURE_KINDS: tuple[str, ...] = ("none", "poly", "spline", "log_ratio")

# the parameters feature_extractor accepts per kind, and where they go in the transformer
_PARAMS: dict[str, dict[str, str]] = {
    "none": {},
    "poly": {"degree": "poly__degree", "interaction_only": "poly__interaction_only"},
    "spline": {p: p for p in ("n_knots", "degree", "knots", "extrapolation",
                              "include_bias")},
    "log_ratio": {p: p for p in ("log", "ratios", "eps")},
}


class LogRatioFeatures(TransformerMixin, BaseEstimator):
    """Append the signed ``log1p`` of each column and the pairwise ratios of columns.

    Output columns: the input columns unchanged, then (``log``) ``sign(x) * log1p(|x|)``
    of each column, then (``ratios``) ``x_i / d(x_j)`` for every ordered pair ``i != j``
    (row-major: ``x0/x1, x0/x2, ..., x1/x0, ...``).  The safe denominator ``d(x_j)`` is
    ``x_j`` where ``|x_j| >= eps * scale_j`` and ``±eps * scale_j`` (the sign of ``x_j``,
    ``+`` for 0) elsewhere, with ``scale_j`` the mean ``|x_j|`` on the training data, so
    every ratio is finite and bounded by ``|x_i| / (eps * scale_j)``.

    Parameters
    ----------
    log : bool, default=True
        Append the signed ``log1p`` of each column.
    ratios : bool, default=True
        Append the ``n * (n - 1)`` ordered ratios.
    eps : float, default=0.1
        Smallest denominator magnitude, as a share (``> 0``) of the column's mean
        absolute training value.

    Attributes
    ----------
    scale_ : ndarray of shape (n_features,)
        Mean absolute training value per column (1 where it is 0 or the column is
        all-missing).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.

    Notes
    -----
    Missing values stay missing (and make their row's ratios missing).  float32 input
    gives float32 output.

    Example
    -------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 0.0]])
    >>> t = LogRatioFeatures(log=False).fit(X)
    >>> t.scale_
    array([2., 1.])
    >>> t.transform(X)  # x0, x1, x0 / d(x1), x1 / d(x0); d(0) = 0.1 * 1
    array([[ 1. ,  2. ,  0.5,  2. ],
           [ 3. ,  0. , 30. ,  0. ]])
    >>> t.get_feature_names_out().tolist()
    ['x0', 'x1', 'x0/x1', 'x1/x0']
    """

    def __init__(self, log: bool = True, ratios: bool = True, eps: float = 0.1) -> None:
        self.log = log
        self.ratios = ratios
        self.eps = eps

    def _validate_params(self) -> None:
        name = type(self).__name__
        for flag in ("log", "ratios"):
            if not isinstance(getattr(self, flag), bool | np.bool_):
                raise ValueError(f"{name}: {flag} must be True or False, got "
                                 f"{getattr(self, flag)!r}")
        if not (self.log or self.ratios):
            raise ValueError(f"{name}: log=False and ratios=False add no columns; set one "
                             "of them to True, or use 'passthrough' for no new features")
        _check_number(name, "eps", self.eps, low=0.0, low_open=True,
                      hint="use e.g. eps=0.1 (a tenth of the column's mean |x|)")

    def fit(self, X: Any, y: Any = None) -> LogRatioFeatures:
        """Learn each column's mean absolute value (the denominators' floor).

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
        scale = _column_stat(np.abs(X.astype(np.float64)), np.nanmean, 1.0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The columns of ``X``, then their signed ``log1p``, then their ratios.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan",
                          reset=False)
        parts = [X]
        if self.log:
            parts.append(np.sign(X) * np.log1p(np.abs(X)))
        if self.ratios:
            floor = (self.eps * self.scale_).astype(X.dtype)
            den = np.where(np.abs(X) < floor, np.where(X < 0, -floor, floor), X)  # NaN stays
            i, j = self._pairs()
            parts.append(X[:, i] / den[:, j])
        return np.hstack(parts)

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        i, j = np.divmod(np.arange(self.n_features_in_ ** 2), self.n_features_in_)
        off = i != j
        return i[off], j[off]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names: the inputs, ``log1p(<name>)``, ``<name_i>/<name_j>``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Defaults to ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        names = list(_check_feature_names_in(self, input_features))
        out = list(names)
        if self.log:
            out += [f"log1p({n})" for n in names]
        if self.ratios:
            out += [f"{names[a]}/{names[b]}" for a, b in zip(*self._pairs(), strict=True)]
        return np.asarray(out, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def feature_extractor(kind: str = "poly", **params: Any) -> Any:
    """The transformer of one option of the ``"features"`` step, to set by hand.

    ``pipe.set_params(prep__num__features=feature_extractor("spline", n_knots=6))`` on a
    :func:`~hybridlab.ml.data.preprocessing_pipeline` does what the search space's
    ``"spline"`` option with ``n_knots=6`` does.

    Parameters
    ----------
    kind : {"none", "poly", "spline", "log_ratio"}, default="poly"
        ``"none"`` gives ``"passthrough"``; ``"poly"`` a ``Pipeline([("standardize",
        StandardScaler()), ("poly", PolynomialFeatures(include_bias=False))])``;
        ``"spline"`` a :class:`~sklearn.preprocessing.SplineTransformer`; ``"log_ratio"``
        a :class:`LogRatioFeatures`.
    **params
        ``poly``: ``degree``, ``interaction_only``; ``spline``: ``n_knots``, ``degree``,
        ``knots``, ``extrapolation``, ``include_bias``; ``log_ratio``: ``log``,
        ``ratios``, ``eps``.  Their values are checked by the transformer's ``fit``.

    Returns
    -------
    estimator or "passthrough"

    Example
    -------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> feature_extractor("spline", n_knots=4, degree=2).fit_transform(X).shape
    (20, 15)
    >>> feature_extractor("log_ratio").fit_transform(X).shape  # 3 + 3 + 3 * 2
    (20, 12)
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"feature_extractor: kind must be one of {list(FEATURE_KINDS)}, "
                         f"got {kind!r}")
    unknown = sorted(set(params) - set(_PARAMS[kind]))
    if unknown:
        raise ValueError(f"feature_extractor: kind={kind!r} takes "
                         f"{sorted(_PARAMS[kind]) or 'no parameters'}, got {unknown}")
    if kind == "none":
        return "passthrough"
    step: Any
    if kind == "poly":
        step = Pipeline([("standardize", StandardScaler()),
                         ("poly", PolynomialFeatures(degree=2, include_bias=False))])
    elif kind == "spline":
        step = SplineTransformer()
    else:
        step = LogRatioFeatures()
    return step.set_params(**{_PARAMS[kind][k]: v for k, v in params.items()})


def _features_choice() -> Choice:
    """The ``"features"`` entry of :func:`~hybridlab.ml.data.preprocessing_space`.

    Options and their searched parameters (relative to ``prep__num__features``):
    ``none``; ``poly``: ``poly__degree`` (2..3), ``poly__interaction_only``; ``spline``:
    ``n_knots`` (3..10), ``degree`` (1..3); ``log_ratio``: ``ratios`` (``log`` is on).

    Returns
    -------
    hybridlab.conditional.Choice

    Example
    -------
    >>> _features_choice().labels
    ['none', 'poly', 'spline', 'log_ratio']
    """
    return Choice({
        "none": "passthrough",
        "poly": (feature_extractor("poly"),
                 {"poly__degree": Integer(2, 3),
                  "poly__interaction_only": Categorical([False, True])}),
        "spline": (feature_extractor("spline"),
                   {"n_knots": Integer(3, 10), "degree": Integer(1, 3)}),
        "log_ratio": (feature_extractor("log_ratio"),
                      {"ratios": Categorical([False, True])}),
    })

