"""Make the small, deliberately messy tabular CSV files in ``datasets/``.

Every file is derived from a data set that ships with scikit-learn (no download), then
"messed up" the way real tables are: missing values (MCAR and MAR), data-entry outliers,
mixed units, a constant column, a categorical column.  Each file uses its own seeded
``numpy.random.Generator``, so changing one file's recipe leaves the others unchanged, and
the floats are written with a fixed number of decimals, so running the script twice gives
byte-identical files.  ``datasets/README.md`` documents every column and every step.

Run from the repository root::

    python datasets/make_datasets.py            # rewrites datasets/*.csv
    python datasets/make_datasets.py OUT_DIR    # writes them somewhere else
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

__all__ = [
    "SEEDS",
    "Made",
    "main",
    "make_clinic",
    "make_diabetes_progression",
    "make_wine_cultivars",
]

HERE = Path(__file__).resolve().parent

#: One seed per file (each file draws from its own Generator).
SEEDS: dict[str, int] = {"clinic": 101, "wine_cultivars": 202, "diabetes_progression": 303}

#: mg/dL of cholesterol per mmol/L (molar mass of cholesterol 386.65 g/mol).
CHOLESTEROL_MG_DL_PER_MMOL_L = 38.67


@dataclass
class Made:
    """One generated table, how to write it, and a log of the mess that was added."""

    name: str
    frame: pd.DataFrame
    decimals: dict[str, int]  # float columns -> decimals written; other columns as str()
    target: str
    missing: dict[str, int] = field(default_factory=dict)  # column -> number of NaN cells
    outliers: dict[str, list[int]] = field(default_factory=dict)  # "what" -> row indices

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


# --------------------------------------------------------------------------- clinic


def make_clinic(seed: int = SEEDS["clinic"]) -> Made:
    """Binary classification (malignant tumour?) from sklearn's breast-cancer data, 569 rows.

    Steps, in this order, all drawing from ``np.random.default_rng(seed)``:

    1. keep 14 of the 30 features; ``mean_radius_um`` is the mean radius times 1000
       (source unit treated as mm, written in µm), so scales span ~1e-3 .. 3e4;
       ``malignant = 1 - target`` (sklearn codes malignant as 0);
    2. ``site`` in A/B/C/D: one uniform draw per row, mapped through class-dependent
       probabilities (malignant 0.40/0.25/0.20/0.15, benign 0.20/0.30/0.25/0.25);
    3. MCAR: a (569, 3) uniform draw; a cell of mean_texture / mean_symmetry / radius_se
       is missing where its draw < 0.05;
    4. MAR: ``mean_concavity`` is missing where a uniform draw < 0.03 + 0.24 q, q the
       percentile rank of ``mean_area`` ((rank - 0.5) / n, average ranks for ties), so its
       missingness depends on an observed column (expected rate 15%);
    5. outliers: 9 distinct rows drawn without replacement; the first 4 get
       ``mean_perimeter * 100`` (decimal-point slip), the next 3 a sign flip of
       ``worst_radius``, the last 2 ``mean_radius_um`` entered in mm (/ 1000);
    6. ``protocol_version`` = 2 in every row (a constant column).
    """
    rng = np.random.default_rng(seed)
    src = load_breast_cancer(as_frame=True).frame
    n = len(src)
    keep = {
        "mean texture": "mean_texture",
        "mean perimeter": "mean_perimeter",
        "mean area": "mean_area",
        "mean smoothness": "mean_smoothness",
        "mean compactness": "mean_compactness",
        "mean concavity": "mean_concavity",
        "mean concave points": "mean_concave_points",
        "mean symmetry": "mean_symmetry",
        "mean fractal dimension": "mean_fractal_dimension",
        "radius error": "radius_se",
        "worst radius": "worst_radius",
        "worst area": "worst_area",
        "worst concave points": "worst_concave_points",
    }
    df = pd.DataFrame({"mean_radius_um": np.round(src["mean radius"].to_numpy() * 1000, 0)})
    for old, new in keep.items():
        df[new] = src[old].to_numpy()
    malignant = (src["target"].to_numpy() == 0).astype(np.int64)

    # 2. site, mildly informative
    sites = np.array(["A", "B", "C", "D"])
    p_malignant = np.array([0.40, 0.25, 0.20, 0.15])
    p_benign = np.array([0.20, 0.30, 0.25, 0.25])
    probs = np.where(malignant[:, None] == 1, p_malignant, p_benign)
    u = rng.random(n)
    site = sites[(u[:, None] >= np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1)]

    # 3. MCAR
    mcar_cols = ["mean_texture", "mean_symmetry", "radius_se"]
    mcar = rng.random((n, len(mcar_cols))) < 0.05
    for j, col in enumerate(mcar_cols):
        df.loc[mcar[:, j], col] = np.nan

    # 4. MAR: depends on the (fully observed) mean_area
    q = (df["mean_area"].rank(method="average").to_numpy() - 0.5) / n
    mar = rng.random(n) < 0.03 + 0.24 * q
    df.loc[mar, "mean_concavity"] = np.nan

    # 5. outliers (data-entry errors) in columns that have no missing values
    rows = rng.choice(n, size=9, replace=False)
    perimeter_rows, sign_rows, mm_rows = (sorted(rows[:4]), sorted(rows[4:7]), sorted(rows[7:]))
    df.loc[perimeter_rows, "mean_perimeter"] *= 100
    df.loc[sign_rows, "worst_radius"] *= -1
    df.loc[mm_rows, "mean_radius_um"] /= 1000

    df.insert(0, "site", site)
    df["protocol_version"] = np.full(n, 2, dtype=np.int64)
    df["malignant"] = malignant
    decimals = {
        "mean_radius_um": 3,  # 0 for normal rows; the mm rows keep their 3 decimals
        "mean_texture": 2,
        "mean_perimeter": 2,
        "mean_area": 1,
        "mean_smoothness": 5,
        "mean_compactness": 5,
        "mean_concavity": 7,
        "mean_concave_points": 6,
        "mean_symmetry": 4,
        "mean_fractal_dimension": 5,
        "radius_se": 4,
        "worst_radius": 3,
        "worst_area": 1,
        "worst_concave_points": 6,
    }
    return Made(
        "clinic",
        df,
        decimals,
        "malignant",
        missing={c: int(df[c].isna().sum()) for c in [*mcar_cols, "mean_concavity"]},
        outliers={
            "mean_perimeter x100": [int(i) for i in perimeter_rows],
            "worst_radius sign flip": [int(i) for i in sign_rows],
            "mean_radius_um entered in mm": [int(i) for i in mm_rows],
        },
    )


# --------------------------------------------------------------------------- wine


def make_wine_cultivars(seed: int = SEEDS["wine_cultivars"]) -> Made:
    """Three-class classification (cultivar 0/1/2) from sklearn's wine data, 178 rows.

    Steps, all drawing from ``np.random.default_rng(seed)``:

    1. all 13 features, snake_case names; ``color_intensity`` rounded to 2 decimals (the
       source has one ``9.899999``);
    2. MCAR: a (178, 2) uniform draw; a cell of magnesium / color_intensity is missing
       where its draw < 0.05;
    3. outliers: 3 distinct rows drawn without replacement; the first 2 get
       ``proline * 10`` (an extra digit typed), the last ``alcohol * 10`` (decimal slip).
    """
    rng = np.random.default_rng(seed)
    src = load_wine(as_frame=True).frame
    n = len(src)
    df = src.drop(columns="target").rename(
        columns={"od280/od315_of_diluted_wines": "od280_od315_ratio"}
    )
    df["color_intensity"] = np.round(df["color_intensity"], 2)

    mcar_cols = ["magnesium", "color_intensity"]
    mcar = rng.random((n, len(mcar_cols))) < 0.05
    for j, col in enumerate(mcar_cols):
        df.loc[mcar[:, j], col] = np.nan

    rows = rng.choice(n, size=3, replace=False)
    proline_rows, alcohol_rows = sorted(rows[:2]), sorted(rows[2:])
    df.loc[proline_rows, "proline"] *= 10
    df.loc[alcohol_rows, "alcohol"] *= 10

    df["cultivar"] = src["target"].to_numpy().astype(np.int64)
    decimals = {c: 2 for c in df.columns if c != "cultivar"}
    decimals.update(alcalinity_of_ash=1, magnesium=0, hue=3, proline=0)
    return Made(
        "wine_cultivars",
        df,
        decimals,
        "cultivar",
        missing={c: int(df[c].isna().sum()) for c in mcar_cols},
        outliers={
            "proline x10": [int(i) for i in proline_rows],
            "alcohol x10": [int(i) for i in alcohol_rows],
        },
    )


# --------------------------------------------------------------------------- diabetes


def make_diabetes_progression(seed: int = SEEDS["diabetes_progression"]) -> Made:
    """Regression (disease progression after one year) from sklearn's diabetes data, 442 rows.

    ``load_diabetes(scaled=False)`` gives the original, unscaled measurements (the file
    sklearn ships), so no approximate un-scaling is needed.  Steps, all drawing from
    ``np.random.default_rng(seed)``:

    1. rename s1..s6 to what they measure; ``sex`` stays the source's 1/2 code;
    2. MCAR: a (442, 3) uniform draw; a cell of bp / hdl / glucose is missing where its
       draw < 0.05;
    3. outliers: 6 distinct rows drawn without replacement; the first 3 get ``bmi * 10``
       (decimal slip), the last 3 ``total_cholesterol`` in mmol/L instead of mg/dL
       (divided by 38.67, 2 decimals).
    """
    rng = np.random.default_rng(seed)
    data = load_diabetes(scaled=False)
    n = data.data.shape[0]
    names = [
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
    ]
    df = pd.DataFrame(data.data, columns=names)
    df["age"] = df["age"].astype(np.int64)
    df["sex"] = df["sex"].astype(np.int64)

    mcar_cols = ["bp", "hdl", "glucose"]
    mcar = rng.random((n, len(mcar_cols))) < 0.05
    for j, col in enumerate(mcar_cols):
        df.loc[mcar[:, j], col] = np.nan

    rows = rng.choice(n, size=6, replace=False)
    bmi_rows, chol_rows = sorted(rows[:3]), sorted(rows[3:])
    df.loc[bmi_rows, "bmi"] *= 10
    df.loc[chol_rows, "total_cholesterol"] = np.round(
        df.loc[chol_rows, "total_cholesterol"] / CHOLESTEROL_MG_DL_PER_MMOL_L, 2
    )

    df["progression"] = data.target.astype(np.int64)
    decimals = {
        "bmi": 1,
        "bp": 2,
        "total_cholesterol": 2,
        "ldl": 1,
        "hdl": 1,
        "chol_hdl_ratio": 2,
        "log_triglycerides": 4,
        "glucose": 0,
    }
    return Made(
        "diabetes_progression",
        df,
        decimals,
        "progression",
        missing={c: int(df[c].isna().sum()) for c in mcar_cols},
        outliers={
            "bmi x10": [int(i) for i in bmi_rows],
            "total_cholesterol in mmol/L": [int(i) for i in chol_rows],
        },
    )


# --------------------------------------------------------------------------- writing


def _format(values: np.ndarray, decimals: int) -> list[str]:
    """Shortest text for each value rounded to ``decimals`` (``""`` for NaN)."""
    out = []
    for v in np.round(values.astype(np.float64), decimals):
        if np.isnan(v):
            out.append("")
        else:
            out.append(np.format_float_positional(v, precision=decimals, unique=True, trim="-"))
    return out


def write_csv(made: Made, path: Path) -> None:
    """Write ``made.frame`` with ``\\n`` line ends and fixed decimals (stable bytes)."""
    columns = []
    for col in made.frame.columns:
        values = made.frame[col].to_numpy()
        if col in made.decimals:
            columns.append(_format(values, made.decimals[col]))
        else:
            columns.append([str(v) for v in values.tolist()])
    lines = [",".join(made.frame.columns), *(",".join(row) for row in zip(*columns, strict=True))]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    os.replace(tmp, path)


def main(out_dir: str | os.PathLike[str] = HERE) -> dict[str, Mapping[str, object]]:
    """Write every CSV file into ``out_dir``; return a summary per file.

    The summary maps each data-set name to ``file``, ``rows``, ``features``, ``target``,
    ``missing`` (column -> NaN count), ``missing_pct`` (of all feature cells) and
    ``outliers`` (kind of error -> row indices).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Mapping[str, object]] = {}
    for make in (make_clinic, make_wine_cultivars, make_diabetes_progression):
        made = make()
        write_csv(made, out / made.file)
        X = made.frame.drop(columns=made.target)
        summary[made.name] = {
            "file": made.file,
            "rows": len(X),
            "features": X.shape[1],
            "target": made.target,
            "missing": made.missing,
            "missing_pct": round(100 * float(X.isna().to_numpy().mean()), 2),
            "outliers": made.outliers,
        }
    return summary


if __name__ == "__main__":
    target_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for name, info in main(target_dir).items():
        print(
            f"{name} -> {target_dir / str(info['file'])}: {info['rows']} rows, "
            f"{info['features']} features, {info['missing_pct']}% of feature cells missing"
        )
        print(f"    missing  {info['missing']}")
        print(f"    outliers {info['outliers']}")
