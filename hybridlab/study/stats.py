"""Statistics for comparing optimizers (Demšar 2006; García & Herrera 2008).

* :func:`friedman`: Friedman test and average ranks over blocks (problems), with the
  Nemenyi critical difference used by the rank plot;
* :func:`wilcoxon_holm`: every optimizer against a reference with the Wilcoxon
  signed-rank test, p-values corrected for multiple comparisons by :func:`holm`;
* :func:`pairwise_wilcoxon_holm`: every pair of optimizers, Holm over all pairs -- the
  p-values the critical-difference diagram is drawn from;
* :func:`against_baselines`: the same on a long table of results, every method against
  several baselines, Holm over all tests of a budget;
* :func:`bootstrap_median_ci`: a seeded bootstrap confidence interval of a median.

All take plain arrays or a blocks x optimizers table (lower is better), such as
:func:`hybridlab.study.metrics.block_table` builds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Friedman", "against_baselines", "average_ranks", "bootstrap_median_ci",
    "critical_difference", "friedman", "holm", "pairwise_wilcoxon_holm", "wilcoxon_holm",
]


def average_ranks(table: pd.DataFrame) -> pd.Series:
    """Rank the optimizers (columns) within each block (row), 1 = lowest value; ties
    share the average rank; return the mean rank of each optimizer.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [1.0, 1.0], "b": [2.0, 1.0], "c": [3.0, 3.0]})
    >>> average_ranks(t).tolist()
    [1.25, 1.75, 3.0]
    """
    return table.astype(float).fillna(np.inf).rank(axis=1, method="average").mean()


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: ``q_alpha sqrt(k (k+1) / (6 n))``
    for ``k`` optimizers over ``n`` blocks (``q_alpha`` from the studentized range).

    Examples
    --------
    >>> round(critical_difference(3, 10), 3)
    1.048
    """
    if k < 2 or n < 1:
        return math.nan
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


@dataclass(frozen=True)
class Friedman:
    """Outcome of :func:`friedman`.

    Attributes
    ----------
    statistic, pvalue : float
        Friedman's chi-square and its p-value (NaN with fewer than 3 optimizers or 2
        blocks; p = 1 when every block is a complete tie).
    ranks : Series
        Average rank per optimizer, best first.
    n_blocks : int
    cd : float
        Nemenyi critical difference at ``alpha``: average ranks closer than this are not
        significantly different.
    alpha : float
    """

    statistic: float
    pvalue: float
    ranks: pd.Series
    n_blocks: int
    cd: float
    alpha: float = 0.05


def friedman(table: pd.DataFrame, alpha: float = 0.05) -> Friedman:
    """Friedman test over the blocks (rows) of a blocks x optimizers table.

    Examples
    --------
    >>> t = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) + 1,
    ...                   "c": np.arange(10.0) + 2})
    >>> r = friedman(t)   # a always best: chi2 = 20, p = exp(-10)
    >>> round(r.statistic, 6), round(r.pvalue, 8), r.ranks.to_dict()
    (20.0, 4.54e-05, {'a': 1.0, 'b': 2.0, 'c': 3.0})
    """
    t = table.astype(float).fillna(np.inf)
    n, k = t.shape
    ranks = average_ranks(t).sort_values(kind="stable")
    stat = p = math.nan
    if k >= 3 and n >= 2:
        if (t.nunique(axis=1) == 1).all():
            stat, p = 0.0, 1.0
        else:
            res = stats.friedmanchisquare(*(t[c].to_numpy() for c in t.columns))
            stat, p = float(res.statistic), float(res.pvalue)
    return Friedman(stat, p, ranks, n, critical_difference(k, n, alpha), alpha)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment: the i-th smallest p-value times ``m - i + 1``, made
    monotone and capped at 1 (NaN counts as 1).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(6).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.nan_to_num(np.asarray(pvalues, dtype=float), nan=1.0)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def _finite(table: pd.DataFrame) -> pd.DataFrame:
    """Replace inf (crashed / failed) by one value worse than every finite value, so that
    differences stay ordered and crashed-vs-crashed is a tie."""
    v = table.to_numpy(dtype=float)
    finite = np.abs(v[np.isfinite(v)])
    big = 2.0 * finite.max(initial=0.0) + 1.0
    return table.astype(float).fillna(np.inf).clip(lower=-big, upper=big)


