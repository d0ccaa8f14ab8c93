"""hybridlab: a research workbench for hybrid optimization in machine learning.

Every optimizer speaks ask/tell on the unit box; one driver (:func:`minimize`) owns the
budget, evaluations, failures, seeding and history.

>>> import numpy as np
>>> import hybridlab as hl
>>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(2, -5, 5))
>>> hl.minimize(p, "pso", budget=200, seed=0).n_evals
200
"""

from .config import quick, scaled
from .driver import EvaluationError, Interrupted, Progress, minimize, minimize_async
from .fidelity import Fidelity
from .hybrid import (
    Adaptive,
    AsyncHalving,
    Islands,
    Memetic,
    MultiFidelity,
    Portfolio,
    Sequential,
    SurrogateAssisted,
    Switch,
)
from .optimizers import (
    GA,
    PSO,
    BayesOpt,
    Grid,
    LatinHypercube,
    LocalSearch,
    Optimizer,
    Population,
    RandomSearch,
    TrustRegion,
)
from .presets import default, expensive
from .problem import Problem
from .registry import make, register, resolve
from .result import Result
from .space import Categorical, Integer, Real, Space

__version__ = "0.2.0"

__all__ = [
    "GA",
    "PSO",
    "Adaptive",
    "AsyncHalving",
    "BayesOpt",
    "Categorical",
    "EvaluationError",
    "Fidelity",
    "Grid",
    "Integer",
    "Interrupted",
    "Islands",
    "LatinHypercube",
    "LocalSearch",
    "Memetic",
    "MultiFidelity",
    "Optimizer",
    "Population",
    "Portfolio",
    "Problem",
    "Progress",
    "RandomSearch",
    "Real",
    "Result",
    "Sequential",
    "Space",
    "Study",
    "SurrogateAssisted",
    "Switch",
    "TrustRegion",
    "compare",
    "default",
    "expensive",
    "make",
    "minimize",
    "minimize_async",
    "quick",
    "register",
    "resolve",
    "scaled",
]


def __getattr__(name: str) -> object:
    """``Study`` and ``compare`` load on first use: the study package pulls in matplotlib
    and scipy.stats, a third of ``import hybridlab``'s time, which a plain ``minimize``
    (or a worker process) does not need."""
    if name in ("Study", "compare"):
        from . import study

        return getattr(study, name)
    raise AttributeError(f"module 'hybridlab' has no attribute {name!r}")
