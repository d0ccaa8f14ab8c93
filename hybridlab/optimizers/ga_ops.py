"""The GA's numeric operators on whole populations with numpy: ``GA(operators="numpy")``.

DEAP's operators (``selTournament``, ``cxSimulatedBinaryBounded``,
``mutPolynomialBounded``) loop over individuals and genes in Python; for a cheap,
vectorised objective they cost more than the evaluations.  These functions draw the same
distributions on the whole ``(n, dim)`` array at once, on the unit box, from a
:class:`numpy.random.Generator` (the optimizer's own ``rng``; no global state):

* :func:`tournament` -- ``size`` aspirants drawn with replacement per slot, the best
  wins (the first drawn among equals, as DEAP's ``max``);
* :func:`sbx` -- simulated binary crossover (Deb & Agrawal 1995) with bounds, the
  formula of DEAP and of NSGA-II's C code: pairs ``(0, 1), (2, 3)...`` crossed with
  probability ``cxpb``, each gene with probability 1/2 (and only where the parents
  differ by more than ``1e-14``), the two children swapped with probability 1/2;
* :func:`polynomial` -- bounded polynomial mutation (Deb & Goyal 1996) as DEAP's:
  each row with probability ``mutpb``, each of its genes with probability ``indpb``.

:class:`ArrayGA` is the numpy path's population (parents, offspring out for
evaluation, elitism, injection), with the same rules as the DEAP path of
:class:`~hybridlab.optimizers.GA`; the GA keeps the parameters and the schedules.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> K = rng.random((6, 3))
>>> changed = polynomial(rng, K, eta=20.0, indpb=0.5, mutpb=1.0)
>>> sbx(rng, K, eta=15.0, cxpb=0.9)
>>> bool(((K >= 0) & (K <= 1)).all()), changed.shape
(True, (6,))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ArrayGA", "polynomial", "sbx", "tournament"]


def tournament(rng: np.random.Generator, f: np.ndarray, n: int, size: int) -> np.ndarray:
    """Indices of ``n`` tournament winners among values ``f`` (smaller wins).

    >>> tournament(np.random.default_rng(0), np.array([3.0, 1.0, 2.0]), 4, 3).shape
    (4,)
    """
    idx = rng.integers(0, len(f), size=(n, size))
    return idx[np.arange(n), np.argmin(f[idx], axis=1)]


def sbx(rng: np.random.Generator, K: np.ndarray, eta: float, cxpb: float) -> None:
    """Cross the pairs of rows ``(0, 1), (2, 3)...`` of ``K`` in place (unit box)."""
    m = len(K) // 2
    A, B = K[0:2 * m:2], K[1:2 * m:2]  # views: written back below
    U = rng.random((3, m, K.shape[1]))  # gene coin, spread, swap
    mask = (U[0] <= 0.5) & (np.abs(A - B) > 1e-14)
    if cxpb < 1.0:
        mask &= rng.random((m, 1)) < cxpb
    a, b = A[mask], B[mask]
    x1, x2 = np.minimum(a, b), np.maximum(a, b)
    span, k = x2 - x1, len(a)
    # both children at once, stacked: beta = 1 + 2 (x1 - low) / span for the first,
    # 1 + 2 (up - x2) / span for the second, one uniform draw for both (DEAP, Deb's code)
    gap = np.empty(2 * k)
    gap[:k], gap[k:] = x1, 1.0 - x2
    span2 = np.concatenate((span, span))
    rand = U[1][mask]
    ra = np.concatenate((rand, rand)) * (2.0 - (1.0 + 2.0 * gap / span2) ** -(eta + 1.0))
    step = np.where(ra <= 1.0, ra, 1.0 / (2.0 - ra)) ** (1.0 / (eta + 1.0)) * span2
    step[:k] *= -1.0
    mid = x1 + x2
    c = 0.5 * (np.concatenate((mid, mid)) + step)  # c[:k]: first child, c[k:]: second
    np.clip(c, 0.0, 1.0, out=c)
    swap = U[2][mask] <= 0.5
    A[mask] = np.where(swap, c[k:], c[:k])
    B[mask] = np.where(swap, c[:k], c[k:])


def polynomial(rng: np.random.Generator, K: np.ndarray, eta: float, indpb: float,
               mutpb: float, track: bool = True) -> np.ndarray | None:
    """Mutate rows of ``K`` in place (unit box); returns which rows changed (``None``
    unless ``track``)."""
    n, d = K.shape
    U = rng.random((2, n, d))  # gene coin, perturbation
    mask = U[0] <= indpb
    if mutpb < 1.0:
        mask &= rng.random((n, 1)) < mutpb
    x, r = K[mask], U[1][mask]
    e1 = eta + 1.0
    low = r < 0.5
    t = 2.0 * r
    p = np.where(low, 1.0 - x, x) ** e1
    q = np.where(low, t + (1.0 - t) * p, (2.0 - t) + (t - 1.0) * p) ** (1.0 / e1)
    new = np.clip(x + np.where(low, q - 1.0, 1.0 - q), 0.0, 1.0)
    K[mask] = new
    if not track:
        return None
    changed = np.zeros(n, dtype=bool)
    changed[np.nonzero(mask)[0][new != x]] = True
    return changed


def _stable(f: np.ndarray) -> np.ndarray:
    return np.argsort(f, kind="stable")


class ArrayGA:
    """The numpy path's population: parents (sorted, best first), the offspring out
    for evaluation, and the parents' values of mutated offspring (for a success rule).

    ``ga`` is the owning :class:`~hybridlab.optimizers.GA` (its parameters).
    """

    def __init__(self, ga: Any, X0: np.ndarray, n_fill: int) -> None:
        self.ga = ga
        self.pending = np.array(X0, dtype=float)
        self.n_fill = n_fill  # random individuals at the end of `pending`, not yet asked
        self.initial = True
        self.PX = np.empty((0, X0.shape[1]))
        self.Pf = np.empty(0)
        self.parent_f: np.ndarray | None = None  # NaN where mutation changed nothing

    def ask(self) -> np.ndarray:
        """The offspring out for evaluation (bred by :meth:`breed` when none are)."""
        self.n_fill = 0  # handed out: no longer replaceable by injected points
        return self.pending.copy()

    def breed(self, eta_mut: float, track: bool) -> None:
        """The next offspring from the parents: tournament, SBX, polynomial mutation."""
        ga, rng = self.ga, self.ga.rng
        n = int(ga.pop_size)
        chosen = tournament(rng, self.Pf, n, int(ga.tournsize))
        K = self.PX[chosen]
        sbx(rng, K, float(ga.eta_cx), ga.cxpb)
        mutated = polynomial(rng, K, float(eta_mut), ga.indpb or 1.0 / K.shape[1], ga.mutpb,
                             track)
        if mutated is not None:
            self.parent_f = np.where(mutated, self.Pf[chosen], np.nan)
        self.pending = K

    def tell(self, X: np.ndarray, y: np.ndarray) -> float | None:
        """Take the told offspring; returns the success rate (``None``: nothing to rate)."""
        m = len(y)
        TX = np.array(X, dtype=float).reshape(m, -1)
        Tf = np.array(y, dtype=float)
        self.pending = self.pending[:0]
        n, k = int(self.ga.pop_size), int(self.ga.elitism)
        if self.initial:
            self._set(np.vstack([self.PX, TX]), np.concatenate([self.Pf, Tf]), n)
            self.initial = not len(self.Pf)
            return None
        rate = None
        if self.parent_f is not None:
            pf = self.parent_f[:m]
            rated = ~np.isnan(pf)
            if rated.any():
                rate = int(np.count_nonzero(Tf[rated] < pf[rated])) / int(rated.sum())
        best = _stable(Tf)[: n - k]
        self._set(np.vstack([self.PX[:k], TX[best]]), np.concatenate([self.Pf[:k], Tf[best]]),
                  n)
        return rate

    def _set(self, X: np.ndarray, f: np.ndarray, n: int) -> None:
        order = _stable(f)[:n]
        self.PX, self.Pf = X[order], f[order]

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        """pagmo's ``fair_replace``, as the DEAP path's :meth:`GA.inject`."""
        n = int(self.ga.pop_size)
        Pf = self.Pf.copy()
        resident = {tuple(row): i for i, row in enumerate(self.PX.tolist())}
        new: list[int] = []
        for i in np.argsort(y, kind="stable"):
            if not math.isfinite(y[i]):
                break  # sorted: the rest are not finite either
            genes = tuple(X[i].tolist())
            j = resident.get(genes)
            if j is not None:
                if j >= 0 and y[i] < Pf[j]:  # a parent re-scored (Baldwinian learning)
                    Pf[j] = float(y[i])
            elif len(new) < n:
                resident[genes] = -1  # later copies are no better (sorted)
                new.append(int(i))
        self._set(np.vstack([self.PX, X[new]]), np.concatenate([Pf, y[new]]), n)
        if new and self.initial and self.n_fill:  # skip random individuals not asked yet
            drop = min(self.n_fill, len(new))
            self.pending = self.pending[: len(self.pending) - drop]
            self.n_fill -= drop
            if not len(self.pending):  # nothing left to evaluate: breed from the injected
                self.initial = False

    def stop(self) -> bool:
        if len(self.Pf) < 2 or self.Pf[0] != self.Pf[-1]:
            return False
        return bool(np.ptp(self.PX, axis=0).max() < 1e-12)
