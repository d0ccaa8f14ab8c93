"""Drift detectors: a two-sample test on the features, and a test for a drop in accuracy.

Both have one small interface, so :func:`~hybridlab.ml.drift.reoptimize_stream` takes
either:

* ``reset(X, y=None, y_pred=None)`` -- start again from this reference (returns self);
* ``update(X, y=None, y_pred=None) -> bool`` -- test the newest batch against the
  reference: ``True`` means drift (the caller resets after reacting);
* ``pvalue_`` -- the p-value of the last update (``nan`` when it made no test).

:class:`FeatureDriftDetector` needs no labels: a Kolmogorov-Smirnov two-sample test
(:func:`scipy.stats.ks_2samp`) per feature, reference window against the current batch,
with a multiple-testing correction.  :class:`AccuracyDropDetector` needs labels and the
model's predictions: a one-sided exact binomial test (:func:`scipy.stats.binomtest`) of
the batch's accuracy against the reference accuracy minus a tolerated drop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

__all__ = ["AccuracyDropDetector", "FeatureDriftDetector"]

_CORRECTIONS = ("bonferroni", "fdr_bh")


def _alpha(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a probability in (0, 1) such as 0.01, got {alpha!r}")
    return float(alpha)


def _matrix(X: Any, what: str) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"{what} must be a 2-D array of at least 2 rows (samples x "
                         f"features), got shape {X.shape}")
    return X


class FeatureDriftDetector:
    """Covariate drift: a KS two-sample test per feature, reference vs current batch.

    The batch is flagged when any feature's corrected p-value is below ``alpha``.

    Parameters
    ----------
    alpha : float, default 0.001
        The per-batch false-alarm rate allowed when nothing drifted.  Chosen on
        no-drift streams of seeds 100-119 (27 tests each): 0.01 gave 4 false alarms in
        540 tests, 0.001 none, and both flagged every covariate drift of seeds 100-102
        on the batch it began.
    correction : {"bonferroni", "fdr_bh"}, default "bonferroni"
        ``"bonferroni"`` multiplies each p-value by the number of features: the chance
        of a false alarm on a batch without drift is at most ``alpha``, whatever the
        dependence between features (Holm's step-down rejects *some* feature exactly
        when Bonferroni does, so it would flag the same batches).  ``"fdr_bh"`` adjusts
        them by Benjamini-Hochberg (:func:`scipy.stats.false_discovery_control`): when
        nothing drifted it too flags a batch with probability at most ``alpha``
        (independent or positively dependent features), and it is more powerful when
        several features move.

    Notes
    -----
    The reference stays fixed until the next :meth:`reset`, so the tests of successive
    batches share it and are correlated; on a stream of ``n`` batches without drift the
    expected number of false alarms is about ``alpha * n``, and the alarms cluster on
    a few streams (those whose reference happened to be unusual).  Measured on 100
    no-drift streams of :func:`~hybridlab.ml.drift.drift_stream` (seeds 200-299, 27
    batches of 300 rows each tested against a 900-row reference, reset after an
    alarm): 0.0019 false alarms per batch at ``alpha=0.001`` (5 of 2700, on 3
    streams) and 0.0119 at ``alpha=0.01`` (32, on 17 streams; ``"fdr_bh"`` the same).
    The KS test assumes continuous features (ties make it conservative).

    Attributes
    ----------
    pvalue_ : float
        The smallest corrected p-value of the last update.
    pvalues_ : ndarray
        The corrected p-value of each feature at the last update.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> d = FeatureDriftDetector().reset(rng.normal(size=(300, 3)))
    >>> d.update(rng.normal(size=(300, 3))), d.update(rng.normal(size=(300, 3)) + [1, 0, 0])
    (False, True)
    """

    def __init__(self, alpha: float = 0.001, correction: str = "bonferroni") -> None:
        self.alpha = _alpha(alpha)
        if correction not in _CORRECTIONS:
            raise ValueError(f"correction must be one of {_CORRECTIONS}, got {correction!r}")
        self.correction = correction
        self._reference: np.ndarray | None = None
        self.pvalue_ = float("nan")
        self.pvalues_ = np.empty(0)

    def reset(self, X: Any, y: Any = None, y_pred: Any = None) -> FeatureDriftDetector:
        """Take ``X`` (samples x features) as the reference window; labels are unused."""
        self._reference = _matrix(X, "the reference X")
        return self

    def update(self, X: Any, y: Any = None, y_pred: Any = None) -> bool:
        """Test the batch ``X`` against the reference; ``True`` when drift is detected."""
        if self._reference is None:
            raise ValueError("call reset(X_reference) before update()")
        X = _matrix(X, "X")
        d = self._reference.shape[1]
        if X.shape[1] != d:
            raise ValueError(f"X has {X.shape[1]} features, the reference {d}")
        p = np.array([stats.ks_2samp(self._reference[:, j], X[:, j]).pvalue
                      for j in range(d)])
        if self.correction == "bonferroni":
            p = np.minimum(p * d, 1.0)
        else:
            p = stats.false_discovery_control(p, method="bh")
        self.pvalues_, self.pvalue_ = p, float(p.min())
        return bool(self.pvalue_ < self.alpha)


class AccuracyDropDetector:
    """Performance drift: the batch's accuracy fell more than ``threshold`` below the
    reference accuracy (one-sided exact binomial test).

    With ``k`` correct predictions out of ``n`` on the newest labelled batch and a
    reference accuracy ``a``, the batch is flagged when ``binomtest(k, n, a - threshold,
    alternative="less")`` gives a p-value below ``alpha``.  The reference ``a`` is the
    pooled accuracy of the batches since the last :meth:`reset` (or of the ``y,
    y_pred`` given to it): a batch that is not flagged joins it.

    Parameters
    ----------
    threshold : float, default 0.05
        The drop in accuracy tolerated (0.05 = 5 points).  Chosen with ``alpha`` on
        seeds 100-102 of :func:`~hybridlab.ml.drift.drift_stream` under
        :func:`~hybridlab.ml.drift.reoptimize_stream`: against 0.1 and ``alpha=0.001``
        it flagged the most true drifts, and no setting flagged a no-drift stream.
    alpha : float, default 0.01
        The per-batch false-alarm rate when the accuracy has not dropped by more than
        ``threshold``, taking the reference accuracy as exact; with the reference
        estimated from a few batches the rate can be somewhat higher (see Notes).

    Notes
    -----
    Measured false alarms (100 no-drift streams, seeds 200-299, 27 batches of 300 rows
    each, a fixed SVC, reference from the batches seen): none in 2700 tests with the
    defaults -- a stable accuracy lies ``threshold`` above the tested value, which
    makes the test conservative -- and 0.0148 per batch (40 of 2700) with
    ``threshold=0`` and ``alpha=0.01``, above ``alpha`` because the reference is an
    estimate.

    A reset without labels leaves the reference empty: the first update after it only
    records its batch's accuracy (it never flags).  Labels are needed: ``update``
    without ``y`` and ``y_pred`` raises ``ValueError``.

    Attributes
    ----------
    pvalue_ : float
        The p-value of the last update (``nan`` when it only built the reference).
    reference_accuracy_ : float
        The pooled reference accuracy (``nan`` while there is none).

    Example
    -------
    >>> import numpy as np
    >>> y = np.tile([0, 1], 100)
    >>> d = AccuracyDropDetector(threshold=0.05).reset(None, y, y)  # reference: 100 %
    >>> wrong = y.copy(); wrong[:40] = 1 - wrong[:40]               # 80 % correct
    >>> d.update(None, y, y), d.update(None, y, wrong)
    (False, True)
    """

    def __init__(self, threshold: float = 0.05, alpha: float = 0.01) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
                or not 0 <= threshold < 1:
            raise ValueError(f"threshold must be an accuracy drop in [0, 1) such as 0.05, "
                             f"got {threshold!r}")
        self.threshold = float(threshold)
        self.alpha = _alpha(alpha)
        self._correct, self._seen = 0, 0
        self.pvalue_ = float("nan")

    @property
    def reference_accuracy_(self) -> float:
        return self._correct / self._seen if self._seen else float("nan")

    @staticmethod
    def _hits(y: Any, y_pred: Any) -> tuple[int, int]:
        if y is None or y_pred is None:
            raise ValueError("AccuracyDropDetector needs labels: pass y and y_pred (the "
                             "model's predictions of the batch)")
        y, y_pred = np.asarray(y).ravel(), np.asarray(y_pred).ravel()
        if len(y) != len(y_pred) or len(y) == 0:
            raise ValueError(f"y and y_pred must be non-empty and of one length, got "
                             f"{len(y)} and {len(y_pred)}")
        return int(np.sum(y == y_pred)), len(y)

    def reset(self, X: Any = None, y: Any = None,
              y_pred: Any = None) -> AccuracyDropDetector:
        """Start a new reference: from ``y, y_pred`` when given, else from the next
        update's batch (``X`` is unused)."""
        self._correct, self._seen = self._hits(y, y_pred) if y is not None \
            or y_pred is not None else (0, 0)
        return self

    def update(self, X: Any = None, y: Any = None, y_pred: Any = None) -> bool:
        """Test the batch's accuracy against the reference; ``True`` when it dropped."""
        k, n = self._hits(y, y_pred)
        if self._seen == 0:
            self._correct, self._seen, self.pvalue_ = k, n, float("nan")
            return False
        target = max(self.reference_accuracy_ - self.threshold, 0.0)
        self.pvalue_ = float(stats.binomtest(k, n, target, alternative="less").pvalue) \
            if target > 0 else 1.0
        fired = self.pvalue_ < self.alpha
        if not fired:
            self._correct, self._seen = self._correct + k, self._seen + n
        return bool(fired)
