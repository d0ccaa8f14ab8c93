"""Hybrids are optimizers made of optimizers.

=============================  ==============  ========================================
combinator                     spelling        integration style
=============================  ==============  ========================================
``Sequential(a, b, split)``    ``a >> b``      sequential: ``b`` starts from ``a``'s best
``Portfolio(a, b, ...)``       ``a | b``       parallel: budget split, optional racing
``Islands(opt, n, ...)``       ``opt * n``     parallel: islands exchange their best
``Memetic(g, l, ...)``         --              nested: local refinement inside the loop
``Adaptive(a, b, rule=...)``   --              switching: on stagnation, or a bandit
``MultiFidelity(o, lo, hi)``   --              nested: successive halving per population
``AsyncHalving(o, lo, hi)``    --              nested: asynchronous successive halving
``Switch(local, explore)``     --              switching on the measured problem state
``SurrogateAssisted(o, model)``  --            nested: a model screens each population
``Matheuristic(o, solve, idx)``  --            nested: ``o`` searches the discrete
                                               coordinates, ``solve`` (an LP/MILP) the rest
=============================  ==============  ========================================

Each is an :class:`~hybridlab.optimizers.base.Optimizer`, so they nest:
``(GA() >> LocalSearch()) | PSO()``; the string forms (``"ga>>local"``) work wherever a
registry name does (:mod:`hybridlab.registry`).

Importing this package installs the operators ``>>``, ``|`` and ``*`` of
:class:`~hybridlab.optimizers.base.Optimizer` (:data:`~hybridlab.optimizers.base.OPERATORS`):
the base class sits a layer below the combinators and cannot import them.
"""

from ..optimizers.base import OPERATORS
from .adaptive import Adaptive
from .asha import AsyncHalving
from .composite import Composite
from .islands import Islands
from .matheuristic import Matheuristic
from .memetic import Memetic
from .multifidelity import MultiFidelity
from .portfolio import Portfolio, either
from .sequential import Sequential, then
from .surrogate import SurrogateAssisted
from .switch import Switch

__all__ = ["Adaptive", "AsyncHalving", "Composite", "Islands", "Matheuristic", "Memetic",
           "MultiFidelity", "Portfolio", "Sequential", "SurrogateAssisted", "Switch"]

OPERATORS.update({">>": then, "|": either, "*": Islands})
