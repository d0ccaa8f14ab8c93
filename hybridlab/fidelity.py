"""Multi-fidelity search: score many candidates cheaply, promote the promising ones.

An objective that accepts ``fidelity`` (training epochs, a data fraction, ``max_iter``)
declares its range on the problem, ``Problem(f, space, fidelity=(1, 27))``, and is then
called as ``f(x, fidelity=r)``.  The budget of such a problem is counted in **fidelity
units** (e.g. epochs), and every ``Result`` reports both the evaluations and the cost.
A plain optimizer evaluates every point at full fidelity.

:class:`MultiFidelity` wraps any optimizer or hybrid with successive-halving rules inside
each population: every candidate the inner optimizer asks for is scored at the lowest
rung ``r0``, the best ``1/eta`` of them at ``r0 * eta``, and so on up to the full
fidelity; then the inner optimizer is told the whole population at once, each candidate
with the value of the highest rung it reached (kept no better than any candidate that
went further, so a rank-based GA and a value-based swarm both see a consistent order).
That is how BOHB and DEHB save budget, but inside any hybrid of hybridlab.

With ``Fidelity(low, high, resumable=True)`` a promoted candidate costs only the extra
fidelity (an objective that resumes training from its lower-rung checkpoint, such as
:func:`hybridlab.ml.train.epochs_objective`); otherwise each rung costs its full
fidelity.

Example
-------
>>> import numpy as np
>>> import hybridlab as hl
>>> def noisy_sphere(x, fidelity):  # fewer "epochs", more noise
...     return float(np.sum(x ** 2) + np.sin(7 * x).sum() / fidelity)
>>> p = hl.Problem(noisy_sphere, hl.Space.box(3, -2, 2), fidelity=(1, 27))
>>> r = hl.minimize(p, hl.MultiFidelity(hl.GA(pop_size=27), 1, 27), budget=2000, seed=0)
>>> sorted(set(r.history["fidelity"])), r.cost <= 2000, bool(r.y < 0.5)
([1.0, 3.0, 9.0, 27.0], True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .optimizers.base import Optimizer, Population

__all__ = ["Fidelity", "MultiFidelity", "batch_fidelity", "checked_fidelity", "rungs"]


@dataclass(frozen=True)
class Fidelity:
    """The fidelity range an objective accepts.

    Parameters
    ----------
    low, high : float
        Cheapest and full fidelity (``0 < low <= high``); the budget is counted in these
        units and the best point is always a full-fidelity one.
    resumable : bool
        The objective continues from its evaluation at a lower fidelity (e.g. a training
        checkpoint), so raising a candidate from ``r`` to ``r'`` costs ``r' - r``.
    """

    low: float
    high: float
    resumable: bool = False

    def __post_init__(self) -> None:
        for v in (self.low, self.high):
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating) \
                    or not math.isfinite(v):
                raise ValueError(f"fidelity bounds must be finite numbers, got {v!r}")
        if not 0 < self.low <= self.high:
            raise ValueError(f"fidelity needs 0 < low <= high, got ({self.low}, {self.high}); "
                             f"e.g. fidelity=(1, 27) epochs")

    @classmethod
    def of(cls, spec: Any) -> Fidelity | None:
        """``None``, a ``Fidelity``, or a ``(low, high)`` pair."""
        if spec is None or isinstance(spec, Fidelity):
            return spec
        try:
            low, high = spec
        except (TypeError, ValueError):
            raise ValueError(f"fidelity must be (low, high) or Fidelity(low, high, resumable), "
                             f"got {spec!r}") from None
        return cls(float(low), float(high))


def rungs(low: float, high: float, eta: float) -> np.ndarray:
    """Fidelities of successive halving: ``low * eta**k`` below ``high``, then ``high``.

    >>> rungs(1, 27, 3).tolist(), rungs(2, 20, 3).tolist()
    ([1.0, 3.0, 9.0, 27.0], [2.0, 6.0, 18.0, 20.0])
    """
    out = [float(low)]
    while out[-1] * eta < high * (1 - 1e-9):
        out.append(out[-1] * eta)
    if out[-1] < high:
        out.append(float(high))
    return np.array(out)


def checked_fidelity(problem: Any, opt: Any) -> Fidelity | None:
    """The problem's fidelity range, checked against a multi-fidelity optimizer's."""
    spec = getattr(problem, "fidelity", None)
    rungs = getattr(opt, "rungs", None)
    if rungs is None:
        return spec
    if spec is None:
        raise ValueError(f"{getattr(opt, 'name', opt)} evaluates at several fidelities but "
                         f"the problem declares none: Problem(f, space, fidelity=(low, high)) "
                         f"with f(x, fidelity)")
    if rungs[-1] != spec.high or rungs[0] < spec.low:
        raise ValueError(f"the optimizer's fidelities {rungs[0]:g}..{rungs[-1]:g} must lie in "
                         f"the problem's ({spec.low:g}, {spec.high:g}) and end at its full "
                         f"fidelity {spec.high:g}")
    return spec


def batch_fidelity(opt: Any, spec: Fidelity | None) -> tuple[float | None, float]:
    """(fidelity, cost per point) of the batch just asked; (None, 1) without fidelity."""
    if spec is None:
        return None, 1.0
    fid = getattr(opt, "fidelity", None)
    if fid is None:
        return float(spec.high), float(spec.high)
    prev = float(getattr(opt, "previous_fidelity", 0.0)) if spec.resumable else 0.0
    return float(fid), float(fid) - prev


class MultiFidelity(Optimizer):
    """Successive halving inside every population an optimizer asks for.

    Parameters
    ----------
    optimizer : Optimizer or str
        Any optimizer or hybrid (a prototype: copied, never mutated), or a spec string
        such as ``"ga>>local"``.
    min_fidelity, max_fidelity : float
        The lowest rung and the full fidelity (the problem's ``high``).
    eta : float
        Promotion ratio (> 1): the best ``1/eta`` of a rung go on to ``eta`` times the
        fidelity.

    Notes
    -----
    The driver passes ``fidelity`` to the objective and counts the budget in fidelity
    units; the history has ``fidelity`` and ``cost`` columns.  Failed evaluations (told
    the worst value) rank last.  ``population`` holds full-fidelity values only, so a
    stage after it (``MultiFidelity(ga, 1, 27) >> local``) starts from comparable points.
    """

    def __init__(self, optimizer: Any, min_fidelity: float, max_fidelity: float,
                 eta: float = 3) -> None:
        from .optimizers import make

        if isinstance(optimizer, str):
            optimizer = make(optimizer)
        if not hasattr(optimizer, "ask") or not hasattr(optimizer, "tell"):
            raise ValueError(f"optimizer must speak ask/tell or be a spec such as 'ga', "
                             f"got {optimizer!r}")
        Fidelity(min_fidelity, max_fidelity)  # validates the range
        if isinstance(eta, bool) or not isinstance(eta, int | float) or eta <= 1:
            raise ValueError(f"eta must be a number > 1 (the promotion ratio, e.g. 3), "
                             f"got {eta!r}")
        self.optimizer = optimizer
        self.min_fidelity, self.max_fidelity, self.eta = min_fidelity, max_fidelity, eta
        self.rungs = rungs(min_fidelity, max_fidelity, eta)

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"mf({getattr(self.optimizer, 'name', 'optimizer')})"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        import copy

        super().start(dim, rng, init, budget)
        self.inner = copy.deepcopy(self.optimizer)
        per_candidate = float(np.sum(self.rungs * float(self.eta) ** -np.arange(len(self.rungs))))
        hint = None if budget is None else max(1, int(budget / per_candidate))
        self.inner.start(dim, rng, init, hint)
        self._bracket: dict[str, Any] | None = None
        self.fidelity = float(self.rungs[0])
        self.previous_fidelity = 0.0

    # -- one bracket: a population through the rungs ------------------------------------

    def _new_bracket(self) -> None:
        X = np.asarray(self.inner.ask(), dtype=float)
        X = X[None, :] if X.ndim == 1 else X
        ph = getattr(self.inner, "phase", None) or getattr(self.inner, "name", "optimizer")
        labels = [ph] * len(X) if isinstance(ph, str) else list(ph)[: len(X)]
        self._bracket = {"X": X, "labels": labels, "rung": 0,
                         "active": np.arange(len(X)),
                         "y": np.full((len(self.rungs), len(X)), np.nan)}

    def ask(self) -> np.ndarray:
        if self._bracket is None:
            self._new_bracket()
        b = self._bracket
        k = b["rung"]
        self.fidelity = float(self.rungs[k])
        self.previous_fidelity = float(self.rungs[k - 1]) if k else 0.0
        self._labels = [b["labels"][i] for i in b["active"]]
        return b["X"][b["active"]]

    @property
    def phase(self) -> list[str]:  # type: ignore[override]
        return self._labels

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        b = self._bracket
        y = np.asarray(y, dtype=float).reshape(-1)
        k, active = b["rung"], b["active"][: len(y)]  # the driver may trim a last batch
        b["y"][k, active] = y
        if k == len(self.rungs) - 1:
            super().tell(b["X"][active], y)  # full-fidelity values: this optimizer's own
            self._finish()
            return
        n_keep = max(1, int(len(active) / self.eta + 1e-9))
        finite = np.isfinite(y)
        order = np.argsort(np.where(finite, y, np.inf), kind="stable")
        keep = order[:n_keep]
        keep = keep[finite[keep]] if finite.any() else keep[:0]
        if keep.size == 0:  # nothing worth promoting: tell what we have
            self._finish()
            return
        b["active"], b["rung"] = np.sort(active[keep]), k + 1

    def _finish(self) -> None:
        """Tell the inner optimizer the whole population, each candidate with the value of
        its highest rung, never better than a candidate that got further."""
        b = self._bracket
        Y = b["y"]
        told = np.full(Y.shape[1], np.nan)
        worst_above = -np.inf
        for k in range(len(self.rungs) - 1, -1, -1):
            reached = ~np.isnan(Y[k]) & np.isnan(told)
            told[reached] = np.maximum(Y[k, reached], worst_above)
            if reached.any():
                worst_above = max(worst_above, float(np.max(told[reached])))
        seen = ~np.isnan(told)
        if seen.any():
            self.inner.tell(b["X"][seen], told[seen])
        self._bracket = None

    def stop(self) -> bool:
        return self._bracket is None and self.inner.stop()

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return (f"MultiFidelity({self.optimizer!r}, {self.min_fidelity}, "
                f"{self.max_fidelity}, eta={self.eta})")
