"""The pieces of the one stepping loop: ask, label, evaluate, fill failures, tell.

:func:`hybridlab.minimize` drives an optimizer with these, and so does every other loop
of the package: the Optuna sampler and the Ray Tune searcher of
:mod:`hybridlab.integrations` (which hand the points out one trial at a time), the
nested searches (:func:`hybridlab.optimizers.engines.run`, e.g. the acquisition search
of :class:`~hybridlab.optimizers.BayesOpt`) and the combinators that label their
children's points.  One rule each, in one place:

* :func:`checked_ask` -- an ``ask()`` as ``(n >= 1, dim)`` finite points in the box;
* :func:`phase_labels` -- one history label per asked point;
* :func:`encode_init` -- a warm start's user points as unit rows;
* :class:`FailureRule` -- failures are told the worst finite value seen (``+inf``
  before any);
* :func:`checked_fidelity`, :func:`batch_fidelity` -- the fidelity and cost of a batch.

This module sits below the optimizers (it imports none of them): it relies only on the
contract, :class:`hybridlab.optimizers.base.OptimizerProtocol`.

>>> import numpy as np
>>> rule = FailureRule()
>>> rule.fill(np.array([1.0, np.nan, 3.0])).tolist()
[1.0, 3.0, 3.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .fidelity import Fidelity

__all__ = ["FailureRule", "batch_fidelity", "checked_ask", "checked_fidelity", "encode_init",
           "phase_labels"]


def checked_ask(opt: Any, dim: int) -> np.ndarray:
    """``opt.ask()`` as a ``(n >= 1, dim)`` array clipped to the unit box (one point may
    come as a ``(dim,)`` vector); ``RuntimeError`` for any other shape or a non-finite
    point.

    >>> from hybridlab import RandomSearch
    >>> opt = RandomSearch(batch_size=3)
    >>> opt.start(2, np.random.default_rng(0))
    >>> checked_ask(opt, 2).shape
    (3, 2)
    """
    X = np.asarray(opt.ask(), dtype=float)
    if X.ndim == 1 and X.shape[0] == dim:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != dim or X.shape[0] < 1:
        raise RuntimeError(f"{type(opt).__name__}.ask() returned shape {X.shape}; "
                           f"expected (n >= 1, {dim})")
    if not np.isfinite(X).all():
        raise RuntimeError(f"{type(opt).__name__}.ask() returned non-finite points")
    return np.clip(X, 0.0, 1.0)


def phase_labels(opt: Any, n: int) -> list[str]:
    """The history labels of the ``n`` points of ``opt``'s last ask: its ``phase`` (one
    string for all, or one per point), else its ``name``, else its class name.

    >>> from hybridlab import GA
    >>> phase_labels(GA(), 2)
    ['ga', 'ga']
    """
    ph = getattr(opt, "phase", None) or getattr(opt, "name", None) or type(opt).__name__.lower()
    if isinstance(ph, str):
        return [ph] * n
    ph = list(ph)
    if len(ph) < n:
        raise RuntimeError(f"{type(opt).__name__}.phase gave {len(ph)} labels for {n} points")
    return ph[:n]


def encode_init(space: Any, init: Sequence[Any], what: str = "init") -> np.ndarray:
    """User points (dicts, or arrays for real spaces) -> unit rows; ``what`` names the
    argument in errors.

    >>> from hybridlab import Space
    >>> encode_init(Space.box(2, 0, 10), [[5, 10]]).tolist()
    [[0.5, 1.0]]
    """
    points = list(init) if not isinstance(init, np.ndarray) else list(np.atleast_2d(init))
    if not points:
        raise ValueError(f"{what} is empty: give at least one point, or None")
    try:
        return space.encode_batch(points)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


class FailureRule:
    """What an optimizer is told for a failed evaluation: the worst finite value seen so
    far (over every batch this rule filled), or ``+inf`` before any.

    Attributes
    ----------
    worst : float
        The worst finite value seen (``-inf`` before any).
    """

    def __init__(self) -> None:
        self.worst = -math.inf

    def fill(self, y: np.ndarray, ok: np.ndarray | None = None) -> np.ndarray:
        """A copy of ``y`` with the failed entries (``~ok``; default: the non-finite
        ones) replaced, after the finite values among the others updated ``worst``."""
        y = np.array(y, dtype=float)
        ok = np.isfinite(y) if ok is None else np.asarray(ok, dtype=bool)
        finite = y[ok & np.isfinite(y)]
        if finite.size:
            self.worst = max(self.worst, float(finite.max()))
        y[~ok] = self.worst if math.isfinite(self.worst) else math.inf
        return y


def checked_fidelity(problem: Any, opt: Any) -> Fidelity | None:
    """The problem's fidelity range, checked against a multi-fidelity optimizer's
    ``rungs`` (``ValueError`` when they do not fit)."""
    spec = getattr(problem, "fidelity", None)
    rungs = opt.rungs
    if rungs is None:
        return spec
    if spec is None:
        raise ValueError(f"{opt.name} evaluates at several fidelities but the problem "
                         f"declares none: Problem(f, space, fidelity=(low, high)) with "
                         f"f(x, fidelity)")
    if rungs[-1] != spec.high or rungs[0] < spec.low:
        raise ValueError(f"the optimizer's fidelities {rungs[0]:g}..{rungs[-1]:g} must lie in "
                         f"the problem's ({spec.low:g}, {spec.high:g}) and end at its full "
                         f"fidelity {spec.high:g}")
    return spec


def batch_fidelity(opt: Any, spec: Fidelity | None, n: int = 1
                   ) -> tuple[float | np.ndarray | None, float | np.ndarray]:
    """(fidelity, cost per point) of the batch of ``n`` points just asked; ``(None, 1)``
    without a fidelity range; a plain optimizer's batch (or ``opt=None``, the warm start)
    is at full fidelity.  An optimizer whose ``fidelity`` is an array (one per point, an
    asynchronous multi-fidelity batch) gets arrays of ``n`` back."""
    if spec is None:
        return None, 1.0
    fid = None if opt is None else opt.fidelity
    if fid is None:
        return float(spec.high), float(spec.high)
    prev = opt.previous_fidelity if spec.resumable else 0.0
    if np.ndim(fid) == 0 and np.ndim(prev) == 0:
        return float(fid), float(fid) - float(prev)
    fid = np.asarray(fid, dtype=float).reshape(-1)
    if len(fid) != n:
        raise ValueError(f"{opt.name} gave {len(fid)} fidelities for a batch of {n} "
                         f"points: its fidelity must be one number or one per point")
    return fid, fid - np.broadcast_to(np.asarray(prev, dtype=float), fid.shape)
