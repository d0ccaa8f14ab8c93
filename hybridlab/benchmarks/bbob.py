"""COCO's real BBOB suite (24 noiseless functions) as :class:`~hybridlab.problem.Problem`\\ s.

The functions come from COCO itself (PyPI ``coco-experiment``, module ``cocoex``; the
optional extra ``hybridlab[bbob]``): :func:`bbob_problem` wraps one ``(function,
dimension, instance)`` of COCO's ``bbob`` suite, searched on COCO's box ``[-5, 5]^D``,
with its known optimum ``f_opt`` and minimiser ``x_opt`` as attributes, so that
:func:`hybridlab.study.compare` measures runs by the gap ``f - f_opt`` exactly as COCO
does (and its default targets ``10^2 .. 10^-8`` are COCO's).  :func:`bbob_suite` builds
many at once; :data:`BBOB_GROUPS` holds COCO's five function groups.

The objective (:class:`BBOBFunction`) is plain data ``(function, dimension, instance)``:
it builds COCO's C object on its first call in each process and drops it when pickled,
so the problems go to a ``ProcessPoolExecutor`` as they are.  A batch ``(n, D)`` is
scored by one call into COCO's C code (the problems are vectorised).

Example
-------
>>> from hybridlab.benchmarks.bbob import bbob_problem
>>> p = bbob_problem(3, 5, 1)      # separable Rastrigin, 5-D, instance 1
>>> p.name, p.group, p.f_opt
('bbob_f03_i01_d05', 'separable', -462.09)
>>> float(p.objective(p.x_opt)) == p.f_opt
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..problem import Problem
from ..space import Space

__all__ = [
    "BBOB_DIMENSIONS", "BBOB_FUNCTIONS", "BBOB_GROUPS", "BBOB_GROUP_TITLES", "BBOBFunction",
    "BBOBProblem", "bbob_group", "bbob_name", "bbob_problem", "bbob_suite",
]

#: the function numbers 1..24 of COCO's ``bbob`` suite and their usual names
BBOB_FUNCTIONS: dict[int, str] = {
    1: "sphere", 2: "ellipsoid separable", 3: "rastrigin separable",
    4: "bueche-rastrigin", 5: "linear slope", 6: "attractive sector",
    7: "step ellipsoid", 8: "rosenbrock original", 9: "rosenbrock rotated",
    10: "ellipsoid", 11: "discus", 12: "bent cigar", 13: "sharp ridge",
    14: "different powers", 15: "rastrigin", 16: "weierstrass", 17: "schaffer f7",
    18: "schaffer f7 ill-conditioned", 19: "griewank-rosenbrock f8f2",
    20: "schwefel x sin(x)", 21: "gallagher 101 peaks", 22: "gallagher 21 peaks",
    23: "katsuura", 24: "lunacek bi-rastrigin",
}

#: COCO's five function groups, short key -> function numbers
BBOB_GROUPS: dict[str, tuple[int, ...]] = {
    "separable": (1, 2, 3, 4, 5),
    "moderate": (6, 7, 8, 9),
    "ill-conditioned": (10, 11, 12, 13, 14),
    "multimodal": (15, 16, 17, 18, 19),
    "weak-structure": (20, 21, 22, 23, 24),
}

#: the groups' titles as COCO writes them
BBOB_GROUP_TITLES: dict[str, str] = {
    "separable": "separable functions (f1-f5)",
    "moderate": "functions with low or moderate conditioning (f6-f9)",
    "ill-conditioned": "functions with high conditioning and unimodal (f10-f14)",
    "multimodal": "multi-modal functions with adequate global structure (f15-f19)",
    "weak-structure": "multi-modal functions with weak global structure (f20-f24)",
}

#: the dimensions of COCO's ``bbob`` suite (any dimension >= 2 works here)
BBOB_DIMENSIONS = (2, 3, 5, 10, 20, 40)

BOX = (-5.0, 5.0)


def _check(function: int, dimension: int, instance: int) -> tuple[int, int, int]:
    """Validate before calling COCO: a bad triple makes its C code end the process."""
    vals = []
    for name, v, low in (("function", function, 1), ("dimension", dimension, 2),
                         ("instance", instance, 1)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
            raise ValueError(f"BBOB {name} must be an integer >= {low}, got {v!r}")
        vals.append(int(v))
    if vals[0] > 24:
        raise ValueError(f"BBOB function must be 1..24, got {function!r}")
    return vals[0], vals[1], vals[2]


def _cocoex() -> Any:
    try:
        import cocoex
    except ImportError as exc:  # an optional extra
        raise ImportError("the BBOB suite needs COCO: pip install 'hybridlab[bbob]' "
                          "(PyPI coco-experiment)") from exc
    return cocoex


def bbob_name(function: int, dimension: int, instance: int) -> str:
    """The problem's name, e.g. ``bbob_f03_i01_d05``.

    >>> bbob_name(24, 20, 15)
    'bbob_f24_i15_d20'
    """
    return f"bbob_f{function:02d}_i{instance:02d}_d{dimension:02d}"


def bbob_group(function: int) -> str:
    """The short key in :data:`BBOB_GROUPS` of a function number.

    >>> bbob_group(12)
    'ill-conditioned'
    """
    for key, members in BBOB_GROUPS.items():
        if function in members:
            return key
    raise ValueError(f"BBOB function must be 1..24, got {function!r}")


class BBOBFunction:
    """One BBOB function as a vectorised objective: ``(D,)`` -> float, ``(n, D)`` -> ``(n,)``.

    Holds ``(function, dimension, instance)`` only; COCO's C object is built on the first
    call in each process (about 10 microseconds) and left out when pickled.

    >>> import numpy as np
    >>> f = BBOBFunction(1, 2, 1)
    >>> f(np.zeros((3, 2))).shape, f.f_opt
    ((3,), 79.48)
    """

    def __init__(self, function: int, dimension: int, instance: int) -> None:
        self.function, self.dimension, self.instance = _check(function, dimension, instance)
        self._coco: Any = None

    def _problem(self) -> Any:
        if self._coco is None:
            self._coco = _cocoex().BareProblem("bbob", self.function, self.dimension,
                                               self.instance)
        return self._coco

    def __call__(self, x: np.ndarray) -> float | np.ndarray:
        x = np.ascontiguousarray(x, dtype=float)
        if x.ndim not in (1, 2) or x.shape[-1] != self.dimension:
            raise ValueError(f"{self!r}: expected x of shape ({self.dimension},) or "
                             f"(n, {self.dimension}), got {x.shape}")
        y = self._problem()(x)
        return float(y) if x.ndim == 1 else np.asarray(y, dtype=float)

    @property
    def f_opt(self) -> float:
        """COCO's optimal value of this instance."""
        return float(self._problem().best_value())

    @property
    def x_opt(self) -> np.ndarray:
        """COCO's minimiser of this instance (inside ``[-5, 5]^D``)."""
        return np.array(self._problem().best_parameter(), dtype=float)

    def __getstate__(self) -> dict[str, Any]:
        return {"function": self.function, "dimension": self.dimension,
                "instance": self.instance}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._coco = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BBOBFunction) and self.__getstate__() == other.__getstate__()

    def __hash__(self) -> int:
        return hash((self.function, self.dimension, self.instance))

    def __repr__(self) -> str:
        return f"BBOBFunction({self.function}, {self.dimension}, {self.instance})"


