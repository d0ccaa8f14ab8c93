"""Search spaces: user values <-> the unit box ``[0, 1]^d``.

Every optimizer in hybridlab searches the unit box; a :class:`Space` translates between
that box and the values a user's objective expects (floats, log-scaled floats, integers,
categories).  Because all optimizers see the same box, populations can be handed from one
to another, which is what makes hybrids simple compositions.

Example
-------
>>> import numpy as np
>>> from hybridlab.space import Space, Real, Integer, Categorical
>>> space = Space({"lr": Real(1e-4, 1e-1, log=True), "layers": Integer(1, 4),
...                "act": Categorical(["relu", "tanh"])})
>>> u = space.encode({"lr": 1e-2, "layers": 3, "act": "tanh"})
>>> space.decode(u)["layers"], space.decode(u)["act"]
(3, 'tanh')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Categorical", "Dimension", "Integer", "Real", "Space", "columns"]


def _check_bounds(kind: str, low: float, high: float, log: bool) -> None:
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{kind}: bounds must be finite, got low={low!r}, high={high!r}")
    if low >= high:
        raise ValueError(
            f"{kind}: low must be < high, got low={low!r}, high={high!r}; swap or widen them"
        )
    if log and low <= 0:
        raise ValueError(
            f"{kind}: log=True needs low > 0, got low={low!r}; use a positive lower bound "
            "or log=False"
        )


@dataclass(frozen=True)
class Real:
    """A real interval ``[low, high]``, uniform or log-uniform (``log=True``)."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_bounds("Real", self.low, self.high, self.log)

    def decode(self, u: np.ndarray) -> np.ndarray:
        """Map unit values to user values (vectorised)."""
        u = np.clip(u, 0.0, 1.0)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return np.clip(np.exp(lo + u * (hi - lo)), self.low, self.high)
        return self.low + u * (self.high - self.low)

    def encode(self, v: Any) -> float:
        """Map one user value to the unit interval."""
        v = float(v)
        if not (self.low <= v <= self.high):
            raise ValueError(f"value {v!r} is outside Real({self.low}, {self.high})")
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return (math.log(v) - lo) / (hi - lo)
        return (v - self.low) / (self.high - self.low)

    def to_python(self, v: Any) -> float:
        return float(v)


