"""Small tabular data sets that ship with the repository, and their loaders.
Over 400 lines: a catalogue, one spec and one documented loader per shipped data set.

The CSV files live in ``datasets/`` at the repository root (next to the ``hybridlab``
package; ``pip install -e .`` keeps them there).  They are derived from scikit-learn's
built-in data sets by ``datasets/make_datasets.py`` and made deliberately messy -- missing
values (MCAR and MAR), data-entry outliers, mixed units, a constant and a categorical
column -- so that preprocessing pipelines have something to do.  ``datasets/README.md``
documents every column and exactly how the mess was made.  Nothing is downloaded.

========================  ==========  ===================================================
name                      task        origin
========================  ==========  ===================================================
``clinic``                binary      breast cancer Wisconsin (diagnostic), 569 rows
``wine_cultivars``        multiclass  wine recognition, 178 rows
``diabetes_progression``  regression  diabetes (Efron et al. 2004), 442 rows
========================  ==========  ===================================================

Set ``HYBRIDLAB_DATASETS`` to a folder to load the files from there instead.

Example
-------
>>> from hybridlab.datasets import load_clinic, train_test
>>> X, y = load_clinic()
>>> X.shape, y.name
((569, 16), 'malignant')
>>> X_train, X_test, y_train, y_test = train_test("clinic", test_size=0.25, seed=0)
>>> len(X_train), len(X_test)
(426, 143)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

__all__ = [
    "data_dir",
    "list_datasets",
    "load",
    "load_clinic",
    "load_diabetes_progression",
    "load_digits_images",
    "load_wine_cultivars",
    "train_test",
]

#: Environment variable naming a folder that holds the CSV files (overrides the default).
ENV_VAR = "HYBRIDLAB_DATASETS"
#: ``(X, y)``: a DataFrame and a Series, or two NumPy arrays (``as_frame=False``).
XY: TypeAlias = tuple[pd.DataFrame, pd.Series] | tuple[np.ndarray, np.ndarray]

_REGENERATE = "regenerate them with `python datasets/make_datasets.py` from the repository root"


@dataclass(frozen=True)
class _Spec:
    """What a CSV file must contain and how to type its columns."""

    name: str
    task: str  # "binary" | "multiclass" | "regression" (sklearn's type_of_target words)
    target: str
    features: tuple[str, ...]
    ints: tuple[str, ...] = ()  # integer feature columns (never missing)
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def dtypes(self) -> dict[str, object]:
        out: dict[str, object] = {c: "float64" for c in self.features}
        out.update({c: "int64" for c in self.ints})
        out.update({c: pd.CategoricalDtype(list(v)) for c, v in self.categories.items()})
        out[self.target] = "float64" if self.task == "regression" else "int64"
        return out


_SPECS: dict[str, _Spec] = {
    s.name: s
    for s in (
        _Spec(
            "clinic",
            "binary",
            "malignant",
            (
                "site",
                "mean_radius_um",
                "mean_texture",
                "mean_perimeter",
                "mean_area",
                "mean_smoothness",
                "mean_compactness",
                "mean_concavity",
                "mean_concave_points",
                "mean_symmetry",
                "mean_fractal_dimension",
                "radius_se",
                "worst_radius",
                "worst_area",
                "worst_concave_points",
                "protocol_version",
            ),
            ints=("protocol_version",),
            categories={"site": ("A", "B", "C", "D")},
        ),
        _Spec(
            "wine_cultivars",
            "multiclass",
            "cultivar",
            (
                "alcohol",
                "malic_acid",
                "ash",
                "alcalinity_of_ash",
                "magnesium",
                "total_phenols",
                "flavanoids",
                "nonflavanoid_phenols",
                "proanthocyanins",
                "color_intensity",
                "hue",
                "od280_od315_ratio",
                "proline",
            ),
        ),
        _Spec(
            "diabetes_progression",
            "regression",
            "progression",
            (
                "age",
                "sex",
                "bmi",
                "bp",
                "total_cholesterol",
                "ldl",
                "hdl",
                "chol_hdl_ratio",
                "log_triglycerides",
                "glucose",
            ),
            ints=("age", "sex"),
        ),
    )
}


def _spec(name: object) -> _Spec:
    if not isinstance(name, str) or name not in _SPECS:
        raise ValueError(
            f"unknown dataset {name!r}; known: {', '.join(sorted(_SPECS))} "
            "(see hybridlab.datasets.list_datasets())"
        )
    return _SPECS[name]


def _check_as_frame(as_frame: object) -> None:
    if not isinstance(as_frame, bool | np.bool_):
        raise ValueError(f"as_frame must be True or False, got {as_frame!r}")


def data_dir() -> Path:
    """The folder the CSV files are read from.

    ``$HYBRIDLAB_DATASETS`` if set, else ``datasets/`` next to the ``hybridlab`` package
    (the repository root for an editable install).  The folder need not exist; loading a
    file from it raises :class:`FileNotFoundError` then.

    Example
    -------
    >>> from hybridlab.datasets import data_dir
    >>> (data_dir() / "clinic.csv").is_file()
    True
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "datasets"


