"""What each data technique does to a model, measured one at a time on the same splits.

:func:`one_at_a_time` turns a search space (e.g. :func:`~hybridlab.ml.data.preprocessing_space`)
into variants that each change one step of a baseline pipeline; :func:`effects`
cross-validates the baseline and every variant on the same (repeated) folds and reports
the change in score with a corrected resampled t-test (Nadeau & Bengio, 2003: folds
share training data, so the plain paired t-test is overconfident); :func:`plot_effects`
draws it.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone, is_classifier
from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold, cross_validate

from hybridlab.conditional import Choice, ConditionalSpace
from hybridlab.space import Categorical

__all__ = ["effects", "one_at_a_time", "plot_effects"]


def one_at_a_time(space: Mapping[str, Any], baseline: Any = None
                  ) -> dict[str, dict[str, Any]]:
    """One variant per option of every :class:`~hybridlab.conditional.Choice` in ``space``.

    Each variant sets that choice and leaves everything else at the baseline's values.
    The option's own sub-parameters are set to the middle of their ranges (categoricals:
    their first choice, usually the "off" or default one), and named in the variant's
    label, so that a variant changes one thing and says what.  Given the ``baseline``
    estimator, variants that would not change it (same parameters) are left out.

    Example
    -------
    >>> from hybridlab.space import Real
    >>> v = one_at_a_time({"scale": Choice({"none": None, "std": "standard"}),
    ...                    "C": Real(0.1, 10)})
    >>> v
    {'scale=none': {'scale': None}, 'scale=std': {'scale': 'standard'}}
    """
    variants: dict[str, dict[str, Any]] = {}
    for name, entry in space.items():
        if not isinstance(entry, Choice):
            continue
        sub = ConditionalSpace({name: entry})
        for i, label in enumerate(entry.labels):
            u = np.array([0.0 if isinstance(d, Categorical) else 0.5
                          for d in sub.dims.values()])
            u[0] = (i + 0.5) / len(entry.labels)
            params = sub.decode(u)
            if baseline is not None and _unchanged(baseline, params):
                continue
            owner = name[: name.rfind("__") + 2] if "__" in name else ""
            extra = [f"{k.removeprefix(name + '__').removeprefix(owner)}={_short(v)}"
                     for k, v in params.items() if k != name]
            variants[f"{name}={label}" + (f" ({', '.join(extra)})" if extra else "")] = params
    return variants


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else repr(v)


def _unchanged(estimator: Any, params: Mapping[str, Any]) -> bool:
    current = estimator.get_params()
    return all(k in current and repr(current[k]) == repr(v) for k, v in params.items())


def effects(estimator: Any, variants: Mapping[str, Mapping[str, Any]], X: Any, y: Any,
            cv: Any = None, scoring: Any = None, X_test: Any = None, y_test: Any = None,
            n_jobs: int | None = None) -> pd.DataFrame:
    """Cross-validate ``estimator`` and each variant (``set_params``) on the same folds.

    Parameters
    ----------
    estimator : estimator
        The baseline (e.g. :func:`~hybridlab.ml.data.preprocessing_pipeline`).
    variants : mapping of name to parameter dict
        E.g. from :func:`one_at_a_time`.
    cv : splitter, optional
        Default: 5-fold CV repeated twice (stratified for classifiers), seed 0.
    X_test, y_test : optional
        Held-out data: each variant is refitted on all of ``X`` and scored on it.

    Returns
    -------
    pandas.DataFrame
        One row per variant (the baseline first): ``cv_mean``, ``cv_sd``, ``delta``
        (mean paired difference to the baseline over folds), ``p_value`` (corrected
        resampled t-test of that difference), ``test`` and ``fit_s`` (mean fit time per
        fold).  A variant that fails to fit gets NaN scores and its error in ``error``;
        the distinct warnings a variant raised (e.g. a solver stopping at ``max_iter``)
        are in ``warnings``, not printed once per fold.

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())
    >>> df = effects(pipe, {"no scaling": {"standardscaler": "passthrough"}}, X, y)
    >>> list(df["variant"])
    ['baseline', 'no scaling']
    """
    if not isinstance(variants, Mapping):
        raise ValueError("variants must be a dict of name -> parameter dict, e.g. "
                         "one_at_a_time(preprocessing_space())")
    if cv is None:
        kind = RepeatedStratifiedKFold if is_classifier(estimator) else RepeatedKFold
        cv = kind(n_splits=5, n_repeats=2, random_state=0)
    splits = list(cv.split(X, y))
    n = len(y)
    n_test = np.mean([len(te) for _, te in splits])
    base_scores = None
    rows = []
    for name, params in {"baseline": {}, **variants}.items():
        est = clone(estimator).set_params(**{k: clone(v, safe=False) for k, v in
                                             params.items()})
        row: dict[str, Any] = {"variant": name, "error": ""}
        try:
            # a variant's warnings (a selector on constant columns, a solver at max_iter)
            # are findings about that variant: kept in its row, not printed per fold
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = cross_validate(est, X, y, cv=splits, scoring=scoring, n_jobs=n_jobs,
                                     error_score="raise")
                scores = out["test_score"]
                test = est.fit(X, y).score(X_test, y_test) if X_test is not None else np.nan
        except Exception as exc:  # a variant that cannot fit is a finding, not a crash
            scores, test, out = np.full(len(splits), np.nan), np.nan, {"fit_time": [np.nan]}
            row["error"] = f"{type(exc).__name__}: {exc}"[:200]
        row["warnings"] = "; ".join(dict.fromkeys(
            f"{w.category.__name__}: {str(w.message).splitlines()[0][:120]}" for w in caught))
        if base_scores is None:
            base_scores = scores
        diff = scores - base_scores
        row.update(cv_mean=np.mean(scores), cv_sd=np.std(scores, ddof=1),
                   delta=np.mean(diff), p_value=_corrected_ttest(diff, n_test, n - n_test),
                   test=test, fit_s=float(np.mean(out["fit_time"])))
        rows.append(row)
    cols = ["variant", "cv_mean", "cv_sd", "delta", "p_value", "test", "fit_s", "error",
            "warnings"]
    return pd.DataFrame(rows)[cols]


def _label_for_plot(variant: str) -> str:
    """``prep__num__impute=knn (n_neighbors=8, ...)`` -> ``impute=knn`` over
    ``n_neighbors=8, ...`` (the step's last name; options on a second line)."""
    head, _, rest = variant.partition(" (")
    name, _, value = head.partition("=")
    short = f"{name.rsplit('__', 1)[-1]}={value}" if value else name
    if not rest:
        return short
    return short + "\n" + textwrap.shorten(rest.removesuffix(")"), 48, placeholder=" ...")


def _corrected_ttest(diff: np.ndarray, n_test: float, n_train: float) -> float:
    """Nadeau & Bengio's corrected resampled t-test of mean(diff) = 0 (two-sided)."""
    diff = np.asarray(diff, float)
    if np.isnan(diff).any():
        return np.nan
    k = len(diff)
    var = np.var(diff, ddof=1)
    if var == 0:
        return 1.0 if np.all(diff == 0) else 0.0
    t = np.mean(diff) / np.sqrt((1 / k + n_test / n_train) * var)
    return float(2 * stats.t.sf(abs(t), df=k - 1))


def plot_effects(df: pd.DataFrame, ax: Any = None, alpha: float = 0.05,
                 title: str | None = None) -> Any:
    """Horizontal bars of each variant's change in CV score against the baseline;
    bars are solid where the corrected p-value is below ``alpha``.  Returns the Figure."""
    import matplotlib.pyplot as plt

    d = df[df["variant"] != "baseline"].sort_values("delta")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.2))
    colors = np.where(d["delta"] >= 0, "tab:green", "tab:red")
    significant = d["p_value"].to_numpy() < alpha
    ax.barh([_label_for_plot(v) for v in d["variant"]], d["delta"], color=colors,
            alpha=1.0, edgecolor="black", linewidth=0.4)
    for patch, sig in zip(ax.patches, significant, strict=True):
        patch.set_alpha(0.9 if sig else 0.35)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"change in mean CV score vs baseline (solid: p < {alpha:.2f}, "
                  "corrected t-test)")
    ax.set_title(title or "one technique at a time")
    ax.grid(axis="x", alpha=0.3)
    ax.figure.tight_layout()
    return ax.figure
