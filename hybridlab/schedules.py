"""Parameter schedules and self-adaptation for the optimizers that own the parameter.

A *schedule* is a callable of ``progress`` in ``[0, 1]``, the fraction of the budget used
so far, returning the parameter's value: ``Constant``, ``Linear``, ``Exponential``
(geometric interpolation) and ``Cosine`` (half-cosine annealing).  Any
``f(progress) -> float`` works where a schedule is accepted; these four are small, frozen,
comparable and printable.

>>> from hybridlab.schedules import Linear
>>> w = Linear(0.9, 0.4)            # Shi & Eberhart's decreasing PSO inertia
>>> w(0.0), w(0.5), w(1.0)
(0.9, 0.65, 0.4)

:class:`SuccessRule` is *self-adaptation*: Rechenberg's 1/5th success rule, generalised
to any target rate.  The value it holds is a step size: it grows after a successful
period (success rate above the target) and shrinks after an unsuccessful one.  An
optimizer owning it calls :meth:`SuccessRule.update` once per generation and maps the
step size onto its own parameter (e.g. :class:`~hybridlab.GA` maps it onto the
polynomial-mutation index ``eta_mut``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

__all__ = ["Constant", "Cosine", "Exponential", "Linear", "Schedule", "SuccessRule"]


def _finite(cls: str, **values: object) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            raise ValueError(f"{cls} {name} must be a finite number, got {v!r}")


def _progress(t: float) -> float:
    t = float(t)
    if not 0.0 <= t <= 1.0:  # also rejects NaN
        raise ValueError(f"progress is the fraction of the budget used, in [0, 1]; got {t!r}"
                         " (clip it, or pass n_used / budget)")
    return t


class Schedule:
    """Base of the schedules: a callable ``progress -> value`` with ``progress`` in
    ``[0, 1]``.  Subclasses implement :meth:`_value`; ``start`` and ``end`` are the values
    at progress 0 and 1 (all schedules here are monotone between them)."""

    __slots__ = ()
    start: float
    end: float

    def __call__(self, progress: float) -> float:
        return float(self._value(_progress(progress)))

    def _value(self, t: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Schedule):
    """The same value throughout.

    >>> Constant(20.0)(0.3)
    20.0
    """

    value: float

    def __post_init__(self) -> None:
        _finite("Constant", value=self.value)

    @property
    def start(self) -> float:  # type: ignore[override]
        return float(self.value)

    @property
    def end(self) -> float:  # type: ignore[override]
        return float(self.value)

    def _value(self, t: float) -> float:
        return self.value


@dataclass(frozen=True)
class Linear(Schedule):
    """Straight line from ``start`` (progress 0) to ``end`` (progress 1).

    >>> Linear(0.9, 0.4)
    Linear(start=0.9, end=0.4)
    >>> round(Linear(0.9, 0.4)(0.25), 3)
    0.775
    """

    start: float
    end: float

    def __post_init__(self) -> None:
        _finite("Linear", start=self.start, end=self.end)

    def _value(self, t: float) -> float:
        return (1.0 - t) * self.start + t * self.end  # exact at both ends


@dataclass(frozen=True)
class Exponential(Schedule):
    """Geometric interpolation ``start * (end / start) ** progress`` (both > 0): equal
    *ratios* per unit of progress, the natural schedule for step sizes and learning rates.

    >>> e = Exponential(1.0, 0.01)
    >>> e(0.0), round(e(0.5), 12), e(1.0)
    (1.0, 0.1, 0.01)
    """

    start: float
    end: float

    def __post_init__(self) -> None:
        _finite("Exponential", start=self.start, end=self.end)
        if self.start <= 0 or self.end <= 0:
            raise ValueError(f"Exponential start and end must both be > 0 (it interpolates "
                             f"geometrically), got start={self.start!r}, end={self.end!r}; "
                             "use Linear for values that cross or touch zero")

    def _value(self, t: float) -> float:
        if t == 1.0:  # exact end value despite rounding in the power
            return self.end
        return self.start * (self.end / self.start) ** t


@dataclass(frozen=True)
class Cosine(Schedule):
    """Half-cosine annealing from ``start`` to ``end``: flat at both ends, steepest in the
    middle (as in SGDR's learning-rate schedule, without restarts).

    >>> c = Cosine(1.0, 0.0)
    >>> c(0.0), round(c(0.5), 12), c(1.0)
    (1.0, 0.5, 0.0)
    """

    start: float
    end: float

    def __post_init__(self) -> None:
        _finite("Cosine", start=self.start, end=self.end)

    def _value(self, t: float) -> float:
        a = 0.5 * (1.0 + math.cos(math.pi * t))  # 1 -> 0
        return a * self.start + (1.0 - a) * self.end


class SuccessRule:
    """Step-size self-adaptation by success rate (Rechenberg's 1/5th rule, generalised).

    After each generation the optimizer reports the fraction of successful variations
    (offspring better than their parent): above ``target`` the step size is multiplied by
    ``factor`` (the search is too cautious), below it divided by ``factor`` (too bold),
    at exactly ``target`` left alone.  The value is clipped to ``[lower, upper]``.

    The value is a *step size*: larger means bolder variation.  The defaults suit a step
    measured as a fraction of the unit box (``upper=0.5``: half the box).

    Parameters
    ----------
    initial : float
        Starting step size, ``lower <= initial <= upper``.
    factor : float
        Multiplicative change per update, > 1 (Rechenberg used about 1/0.82 = 1.22 per
        update; 1.5 adapts faster).
    target : float
        Success rate the rule steers towards, in (0, 1) (1/5 in the original rule).
    lower, upper : float
        Clipping range, ``0 < lower <= upper``.

    Example
    -------
    >>> rule = SuccessRule(0.1, factor=2.0)
    >>> rule.update(0.5)                 # many successes: bolder
    0.2
    >>> rule.update(0.0); rule.update(0.0)
    0.1
    0.05
    >>> rule.update(0.2)                 # on target: unchanged
    0.05
    >>> rule.reset().value
    0.1
    >>> SuccessRule(0.4, factor=2.0).update(1.0)   # clipped at upper=0.5
    0.5
    """

    __slots__ = ("_value", "factor", "initial", "lower", "target", "upper")

    def __init__(self, initial: float, factor: float = 1.5, target: float = 0.2,
                 lower: float = 1e-8, upper: float = 0.5) -> None:
        _finite("SuccessRule", initial=initial, factor=factor, target=target, lower=lower,
                upper=upper)
        if factor <= 1.0:
            raise ValueError(f"SuccessRule factor must be > 1 (the step is multiplied by it "
                             f"on success, divided on failure), got {factor!r}")
        if not 0.0 < target < 1.0:
            raise ValueError(f"SuccessRule target is a success rate in (0, 1) (1/5 classic), "
                             f"got {target!r}")
        if not 0.0 < lower <= upper:
            raise ValueError(f"SuccessRule needs 0 < lower <= upper, got lower={lower!r}, "
                             f"upper={upper!r}")
        if not lower <= initial <= upper:
            raise ValueError(f"SuccessRule initial={initial!r} is outside [lower, upper] = "
                             f"[{lower!r}, {upper!r}]: pass lower=/upper= that contain it")
        self.initial = initial
        self.factor = factor
        self.target = target
        self.lower = lower
        self.upper = upper
        self._value = float(initial)

    @property
    def value(self) -> float:
        """The current step size."""
        return self._value

    def update(self, success_rate: float) -> float:
        """Adapt to the success rate of the last period; returns the new value."""
        rate = float(success_rate)
        if not 0.0 <= rate <= 1.0:  # also rejects NaN
            raise ValueError(f"success_rate is a fraction in [0, 1], got {success_rate!r}")
        if rate > self.target:
            self._value *= self.factor
        elif rate < self.target:
            self._value /= self.factor
        self._value = min(max(self._value, float(self.lower)), float(self.upper))
        return self._value

    def reset(self) -> SuccessRule:
        """Back to ``initial`` (an optimizer does this at ``start``); returns ``self``."""
        self._value = float(self.initial)
        return self

    def __repr__(self) -> str:
        return (f"SuccessRule(initial={self.initial!r}, factor={self.factor!r}, "
                f"target={self.target!r}, lower={self.lower!r}, upper={self.upper!r})")