def _read(spec: _Spec) -> pd.DataFrame:
    path = data_dir() / spec.file
    if not path.is_file():
        raise FileNotFoundError(
            f"{spec.file} not found in {path.parent}; {_REGENERATE}"
            + (f" (or unset {ENV_VAR})" if os.environ.get(ENV_VAR, "").strip() else "")
        )
    expected = [*spec.features, spec.target]
    header = pd.read_csv(path, nrows=0).columns.tolist()
    if header != expected:
        raise ValueError(
            f"{path} has columns {header}, expected {expected}; the file is stale or edited: "
            f"{_REGENERATE}"
        )
    return pd.read_csv(path, dtype=spec.dtypes(), keep_default_na=False, na_values=[""])


def load(name: str, as_frame: bool = True) -> XY:
    """Load a shipped data set by name as ``(X, y)``.

    Parameters
    ----------
    name : str
        One of ``list_datasets()["name"]``: ``"clinic"``, ``"wine_cultivars"``,
        ``"diabetes_progression"``.
    as_frame : bool, default True
        True: ``X`` is a DataFrame (float64 columns with NaN for missing values, int64 for
        columns that are never missing, ``category`` for categorical ones) and ``y`` a
        Series named after the target.  False: both as NumPy arrays (``X`` is an ``object``
        array when the table has a categorical column).

    Returns
    -------
    X, y
        Features and target; ``y`` is int64 for classification, float64 for regression.

    Raises
    ------
    ValueError
        Unknown ``name`` (the message lists the known ones), or a non-bool ``as_frame``.
    FileNotFoundError
        The CSV file is missing (the message says how to regenerate it).

    Example
    -------
    >>> from hybridlab.datasets import load
    >>> X, y = load("wine_cultivars")
    >>> X.shape, sorted(y.unique().tolist())
    ((178, 13), [0, 1, 2])
    """
    spec = _spec(name)
    _check_as_frame(as_frame)
    frame = _read(spec)
    X, y = frame.drop(columns=spec.target), frame[spec.target]
    if as_frame:
        return X, y
    return X.to_numpy(), y.to_numpy()


def load_clinic(as_frame: bool = True) -> XY:
    """Binary classification: is a breast mass malignant?  569 rows, 16 features.

    Derived from sklearn's breast-cancer (Wisconsin diagnostic) data with 14 of its 30
    features plus ``site`` (categorical A-D, mildly informative) and ``protocol_version``
    (constant).  Mess: ``mean_radius_um`` is in µm (values ~1e4, while features such as
    ``mean_concave_points`` are ~1e-3..1e-1); ~5% MCAR missing values in ``mean_texture``,
    ``mean_symmetry`` and ``radius_se``; ~15% MAR missing values in ``mean_concavity``
    (more often missing for larger ``mean_area``); 9 rows with data-entry errors
    (``mean_perimeter`` x100, ``worst_radius`` sign flips, ``mean_radius_um`` entered in
    mm).  Target ``malignant``: 212 ones, 357 zeros.

    Parameters
    ----------
    as_frame : bool, default True
        DataFrame/Series (True) or NumPy arrays (False; ``X`` then has dtype ``object``
        because ``site`` holds strings).

    Returns
    -------
    X : DataFrame, shape (569, 16)
    y : Series of int64 named ``"malignant"``

    Example
    -------
    >>> from hybridlab.datasets import load_clinic
    >>> X, y = load_clinic()
    >>> X.shape, int(y.sum()), X["site"].dtype.name
    ((569, 16), 212, 'category')
    >>> round(float(X["mean_concavity"].isna().mean()), 2)
    0.15
    """
    return load("clinic", as_frame=as_frame)


def load_wine_cultivars(as_frame: bool = True) -> XY:
    """Three-class classification: which of three cultivars is a wine from?  178 rows.

    Derived from sklearn's wine-recognition data (all 13 chemical measurements).  Mild
    mess: ~5% MCAR missing values in ``magnesium`` and ``color_intensity``, and 3 rows
    with data-entry errors (``proline`` x10 twice, ``alcohol`` x10 once).  Target
    ``cultivar`` in {0, 1, 2} with 59 / 71 / 48 rows.

    Parameters
    ----------
    as_frame : bool, default True
        DataFrame/Series (True) or float64 / int64 NumPy arrays (False).

    Returns
    -------
    X : DataFrame, shape (178, 13), all float64
    y : Series of int64 named ``"cultivar"``

    Example
    -------
    >>> from hybridlab.datasets import load_wine_cultivars
    >>> X, y = load_wine_cultivars(as_frame=False)
    >>> X.shape, X.dtype.name, y.tolist().count(1)
    ((178, 13), 'float64', 71)
    """
    return load("wine_cultivars", as_frame=as_frame)


