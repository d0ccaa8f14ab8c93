"""Constrained test problems with known optima, and repair functions for them.
Over 400 lines: a catalogue of six problems, each with its constraints, repair and record.

Each factory returns a :class:`~hybridlab.Problem` (minimisation, ``g(x) <= 0`` feasible)
whose constraints are module-level functions with descriptive names, so that
``Result.violations`` says which constraint failed and the problems pickle for process
pools.  Each has a :class:`ConstrainedBenchmark` record with its best known value, a
minimiser and the literature it comes from; :data:`CONSTRAINED` maps a key to
``(factory, record)`` for loops over all of them.  Report ``gap = (y - f*) / |f*|``.

=====================  ==============  ===============================================
key                    f*              x* (rounded); references
=====================  ==============  ===============================================
g06                    -6961.81387558  (14.095, 0.84296); Floudas & Pardalos; CEC 2006
g08                    -0.0958250414   (1.2279713, 4.2453733); CEC 2006
g11                    0.75            (±1/√2, 1/2); CEC 2006
pressure_vessel        5885.3328       (0.77817, 0.38465, 40.3196, 200); Sandgren 1990,
                                       Kannan & Kramer 1994 (f*: Dimopoulos 2007)
pressure_vessel_mixed  6059.714335     (0.8125, 0.4375, 42.098446, 176.636596); Coello &
                                       Mezura-Montes 2002, He & Wang 2007
welded_beam            1.724852        (0.205730, 3.470489, 9.036624, 0.205730); Rao,
                                       Deb 1991; Coello 2000, Ragsdell & Phillips 1976
=====================  ==============  ===============================================

g06 and the welded beam (``P = 6000``, ``L = 14``) have 2 and 7 inequalities.  g08 is a
maximisation turned into minimisation.  g11 has one equality ``x1 - x0^2 = 0``, handled
with a tolerance (1e-4 in CEC 2006): its optimum is then ``0.75 - tol`` (0.7499), 0.75 for
the exact equality.  The pressure vessel's continuous relaxation searches
``0 <= Ts, Th <= 99`` and ``10 <= R, L <= 200``; its mixed-integer form searches plate
counts ``ts, th`` in 1..99 (thickness ``0.0625 * count`` inches) in a dict space.

``f_opt`` is the literature value above.  ``x_opt`` is given to full precision where the
active constraints fix it (g06, both pressure vessels), so that it is feasible up to
rounding error (1e-9 of the constraint's scale); each record's docstring says how its
``f(x_opt)`` compares with ``f_opt``.

Example
-------
>>> from hybridlab.benchmarks.constrained import CONSTRAINED
>>> for key, (make, bench) in CONSTRAINED.items():
...     p = make()
...     print(f"{key:22}{bench.f_opt:16.10g}{p.objective(bench.x_opt):16.10g}"
...           f"{len(p.constraints):3}")
g06                       -6961.813876    -6961.813876  2
g08                      -0.0958250414  -0.09582504142  2
g11                               0.75            0.75  1
pressure_vessel              5885.3328     5885.332774  4
pressure_vessel_mixed      6059.714335     6059.714335  4
welded_beam                   1.724852     1.724855674  7
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ..constraints import equality
from ..problem import Problem
from ..space import Integer, Real, Space

__all__ = [
    "CONSTRAINED", "G06", "G08", "G11", "PRESSURE_VESSEL", "PRESSURE_VESSEL_MIXED",
    "WELDED_BEAM", "ConstrainedBenchmark", "g06", "g06_inside_circle_2", "g06_objective",
    "g06_outside_circle_1", "g06_repair", "g08", "g08_above_parabola", "g08_objective",
    "g08_right_of_parabola", "g11", "g11_objective", "g11_on_parabola", "pressure_vessel",
    "pressure_vessel_cost", "pressure_vessel_head_thickness", "pressure_vessel_length",
    "pressure_vessel_mixed_repair", "pressure_vessel_repair",
    "pressure_vessel_shell_thickness", "pressure_vessel_volume", "welded_beam",
    "welded_beam_bending_stress", "welded_beam_buckling", "welded_beam_cost",
    "welded_beam_cost_limit", "welded_beam_deflection", "welded_beam_min_weld",
    "welded_beam_shear_stress", "welded_beam_weld_thinner_than_bar",
]


@dataclass(frozen=True)
class ConstrainedBenchmark:
    """What is known about one constrained problem.

    Attributes
    ----------
    name : str
        The name of the :class:`~hybridlab.Problem` the factory builds (what
        ``Result.problem`` shows).
    f_opt : float
        Best known objective value, as the literature gives it (rounded there).
    x_opt : tuple of float, or dict
        A minimiser in the problem's user space (a dict for the mixed-integer pressure
        vessel: treat it as read-only).  Its objective value matches ``f_opt`` to the
        literature's rounding.
    reference : str
        Where the problem and its optimum come from.
    """

    name: str
    f_opt: float
    x_opt: tuple[float, ...] | Mapping[str, float]
    reference: str


# -- g06 ----------------------------------------------------------------------------------

def g06_objective(x: np.ndarray) -> float:
    """g06 objective: ``(x0 - 10)^3 + (x1 - 20)^3``."""
    return (x[0] - 10) ** 3 + (x[1] - 20) ** 3


def g06_outside_circle_1(x: np.ndarray) -> float:
    """``100 - (x0 - 5)^2 - (x1 - 5)^2 <= 0``: outside the circle of radius 10 at (5, 5)."""
    return 100 - (x[0] - 5) ** 2 - (x[1] - 5) ** 2


def g06_inside_circle_2(x: np.ndarray) -> float:
    """``(x0 - 6)^2 + (x1 - 5)^2 - 82.81 <= 0``: inside the circle of radius 9.1 at (6, 5)."""
    return (x[0] - 6) ** 2 + (x[1] - 5) ** 2 - 82.81


def g06(handler: Any = None) -> Problem:
    """g06: a cubic over the thin crescent between two circles, on ``[13, 100] x [0, 100]``.

    The feasible set is a sliver (about 0.0066 % of the box); the optimum is its lower tip,
    where both constraints are active.

    Parameters
    ----------
    handler : constraint handler, optional
        From :mod:`hybridlab.constraints`; the :class:`~hybridlab.Problem` default (a static
        penalty) when None.  :func:`g06_repair` suits :class:`~hybridlab.constraints.Repair`.

    Returns
    -------
    Problem
        Named ``"g06"``; constraints :func:`g06_outside_circle_1`,
        :func:`g06_inside_circle_2`.  Known optimum: :data:`G06`.

    Example
    -------
    >>> from hybridlab import minimize
    >>> from hybridlab.constraints import Repair
    >>> p = g06()
    >>> p.constraint_names
    ['g06_outside_circle_1', 'g06_inside_circle_2']
    >>> round(p.objective(G06.x_opt), 6)
    -6961.813876
    >>> r = minimize(g06(Repair(g06_repair)), "pso", budget=5000, seed=0)
    >>> bool(r.feasible), abs(r.y - G06.f_opt) / abs(G06.f_opt) < 1e-9
    (True, True)
    """
    return Problem(g06_objective, Space.box(2, [13, 0], [100, 100]),
                   constraints=[g06_outside_circle_1, g06_inside_circle_2], name="g06",
                   handler=handler)


def g06_repair(x: np.ndarray) -> np.ndarray:
    """Alternate radial projections out of circle 1 and into circle 2 (three rounds).

    A *partial* repair: it never increases the violation and keeps feasible points, but
    from far away it drifts towards the crescent's tips (where the optimum is) without
    always reaching the feasible set.  Projecting into circle 2 can leave the box
    (``x0 < 13``); :class:`~hybridlab.constraints.Repair` clips the result back.
    """
    x = np.asarray(x, dtype=float)
    for _ in range(3):
        for centre, radius, outside in (((5, 5), 10.0, True), ((6, 5), 9.1, False)):
            d = x - centre
            r = float(np.hypot(*d))
            if (r < radius) if outside else (r > radius):
                x = centre + d * radius / max(r, 1e-12)
    return x


# -- g08 ----------------------------------------------------------------------------------

def g08_objective(x: np.ndarray) -> float:
    """g08 objective: ``-sin(2 pi x0)^3 sin(2 pi x1) / (x0^3 (x0 + x1))``.

    ``x0 = 0`` raises ZeroDivisionError: the driver records a failed evaluation.
    """
    x0, x1 = float(x[0]), float(x[1])
    return -math.sin(2 * math.pi * x0) ** 3 * math.sin(2 * math.pi * x1) / (x0**3 * (x0 + x1))


def g08_above_parabola(x: np.ndarray) -> float:
    """``x0^2 - x1 + 1 <= 0``."""
    return x[0] ** 2 - x[1] + 1


def g08_right_of_parabola(x: np.ndarray) -> float:
    """``1 - x0 + (x1 - 4)^2 <= 0``."""
    return 1 - x[0] + (x[1] - 4) ** 2


def g08(handler: Any = None) -> Problem:
    """g08: a rugged ratio of sines on ``[0, 10]^2`` (a maximisation, negated).

    Returns a :class:`~hybridlab.Problem` named ``"g08"`` with constraints
    :func:`g08_above_parabola`, :func:`g08_right_of_parabola`; known optimum :data:`G08`
    (in the interior of the feasible set: no constraint is active).  ``handler`` as in
    :func:`g06`.
    """
    return Problem(g08_objective, Space.box(2, 0, 10), name="g08", handler=handler,
                   constraints=[g08_above_parabola, g08_right_of_parabola])


# -- g11 ----------------------------------------------------------------------------------

def g11_objective(x: np.ndarray) -> float:
    """g11 objective: ``x0^2 + (x1 - 1)^2``."""
    return x[0] ** 2 + (x[1] - 1) ** 2


def g11_on_parabola(x: np.ndarray) -> float:
    """The equality ``h(x) = x1 - x0^2 = 0``."""
    return x[1] - x[0] ** 2


def g11(handler: Any = None, tol: float = 1e-4) -> Problem:
    """g11: a quadratic on the parabola ``x1 = x0^2``, on ``[-1, 1]^2``.

    Parameters
    ----------
    handler : constraint handler, optional
        As in :func:`g06`.
    tol : float
        The equality becomes ``|x1 - x0^2| - tol <= 0`` (see
        :func:`hybridlab.constraints.equality`).  The optimum is ``0.75 - tol`` (0.7499
        for the CEC 2006 tolerance 1e-4); :data:`G11` records the exact-equality 0.75.

    Returns
    -------
    Problem
        Named ``"g11"``; one constraint, named ``g11_on_parabola``.
    """
    return Problem(g11_objective, Space.box(2, -1, 1), name="g11",
                   constraints=[equality(g11_on_parabola, tol=tol)], handler=handler)


# -- pressure vessel ----------------------------------------------------------------------

_PLATE = 0.0625  # inches: thicknesses of the mixed-integer form are multiples of this


def pressure_vessel_cost(x: Any) -> float:
    """Material, forming and welding cost of ``x = (Ts, Th, R, L)``: shell and head
    thickness, inner radius, length of the cylindrical section (inches)."""
    ts, th, r, length = x
    return (0.6224 * ts * r * length + 1.7781 * th * r**2 + 3.1661 * ts**2 * length
            + 19.84 * ts**2 * r)


def pressure_vessel_shell_thickness(x: Any) -> float:
    """``-Ts + 0.0193 R <= 0``: the shell is thick enough for the pressure."""
    return -x[0] + 0.0193 * x[2]


def pressure_vessel_head_thickness(x: Any) -> float:
    """``-Th + 0.00954 R <= 0``: the heads are thick enough."""
    return -x[1] + 0.00954 * x[2]


def pressure_vessel_volume(x: Any) -> float:
    """``-pi R^2 L - 4/3 pi R^3 + 1296000 <= 0``: it holds at least 750 ft^3."""
    return -math.pi * x[2] ** 2 * x[3] - 4 / 3 * math.pi * x[2] ** 3 + 1296000


def pressure_vessel_length(x: Any) -> float:
    """``L - 240 <= 0`` (inactive inside the bounds ``L <= 200``)."""
    return x[3] - 240


_PV_CONSTRAINTS = (pressure_vessel_shell_thickness, pressure_vessel_head_thickness,
                   pressure_vessel_volume, pressure_vessel_length)


def _plates(v: Mapping[str, Any]) -> list[float]:
    """A mixed-integer value ``{ts, th, r, length}`` as ``(Ts, Th, R, L)`` in inches."""
    return [_PLATE * v["ts"], _PLATE * v["th"], v["r"], v["length"]]


class _OnPlates:
    """A pressure-vessel function of ``(Ts, Th, R, L)`` applied to a mixed-integer value
    (a picklable wrapper that keeps the function's name)."""

    def __init__(self, fn: Callable[[Any], float]) -> None:
        self.fn, self.__name__ = fn, fn.__name__

    def __call__(self, v: Mapping[str, Any]) -> float:
        return self.fn(_plates(v))

    def __repr__(self) -> str:
        return f"on_plates({self.__name__})"


def pressure_vessel(handler: Any = None, mixed_integer: bool = False) -> Problem:
    """Pressure vessel design (Sandgren 1990): the cheapest cylindrical vessel with
    hemispherical heads that holds 750 ft^3.

    Parameters
    ----------
    handler : constraint handler, optional
        As in :func:`g06`.  :func:`pressure_vessel_repair` (continuous) and
        :func:`pressure_vessel_mixed_repair` (mixed-integer) suit
        :class:`~hybridlab.constraints.Repair`.
    mixed_integer : bool
        False: the continuous relaxation, a box ``(Ts, Th, R, L)`` with
        ``0 <= Ts, Th <= 99`` and ``10 <= R, L <= 200``; known optimum
        :data:`PRESSURE_VESSEL`.  True: a dict space ``{"ts", "th"}`` = plate counts
        :class:`~hybridlab.Integer` 1..99 (thickness ``0.0625 * count``), ``{"r",
        "length"}`` :class:`~hybridlab.Real` in [10, 200]; known optimum
        :data:`PRESSURE_VESSEL_MIXED`.

    Returns
    -------
    Problem
        Named ``"pressure vessel"`` or ``"pressure vessel (mixed)"``, with constraints
        ``pressure_vessel_shell_thickness``, ``..._head_thickness``, ``..._volume`` and
        ``..._length`` (the objective is :func:`pressure_vessel_cost`).

    Example
    -------
    >>> from hybridlab import minimize
    >>> from hybridlab.constraints import Repair
    >>> p = pressure_vessel()
    >>> round(p.objective(PRESSURE_VESSEL.x_opt), 4)
    5885.3328
    >>> q = pressure_vessel(mixed_integer=True)
    >>> round(q.objective({"ts": 13, "th": 7, "r": 42.0984456, "length": 176.6365958}), 4)
    6059.7143
    >>> r = minimize(pressure_vessel(Repair(pressure_vessel_repair, lamarckian=False)), "ga",
    ...              budget=5000, seed=0)
    >>> bool(r.feasible), (r.y - PRESSURE_VESSEL.f_opt) / PRESSURE_VESSEL.f_opt < 1e-3
    (True, True)
    """
    if not mixed_integer:
        return Problem(pressure_vessel_cost, Space.box(4, [0, 0, 10, 10], [99, 99, 200, 200]),
                       constraints=_PV_CONSTRAINTS, name="pressure vessel", handler=handler)
    space = {"ts": Integer(1, 99), "th": Integer(1, 99), "r": Real(10, 200),
             "length": Real(10, 200)}
    return Problem(_OnPlates(pressure_vessel_cost), space,
                   constraints=[_OnPlates(g) for g in _PV_CONSTRAINTS],
                   name="pressure vessel (mixed)", handler=handler)


def _min_length(r: float) -> float:
    """The length at which the volume constraint is active, for radius ``r``."""
    return (1296000 - 4 / 3 * math.pi * r**3) / (math.pi * r**2)


def pressure_vessel_repair(x: np.ndarray) -> np.ndarray:
    """The nearest point satisfying the thickness and volume constraints for the given
    radius: raise ``Ts``, ``Th`` to their minimum and lengthen to the least volume.

    Returns a new array (``x`` is left alone).  Feasible up to rounding (the volume
    constraint to about 1e-9) and within the bounds when ``R >= 40.3196...``; for smaller
    radii the needed length exceeds 200 (:class:`~hybridlab.constraints.Repair` clips it,
    leaving the volume constraint violated).
    """
    x = np.array(x, dtype=float)
    x[0], x[1] = max(x[0], 0.0193 * x[2]), max(x[1], 0.00954 * x[2])
    x[3] = max(x[3], _min_length(x[2]))
    return x


def pressure_vessel_mixed_repair(v: Mapping[str, Any]) -> dict[str, Any]:
    """Round the plate counts up to the next ones thick enough; lengthen to the least
    volume.  For the mixed-integer :func:`pressure_vessel`.

    Returns a new dict (``v`` is left alone).  Feasible and within bounds under the same
    condition on the radius as :func:`pressure_vessel_repair`.
    """
    v = dict(v)
    v["ts"] = max(v["ts"], math.ceil(0.0193 * v["r"] / _PLATE))
    v["th"] = max(v["th"], math.ceil(0.00954 * v["r"] / _PLATE))
    v["length"] = max(v["length"], _min_length(v["r"]))
    return v


# -- welded beam ----------------------------------------------------------------------------

_LOAD, _LEVER, _E, _G = 6000.0, 14.0, 30e6, 12e6  # lb, in, psi, psi


def welded_beam_cost(x: Any) -> float:
    """Fabrication cost of ``x = (h, l, t, b)``: weld thickness and length, bar height and
    width (inches)."""
    h, length, t, b = x
    return 1.10471 * h * h * length + 0.04811 * t * b * (14 + length)


def _shear_stress(x: Any) -> float:
    h, length, t, _ = x
    p, lever = _LOAD, _LEVER
    tau1 = p / (math.sqrt(2) * h * length)
    r = math.sqrt(length**2 / 4 + ((h + t) / 2) ** 2)
    j = 2 * math.sqrt(2) * h * length * (length**2 / 12 + ((h + t) / 2) ** 2)
    tau2 = p * (lever + length / 2) * r / j
    return math.sqrt(tau1**2 + tau1 * tau2 * length / r + tau2**2)


def _buckling_load(x: Any) -> float:
    e, g = _E, _G
    t, b = x[2], x[3]
    return 4.013 * e * math.sqrt(t**2 * b**6 / 36) / 14**2 * (1 - t / 28 * math.sqrt(e / (4 * g)))


def welded_beam_shear_stress(x: Any) -> float:
    """``tau(x) - 13600 <= 0``: shear stress in the weld (psi)."""
    return _shear_stress(x) - 13600


def welded_beam_bending_stress(x: Any) -> float:
    """``6 P L / (b t^2) - 30000 <= 0``: bending stress in the bar (psi)."""
    return 6 * 6000 * 14 / (x[3] * x[2] ** 2) - 30000


def welded_beam_weld_thinner_than_bar(x: Any) -> float:
    """``h - b <= 0``: the weld is no thicker than the bar is wide."""
    return x[0] - x[3]


def welded_beam_cost_limit(x: Any) -> float:
    """``0.10471 h^2 + 0.04811 t b (14 + l) - 5 <= 0``."""
    return 0.10471 * x[0] ** 2 + 0.04811 * x[2] * x[3] * (14 + x[1]) - 5


def welded_beam_min_weld(x: Any) -> float:
    """``0.125 - h <= 0``: the weld is at least 1/8 inch."""
    return 0.125 - x[0]


def welded_beam_deflection(x: Any) -> float:
    """``4 P L^3 / (E t^3 b) - 0.25 <= 0``: end deflection (inches)."""
    return 4 * 6000 * 14**3 / (30e6 * x[2] ** 3 * x[3]) - 0.25


def welded_beam_buckling(x: Any) -> float:
    """``P - Pc(x) <= 0``: the load stays below the bar's buckling load."""
    return 6000 - _buckling_load(x)


_WB_CONSTRAINTS = (welded_beam_shear_stress, welded_beam_bending_stress,
                   welded_beam_weld_thinner_than_bar, welded_beam_cost_limit,
                   welded_beam_min_weld, welded_beam_deflection, welded_beam_buckling)


def welded_beam(handler: Any = None) -> Problem:
    """Welded beam design (Rao; Deb 1991): the cheapest weld and bar that carry
    ``P = 6000`` lb at ``L = 14`` in, with seven constraints.

    Returns a :class:`~hybridlab.Problem` named ``"welded beam"`` on the box
    ``[0.1, 2] x [0.1, 10] x [0.1, 10] x [0.1, 2]`` for ``(h, l, t, b)``; constraints in
    Deb's order: ``welded_beam_shear_stress``, ``..._bending_stress``,
    ``..._weld_thinner_than_bar``, ``..._cost_limit``, ``..._min_weld``,
    ``..._deflection``, ``..._buckling``.  Known optimum :data:`WELDED_BEAM`.  ``handler``
    as in :func:`g06`.
    """
    return Problem(welded_beam_cost, Space.box(4, [0.1, 0.1, 0.1, 0.1], [2, 10, 10, 2]),
                   constraints=_WB_CONSTRAINTS, name="welded beam", handler=handler)


# -- known optima ---------------------------------------------------------------------------

_R_PV = 40.319618724098724  # pi R^2 200 + 4/3 pi R^3 = 1296000 (brentq, to machine precision)
_R_PV_MIXED = 0.8125 / 0.0193  # 13 plates of shell are just thick enough

G06 = ConstrainedBenchmark(
    "g06", -6961.81387558, (14.095, 0.8429607892154796), "Floudas & Pardalos; CEC 2006")
"""g06: x* to the CEC 2006 report's precision (both constraints active, to 1e-14)."""

G08 = ConstrainedBenchmark(
    "g08", -0.0958250414, (1.2279713526075260, 4.2453733661227489), "CEC 2006")
"""g08: an interior optimum (both constraints strictly satisfied)."""

G11 = ConstrainedBenchmark("g11", 0.75, (1 / math.sqrt(2), 0.5), "CEC 2006")
"""g11 with the exact equality: f* = 0.75 at (±1/√2, 1/2); 0.7499 with tol 1e-4."""

PRESSURE_VESSEL = ConstrainedBenchmark(
    "pressure vessel", 5885.3328, (0.0193 * _R_PV, 0.00954 * _R_PV, _R_PV, 200.0),
    "Sandgren 1990; Kannan & Kramer 1994; continuous optimum: Dimopoulos 2007")
"""Continuous pressure vessel: thickness and volume constraints active at ``L = 200``;
the literature's (0.7781686, 0.3846492, 40.3196187, 200) is this rounded (rounding
violates the shell constraint by 4e-8).  f(x_opt) = 5885.332774."""

PRESSURE_VESSEL_MIXED = ConstrainedBenchmark(
    "pressure vessel (mixed)", 6059.714335,
    {"ts": 13, "th": 7, "r": _R_PV_MIXED, "length": _min_length(_R_PV_MIXED)},
    "Sandgren 1990; Kannan & Kramer 1994; Coello & Mezura-Montes 2002; He & Wang 2007")
"""Mixed-integer pressure vessel: Ts = 0.8125, Th = 0.4375 (13 and 7 plates), shell and
volume constraints active: R = 42.0984456, L = 176.6365958."""

WELDED_BEAM = ConstrainedBenchmark(
    "welded beam", 1.724852, (0.205730, 3.470489, 9.036624, 0.205730),
    "Rao; Deb 1991; Coello 2000; Ragsdell & Phillips 1976")
"""Welded beam: the literature's 6-digit point, feasible (``h = b`` exactly, the other six
strictly), f(x_opt) = 1.7248557 (2e-6 above f*; the unrounded minimiser gives
1.7248523)."""

CONSTRAINED: dict[str, tuple[Callable[..., Problem], ConstrainedBenchmark]] = {
    "g06": (g06, G06),
    "g08": (g08, G08),
    "g11": (g11, G11),
    "pressure_vessel": (pressure_vessel, PRESSURE_VESSEL),
    "pressure_vessel_mixed": (partial(pressure_vessel, mixed_integer=True),
                              PRESSURE_VESSEL_MIXED),
    "welded_beam": (welded_beam, WELDED_BEAM),
}
"""Key -> ``(factory, record)``; each factory takes ``handler`` (default None)."""
