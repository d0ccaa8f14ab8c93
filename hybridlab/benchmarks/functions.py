"""Benchmark functions and a BBOB-style suite of shifted, rotated instances.

Every base function is pure, vectorised numpy: ``x`` of shape ``(d,)`` gives a float,
``(n, d)`` gives an ``(n,)`` array.  :data:`FUNCTIONS` holds each one's conventional
domain and known optimum.  :func:`suite` turns them into :class:`Instance` objects that
all search ``[-5, 5]^d``, with a random shift, rotation and value offset, so that studies
can report the gap ``f - f_opt`` as COCO/BBOB do.

Example
-------
>>> import numpy as np
>>> from hybridlab.benchmarks.functions import FUNCTIONS, suite
>>> float(FUNCTIONS["rastrigin"].fn(np.zeros(3)))
0.0
>>> inst = suite(dims=(5,), instances=1, functions=["rastrigin"])[0]
>>> inst.name
'rastrigin-d5-i1'
>>> abs(inst(inst.x_opt) - inst.f_opt) < 1e-8
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ..problem import Problem
from ..space import Space

__all__ = [
    "FUNCTIONS", "FunctionInfo", "Instance", "ackley", "ellipsoid", "griewank", "levy",
    "make_instance", "rastrigin", "rosenbrock", "schwefel", "sphere", "styblinski_tang",
    "suite",
]

# Minimiser and minimum of the 1-d terms (solved to machine precision with brentq).
SCHWEFEL_X = 420.9687463599821          # argmax of x sin(sqrt|x|) on [-500, 500]
SCHWEFEL_C = 418.98288727243374         # its max (the literature rounds it to 418.9829)
STYBLINSKI_X = -2.903534027771177       # argmin of (x^4 - 16 x^2 + 5 x) / 2
STYBLINSKI_F = -39.16616570377141       # its min, per dimension


def _prep(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim not in (1, 2) or x.shape[-1] < 1:
        raise ValueError(f"expected x of shape (d,) or (n, d) with d >= 1, got {x.shape}")
    return x


def _out(y: np.ndarray, x: np.ndarray) -> float | np.ndarray:
    return float(y) if x.ndim == 1 else y


# -- base functions -------------------------------------------------------------------

def sphere(x: np.ndarray) -> float | np.ndarray:
    """Sphere: ``f(x) = sum_i x_i^2``; domain [-5.12, 5.12]^d, x* = 0, f* = 0."""
    x = _prep(x)
    return _out(np.sum(x * x, axis=-1), x)


def ellipsoid(x: np.ndarray) -> float | np.ndarray:
    """Ellipsoid (BBOB f2): ``f(x) = sum_i 10^(6 (i-1)/(d-1)) x_i^2`` (condition 1e6);
    domain [-5, 5]^d, x* = 0, f* = 0."""
    x = _prep(x)
    d = x.shape[-1]
    w = 10.0 ** (6.0 * np.arange(d) / (d - 1)) if d > 1 else np.ones(1)
    return _out(np.sum(w * x * x, axis=-1), x)


def rosenbrock(x: np.ndarray) -> float | np.ndarray:
    """Rosenbrock: ``f(x) = sum_{i<d} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2``;
    domain [-5, 10]^d, x* = 1, f* = 0.  Needs d >= 2 (the sum is empty for d = 1)."""
    x = _prep(x)
    if x.shape[-1] < 2:
        raise ValueError("rosenbrock needs d >= 2 (its sum is empty for d = 1)")
    a, b = x[..., :-1], x[..., 1:]
    return _out(np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2, axis=-1), x)


def rastrigin(x: np.ndarray) -> float | np.ndarray:
    """Rastrigin: ``f(x) = 10 d + sum_i (x_i^2 - 10 cos(2 pi x_i))``;
    domain [-5.12, 5.12]^d, x* = 0, f* = 0."""
    x = _prep(x)
    d = x.shape[-1]
    return _out(10.0 * d + np.sum(x * x - 10.0 * np.cos(2.0 * np.pi * x), axis=-1), x)


def ackley(x: np.ndarray) -> float | np.ndarray:
    """Ackley: ``f(x) = -20 exp(-0.2 sqrt(mean x_i^2)) - exp(mean cos(2 pi x_i)) + 20 + e``;
    domain [-32.768, 32.768]^d, x* = 0, f* = 0."""
    x = _prep(x)
    r = np.sqrt(np.mean(x * x, axis=-1))
    c = np.mean(np.cos(2.0 * np.pi * x), axis=-1)
    return _out(-20.0 * np.exp(-0.2 * r) - np.exp(c) + 20.0 + np.e, x)


def griewank(x: np.ndarray) -> float | np.ndarray:
    """Griewank: ``f(x) = 1 + sum_i x_i^2 / 4000 - prod_i cos(x_i / sqrt(i))``;
    domain [-600, 600]^d, x* = 0, f* = 0."""
    x = _prep(x)
    i = np.sqrt(np.arange(1, x.shape[-1] + 1))
    y = 1.0 + np.sum(x * x, axis=-1) / 4000.0 - np.prod(np.cos(x / i), axis=-1)
    return _out(y, x)


def schwefel(x: np.ndarray) -> float | np.ndarray:
    """Schwefel 2.26: ``f(x) = 418.9829 d - sum_i x_i sin(sqrt|x_i|)``; domain
    [-500, 500]^d, x* = 420.9687, f* = 0 (exact constants here, so f* = 0 to 1e-12).

    The minimum is global on the domain only: outside it the function is unbounded below.
    """
    x = _prep(x)
    d = x.shape[-1]
    return _out(SCHWEFEL_C * d - np.sum(x * np.sin(np.sqrt(np.abs(x))), axis=-1), x)


def levy(x: np.ndarray) -> float | np.ndarray:
    """Levy: with ``w = 1 + (x - 1)/4``, ``f = sin^2(pi w_1) + sum_{i<d} (w_i - 1)^2
    (1 + 10 sin^2(pi w_i + 1)) + (w_d - 1)^2 (1 + sin^2(2 pi w_d))``;
    domain [-10, 10]^d, x* = 1, f* = 0."""
    x = _prep(x)
    w = 1.0 + (x - 1.0) / 4.0
    head = np.sin(np.pi * w[..., 0]) ** 2
    wi = w[..., :-1]
    mid = np.sum((wi - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * wi + 1.0) ** 2), axis=-1)
    wd = w[..., -1]
    tail = (wd - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * wd) ** 2)
    return _out(head + mid + tail, x)


def styblinski_tang(x: np.ndarray) -> float | np.ndarray:
    """Styblinski-Tang: ``f(x) = sum_i (x_i^4 - 16 x_i^2 + 5 x_i) / 2``;
    domain [-5, 5]^d, x* = -2.903534, f* = -39.16617 d."""
    x = _prep(x)
    x2 = x * x
    return _out(0.5 * np.sum(x2 * x2 - 16.0 * x2 + 5.0 * x, axis=-1), x)


# -- metadata -------------------------------------------------------------------------

def _const_point(value: float, d: int) -> np.ndarray:
    return np.full(int(d), float(value))


def _per_dim(value: float, d: int) -> float:
    return float(value) * int(d)


@dataclass(frozen=True)
class FunctionInfo:
    """A base function with its conventional domain and known optimum.

    ``x_opt(d)`` and ``f_opt(d)`` give the minimiser and minimum in dimension ``d``;
    ``min_dim`` is the smallest dimension the definition makes sense for, and
    ``bounded_min`` says the minimum is global on ``domain`` only (instances then clip to
    the domain and add a quadratic penalty outside it, as BBOB does for Schwefel).
    """

    name: str
    fn: Callable[[np.ndarray], float | np.ndarray]
    domain: tuple[float, float]
    x_opt: Callable[[int], np.ndarray]
    f_opt: Callable[[int], float]
    min_dim: int = 1
    bounded_min: bool = False

    @property
    def scale(self) -> float:
        """Units of the domain per unit of an instance's ``[-5, 5]`` box."""
        low, high = self.domain
        return (high - low) / 10.0

    def __call__(self, x: np.ndarray) -> float | np.ndarray:
        return self.fn(x)