def load_diabetes_progression(as_frame: bool = True) -> XY:
    """Regression: disease progression one year after baseline.  442 rows, 10 features.

    Derived from sklearn's diabetes data in its original units (``load_diabetes(scaled=
    False)``): age in years, ``sex`` as the source's 1/2 code, BMI, blood pressure and six
    blood-serum measurements.  Mess: ~5% MCAR missing values in ``bp``, ``hdl`` and
    ``glucose``, and 6 rows with data-entry errors (``bmi`` x10, ``total_cholesterol``
    written in mmol/L instead of mg/dL).  Target ``progression`` ranges 25..346.

    Parameters
    ----------
    as_frame : bool, default True
        DataFrame/Series (True) or float64 NumPy arrays (False).

    Returns
    -------
    X : DataFrame, shape (442, 10)
    y : Series of float64 named ``"progression"``

    Example
    -------
    >>> from hybridlab.datasets import load_diabetes_progression
    >>> X, y = load_diabetes_progression()
    >>> X.shape, y.dtype.name, float(y.min()), float(y.max())
    ((442, 10), 'float64', 25.0, 346.0)
    """
    return load("diabetes_progression", as_frame=as_frame)


def list_datasets() -> pd.DataFrame:
    """One row per shipped CSV data set, read from the files themselves.

    Returns
    -------
    DataFrame
        Columns ``name``, ``task`` (``"binary"``, ``"multiclass"`` or ``"regression"``),
        ``target``, ``rows``, ``features``, ``missing_pct`` (percent of feature cells that
        are missing, 2 decimals) and ``file`` (full path).

    Example
    -------
    >>> from hybridlab.datasets import list_datasets
    >>> list_datasets()[["name", "task", "rows", "features", "missing_pct"]]
                       name        task  rows  features  missing_pct
    0                clinic      binary   569        16         1.75
    1        wine_cultivars  multiclass   178        13         0.48
    2  diabetes_progression  regression   442        10         1.45
    """
    records = []
    for spec in _SPECS.values():
        X, _ = load(spec.name)
        records.append(
            {
                "name": spec.name,
                "task": spec.task,
                "target": spec.target,
                "rows": X.shape[0],
                "features": X.shape[1],
                "missing_pct": round(100 * float(X.isna().to_numpy().mean()), 2),
                "file": str(data_dir() / spec.file),
            }
        )
    return pd.DataFrame.from_records(records)


def train_test(
    name: str, test_size: float = 0.25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Split a shipped data set into train and test parts, stratified for classification.

    Parameters
    ----------
    name : str
        A data-set name (see :func:`list_datasets`).
    test_size : float, default 0.25
        Fraction of rows in the test part, strictly between 0 and 1.
    seed : int, default 0
        Seed of the shuffle; the same seed gives the same split.

    Returns
    -------
    X_train, X_test, y_train, y_test
        DataFrames and Series that keep the original row index.

    Example
    -------
    >>> from hybridlab.datasets import train_test
    >>> X_train, X_test, y_train, y_test = train_test("wine_cultivars", seed=1)
    >>> X_test.shape, y_test.value_counts().sort_index().tolist()
    ((45, 13), [15, 18, 12])
    """
    from sklearn.model_selection import train_test_split

    spec = _spec(name)
    if isinstance(test_size, bool) or not isinstance(test_size, float | int | np.floating):
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}; e.g. 0.25")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    X, y = load(name)
    return train_test_split(
        X,
        y,
        test_size=float(test_size),
        random_state=int(seed),
        shuffle=True,
        stratify=None if spec.task == "regression" else y,
    )


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's handwritten digits as small images, for image-augmentation examples.

    Returns
    -------
    images : ndarray of float64, shape (1797, 8, 8)
        Pixel intensities scaled from 0..16 to [0, 1] (divided by 16).
    y : ndarray of int64, shape (1797,)
        The digit, 0..9.

    Example
    -------
    >>> from hybridlab.datasets import load_digits_images
    >>> images, y = load_digits_images()
    >>> images.shape, float(images.min()), float(images.max()), sorted(set(y.tolist()))[:3]
    ((1797, 8, 8), 0.0, 1.0, [0, 1, 2])
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.asarray(digits.images, dtype=np.float64) / 16.0
    return images, np.asarray(digits.target, dtype=np.int64)
