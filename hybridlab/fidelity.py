"""The fidelity range of an objective: plain data for problems and multi-fidelity search.

An objective that accepts ``fidelity`` (training epochs, a data fraction, ``max_iter``)
declares its range on the problem, ``Problem(f, space, fidelity=(1, 27))``, and is then
called as ``f(x, fidelity=r)``.  The budget of such a problem is counted in **fidelity
units** (e.g. epochs), and every ``Result`` reports both the evaluations and the cost.
A plain optimizer evaluates every point at full fidelity; the optimizer that uses the
range is :class:`hybridlab.hybrid.MultiFidelity` (successive halving inside any
hybrid), and the driver's per-batch helpers are in :mod:`hybridlab.stepping`.

>>> Fidelity.of((1, 27))
Fidelity(low=1.0, high=27.0, resumable=False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Fidelity", "ladder", "per_candidate", "rank_consistent", "rungs"]


@dataclass(frozen=True)
class Fidelity:
    """The fidelity range an objective accepts.

    Parameters
    ----------
    low, high : float
        Cheapest and full fidelity (``0 < low <= high``); the budget is counted in these
        units and the best point is always a full-fidelity one.
    resumable : bool
        The objective continues from its evaluation at a lower fidelity (e.g. a training
        checkpoint), so raising a candidate from ``r`` to ``r'`` costs ``r' - r``.
    """

    low: float
    high: float
    resumable: bool = False

    def __post_init__(self) -> None:
        for v in (self.low, self.high):
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating) \
                    or not math.isfinite(v):
                raise ValueError(f"fidelity bounds must be finite numbers, got {v!r}")
        if not 0 < self.low <= self.high:
            raise ValueError(f"fidelity needs 0 < low <= high, got ({self.low}, {self.high}); "
                             f"e.g. fidelity=(1, 27) epochs")

    @classmethod
    def of(cls, spec: Any) -> Fidelity | None:
        """``None``, a ``Fidelity``, or a ``(low, high)`` pair."""
        if spec is None or isinstance(spec, Fidelity):
            return spec
        try:
            low, high = spec
        except (TypeError, ValueError):
            raise ValueError(f"fidelity must be (low, high) or Fidelity(low, high, resumable), "
                             f"got {spec!r}") from None
        return cls(float(low), float(high))


def rungs(low: float, high: float, eta: float) -> np.ndarray:
    """Fidelities of successive halving: ``low * eta**k`` below ``high``, then ``high``.

    >>> rungs(1, 27, 3).tolist(), rungs(2, 20, 3).tolist()
    ([1.0, 3.0, 9.0, 27.0], [2.0, 6.0, 18.0, 20.0])
    """
    out = [float(low)]
    while out[-1] * eta < high * (1 - 1e-9):
        out.append(out[-1] * eta)
    if out[-1] < high:
        out.append(float(high))
    return np.array(out)


def ladder(low: float, high: float, eta: Any) -> np.ndarray:
    """:func:`rungs` after checking the range and ``eta`` (``ValueError`` naming the fix):
    what a multi-fidelity optimizer builds its rungs with.

    >>> ladder(1, 27, 3).tolist()
    [1.0, 3.0, 9.0, 27.0]
    """
    Fidelity(low, high)  # validates the range
    if isinstance(eta, bool) or not isinstance(eta, int | float) or eta <= 1:
        raise ValueError(f"eta must be a number > 1 (the promotion ratio, e.g. 3), "
                         f"got {eta!r}")
    return rungs(low, high, eta)


def per_candidate(ladder: np.ndarray, eta: float) -> float:
    """Expected fidelity spent per candidate under successive halving (rung ``k`` is
    reached by ``eta**-k`` of them): the budget hint divides by it.

    >>> per_candidate(rungs(1, 27, 3), 3)
    4.0
    """
    return float(np.sum(ladder * float(eta) ** -np.arange(len(ladder))))


def rank_consistent(Y: np.ndarray) -> np.ndarray:
    """Per candidate (column of ``Y``, rungs x candidates, NaN where not reached), the
    value of its highest rung, kept no better than any candidate that went further
    (NaN where it reached none), so that a rank-based and a value-based optimizer see
    the same order.

    >>> rank_consistent(np.array([[0.1, 0.5, 0.2], [np.nan, 0.6, np.nan]])).tolist()
    [0.6, 0.6, 0.6]
    """
    told = np.full(Y.shape[1], np.nan)
    worst_above = -np.inf
    for k in range(Y.shape[0] - 1, -1, -1):
        reached = ~np.isnan(Y[k]) & np.isnan(told)
        told[reached] = np.maximum(Y[k, reached], worst_above)
        if reached.any():
            worst_above = max(worst_above, float(np.max(told[reached])))
    return told