@dataclass(frozen=True)
class Integer:
    """Integers ``low..high`` inclusive; each integer owns an equal slice of ``[0, 1]``
    (or an equal slice in log space with ``log=True``)."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        if int(self.low) != self.low or int(self.high) != self.high:
            raise ValueError(
                f"Integer: bounds must be whole numbers, got {self.low!r}, {self.high!r}; "
                "use Real for fractional bounds"
            )
        _check_bounds("Integer", self.low, self.high, self.log)

    def _edges(self) -> tuple[float, float]:
        # Integer k owns [k - 0.5, k + 0.5) (in log space with log=True; low >= 1 then).
        lo, hi = self.low - 0.5, self.high + 0.5
        return (math.log(lo), math.log(hi)) if self.log else (lo, hi)

    def decode(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        lo, hi = self._edges()
        z = lo + u * (hi - lo)
        if self.log:
            z = np.exp(z)
        return np.clip(np.rint(z), self.low, self.high).astype(np.int64)

    def encode(self, v: Any) -> float:
        if int(v) != v or not (self.low <= v <= self.high):
            raise ValueError(f"value {v!r} is not an integer in [{self.low}, {self.high}]")
        lo, hi = self._edges()
        if self.log:  # centre of the integer's slice in log space
            return ((math.log(v - 0.5) + math.log(v + 0.5)) / 2 - lo) / (hi - lo)
        return (v - lo) / (hi - lo)

    def to_python(self, v: Any) -> int:
        return int(v)


@dataclass(frozen=True)
class Categorical:
    """One of ``choices``; each choice owns an equal slice of ``[0, 1]``."""

    choices: tuple

    def __init__(self, choices: Sequence[Any]) -> None:
        choices = tuple(choices)
        if not choices:
            raise ValueError("Categorical: choices is empty; give at least one choice")
        try:
            distinct = len(set(choices)) == len(choices)
        except TypeError:  # unhashable choices: compare pairwise
            distinct = all(a is not b and a != b for i, a in enumerate(choices)
                           for b in choices[i + 1:])
        if not distinct:
            raise ValueError(f"Categorical: choices must be distinct, got {choices!r}")
        object.__setattr__(self, "choices", choices)

    def index(self, u: np.ndarray) -> np.ndarray:
        k = len(self.choices)
        return np.minimum((np.clip(u, 0.0, 1.0) * k).astype(np.int64), k - 1)

    def decode(self, u: np.ndarray) -> np.ndarray:
        out = np.empty(np.shape(u), dtype=object)
        for i, j in np.ndenumerate(self.index(u)):
            out[i] = self.choices[j]
        return out

    def encode(self, v: Any) -> float:
        for i, c in enumerate(self.choices):
            if c is v or c == v:
                return (i + 0.5) / len(self.choices)
        raise ValueError(f"unknown category {v!r}; choose one of {list(self.choices)}")

    def to_python(self, v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.ndim == 0:  # one decoded point: unwrap
            return v.item()
        return v


Dimension = Real | Integer | Categorical


class Space:
    """An ordered mapping of names to dimensions, with encode/decode to the unit box.

    Parameters
    ----------
    dims : mapping of str to Real, Integer or Categorical

    Notes
    -----
    A space whose dimensions are all :class:`Real` is *real*: its points are handed to
    the objective as a 1-d numpy array (in declaration order).  Any other space hands the
    objective a ``dict`` of Python values.

    Example
    -------
    >>> s = Space.box(3, -5.0, 5.0)
    >>> s.decode([0.5, 0.5, 1.0])
    array([0., 0., 5.])
    """

    def __init__(self, dims: Mapping[str, Dimension]) -> None:
        if not isinstance(dims, Mapping):
            raise ValueError("Space needs a dict of name -> Real/Integer/Categorical")
        if not dims:
            raise ValueError("Space is empty: give at least one dimension, e.g. "
                             "Space({'x': Real(0, 1)})")
        for name, d in dims.items():
            if not isinstance(name, str):
                raise ValueError(f"dimension names must be str, got {name!r}")
            if not isinstance(d, Real | Integer | Categorical):
                raise ValueError(
                    f"dimension {name!r} is {d!r}; use Real, Integer or Categorical"
                )
        self.dims: dict[str, Dimension] = dict(dims)
        self.names: list[str] = list(self.dims)
        self.is_real: bool = all(isinstance(d, Real) for d in self.dims.values())
        reals = [d for d in self.dims.values() if isinstance(d, Real)]
        if self.is_real:
            self._lo = np.array([d.low for d in reals])
            self._hi = np.array([d.high for d in reals])
            self._log = np.array([d.log for d in reals])
            self._loglo = np.log(np.where(self._log, self._lo, 1.0))
            self._loghi = np.log(np.where(self._log, self._hi, 1.0))

    @classmethod
    def box(cls, dim: int, low: float | Sequence[float], high: float | Sequence[float],
            prefix: str = "x") -> Space:
        """A real box ``[low, high]^dim`` with names ``x0, x1, ...``."""
        if int(dim) != dim or dim < 1:
            raise ValueError(f"box dim must be a positive integer, got {dim!r}")
        lo = np.broadcast_to(np.asarray(low, float), (dim,))
        hi = np.broadcast_to(np.asarray(high, float), (dim,))
        return cls({f"{prefix}{i}": Real(float(lo[i]), float(hi[i])) for i in range(dim)})

    @property
    def dim(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return self.dim

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {v!r}" for k, v in self.dims.items())
        return f"Space({{{inner}}})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.dims == other.dims

    def __hash__(self) -> int:
        return hash(tuple(self.dims.items()))

    # -- unit box -> user values -------------------------------------------------------
    def decode(self, u: Sequence[float] | np.ndarray) -> np.ndarray | dict[str, Any]:
        """One unit point -> user value (array for real spaces, dict otherwise)."""
        u = np.asarray(u, dtype=float)
        if u.shape != (self.dim,):
            raise ValueError(f"expected a point of shape ({self.dim},), got {u.shape}")
        if self.is_real:
            return self.decode_batch(u[None, :])[0]
        return {n: d.to_python(d.decode(u[i])) for i, (n, d) in enumerate(self.dims.items())}

    def decode_batch(self, U: np.ndarray) -> np.ndarray | list[dict[str, Any]]:
        """``(n, d)`` unit points -> ``(n, d)`` array (real spaces) or list of dicts."""
        U = np.asarray(U, dtype=float)
        if U.ndim != 2 or U.shape[1] != self.dim:
            raise ValueError(f"expected points of shape (n, {self.dim}), got {U.shape}")
        U = np.clip(U, 0.0, 1.0)
        if self.is_real:
            lin = self._lo + U * (self._hi - self._lo)
            if not self._log.any():
                return lin
            logv = np.exp(self._loglo + U * (self._loghi - self._loglo))
            return np.clip(np.where(self._log, logv, lin), self._lo, self._hi)
        cols = [d.decode(U[:, i]) for i, d in enumerate(self.dims.values())]
        dims = list(self.dims.values())
        return [
            {n: dims[j].to_python(cols[j][r]) for j, n in enumerate(self.names)}
            for r in range(U.shape[0])
        ]

    def columns(self, U: np.ndarray) -> dict[str, np.ndarray]:
        """``(n, d)`` unit points -> one column of user values per dimension."""
        U = np.clip(np.asarray(U, dtype=float), 0.0, 1.0)
        if self.is_real:
            V = self.decode_batch(U)
            return {n: V[:, i] for i, n in enumerate(self.names)}
        return {n: d.decode(U[:, i]) for i, (n, d) in enumerate(self.dims.items())}

    # -- user values -> unit box -------------------------------------------------------
    def encode(self, value: Mapping[str, Any] | Sequence[float] | np.ndarray) -> np.ndarray:
        """One user value (dict, or sequence in declaration order) -> unit point."""
        if isinstance(value, Mapping):
            unknown = set(value) - set(self.names)
            if unknown:
                raise ValueError(f"unknown name(s) {sorted(unknown)}; space has {self.names}")
            missing = [n for n in self.names if n not in value]
            if missing:
                raise ValueError(f"missing value(s) for {missing}")
            items = [value[n] for n in self.names]
        else:
            items = list(value)
            if len(items) != self.dim:
                raise ValueError(f"expected {self.dim} values, got {len(items)}")
        return np.array([d.encode(v) for d, v in zip(self.dims.values(), items, strict=True)])

    def encode_batch(self, values: Sequence[Any]) -> np.ndarray:
        return np.array([self.encode(v) for v in values]).reshape(-1, self.dim)

    # -- sampling ----------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` uniform points of the unit box (decode them for user values)."""
        rng = np.random.default_rng(rng)
        return rng.random((n, self.dim))


def columns(records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """A list of ``n`` dicts -> a dict of ``n``-value arrays (the union of their names).

    A name missing from a dict (an inactive conditional parameter) gives ``None`` there.
    A column whose values are all numbers is a numeric array; any other is ``object``.

    Example
    -------
    >>> columns([{"a": 1.5, "b": "x"}, {"a": 2.0}])
    {'a': array([1.5, 2. ]), 'b': array(['x', None], dtype=object)}
    """
    first = records[0].keys() if records else {}.keys()
    if all(r.keys() == first for r in records):  # the common case: one set of names
        return {k: _column([r[k] for r in records]) for k in first}
    names = dict.fromkeys(k for r in records for k in r)
    return {k: _column([r.get(k) for r in records]) for k in names}


_NUMBER = (int, float, np.integer, np.floating)


def _column(values: list[Any]) -> np.ndarray:
    types = set(map(type, values))
    if types <= {int, float} or all(issubclass(t, _NUMBER) for t in types):
        return np.array(values)
    # object dtype, element by element: tuples or lists stay single values
    return np.fromiter(values, dtype=object, count=len(values))
