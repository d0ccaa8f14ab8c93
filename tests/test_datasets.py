"""The shipped CSV data sets (datasets/*.csv), their generating script and their loaders."""

import doctest
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

import hybridlab.datasets as ds

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "datasets" / "make_datasets.py"
FILES = ("clinic.csv", "wine_cultivars.csv", "diabetes_progression.csv")

# name -> (loader, rows, features, target, target dtype, task)
EXPECTED = {
    "clinic": (ds.load_clinic, 569, 16, "malignant", "int64", "binary"),
    "wine_cultivars": (ds.load_wine_cultivars, 178, 13, "cultivar", "int64", "multiclass"),
    "diabetes_progression": (
        ds.load_diabetes_progression, 442, 10, "progression", "float64", "regression",
    ),
}
# documented in datasets/README.md: MCAR columns 2-8% missing, the MAR column 10-20%
MCAR = {
    "clinic": ["mean_texture", "mean_symmetry", "radius_se"],
    "wine_cultivars": ["magnesium", "color_intensity"],
    "diabetes_progression": ["bp", "hdl", "glucose"],
}
MAR = {"clinic": ["mean_concavity"]}


@pytest.fixture(autouse=True)
def _default_data_dir(monkeypatch):
    monkeypatch.delenv(ds.ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_datasets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def regenerated(script, tmp_path_factory):
    """The script's main() run once into a fresh folder: (folder, summary)."""
    out = tmp_path_factory.mktemp("regenerated")
    return out, script.main(out)


# ------------------------------------------------------------------- loaders


@pytest.mark.parametrize("name", list(EXPECTED))
def test_loader_shapes_and_dtypes(name):
    loader, rows, features, target, y_dtype, _ = EXPECTED[name]
    X, y = loader()
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert X.shape == (rows, features) and len(y) == rows
    assert y.name == target and y.dtype == y_dtype and not y.isna().any()
    assert target not in X.columns
    assert X.index.equals(pd.RangeIndex(rows)) and y.index.equals(X.index)
    for col in X.columns:  # numbers are float64 (NaN-able) or int64; strings are categories
        assert X[col].dtype.name in ("float64", "int64", "category"), col
    # the generic loader gives the same data
    X2, y2 = ds.load(name)
    pd.testing.assert_frame_equal(X, X2)
    pd.testing.assert_series_equal(y, y2)
    # as_frame=False: the same values as NumPy arrays
    Xa, ya = loader(as_frame=False)
    assert isinstance(Xa, np.ndarray) and isinstance(ya, np.ndarray)
    assert Xa.shape == (rows, features) and ya.shape == (rows,)
    np.testing.assert_array_equal(ya, y.to_numpy())
    numeric = X.select_dtypes("number").to_numpy(dtype=float)
    cols = [X.columns.get_loc(c) for c in X.select_dtypes("number").columns]
    np.testing.assert_array_equal(Xa[:, cols].astype(float), numeric)


def test_clinic_columns_constant_categorical_and_scales():
    X, y = ds.load_clinic()
    assert list(X["site"].cat.categories) == ["A", "B", "C", "D"]
    assert X["site"].notna().all() and X["site"].nunique() == 4
    assert X["protocol_version"].dtype == "int64"
    assert X["protocol_version"].nunique() == 1 and (X["protocol_version"] == 2).all()
    assert int(y.sum()) == 212 and int((y == 0).sum()) == 357
    # mixed scales: medians of the numeric columns span more than 5 orders of magnitude
    medians = X.select_dtypes("number").median()
    assert medians["mean_radius_um"] > 1e4
    assert medians["mean_concave_points"] < 0.05
    assert medians.max() / medians[medians > 0].min() > 1e5
    # site is mildly informative: malignant rates differ by site, but no site is pure
    rates = y.groupby(X["site"], observed=True).mean()
    assert rates.max() - rates.min() > 0.15
    assert rates.between(0.1, 0.9).all()


def test_wine_and_diabetes_targets():
    _, y = ds.load_wine_cultivars()
    assert y.value_counts().sort_index().tolist() == [59, 71, 48]
    X, y = ds.load_diabetes_progression()
    assert (y.min(), y.max()) == (25.0, 346.0)
    assert set(X["sex"].unique()) == {1, 2} and X["age"].between(19, 79).all()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_missing_rates_within_documented_ranges(name):
    X, _ = ds.load(name)
    rates = X.isna().mean()
    for col in MCAR[name]:
        assert 0.02 <= rates[col] <= 0.08, (col, rates[col])
    for col in MAR.get(name, []):
        assert 0.10 <= rates[col] <= 0.20, (col, rates[col])
    messy = MCAR[name] + MAR.get(name, [])
    assert (rates.drop(messy) == 0).all(), "only the documented columns have missing values"


def test_mar_missingness_depends_on_observed_mean_area():
    X, _ = ds.load_clinic()
    assert X["mean_area"].notna().all(), "MAR needs the driving column observed"
    quartile = pd.qcut(X["mean_area"], 4, labels=False)
    missing = X["mean_concavity"].isna()
    by_quartile = missing.groupby(quartile).mean()
    assert by_quartile.is_monotonic_increasing
    assert by_quartile[3] > 2.5 * by_quartile[0]
    area = X["mean_area"]
    assert mannwhitneyu(area[missing], area[~missing]).pvalue < 1e-3
    # the MCAR columns, in contrast, show no dependence on mean_area
    for col in MCAR["clinic"]:
        m = X[col].isna()
        assert mannwhitneyu(area[m], area[~m]).pvalue > 0.05, col


def test_outliers_exist_where_documented(regenerated):
    _, summary = regenerated
    X, _ = ds.load_clinic()
    found = {
        "mean_perimeter x100": X.index[X["mean_perimeter"] > 1000],  # clean max 188.5
        "worst_radius sign flip": X.index[X["worst_radius"] < 0],
        "mean_radius_um entered in mm": X.index[X["mean_radius_um"] < 1000],  # clean min 6981
    }
    assert {k: v.tolist() for k, v in found.items()} == summary["clinic"]["outliers"]
    rows = set().union(*(set(v) for v in found.values()))
    assert len(rows) == 9 and 0.01 <= len(rows) / len(X) <= 0.02
    X, _ = ds.load_wine_cultivars()
    assert (X["proline"] > 2000).sum() == 2 and (X["alcohol"] > 20).sum() == 1
    X, _ = ds.load_diabetes_progression()
    assert (X["bmi"] > 100).sum() == 3 and (X["total_cholesterol"] < 20).sum() == 3


def test_cells_match_the_sklearn_source(regenerated):
    """Every cell is the source value, except the documented missing and outlier cells."""
    _, summary = regenerated
    X, y = ds.load_clinic()
    src = load_breast_cancer(as_frame=True).frame
    np.testing.assert_array_equal(y.to_numpy(), 1 - src["target"].to_numpy())
    expected = src.rename(columns=lambda c: c.replace(" ", "_").replace("error", "se"))
    expected["mean_radius_um"] = src["mean radius"] * 1000
    out = summary["clinic"]["outliers"]
    factors = {
        ("mean_perimeter", "mean_perimeter x100"): 100,
        ("worst_radius", "worst_radius sign flip"): -1,
        ("mean_radius_um", "mean_radius_um entered in mm"): 1e-3,
    }
    for (col, kind), factor in factors.items():
        np.testing.assert_allclose(X.loc[out[kind], col], expected.loc[out[kind], col] * factor)
        expected.loc[out[kind], col] *= factor
    numeric = [c for c in X.columns if c not in ("site", "protocol_version")]
    ok = X[numeric].notna()
    np.testing.assert_allclose(X[numeric][ok], expected[numeric][ok], rtol=1e-12, atol=1e-12)

    X, y = ds.load_wine_cultivars()
    src = load_wine(as_frame=True).frame
    np.testing.assert_array_equal(y.to_numpy(), src["target"].to_numpy())
    out = summary["wine_cultivars"]["outliers"]
    clean = X.drop(index=out["proline x10"] + out["alcohol x10"])
    expected = src.rename(columns={"od280/od315_of_diluted_wines": "od280_od315_ratio"})
    ok = clean.notna()
    np.testing.assert_allclose(clean[ok], expected.loc[clean.index, X.columns][ok], atol=2e-6)

    X, y = ds.load_diabetes_progression()
    data = load_diabetes(scaled=False)
    np.testing.assert_array_equal(y.to_numpy(), data.target)
    out = summary["diabetes_progression"]["outliers"]
    clean = X.drop(index=out["bmi x10"] + out["total_cholesterol in mmol/L"]).to_numpy()
    source = np.delete(data.data, out["bmi x10"] + out["total_cholesterol in mmol/L"], axis=0)
    ok = ~np.isnan(clean)
    np.testing.assert_allclose(clean[ok], source[ok])


# ------------------------------------------------------------------- the script


def test_script_regenerates_byte_identical_files(script, regenerated, tmp_path):
    out, summary = regenerated
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    for file in FILES:
        assert (out / file).read_bytes() == (ROOT / "datasets" / file).read_bytes(), (
            f"datasets/{file} is stale: run python datasets/make_datasets.py"
        )
        assert (out / file).stat().st_size < 150_000
    script.main(tmp_path)  # and a second run gives the same bytes again
    for file in FILES:
        assert (tmp_path / file).read_bytes() == (out / file).read_bytes()
    assert {k: v["rows"] for k, v in summary.items()} == {
        "clinic": 569, "wine_cultivars": 178, "diabetes_progression": 442,
    }


def test_env_var_points_the_loaders_elsewhere(regenerated, monkeypatch, tmp_path):
    out, _ = regenerated
    monkeypatch.setenv(ds.ENV_VAR, str(out))
    assert ds.data_dir() == out
    X, _ = ds.load_clinic()
    assert X.shape == (569, 16)
    monkeypatch.setenv(ds.ENV_VAR, str(tmp_path))  # an empty folder
    with pytest.raises(FileNotFoundError, match=r"python datasets/make_datasets\.py"):
        ds.load_clinic()


def test_default_location_is_the_repository_datasets_folder():
    assert ds.data_dir() == ROOT / "datasets"
    assert all((ds.data_dir() / f).is_file() for f in FILES)


def test_stale_file_is_reported(monkeypatch, tmp_path):
    (tmp_path / "clinic.csv").write_text("a,b\n1,2\n")
    monkeypatch.setenv(ds.ENV_VAR, str(tmp_path))
    with pytest.raises(ValueError, match="stale or edited"):
        ds.load_clinic()


# ------------------------------------------------------------------- arguments


def test_unknown_name_lists_the_known_ones():
    known = "known: clinic, diabetes_progression, wine_cultivars"
    with pytest.raises(ValueError, match=known):
        ds.load("iris")
    with pytest.raises(ValueError, match=known):
        ds.train_test("Clinic")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ds.load_clinic(as_frame="yes"), "as_frame must be True or False"),
        (lambda: ds.train_test("clinic", test_size=0.0), r"fraction in \(0, 1\)"),
        (lambda: ds.train_test("clinic", test_size=1.5), r"fraction in \(0, 1\)"),
        (lambda: ds.train_test("clinic", test_size="0.2"), r"fraction in \(0, 1\)"),
        (lambda: ds.train_test("clinic", test_size=True), r"fraction in \(0, 1\)"),
        (lambda: ds.train_test("clinic", seed=-1), "non-negative integer"),
        (lambda: ds.train_test("clinic", seed=1.5), "non-negative integer"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------------- splits and listing


@pytest.mark.parametrize("name", ["clinic", "wine_cultivars"])
def test_train_test_is_stratified_and_deterministic(name):
    X_train, X_test, y_train, y_test = ds.train_test(name, test_size=0.25, seed=0)
    n = EXPECTED[name][1]
    assert len(X_test) == len(y_test) == math.ceil(0.25 * n)
    assert len(X_train) + len(X_test) == n
    assert X_train.index.intersection(X_test.index).empty
    assert X_train.index.equals(y_train.index) and X_test.index.equals(y_test.index)
    y = pd.concat([y_train, y_test])
    expected = y.value_counts() * len(y_test) / n  # per-class counts a stratified split gives
    for seed in range(5):  # a plain shuffle misses these counts by 1-5 for most seeds
        y_test_s = ds.train_test(name, test_size=0.25, seed=seed)[3]
        assert (y_test_s.value_counts() - expected).abs().max() < 1, seed
    again = ds.train_test(name, test_size=0.25, seed=0)
    assert again[1].index.equals(X_test.index) and again[0].index.equals(X_train.index)
    other = ds.train_test(name, test_size=0.25, seed=1)
    assert not other[1].index.equals(X_test.index)


def test_train_test_regression():
    X_train, X_test, y_train, y_test = ds.train_test("diabetes_progression", test_size=0.2)
    assert (len(X_train), len(X_test)) == (353, 89) and y_test.dtype == "float64"
    assert y_train.index.equals(X_train.index)
    assert ds.train_test("diabetes_progression", test_size=0.2)[1].index.equals(X_test.index)


def test_list_datasets(regenerated):
    _, summary = regenerated
    table = ds.list_datasets()
    assert list(table.columns) == [
        "name", "task", "target", "rows", "features", "missing_pct", "file",
    ]
    assert table["name"].tolist() == list(EXPECTED)
    for row in table.itertuples():
        _, rows, features, target, _, task = EXPECTED[row.name]
        assert (row.rows, row.features, row.target, row.task) == (rows, features, target, task)
        assert row.missing_pct == summary[row.name]["missing_pct"] and row.missing_pct > 0
        assert Path(row.file).is_file()


def test_load_digits_images():
    images, y = ds.load_digits_images()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64
    assert images.min() == 0.0 and images.max() == 1.0
    assert y.shape == (1797,) and y.dtype == np.int64 and set(y.tolist()) == set(range(10))


def test_docstring_examples_run():
    result = doctest.testmod(ds, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 15 and result.failed == 0