_ZERO_X = partial(_const_point, 0.0)
_ONE_X = partial(_const_point, 1.0)
_ZERO_F = partial(_per_dim, 0.0)

FUNCTIONS: dict[str, FunctionInfo] = {
    info.name: info for info in (
        FunctionInfo("sphere", sphere, (-5.12, 5.12), _ZERO_X, _ZERO_F),
        FunctionInfo("ellipsoid", ellipsoid, (-5.0, 5.0), _ZERO_X, _ZERO_F),
        FunctionInfo("rosenbrock", rosenbrock, (-5.0, 10.0), _ONE_X, _ZERO_F, min_dim=2),
        FunctionInfo("rastrigin", rastrigin, (-5.12, 5.12), _ZERO_X, _ZERO_F),
        FunctionInfo("ackley", ackley, (-32.768, 32.768), _ZERO_X, _ZERO_F),
        FunctionInfo("griewank", griewank, (-600.0, 600.0), _ZERO_X, _ZERO_F),
        FunctionInfo("schwefel", schwefel, (-500.0, 500.0),
                     partial(_const_point, SCHWEFEL_X), _ZERO_F, bounded_min=True),
        FunctionInfo("levy", levy, (-10.0, 10.0), _ONE_X, _ZERO_F),
        FunctionInfo("styblinski_tang", styblinski_tang, (-5.0, 5.0),
                     partial(_const_point, STYBLINSKI_X), partial(_per_dim, STYBLINSKI_F)),
    )
}
"""Base functions by name, in a fixed order (the order also seeds :func:`suite`)."""


