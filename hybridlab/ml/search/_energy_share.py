"""The energy of a batch of candidates, shared among them (``HybridSearchCV(energy=True)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["measured"]


def measured(monitor: Any, kwh: list[float], evaluate: Callable[..., Any],
             params: list[dict[str, Any]], **kw: Any) -> Any:
    """``evaluate(params, **kw)``; with a started
    :class:`~hybridlab.energy.EnergyMonitor` its energy is measured as one codecarbon task
    and appended to ``kwh`` shared among the candidates by their fit + score time (evenly
    when the batch failed)."""
    if monitor is None:
        return evaluate(params, **kw)
    monitor.begin_task()
    results = None
    try:
        results = evaluate(params, **kw)
        return results
    finally:
        total = monitor.end_task()
        n = len(params)
        share = np.full(n, 1.0 / n)
        if results is not None:
            t = (np.asarray(results["mean_fit_time"], float)[-n:]
                 + np.asarray(results["mean_score_time"], float)[-n:])
            if np.isfinite(t).all() and t.sum() > 0:
                share = t / t.sum()
        kwh.extend(total * share)
