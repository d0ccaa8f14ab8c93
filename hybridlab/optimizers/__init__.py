"""Optimizers that speak ask/tell on the unit box: the engines and their contract.

The names (``"ga"``, ``"pso"``...) are turned into optimizers by :mod:`hybridlab.registry`
(``hybridlab.make``), which starts from :data:`NAMES`.

>>> sorted(NAMES)  # doctest: +NORMALIZE_WHITESPACE
['bayes', 'bipop', 'bobyqa', 'cma', 'cobyqa', 'ga', 'ga_np', 'grid', 'ipop', 'lhs',
 'local', 'pso', 'random', 'trust_region']
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Optimizer, OptimizerProtocol, Population
from .baseline import Grid, LatinHypercube, RandomSearch
from .bayes import BayesOpt
from .cma import CMA
from .engines import ENGINES
from .ga import GA
from .local import LocalSearch
from .pso import PSO
from .trust_region import TrustRegion

__all__ = [
    "CMA",
    "ENGINES",
    "GA",
    "NAMES",
    "PSO",
    "BayesOpt",
    "Grid",
    "LatinHypercube",
    "LocalSearch",
    "Optimizer",
    "OptimizerProtocol",
    "Population",
    "RandomSearch",
    "TrustRegion",
]

#: short name -> class of every engine of this package: :data:`ENGINES`, ``"bayes"``
#: (which nests them, so it is not one of them) and ``"trust_region"`` (which shares
#: ``bayes``' acquisition)
NAMES: dict[str, Callable[..., Optimizer]] = {**ENGINES, "bayes": BayesOpt,
                                              "trust_region": TrustRegion}
