"""Hybrids are optimizers made of optimizers.

=============================  ==============  ========================================
combinator                     spelling        integration style
=============================  ==============  ========================================
``Sequential(a, b, split)``    ``a >> b``      sequential: ``b`` starts from ``a``'s best
``Portfolio(a, b, ...)``       ``a | b``       parallel: budget split, optional racing
``Islands(opt, n, ...)``       ``opt * n``     parallel: islands exchange their best
``Memetic(g, l, ...)``         --              nested: local refinement inside the loop
``Adaptive(a, b, rule=...)``   --              switching: on stagnation, or a bandit
=============================  ==============  ========================================

Each is an :class:`~hybridlab.optimizers.base.Optimizer`, so they nest:
``(GA() >> LocalSearch()) | PSO()``; the string forms (``"ga>>local"``) work wherever a
registry name does.
"""

from .adaptive import Adaptive
from .composite import Composite
from .default import default, expensive
from .islands import Islands
from .memetic import Memetic
from .portfolio import Portfolio
from .sequential import Sequential
from .spec import parse

__all__ = ["Adaptive", "Composite", "Islands", "Memetic", "Portfolio", "Sequential", "default",
           "expensive", "parse"]
