"""Optimizers that speak ask/tell on the unit box, and the registry of their names.

>>> from hybridlab.optimizers import make
>>> make("ga").name
'ga'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .base import Optimizer, OptimizerProtocol, Population
from .baseline import Grid, LatinHypercube, RandomSearch
from .bayes import BayesOpt
from .ga import GA
from .local import LocalSearch
from .pso import PSO

__all__ = [
    "GA",
    "PSO",
    "REGISTRY",
    "BayesOpt",
    "Grid",
    "LatinHypercube",
    "LocalSearch",
    "Optimizer",
    "OptimizerProtocol",
    "Population",
    "RandomSearch",
    "make",
    "register",
]

#: short name -> factory (a class or any callable returning an Optimizer)
REGISTRY: dict[str, Callable[..., Any]] = {
    "ga": GA,
    "pso": PSO,
    "local": LocalSearch,
    "random": RandomSearch,
    "grid": Grid,
    "lhs": LatinHypercube,
    "bayes": BayesOpt,
}


def register(name: str, factory: Callable[..., Any]) -> None:
    """Make ``factory`` available under ``name`` (in the CLI, studies and specs)."""
    if not name.isidentifier():
        raise ValueError(f"optimizer names must be identifiers, got {name!r}")
    REGISTRY[name] = factory


#: names registered by hybridlab.peers.register_peers (optional extras), on first use
_PEERS = frozenset({"cmaes", "ipop_cmaes", "ngopt", "ng_cma", "ng_de", "optuna_tpe",
                    "optuna_cmaes"})


def make(spec: str, **kwargs: Any) -> Optimizer:
    """Build an optimizer from a registry name or a hybrid spec.

    >>> make("pso", n_particles=30).n_particles
    30
    >>> make("(ga >> local) | pso").name
    'ga>>local|pso'
    """
    if not isinstance(spec, str):
        raise ValueError(f"optimizer spec must be a string, got {spec!r}")
    key = spec.strip()
    if key in ("default", "expensive") and key not in REGISTRY:
        from ..hybrid import default, expensive

        return default() if key == "default" else expensive()
    if key not in REGISTRY and not _PEERS.isdisjoint(re.findall(r"\w+", key)):
        from ..peers import register_peers

        register_peers()
    if key in REGISTRY:
        return REGISTRY[key](**kwargs)
    if key.isidentifier():
        raise ValueError(f"unknown optimizer {spec!r}; choose one of {sorted(REGISTRY)}, "
                         "a hybrid spec such as 'ga>>local', or register your own with "
                         "hybridlab.optimizers.register")
    if kwargs:
        raise ValueError("keyword arguments only apply to a plain registry name; write them "
                         "inside the spec, e.g. 'pso(n_particles=20)>>local'")
    from ..hybrid.spec import parse

    return parse(key)