# -- BBOB-style instances -------------------------------------------------------------

BOX = (-5.0, 5.0)


def _rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation (det +1): QR of a Gaussian matrix, signs fixed."""
    if d == 1:
        return np.eye(1)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Instance:
    """One shifted, rotated, offset copy of a base function, searched on ``[-5, 5]^d``.

    ``f(x) = base(u_opt + scale * R (x - x_opt)) - base_f_opt + f_opt``, where
    ``u_opt`` is the base function's minimiser and ``scale`` maps the box's width to the
    base's conventional domain.  So ``x_opt`` (inside the box) is the global minimiser
    and ``f(x) - f_opt`` is the gap.  Callable on ``(d,)`` -> float or ``(n, d)`` ->
    ``(n,)``; picklable (plain data only), so it can go to a process pool.
    """

    name: str
    function: str
    dim: int
    instance: int
    x_opt: np.ndarray = field(repr=False)
    f_opt: float
    rotation: np.ndarray = field(repr=False)

    @property
    def info(self) -> FunctionInfo:
        return FUNCTIONS[self.function]

    @property
    def space(self) -> Space:
        return Space.box(self.dim, *BOX)

    def __call__(self, x: np.ndarray) -> float | np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim not in (1, 2) or x.shape[-1] != self.dim:
            raise ValueError(f"{self.name}: expected x of shape ({self.dim},) or "
                             f"(n, {self.dim}), got {x.shape}")
        info = self.info
        d = self.dim
        u = info.x_opt(d) + info.scale * ((x - self.x_opt) @ self.rotation.T)
        if info.bounded_min:
            low, high = info.domain
            inside = np.clip(u, low, high)
            y = info.fn(inside) + np.sum((u - inside) ** 2, axis=-1)
        else:
            y = info.fn(u)
        y = np.asarray(y) - info.f_opt(d) + self.f_opt
        return float(y) if x.ndim == 1 else y

    def gap(self, y: float | np.ndarray) -> float | np.ndarray:
        """``y - f_opt``: how far a value is above the known optimum."""
        return y - self.f_opt

    def problem(self, vectorized: bool = True) -> Problem:
        """A :class:`~hybridlab.problem.Problem` over ``[-5, 5]^d`` with this instance
        as its objective (vectorised by default: one call per batch)."""
        return Problem(self, self.space, name=self.name, vectorized=vectorized)


def _function_index(function: str) -> int:
    names = list(FUNCTIONS)
    if function not in FUNCTIONS:
        raise ValueError(f"unknown benchmark function {function!r}; choose from {names}")
    return names.index(function)


def make_instance(function: str, dim: int, instance: int = 1, seed: int = 0) -> Instance:
    """Build one instance; the same ``(function, dim, instance, seed)`` always gives the
    same instance (its generator is seeded by
    ``SeedSequence([seed, function index in FUNCTIONS, dim, instance])``)."""
    idx = _function_index(function)
    info = FUNCTIONS[function]
    if int(dim) != dim or dim < info.min_dim:
        raise ValueError(f"{function} needs an integer dim >= {info.min_dim}, got {dim!r}")
    if int(instance) != instance or instance < 1:
        raise ValueError(f"instance must be an integer >= 1, got {instance!r}")
    dim, instance = int(dim), int(instance)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), idx, dim, instance]))
    x_opt = rng.uniform(-4.0, 4.0, dim)
    f_opt = round(float(rng.uniform(-100.0, 100.0)), 2)
    rotation = _rotation(dim, rng)
    return Instance(name=f"{function}-d{dim}-i{instance}", function=function, dim=dim,
                    instance=instance, x_opt=_frozen(x_opt), f_opt=f_opt,
                    rotation=_frozen(rotation))


def suite(dims: Sequence[int] = (2, 5, 10, 20), instances: int = 3, seed: int = 0,
          functions: Sequence[str] | None = None) -> list[Instance]:
    """BBOB-style instances: every function x every dim x instances ``1..instances``.

    ``functions`` defaults to all of :data:`FUNCTIONS`; a function is skipped in the
    dimensions below its ``min_dim`` (rosenbrock in d = 1).  Instances are numbered from
    1 and seeded per ``(seed, function, dim, instance)``, so a subset of the suite gives
    the same instances as the full one.
    """
    if int(instances) != instances or instances < 1:
        raise ValueError(f"instances must be an integer >= 1, got {instances!r}")
    names = list(FUNCTIONS) if functions is None else list(functions)
    for name in names:
        _function_index(name)
    for d in dims:
        if int(d) != d or d < 1:
            raise ValueError(f"dims must be positive integers, got {d!r}")
    return [make_instance(name, d, i, seed)
            for name in names for d in dims if d >= FUNCTIONS[name].min_dim
            for i in range(1, int(instances) + 1)]