def _wilcoxon(d: np.ndarray) -> tuple[float, float]:
    if not np.any(d != 0):
        return math.nan, 1.0
    with warnings.catch_warnings():
        # older scipy (< 1.13) notes that zeros or ties switch the exact test to the normal
        # approximation; the switch is what we want, the note would repeat per pair
        warnings.filterwarnings("ignore", message="Exact p-value calculation does not work")
        warnings.filterwarnings("ignore", message="Sample size too small for normal")
        res = stats.wilcoxon(d, zero_method="wilcox")
    return float(res.statistic), float(res.pvalue)


def wilcoxon_holm(table: pd.DataFrame, reference: str | None = None,
                  alpha: float = 0.05) -> pd.DataFrame:
    """Each optimizer against ``reference``: Wilcoxon signed-rank test over the blocks,
    Holm-corrected across the comparisons.

    Parameters
    ----------
    table : DataFrame
        Blocks x optimizers, lower is better; ``inf`` (crashed) is the worst value.
    reference : str, optional
        A column; default the first.
    alpha : float
        Significance level of the corrected p-values.

    Returns
    -------
    DataFrame
        ``optimizer, n, wins, ties, losses`` (a win: lower than the reference),
        ``median_diff`` (optimizer - reference), ``statistic, p, p_holm, significant``
        and ``verdict`` ("better", "worse" or "no difference", versus the reference).

    Examples
    --------
    >>> t = pd.DataFrame({"ref": np.arange(10.0), "same": np.arange(10.0),
    ...                   "worse": np.arange(10.0) + np.arange(1, 11)})
    >>> w = wilcoxon_holm(t, "ref")
    >>> w["p"].round(6).tolist(), w["verdict"].tolist()
    ([1.0, 0.001953], ['no difference', 'worse'])
    """
    reference = table.columns[0] if reference is None else reference
    if reference not in table.columns:
        raise ValueError(f"reference {reference!r} is not one of {list(table.columns)}")
    t = _finite(table)
    rows = []
    for col in t.columns:
        if col == reference:
            continue
        d = (t[col] - t[reference]).to_numpy()
        stat, p = _wilcoxon(d)
        wins, losses = int((d < 0).sum()), int((d > 0).sum())
        rows.append({"optimizer": col, "n": d.size, "wins": wins,
                     "ties": d.size - wins - losses, "losses": losses,
                     "median_diff": float(np.median(table[col].astype(float)
                                                    - table[reference].astype(float))),
                     "statistic": stat, "p": p})
    cols = ["optimizer", "n", "wins", "ties", "losses", "median_diff", "statistic", "p"]
    out = pd.DataFrame(rows, columns=cols)
    out["p_holm"] = holm(out["p"]) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    verdict = np.where(out["wins"] > out["losses"], "better", "worse")
    out["verdict"] = np.where(out["significant"], verdict, "no difference")
    out.attrs["reference"] = reference
    return out


def pairwise_wilcoxon_holm(table: pd.DataFrame) -> pd.DataFrame:
    """Every pair of optimizers: two-sided Wilcoxon signed-rank test over the blocks,
    Holm-corrected over all ``k (k - 1) / 2`` pairs.

    Parameters
    ----------
    table : DataFrame
        Blocks x optimizers, lower is better; ``inf`` (crashed) is the worst value.

    Returns
    -------
    DataFrame
        Optimizers x optimizers, the corrected p-values (1 on the diagonal): the matrix
        :func:`hybridlab.study.plots.plot_ranks` draws a critical-difference diagram from
        (pairs with ``p >= alpha`` are joined by a bar).

    Examples
    --------
    >>> t = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) + 0.5,
    ...                   "c": np.arange(10.0) + np.arange(1, 11)})
    >>> pairwise_wilcoxon_holm(t).round(4).loc["a"].tolist()
    [1.0, 0.0059, 0.0059]
    """
    t = _finite(table)
    names = list(t.columns)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    p = [_wilcoxon((t[b] - t[a]).to_numpy())[1] for a, b in pairs]
    out = pd.DataFrame(np.ones((len(names), len(names))), index=names, columns=names)
    for (a, b), ph in zip(pairs, holm(p) if p else [], strict=True):
        out.loc[a, b] = out.loc[b, a] = float(ph)
    return out


