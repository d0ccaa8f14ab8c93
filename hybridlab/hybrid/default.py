"""The recommended hybrid, chosen by ``benchmarks/hybrids.py`` (not by taste)."""

from __future__ import annotations

from ..optimizers import PSO, LocalSearch
from ..optimizers.base import Optimizer
from .sequential import Sequential

__all__ = ["default"]


def default() -> Optimizer:
    """The recommended general-purpose hybrid (provisional until the benchmark has run).

    Example
    -------
    >>> import hybridlab as hl
    >>> hl.default().name
    'pso>>local'
    """
    return Sequential(PSO(), LocalSearch(), split=0.5)
