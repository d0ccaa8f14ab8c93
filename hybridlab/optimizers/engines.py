"""The plain engines by name, and how a nested search builds and runs one.

:class:`~hybridlab.optimizers.BayesOpt` (its ``inner`` search) and
:class:`~hybridlab.hybrid.MultiFidelity` take "an optimizer or a name" but sit below
:mod:`hybridlab.registry`, which knows hybrid specs, peers and registered names: they
accept the names of this table, and objects.  A spec is built by the caller, e.g.
``MultiFidelity(hl.make("ga>>local"), 1, 27)``.

>>> build("local", "inner").name
'local'

:func:`run` is the driver's stepping loop for a cheap vectorised function of the unit
box, without a problem, history or callbacks: :class:`~hybridlab.optimizers.BayesOpt`
maximises its acquisition with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..stepping import FailureRule, checked_ask
from .base import Optimizer, Population
from .baseline import Grid, LatinHypercube, RandomSearch
from .cma import CMA, bipop, ipop
from .ga import GA, ga_np
from .local import LocalSearch, bobyqa, cobyqa
from .pso import PSO

__all__ = ["ENGINES", "build", "run"]

#: short name -> class (or factory) of the plain engines (the registry starts from these
#: and ``bayes``)
ENGINES: dict[str, Callable[..., Optimizer]] = {
    "ga": GA,
    "ga_np": ga_np,
    "pso": PSO,
    "local": LocalSearch,
    "random": RandomSearch,
    "grid": Grid,
    "lhs": LatinHypercube,
    "cma": CMA,
    "ipop": ipop,
    "bipop": bipop,
    "cobyqa": cobyqa,
    "bobyqa": bobyqa,
}


def build(optimizer: Any, what: str) -> Optimizer:
    """A new engine for a name of :data:`ENGINES`, or the optimizer object itself (checked
    to speak ask/tell); ``what`` names the argument in errors."""
    if isinstance(optimizer, str):
        key = optimizer.strip()
        if key in ENGINES:
            return ENGINES[key]()
        raise ValueError(f"{what}={optimizer!r}: here a string can only name a plain engine "
                         f"({', '.join(sorted(ENGINES))}); build anything else first, e.g. "
                         f"{what}=hybridlab.make({optimizer!r})")
    if not all(callable(getattr(optimizer, m, None)) for m in ("start", "ask", "tell")):
        raise ValueError(f"{what} must be an optimizer (start/ask/tell) or one of the names "
                         f"{sorted(ENGINES)}, got {optimizer!r}")
    return optimizer


def run(opt: Optimizer, f: Callable[[np.ndarray], np.ndarray], dim: int, budget: int,
        rng: np.random.Generator, init: np.ndarray | None = None) -> tuple[np.ndarray | None,
                                                                            float]:
    """Minimise a cheap vectorised function of the unit box: the driver's loop without
    a problem, history, executor or callbacks (nested searches use it).

    ``init`` rows are evaluated first and handed to ``opt`` as its starting population;
    the budget is exact; a non-finite value fails its point (told by
    :class:`FailureRule`) and an exception fails the batch.  Returns the best point and
    value (``None, inf`` when every evaluation failed); ``opt`` is closed at the end.

    >>> from hybridlab import PSO
    >>> x, y = run(PSO(), lambda U: ((U - 0.5) ** 2).sum(1), 2, 200,
    ...            np.random.default_rng(0))
    >>> bool(y < 1e-4)
    True
    """
    best: list[Any] = [None, math.inf]
    failures = FailureRule()

    def evaluate(X: np.ndarray) -> np.ndarray:
        try:
            y = np.asarray(f(X), dtype=float).reshape(len(X))
        except Exception:  # failures are data here, as in the driver
            y = np.full(len(X), np.inf)
        ok = np.isfinite(y)
        if ok.any():
            i = int(np.argmin(np.where(ok, y, np.inf)))
            if best[0] is None or y[i] < best[1]:
                best[:] = [X[i].copy(), float(y[i])]
        return failures.fill(y, ok)

    n, start = 0, None
    if init is not None:
        X0 = np.clip(np.asarray(init, dtype=float), 0.0, 1.0)[: max(1, budget)]
        start = Population(X0, evaluate(X0))
        n = len(X0)
    opt.start(dim, rng, start, budget - n)
    try:
        while n < budget:
            X = checked_ask(opt, dim)[: budget - n]
            y = evaluate(X)
            n += len(X)
            opt.tell(X, y)
            if n < budget and opt.stop():
                break
    finally:
        opt.close()
    return best[0], best[1]