def against_baselines(results: pd.DataFrame, baselines: Sequence[str],
                      value: str = "regret", blocks: Sequence[str] = ("task", "seed"),
                      by: str = "budget", alpha: float = 0.05) -> pd.DataFrame:
    """Every method against each baseline, per group ``by`` (e.g. the trial budget):
    paired two-sided Wilcoxon signed-rank test of ``value`` (lower is better) over the
    ``blocks``, Holm-corrected over all the tests of a group.

    A baseline is tested against the baselines listed before it, not the reverse.

    Parameters
    ----------
    results : DataFrame
        Long format: one row per method and block, with columns ``method``, ``by``,
        ``value`` and ``blocks``.
    baselines : sequence of str
        Methods to test against (e.g. ``["tpe", "gp"]``).

    Returns
    -------
    DataFrame
        ``<by>, method, baseline, pairs, wins, losses`` (a win: lower than the baseline),
        ``median_diff, mean_diff`` (method - baseline), ``p, p_holm`` and ``verdict``:
        "better" or "worse" where ``p_holm < alpha`` (by the sign of the median
        difference, or of the mean where the median is 0), "within noise" otherwise.

    Examples
    --------
    >>> r = pd.DataFrame({"task": np.repeat(np.arange(10), 2), "seed": 0, "budget": 20,
    ...                   "method": ["a", "b"] * 10,
    ...                   "regret": np.c_[np.arange(10.0), np.arange(10.0) + 1].ravel()})
    >>> against_baselines(r, ["a"])[["method", "wins", "losses", "verdict"]].values.tolist()
    [['b', 0, 10, 'worse']]
    """
    missing = {"method", value, by, *blocks} - set(results.columns)
    if missing:
        raise ValueError(f"results lacks the columns {sorted(missing)}")
    methods = list(dict.fromkeys(results["method"]))
    unknown = [b for b in baselines if b not in methods]
    if unknown:
        raise ValueError(f"baselines {unknown} are not among the methods {methods}")
    rows = []
    for group, g in results.groupby(by, sort=True):
        table = g.pivot_table(index=list(blocks), columns="method", values=value)
        tests = []
        for j, base in enumerate(baselines):
            for m in methods:
                if m == base or m in baselines[:j] or m not in table:
                    continue
                d = (table[m] - table[base]).dropna().to_numpy()
                tests.append({by: group, "method": m, "baseline": base, "pairs": d.size,
                              "wins": int((d < 0).sum()), "losses": int((d > 0).sum()),
                              "median_diff": float(np.median(d)) if d.size else math.nan,
                              "mean_diff": float(np.mean(d)) if d.size else math.nan,
                              "p": _wilcoxon(d)[1]})
        for t, ph in zip(tests, holm([t["p"] for t in tests]), strict=True):
            sign = t["median_diff"] or t["mean_diff"]
            t["p_holm"] = float(ph)
            t["verdict"] = ("within noise" if not ph < alpha
                            else "better" if sign < 0 else "worse")
            rows.append(t)
    cols = [by, "method", "baseline", "pairs", "wins", "losses", "median_diff",
            "mean_diff", "p", "p_holm", "verdict"]
    return pd.DataFrame(rows, columns=cols)


def bootstrap_median_ci(x: Sequence[float], confidence: float = 0.95,
                        n_resamples: int = 2000, seed: int = 0,
                        method: str = "percentile") -> tuple[float, float]:
    """Bootstrap confidence interval of the median (``scipy.stats.bootstrap``), seeded.

    NaN values are dropped; with fewer than two distinct values the interval is the
    value itself.

    Examples
    --------
    >>> lo, hi = bootstrap_median_ci([1.0, 2.0, 3.0, 4.0, 50.0], seed=1)
    >>> bool(lo <= 3.0 <= hi)
    True
    """
    v = np.asarray(x, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan, math.nan
    if np.unique(v).size < 2:
        return float(v[0]), float(v[0])
    with warnings.catch_warnings():
        # inf values (failed runs) make numpy note inf - inf inside the resampled medians,
        # and BCa on a few points says it cannot be computed (the interval is then NaN)
        warnings.filterwarnings("ignore", message="invalid value encountered",
                                category=RuntimeWarning)
        warnings.filterwarnings("ignore", category=stats.DegenerateDataWarning)
        res = stats.bootstrap((v,), np.median, confidence_level=confidence,
                              n_resamples=n_resamples, method=method, vectorized=True,
                              rng=np.random.default_rng(seed))
    ci = res.confidence_interval
    return float(ci.low), float(ci.high)
