"""Data optimization: a preprocessing pipeline whose every step is searchable.
Over 400 lines because the pipeline and its search space must list the same steps side by side.

:func:`preprocessing_pipeline` builds one scikit-learn :class:`~sklearn.pipeline.Pipeline`
(imputation, outlier clipping, scaling, feature selection, dimensionality reduction, and
outlier-row removal plus augmentation wrapped around the model); :func:`preprocessing_space`
returns a conditional search space over those choices, so that data steps and model
hyperparameters can be searched jointly by any hybridlab optimizer (e.g. through
:class:`hybridlab.ml.search.HybridSearchCV`).

Example
-------
>>> import numpy as np
>>> from sklearn.datasets import load_iris
>>> from sklearn.linear_model import LogisticRegression
>>> from hybridlab.conditional import ConditionalSpace
>>> from hybridlab.space import Real
>>> X, y = load_iris(return_X_y=True)
>>> pipe = preprocessing_pipeline(LogisticRegression(max_iter=500))
>>> space = preprocessing_space(steps=("impute", "scale", "detector"))
>>> space["model__estimator__estimator__C"] = Real(1e-2, 1e2, log=True)
>>> cs = ConditionalSpace(space)
>>> params = cs.decode(np.full(cs.dim, 0.5))
>>> sorted(params)
['model__detector', 'model__detector__contamination', 'model__estimator__estimator__C', \
'prep__num__impute', 'prep__num__impute__add_indicator', 'prep__num__scale']
>>> float(pipe.set_params(**params).fit(X, y).score(X, y)) > 0.8
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, KernelPCA
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.feature_selection import (
    RFE,
    SelectFromModel,
    SelectKBest,
    SelectPercentile,
    f_classif,
    f_regression,
)
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from hybridlab.conditional import Choice
from hybridlab.space import Categorical, Integer, Real

from ._augment import Augment
from ._features import _features_choice
from ._outliers import DropOutliers, OutlierClipper

__all__ = ["DEFAULT_STEPS", "STEPS", "make_preprocessor", "preprocessing_pipeline",
           "preprocessing_space"]

#: Step names :func:`preprocessing_space` knows, in pipeline order.
STEPS: tuple[str, ...] = ("impute", "outliers", "features", "scale", "select", "reduce",
                          "detector", "augment")
#: The steps :func:`preprocessing_space` searches by default: all but ``"features"``
#: (opt-in: it can multiply the width of the data, see :mod:`._features`).
DEFAULT_STEPS: tuple[str, ...] = tuple(s for s in STEPS if s != "features")

_NUM = "prep__num__"  # where the numeric steps live inside the pipeline


class _Columns:
    """Column selector for :class:`~sklearn.compose.ColumnTransformer` (picklable).

    ``kind="numeric"``: the explicit ``numeric`` list, else (DataFrame) every numeric or
    bool column not listed as categorical, else (array) every column index not listed as
    categorical.  ``kind="categorical"``: the explicit ``categorical`` list, else
    (DataFrame) every object/string/category column not listed as numeric, else nothing.
    """

    def __init__(self, kind: str, numeric: Sequence[Any] | None,
                 categorical: Sequence[Any] | None) -> None:
        self.kind = kind
        self.numeric = None if numeric is None else list(numeric)
        self.categorical = None if categorical is None else list(categorical)

    def __call__(self, X: Any) -> list[Any]:
        explicit = self.numeric if self.kind == "numeric" else self.categorical
        if explicit is not None:
            return list(explicit)
        other = set((self.categorical if self.kind == "numeric" else self.numeric) or ())
        if hasattr(X, "dtypes") and hasattr(X, "columns"):
            from pandas.api.types import (
                is_bool_dtype,
                is_numeric_dtype,
                is_object_dtype,
                is_string_dtype,
            )

            def wanted(dtype: Any) -> bool:
                if self.kind == "numeric":
                    return bool(is_numeric_dtype(dtype) or is_bool_dtype(dtype))
                return bool(is_object_dtype(dtype) or is_string_dtype(dtype)
                            or str(dtype) == "category")

            return [c for c in X.columns if c not in other and wanted(X[c].dtype)]
        if self.kind == "categorical":
            return []
        return [i for i in range(np.shape(X)[1]) if i not in other]

    def __repr__(self) -> str:
        return f"_Columns({self.kind!r}, numeric={self.numeric!r}, " \
               f"categorical={self.categorical!r})"


class _WritableIterativeImputer(IterativeImputer):
    """:class:`~sklearn.impute.IterativeImputer` fed a private writable copy of ``X``.

    scikit-learn 1.9's ``IterativeImputer(keep_empty_features=True)`` writes into its
    validated input; for a pandas (copy-on-write) DataFrame that is a read-only view and
    it fails with "assignment destination is read-only" as soon as a column is all-missing.
    Feature names are not recorded (the input reaches the imputer as an array).
    """

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> Any:
        return super().fit_transform(_writable(X), y, **params)

    def transform(self, X: Any) -> Any:
        return super().transform(_writable(X))


def _writable(X: Any) -> Any:
    if hasattr(X, "iloc") or (isinstance(X, np.ndarray) and not X.flags.writeable):
        return np.array(X, dtype=np.float64)
    return X


def make_preprocessor(numeric_columns: Sequence[Any] | None = None,
                      categorical_columns: Sequence[Any] | None = None) -> ColumnTransformer:
    """The column-wise part of :func:`preprocessing_pipeline` (its ``"prep"`` step).

    Numeric columns go through ``Pipeline([("impute", SimpleImputer(median)),
    ("outliers", "passthrough"), ("features", "passthrough"), ("scale",
    StandardScaler())])`` (transformer ``"num"``);
    categorical columns are imputed with a constant ``"missing_value"`` category and
    one-hot encoded (transformer ``"cat"``; unknown categories at predict time give all
    zeros).  Output is always a dense float array.

    Parameters
    ----------
    numeric_columns, categorical_columns : sequence of str or int, optional
        Column names (DataFrame) or indices (array).  Left out: a DataFrame's numeric and
        bool columns are numeric, its object/string/category columns categorical; an
        array's columns are all numeric except those listed as categorical.  Other columns
        (e.g. datetimes) are dropped.

    Returns
    -------
    sklearn.compose.ColumnTransformer

    Notes
    -----
    Every imputer is built with ``keep_empty_features=True``: an all-missing training
    column becomes a constant 0 column instead of being dropped, so the number (and
    order) of columns never depends on which columns happen to be empty in a fold.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, None, 3.0], "c": ["a", "b", None]})
    >>> make_preprocessor().fit_transform(df).shape  # x + one-hot(a, b, missing_value)
    (3, 4)
    """
    numeric = Pipeline([
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("outliers", "passthrough"),
        ("features", "passthrough"),
        ("scale", StandardScaler()),
    ])
    categorical = Pipeline([
        ("impute", SimpleImputer(strategy="constant", keep_empty_features=True)),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ])
    return ColumnTransformer(
        [("num", numeric, _Columns("numeric", numeric_columns, categorical_columns)),
         ("cat", categorical, _Columns("categorical", numeric_columns, categorical_columns))],
        sparse_threshold=0.0,
    )


def preprocessing_pipeline(model: Any, numeric_columns: Sequence[Any] | None = None,
                           categorical_columns: Sequence[Any] | None = None, *,
                           random_state: Any = None) -> Pipeline:
    """A pipeline whose every data step can be swapped or switched off by ``set_params``.

    Steps (``"passthrough"`` or ``None`` switches a step off)::

        prep    ColumnTransformer (see make_preprocessor)
          num     Pipeline: impute -> outliers -> features -> scale  (numeric columns)
          cat     Pipeline: impute -> onehot                (categorical columns)
        select  "passthrough"                               (feature selection)
        reduce  "passthrough"                               (PCA / KernelPCA ...)
        model   DropOutliers(Augment(model, method=None), detector=None)

    so the parameters are e.g. ``prep__num__impute``, ``prep__num__scale``, ``select``,
    ``reduce``, ``model__detector``, ``model__estimator__method`` and the model's own
    ``model__estimator__estimator__<param>``.  Defaults: median imputation, no clipping,
    standard scaling, no new features, no selection/reduction, no row removal, no
    augmentation.

    Parameters
    ----------
    model : estimator
        The final estimator (classifier, regressor, ...).
    numeric_columns, categorical_columns : sequence, optional
        See :func:`make_preprocessor`.
    random_state : int, RandomState or None, default=None
        Seed for the outlier detector and the augmentation.

    Returns
    -------
    sklearn.pipeline.Pipeline

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.decomposition import PCA
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = preprocessing_pipeline(LogisticRegression(max_iter=500), random_state=0)
    >>> pipe = pipe.set_params(reduce=PCA(n_components=2), model__detector="iforest")
    >>> pipe.fit(X, y).named_steps["model"].n_removed_
    8
    """
    return Pipeline([
        ("prep", make_preprocessor(numeric_columns, categorical_columns)),
        ("select", "passthrough"),
        ("reduce", "passthrough"),
        ("model", DropOutliers(Augment(model, method=None, random_state=random_state),
                               detector=None, random_state=random_state)),
    ])


def preprocessing_space(task: str = "classification",
                        steps: Sequence[str] = DEFAULT_STEPS,
                        n_features: int | None = None,
                        random_state: int | None = 0) -> dict[str, Choice]:
    """A conditional search space over the data steps of :func:`preprocessing_pipeline`.

    Wrap it in :class:`~hybridlab.conditional.ConditionalSpace` (or hand the dict to
    :class:`~hybridlab.ml.search.HybridSearchCV`); add the model's hyperparameters under
    ``model__estimator__estimator__<param>``.

    Parameters
    ----------
    task : {"classification", "regression"}, default="classification"
        Picks the scores and models used for feature selection.
    steps : sequence of str, default=DEFAULT_STEPS
        Which of ``"impute", "outliers", "features", "scale", "select", "reduce",
        "detector", "augment"`` to search; the others keep the pipeline's defaults.  The
        default is every step but ``"features"`` (name it, or pass ``STEPS``).
    n_features : int, optional
        Width of the data.  Given: ``kbest`` keeps ``select__k`` in ``1..n_features``
        features and kernel PCA keeps up to ``n_features`` components.  Left out:
        ``kbest`` keeps ``select__percentile`` (10..100) percent of the features and
        kernel PCA up to 10 components.
    random_state : int or None, default=0
        Seed of the randomized steps in the space (iterative imputer, quantile scaler,
        extra trees, PCA, isolation forest).

    Returns
    -------
    dict
        Names to :class:`~hybridlab.conditional.Choice`.  Decoded parameter names (each
        sub-parameter only when its option is chosen):

        * ``prep__num__impute``: ``mean | median | most_frequent | knn | iterative``;
          ``prep__num__impute__add_indicator`` (bool, every option),
          ``prep__num__impute__n_neighbors`` (2..15) and ``prep__num__impute__weights``
          (knn).
        * ``prep__num__outliers``: ``none | iqr | zscore | winsorize`` (an
          :class:`OutlierClipper`); ``prep__num__outliers__factor`` (iqr, 1..3),
          ``prep__num__outliers__threshold`` (zscore, 2..4),
          ``prep__num__outliers__limits`` (winsorize, tuple of quantiles).
        * ``prep__num__features``: ``none | poly | spline | log_ratio`` (new columns, see
          :func:`feature_extractor`); ``prep__num__features__poly__degree`` (2..3) and
          ``prep__num__features__poly__interaction_only`` (poly),
          ``prep__num__features__n_knots`` (3..10) and ``prep__num__features__degree``
          (spline, 1..3), ``prep__num__features__ratios`` (log_ratio).
        * ``prep__num__scale``: ``none | standard | minmax | robust | quantile``;
          ``prep__num__scale__output_distribution`` (quantile).
        * ``select``: ``none | kbest | l1 | tree | rfe``; ``select__k`` or
          ``select__percentile`` (kbest), ``select__estimator__C`` (l1, classification:
          L1 logistic regression) or ``select__estimator__alpha`` (l1, regression: lasso),
          ``select__threshold`` (l1, tree: ``"mean" | "median"``),
          ``select__n_features_to_select`` (rfe, a fraction in 0.1..1).
        * ``reduce``: ``none | pca | kernel_pca``; ``reduce__n_components`` (pca: share of
          variance kept, 0.5..0.99; kernel_pca: an integer) and ``reduce__kernel``
          (kernel_pca).
        * ``model__detector``: ``none | iforest | lof`` (rows removed for training);
          ``model__detector__contamination`` (0.01..0.15, both),
          ``model__detector__n_neighbors`` (lof, 5..30).
        * ``model__estimator__method``: ``none | noise | mixup`` (augmentation);
          ``model__estimator__factor`` (synthetic rows per real row, 0.25..2, both),
          ``model__estimator__noise`` (noise, 0.01..0.3 of each column's sd),
          ``model__estimator__alpha`` (mixup's Beta parameter, 0.1..1).

    Notes
    -----
    Option values are estimator *instances* shared by every decoded point; scikit-learn's
    searches clone them before ``set_params``.  Calling ``pipe.set_params(**params)``
    yourself, clone first: ``{k: sklearn.base.clone(v, safe=False) ...}``.
    Model-based selectors keep features whose importance is at least the mean or median,
    so they never select zero features; ``rfe`` needs at least 2 input columns.

    Example
    -------
    >>> from hybridlab.conditional import ConditionalSpace
    >>> space = ConditionalSpace(preprocessing_space(steps=("scale", "reduce")))
    >>> space.names
    ['prep__num__scale', 'prep__num__scale__output_distribution[prep__num__scale=quantile]', \
'reduce', 'reduce__n_components[reduce=pca]', 'reduce__kernel[reduce=kernel_pca]', \
'reduce__n_components[reduce=kernel_pca]']
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"preprocessing_space: task must be 'classification' or "
                         f"'regression', got {task!r}")
    if isinstance(steps, str):
        steps = (steps,)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"preprocessing_space: unknown step(s) {unknown}; choose from "
                         f"{list(STEPS)}")
    if n_features is not None and (not isinstance(n_features, int | np.integer)
                                   or isinstance(n_features, bool) or n_features < 1):
        raise ValueError(f"preprocessing_space: n_features must be a positive int (the "
                         f"data's number of columns) or None, got {n_features!r}")
    rs = random_state
    classify = task == "classification"
    indicator = {"add_indicator": Categorical([False, True])}
    space: dict[str, Choice] = {}
    if "impute" in steps:
        space[_NUM + "impute"] = Choice({
            **{s: (SimpleImputer(strategy=s, keep_empty_features=True), dict(indicator))
               for s in ("mean", "median", "most_frequent")},
            "knn": (KNNImputer(keep_empty_features=True),
                    {"n_neighbors": Integer(2, 15),
                     "weights": Categorical(["uniform", "distance"]), **indicator}),
            "iterative": (_WritableIterativeImputer(max_iter=5, random_state=rs,
                                                    keep_empty_features=True),
                          dict(indicator)),
        })
    if "outliers" in steps:
        space[_NUM + "outliers"] = Choice({
            "none": "passthrough",
            "iqr": (OutlierClipper(method="iqr"), {"factor": Real(1.0, 3.0)}),
            "zscore": (OutlierClipper(method="zscore"), {"threshold": Real(2.0, 4.0)}),
            "winsorize": (OutlierClipper(mode="winsorize"),
                          {"limits": Categorical([(0.01, 0.99), (0.025, 0.975),
                                                  (0.05, 0.95)])}),
        })
    if "features" in steps:
        space[_NUM + "features"] = _features_choice()
    if "scale" in steps:
        space[_NUM + "scale"] = Choice({
            "none": "passthrough",
            "standard": StandardScaler(),
            "minmax": MinMaxScaler(),
            "robust": RobustScaler(),
            "quantile": (QuantileTransformer(n_quantiles=100, random_state=rs),
                         {"output_distribution": Categorical(["uniform", "normal"])}),
        })
    if "select" in steps:
        space["select"] = _select_choice(classify, n_features, rs)
    if "reduce" in steps:
        space["reduce"] = Choice({
            "none": "passthrough",
            "pca": (PCA(random_state=rs), {"n_components": Real(0.5, 0.99)}),
            "kernel_pca": (KernelPCA(random_state=rs),
                           {"kernel": Categorical(["rbf", "poly", "cosine", "sigmoid"]),
                            "n_components": Integer(1, max(2, n_features or 10))}),
        })
    if "detector" in steps:
        contamination = {"contamination": Real(0.01, 0.15)}
        space["model__detector"] = Choice({
            "none": None,
            "iforest": (IsolationForest(random_state=rs), dict(contamination)),
            "lof": (LocalOutlierFactor(),
                    {**contamination, "n_neighbors": Integer(5, 30)}),
        })
    if "augment" in steps:
        # string-valued options: their sub-parameters are Augment's (siblings of method)
        space["model__estimator__method"] = Choice({
            "none": None,
            "noise": ("noise", {"noise": Real(0.01, 0.3, log=True),
                                "factor": Real(0.25, 2.0)}),
            "mixup": ("mixup", {"alpha": Real(0.1, 1.0), "factor": Real(0.25, 2.0)}),
        })
    return space


