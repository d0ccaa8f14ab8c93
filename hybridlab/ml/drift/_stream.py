"""A drifting classification stream, generated and seeded, with its drift points known.

Two informative features ``x0, x1`` (plus ``n_noise`` standard-normal noise features)
are labelled by a wavy boundary: after rotating ``(x0, x1)`` by ``theta`` into ``(u0,
u1)``, the label is ``1`` when ``u1 > sin(freq * u0 + chirp * u0 * |u0|)``, and a
fraction ``label_noise`` of the labels is flipped.  The boundary wiggles faster away from
the origin (``chirp``), so *where* the data lies decides how complex the boundary looks.

A stream is a sequence of batches; at each drift point (a batch index in
``drift_points``) it enters the next *regime*, abruptly:

* ``"covariate"``: the feature distribution moves and the labelling function stays --
  ``x0`` is centred on ``0``, then ``+2.5``, then ``-2.5`` (then repeats), where the
  boundary wiggles faster (``chirp``), so a model fitted before the shift extrapolates
  into a region it never saw, and the hyperparameters that suited the old region may no
  longer suit the new one;
* ``"concept"``: the features stay standard normal and the labelling function changes --
  regime 1 swaps the roles of the features (``theta = 90°``) and doubles the
  frequency, regime 2 turns the boundary by 45° and makes it smooth (then repeats);
* ``"none"``: one regime throughout (the no-drift control).

The ground truth is in the returned :class:`DriftStream`: ``drift_points`` (the first
batch of each new regime) and :meth:`DriftStream.regime` (the regime of any batch).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

__all__ = ["STREAM_KINDS", "DriftStream", "drift_stream"]

#: The kinds of drift :func:`drift_stream` generates.
STREAM_KINDS = ("covariate", "concept", "none")

# one dict per regime (cycled when there are more drift points): x0's mean, and the
# boundary's rotation, frequency and chirp
_REGIMES = {
    "covariate": ({"shift": 0.0, "theta": 0.0, "freq": 1.0, "chirp": 0.5},
                  {"shift": 2.5, "theta": 0.0, "freq": 1.0, "chirp": 0.5},
                  {"shift": -2.5, "theta": 0.0, "freq": 1.0, "chirp": 0.5}),
    "concept": ({"shift": 0.0, "theta": 0.0, "freq": 1.0, "chirp": 0.5},
                {"shift": 0.0, "theta": np.pi / 2, "freq": 2.0, "chirp": 0.5},
                {"shift": 0.0, "theta": np.pi / 4, "freq": 0.5, "chirp": 0.0}),
    "none": ({"shift": 0.0, "theta": 0.0, "freq": 1.0, "chirp": 0.5},),
}


@dataclass(frozen=True)
class DriftStream:
    """A generated stream: its batches and the ground truth of its drift.

    Iterating gives ``(X, y, t)`` per batch (``t`` the batch index, from 0); ``len`` is
    the number of batches, ``stream[t]`` one batch.

    Attributes
    ----------
    kind : str
        ``"covariate"``, ``"concept"`` or ``"none"``.
    batches : tuple of (ndarray, ndarray, int)
        ``(X, y, t)``: ``X`` of shape ``(batch_size, 2 + n_noise)``, ``y`` in ``{0, 1}``.
    drift_points : tuple of int
        The first batch of each new regime (empty for ``"none"``).
    regimes : tuple of dict
        The generating parameters of each regime, in order (``shift``, ``theta``,
        ``freq``, ``chirp``).
    seed : int
        What generated the stream.

    Example
    -------
    >>> s = drift_stream("concept", n_batches=6, batch_size=10, drift_at=(3,), seed=0)
    >>> len(s), s.drift_points, [s.regime(t) for t in range(6)]
    (6, (3,), [0, 0, 0, 1, 1, 1])
    """

    kind: str
    batches: tuple[tuple[np.ndarray, np.ndarray, int], ...]
    drift_points: tuple[int, ...]
    regimes: tuple[dict[str, float], ...]
    seed: int

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, t: int) -> tuple[np.ndarray, np.ndarray, int]:
        return self.batches[t]

    def regime(self, t: int) -> int:
        """The regime (0, 1, ...) batch ``t`` was generated in."""
        return int(np.searchsorted(self.drift_points, t, side="right"))


def _label(X: np.ndarray, p: dict[str, float]) -> np.ndarray:
    c, s = np.cos(p["theta"]), np.sin(p["theta"])
    u0 = c * X[:, 0] + s * X[:, 1]
    u1 = -s * X[:, 0] + c * X[:, 1]
    return (u1 > np.sin(p["freq"] * u0 + p["chirp"] * u0 * np.abs(u0))).astype(np.int64)


def _drift_points(kind: str, n_batches: int, drift_at: Any) -> tuple[int, ...]:
    if drift_at is None:
        return () if kind == "none" else (n_batches // 3, 2 * n_batches // 3)
    try:
        points = tuple(int(t) for t in drift_at)
        ok = all(isinstance(t, Integral) and not isinstance(t, bool) for t in drift_at)
    except TypeError:
        raise ValueError(f"drift_at must be a sequence of batch indices such as (10, 20), "
                         f"got {drift_at!r}") from None
    if not ok or list(points) != sorted(set(points)) or \
            any(not 1 <= t < n_batches for t in points):
        raise ValueError(f"drift_at must be increasing, distinct batch indices in 1.."
                         f"{n_batches - 1} (n_batches={n_batches}), got {drift_at!r}")
    if kind == "none" and points:
        raise ValueError(f"kind='none' has no drift: leave drift_at out, got {drift_at!r}")
    return points


def _positive_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def drift_stream(kind: str = "covariate", n_batches: int = 30, batch_size: int = 300,
                 drift_at: Sequence[int] | None = None, *, n_noise: int = 2,
                 label_noise: float = 0.05, seed: int = 0) -> DriftStream:
    """A seeded binary-classification stream with abrupt drift at known batches.

    Parameters
    ----------
    kind : {"covariate", "concept", "none"}
        What drifts: the feature distribution, the labelling function, or nothing (see
        the module docstring for the regimes).
    n_batches : int, default 30
        Number of batches.
    batch_size : int, default 300
        Rows per batch.
    drift_at : sequence of int, optional
        Batch indices where a new regime starts (increasing, in ``1 .. n_batches - 1``).
        Default: ``(n_batches // 3, 2 * n_batches // 3)``, none for ``"none"``.
    n_noise : int, default 2
        Standard-normal features that carry no signal (appended after ``x0, x1``).
    label_noise : float, default 0.05
        Fraction of labels flipped at random, in ``[0, 0.5)``.
    seed : int, default 0
        The same seed gives the same stream.

    Returns
    -------
    DriftStream
        The batches and their ground truth (``drift_points``, ``regime(t)``).

    Example
    -------
    >>> s = drift_stream("covariate", n_batches=4, batch_size=400, drift_at=(2,), seed=1)
    >>> X, y, t = s[3]
    >>> X.shape, t, bool(X[:, 0].mean() > 2), s.drift_points
    ((400, 4), 3, True, (2,))
    """
    if kind not in STREAM_KINDS:
        raise ValueError(f"kind must be one of {STREAM_KINDS}, got {kind!r}")
    n_batches = _positive_int("n_batches", n_batches, 2)
    batch_size = _positive_int("batch_size", batch_size)
    n_noise = _positive_int("n_noise", n_noise, 0)
    if isinstance(label_noise, bool) or not isinstance(label_noise, int | float) \
            or not 0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be a fraction in [0, 0.5), got {label_noise!r}")
    seed = _positive_int("seed", seed, 0)
    points = _drift_points(kind, n_batches, drift_at)
    table = _REGIMES[kind]
    regimes = tuple(dict(table[r % len(table)]) for r in range(len(points) + 1))
    rng = np.random.default_rng(seed)
    batches = []
    for t in range(n_batches):
        p = regimes[int(np.searchsorted(points, t, side="right"))]
        X = rng.normal(size=(batch_size, 2 + n_noise))
        X[:, 0] += p["shift"]
        y = _label(X, p)
        flip = rng.random(batch_size) < label_noise
        batches.append((X, np.where(flip, 1 - y, y), t))
    return DriftStream(kind, tuple(batches), points, regimes, seed)
