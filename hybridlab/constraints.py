"""Constraint handling: how violations ``max(0, g(x))`` turn into the fitness an
optimizer is told.  Handling is a choice of the problem, not of the optimizer.

A handler has ``reset(budget)`` (called at the start of a run) and
``fitness(y, violation, ok) -> ndarray``, called once per evaluated batch, where
``violation`` is each point's total violation and ``ok`` marks evaluations that succeeded.
A handler may also have ``prepare(X, values, space) -> (X_eval, values_eval, X_tell)``,
called before evaluation (repair: evaluate a repaired point, and tell the optimizer either
the repaired point -- Lamarckian -- or the original one).

Example
-------
>>> import numpy as np
>>> from hybridlab import Problem, Space, minimize
>>> from hybridlab.constraints import Penalty
>>> p = Problem(lambda x: float(x.sum()), Space.box(2, 0, 1),
...             constraints=[lambda x: 0.5 - x[0]])          # x0 >= 0.5
>>> p.handler = Penalty(weight=100.0)   # or Problem(..., handler=Penalty(100.0))
>>> r = minimize(p, "ga", budget=400, seed=0)
>>> bool(r.feasible), round(float(r.x[0]), 1)
(True, 0.5)
"""

from __future__ import annotations

import numpy as np

__all__ = ["Penalty"]


class Penalty:
    """Static penalty: ``fitness = y + weight * total_violation``.

    Parameters
    ----------
    weight : float
        Multiplier of the total violation; choose it large against the objective's
        scale so that infeasible points never look better than feasible ones.
    """

    def __init__(self, weight: float = 1e6) -> None:
        if not weight > 0:
            raise ValueError(f"Penalty weight must be > 0, got {weight!r}")
        self.weight = float(weight)

    def reset(self, budget: int | None = None) -> None:
        """Nothing to forget for a static penalty."""

    def fitness(self, y: np.ndarray, violation: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return np.where(ok, y + self.weight * violation, np.inf)

    def __repr__(self) -> str:
        return f"Penalty(weight={self.weight:g})"