class BBOBProblem(Problem):
    """A :class:`~hybridlab.problem.Problem` for one BBOB ``(function, dimension,
    instance)`` on ``[-5, 5]^D``, vectorised, with COCO's known optimum.

    Attributes
    ----------
    function, dimension, instance : int
    f_opt : float
        COCO's optimal value: :func:`hybridlab.study.compare` reports ``f - f_opt``.
    x_opt : ndarray
        COCO's minimiser (read-only).
    group : str
        The key of the function's group in :data:`BBOB_GROUPS`.
    """

    def __init__(self, function: int, dimension: int, instance: int) -> None:
        fn = BBOBFunction(function, dimension, instance)
        super().__init__(fn, Space.box(fn.dimension, *BOX), vectorized=True,
                         name=bbob_name(fn.function, fn.dimension, fn.instance))
        self.function, self.dimension, self.instance = fn.function, fn.dimension, fn.instance
        self.f_opt = fn.f_opt
        x_opt = fn.x_opt
        x_opt.setflags(write=False)
        self.x_opt = x_opt
        self.group = bbob_group(fn.function)

    def gap(self, y: float | np.ndarray) -> float | np.ndarray:
        """``y - f_opt``: COCO's precision of a value."""
        return y - self.f_opt

    def __repr__(self) -> str:
        return f"BBOBProblem({self.function}, {self.dimension}, {self.instance})"


def bbob_problem(function: int, dimension: int, instance: int) -> BBOBProblem:
    """COCO's ``bbob`` function ``function`` (1..24) in ``dimension`` (>= 2) dimensions,
    instance ``instance`` (>= 1; COCO's 2009-2023 campaigns used 1..15), as a Problem.

    Raises
    ------
    ValueError
        For a function outside 1..24, a dimension below 2 or an instance below 1.
    ImportError
        Without ``coco-experiment`` installed.

    Examples
    --------
    >>> p = bbob_problem(8, 2, 1)
    >>> p.name, p.space.dim, p.group
    ('bbob_f08_i01_d02', 2, 'moderate')
    """
    return BBOBProblem(function, dimension, instance)


def bbob_suite(functions: Iterable[int] = range(1, 25),
               dimensions: Iterable[int] = (2, 3, 5, 10, 20),
               instances: Iterable[int] = range(1, 6)) -> dict[str, BBOBProblem]:
    """Every ``function x dimension x instance`` as a dict name -> :class:`BBOBProblem`,
    in that nesting order, ready for :func:`hybridlab.study.compare`.

    Examples
    --------
    >>> list(bbob_suite(functions=[1, 15], dimensions=[2], instances=[1, 2]))
    ['bbob_f01_i01_d02', 'bbob_f01_i02_d02', 'bbob_f15_i01_d02', 'bbob_f15_i02_d02']
    """
    functions, dimensions, instances = list(functions), list(dimensions), list(instances)
    for f in functions:
        for d in dimensions:
            for i in instances:
                _check(f, d, i)  # all before any is built
    problems = (BBOBProblem(f, d, i) for f in functions for d in dimensions for i in instances)
    return {p.name: p for p in problems}
