"""Gradient-based HPO at a random-search budget: restarts of a hypergradient classifier.

:func:`hypergradient_search` samples starting ``(lr, alpha)`` log-uniformly and trains one
:class:`~hybridlab.ml.search.HypergradientClassifier` per trial, during which both follow
their hypergradients (the update rules are described in its docstring).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils.validation import check_X_y

from ._hypergrad import HypergradientClassifier, _is_int, _is_real

__all__ = ["hypergradient_search"]


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi)))) if hi > lo else float(lo)


def _check_range(bounds: object, name: str) -> tuple[float, float]:
    try:
        lo, hi = bounds  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair, got {bounds!r}") from None
    if not (_is_real(lo) and _is_real(hi) and 0 < lo <= hi):
        raise ValueError(f"{name} is sampled log-uniformly and needs 0 < low <= high, "
                         f"got {bounds!r}")
    return float(lo), float(hi)


def hypergradient_search(
    X: Any,
    y: Any,
    n_trials: int = 20,
    *,
    cv: Any = None,
    lr_range: tuple[float, float] = (1e-4, 1.0),
    alpha_range: tuple[float, float] = (1e-6, 1e-1),
    seed: int = 0,
    test_size: float = 0.25,
    **estimator_params: Any,
) -> pd.DataFrame:
    """Gradient-based HPO at a random-search budget: restarts of :class:`HypergradientClassifier`.

    Trial ``k`` samples a starting ``(lr0, alpha0)`` log-uniformly from the ranges, trains
    **one** :class:`HypergradientClassifier` from it (per CV fold), during which lr and alpha
    follow their hypergradients, and scores it.  One trial therefore costs one training run,
    like a trial of random search with the same ``epochs``, so best-so-far curves of the two
    can be laid side by side.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs, already scaled (the classifier does not scale).
    y : array-like of shape (n_samples,)
        Class labels.
    n_trials : int, default 20
        Number of restarts (training runs).
    cv : None, int, or CV splitter, default None
        ``None``: one stratified hold-out split (``test_size``, seeded by ``seed``), the same
        for all trials.  Otherwise anything :func:`sklearn.model_selection.check_cv` takes;
        the score is then the mean fold accuracy and a trial costs one run per fold.
    lr_range, alpha_range : (float, float)
        Log-uniform sampling ranges of the initial learning rate and L2 strength.
    seed : int, default 0
        Seeds the sampling, the hold-out split and (unless ``random_state`` is given in
        ``estimator_params``) each trial's estimator.
    test_size : float, default 0.25
        Hold-out fraction when ``cv is None``.
    **estimator_params
        Other :class:`HypergradientClassifier` parameters (``epochs``, ``hidden``,
        ``hyper_lr``, ...); ``lr`` and ``alpha`` are sampled and may not be given.

    Returns
    -------
    pandas.DataFrame
        One row per trial: ``trial, lr0, alpha0, lr_final, alpha_final, score, seconds,
        best_so_far``.  ``score`` is the accuracy on the held-out part (mean over folds);
        ``lr_final``/``alpha_final`` are the adapted values the kept weights were trained with
        (geometric mean over folds); ``seconds`` is the wall time of the trial;
        ``best_so_far`` is the running maximum of ``score``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_digits(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> df = hypergradient_search(X, y, n_trials=3, epochs=5, seed=0)
    >>> list(df.columns)
    ['trial', 'lr0', 'alpha0', 'lr_final', 'alpha_final', 'score', 'seconds', 'best_so_far']
    >>> bool(df.best_so_far.is_monotonic_increasing)
    True
    """
    if not _is_int(n_trials) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
    lr_range = _check_range(lr_range, "lr_range")
    alpha_range = _check_range(alpha_range, "alpha_range")
    fixed = sorted({"lr", "alpha"} & estimator_params.keys())
    if fixed:
        raise ValueError(f"{', '.join(fixed)} are sampled from lr_range/alpha_range; pass a "
                         "one-point range (e.g. lr_range=(0.01, 0.01)) to fix them")
    base = HypergradientClassifier(**estimator_params)  # unknown names raise TypeError here
    X, y = check_X_y(X, y, dtype=None)
    if cv is None:
        if not _is_real(test_size) or not 0 < test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
        idx = np.arange(len(y))
        try:
            tr, te = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
        except ValueError:
            tr, te = train_test_split(idx, test_size=test_size, random_state=seed)
        splits = [(tr, te)]
    else:
        splits = list(check_cv(cv, y, classifier=True).split(X, y))

    rng = np.random.default_rng(seed)
    rows = []
    best = -math.inf
    for trial in range(n_trials):
        lr0 = _log_uniform(rng, lr_range)
        alpha0 = _log_uniform(rng, alpha_range)
        run_seed = int(rng.integers(2**31 - 1))
        t0 = time.perf_counter()
        scores, lrs, alphas = [], [], []
        for tr, te in splits:
            est = clone(base).set_params(lr=lr0, alpha=alpha0)
            if "random_state" not in estimator_params:
                est.set_params(random_state=run_seed)
            est.fit(X[tr], y[tr])
            scores.append(est.score(X[te], y[te]))
            lrs.append(est.lr_)
            alphas.append(est.alpha_)
        seconds = time.perf_counter() - t0
        score = float(np.mean(scores))
        best = max(best, score)
        rows.append({
            "trial": trial,
            "lr0": lr0,
            "alpha0": alpha0,
            "lr_final": float(np.exp(np.mean(np.log(lrs)))),
            "alpha_final": float(np.exp(np.mean(np.log(alphas)))) if min(alphas) > 0 else 0.0,
            "score": score,
            "seconds": seconds,
            "best_so_far": best,
        })
    return pd.DataFrame(rows)
