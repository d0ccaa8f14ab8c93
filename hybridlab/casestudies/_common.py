"""What both case studies share: the packages their reports list, and the 95 % interval."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ENV_PACKAGES", "ci95"]

#: the packages whose versions a case-study report lists
#: (:func:`hybridlab.provenance.environment` of these)
ENV_PACKAGES = ("hybridlab", "numpy", "scipy", "scikit-learn", "torch", "optuna",
                "onnxruntime")


def ci95(values: Any) -> tuple[float, float]:
    """Mean and half-width of the 95 % t-interval (NaN half-width for one value).

    Example
    -------
    >>> m, h = ci95([0.9, 1.0, 1.1])
    >>> round(m, 6), round(h, 4)
    (1.0, 0.2484)
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), math.nan
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1)
                                  / math.sqrt(len(v)))