def _select_choice(classify: bool, n_features: int | None, rs: Any) -> Choice:
    """The feature-selection choices of :func:`preprocessing_space`."""
    score = f_classif if classify else f_regression
    kbest = ((SelectKBest(score), {"k": Integer(1, max(2, n_features))})
             if n_features is not None
             else (SelectPercentile(score), {"percentile": Real(10.0, 100.0)}))
    threshold = {"threshold": Categorical(["mean", "median"])}
    if classify:
        l1 = (SelectFromModel(LogisticRegression(l1_ratio=1.0, solver="saga",
                                                 max_iter=200, tol=1e-3)),
              {"estimator__C": Real(1e-2, 10.0, log=True), **threshold})
        tree: Any = ExtraTreesClassifier(n_estimators=50, random_state=rs)
        rfe_model: Any = LogisticRegression(max_iter=500)
    else:
        l1 = (SelectFromModel(Lasso(max_iter=2000)),
              {"estimator__alpha": Real(1e-3, 1.0, log=True), **threshold})
        tree = ExtraTreesRegressor(n_estimators=50, random_state=rs)
        rfe_model = Ridge()
    return Choice({
        "none": "passthrough",
        "kbest": kbest,
        "l1": l1,
        "tree": (SelectFromModel(tree), dict(threshold)),
        "rfe": (RFE(rfe_model, step=0.2),
                {"n_features_to_select": Real(0.1, 1.0)}),
    })
