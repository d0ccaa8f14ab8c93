"""Asynchronous successive halving (ASHA) around any optimizer.

:class:`~hybridlab.hybrid.MultiFidelity` runs synchronous brackets: a rung is decided
only when every candidate of the population has been scored there, so parallel workers
wait for the slowest job of the rung.  ASHA (Li et al., 2020, "A System for Massively
Parallel Hyperparameter Tuning") drops that barrier: whenever a worker is free it gets the
best job available *now*,

1. from the highest rung down, a candidate in the top ``1/eta`` of the results completed
   at its rung that has not been promoted yet: it goes on to the next rung;
2. otherwise a new candidate at the lowest rung, proposed by the inner optimizer.

:class:`AsyncHalving` hands out ``workers`` such jobs per ``ask``.  The jobs of one batch
mix rungs, so the batch carries one fidelity per point (``fidelity`` is an array) and the
driver evaluates them together, through its executor.  hybridlab's driver is
batch-synchronous: promotions never wait for a rung to fill, but a batch still waits for
its slowest job.

The inner optimizer learns from each generation it proposed once every candidate of it
has a result at the lowest rung: each candidate is told the value of the highest rung it
has reached, kept no better than any candidate that went further (the rule of
:class:`~hybridlab.hybrid.MultiFidelity`).  With Optuna's TPE or GP sampler inside, the
proposals come from a model, as in BOHB.

Example
-------
>>> import numpy as np
>>> import hybridlab as hl
>>> def noisy_sphere(x, fidelity):  # fewer "epochs", more noise
...     return float(np.sum(x ** 2) + np.sin(7 * x).sum() / fidelity)
>>> p = hl.Problem(noisy_sphere, hl.Space.box(3, -2, 2), fidelity=(1, 27))
>>> opt = hl.AsyncHalving(hl.GA(pop_size=12), 1, 27, workers=4)
>>> r = hl.minimize(p, opt, budget=1500, seed=0)
>>> sorted(set(r.history["fidelity"])), r.cost <= 1500, bool(r.y < 1.0)
([1.0, 3.0, 9.0, 27.0], True, True)
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..fidelity import ladder as rungs_of
from ..fidelity import per_candidate, rank_consistent
from ..optimizers.base import Optimizer, Population
from ..optimizers.engines import build
from ..stepping import phase_labels

__all__ = ["AsyncHalving"]


class AsyncHalving(Optimizer):
    """Asynchronous successive halving (ASHA): ``workers`` jobs per batch, each a
    promotion or a new candidate, mixing rungs.

    Parameters
    ----------
    optimizer : Optimizer or str
        Any optimizer or hybrid (a prototype: copied, never mutated), or an engine name.
        ``AsyncHalving(make("optuna_tpe"), 1, 27)`` proposes from a TPE model.
    min_fidelity, max_fidelity : float
        The lowest rung and the full fidelity (the problem's ``high``).
    eta : float
        Promotion ratio (> 1): a candidate moves on once it is in the top ``1/eta`` of
        the results completed at its rung.
    workers : int
        Jobs per batch (the parallel workers of the executor).

    Notes
    -----
    ``fidelity`` and ``previous_fidelity`` are arrays with one value per point of the last
    batch; the driver passes each point its own ``fidelity`` and counts each its cost
    (the difference to its previous rung with ``Fidelity(..., resumable=True)``).
    A batch is cut short rather than ask the inner optimizer for a new generation
    before it has learnt the last one, so give it a population of at least twice
    ``workers`` (an optimizer with a ``batch_size`` attribute, such as Optuna's samplers
    or ``BayesOpt``, gets that batch size).  Failed evaluations (told the worst value) rank last.
    ``population`` holds full-fidelity values only.
    """

    def __init__(self, optimizer: Any, min_fidelity: float, max_fidelity: float,
                 eta: float = 3, workers: int = 4) -> None:
        optimizer = build(optimizer, "optimizer")
        ladder = rungs_of(min_fidelity, max_fidelity, eta)
        if isinstance(workers, bool) or not isinstance(workers, int | np.integer) \
                or workers < 1:
            raise ValueError(f"workers must be a positive integer (the jobs per batch, "
                             f"e.g. 4), got {workers!r}")
        self.optimizer = optimizer
        self.min_fidelity, self.max_fidelity, self.eta = min_fidelity, max_fidelity, eta
        self.workers = int(workers)
        self.rungs = ladder

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"asha({getattr(self.optimizer, 'name', 'optimizer')})"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self.inner = copy.deepcopy(self.optimizer)
        if getattr(self.inner, "batch_size", None) is not None:
            # generations of at least two batches, so that few batches are cut short
            self.inner.batch_size = max(int(self.inner.batch_size), 2 * self.workers)
        cost = per_candidate(self.rungs, self.eta)
        self.inner.start(dim, rng, init, None if budget is None else
                         max(1, int(budget / cost)))
        K = len(self.rungs)
        self._X = np.empty((0, dim))          # every candidate so far
        self._labels: list[str] = []
        self._Y = np.empty((K, 0))            # its value at each rung (NaN: not there)
        self._promoted = [set() for _ in range(K)]  # promoted from rung k
        self._queue: list[int] = []           # proposed, not yet started
        self._gens: list[list[int]] = []      # candidates of each generation, until told
        self._jobs: list[tuple[int, int]] = []  # (candidate, rung) of the last batch
        self.fidelity = np.array([self.rungs[0]])
        self.previous_fidelity = np.zeros(1)

    # -- the jobs of one batch -----------------------------------------------------------

    def _promotion(self) -> tuple[int, int] | None:
        """(candidate, next rung) of the best promotable candidate, top rung first."""
        for k in range(len(self.rungs) - 2, -1, -1):
            y = self._Y[k]
            done = np.flatnonzero(np.isfinite(y))
            n_top = int(len(done) / self.eta + 1e-9)
            if n_top < 1:
                continue
            top = done[np.argsort(y[done], kind="stable")[:n_top]]
            for i in top:
                if int(i) not in self._promoted[k]:
                    return int(i), k + 1
        return None

    def _propose(self) -> int:
        """A new candidate from the inner optimizer (a new generation when none is left)."""
        if not self._queue:
            X = np.asarray(self.inner.ask(), dtype=float)
            X = X[None, :] if X.ndim == 1 else X
            first = len(self._X)
            self._X = np.vstack([self._X, X])
            self._labels += phase_labels(self.inner, len(X))
            self._Y = np.hstack([self._Y, np.full((len(self.rungs), len(X)), np.nan)])
            self._gens.append(list(range(first, first + len(X))))
            self._queue = list(range(first, first + len(X)))
        return self._queue.pop(0)

    def ask(self) -> np.ndarray:
        jobs = []
        for _ in range(self.workers):
            job = self._promotion()
            if job is None:
                if not self._queue and self._gens:  # the inner optimizer is still
                    break                            # waiting for its last generation
                job = (self._propose(), 0)
            else:
                self._promoted[job[1] - 1].add(job[0])
            jobs.append(job)
        self._jobs = jobs
        idx = [i for i, _ in jobs]
        ks = np.array([k for _, k in jobs])
        self.fidelity = self.rungs[ks]
        self.previous_fidelity = np.where(ks > 0, self.rungs[np.maximum(ks - 1, 0)], 0.0)
        self._phase = [self._labels[i] for i in idx]
        return self._X[idx]

    @property
    def phase(self) -> list[str]:  # type: ignore[override]
        return self._phase

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        y = np.asarray(y, dtype=float).reshape(-1)
        jobs = self._jobs[: len(y)]  # the driver may trim a last batch
        top = len(self.rungs) - 1
        full = []
        for (i, k), v in zip(jobs, y, strict=True):
            self._Y[k, i] = v
            if k == top:
                full.append((i, v))
        for (i, k) in self._jobs[len(y):]:  # trimmed: not run, may be asked again
            if k > 0:
                self._promoted[k - 1].discard(i)
            else:
                self._queue.insert(0, i)
        if full:
            super().tell(self._X[[i for i, _ in full]], np.array([v for _, v in full]))
        self._tell_generations()

    def _tell_generations(self) -> None:
        """Tell the inner optimizer each generation whose candidates all have a value at
        the lowest rung, oldest first (an optimizer learns its batches in order)."""
        while self._gens:
            members = np.array(self._gens[0])
            Y = self._Y[:, members]
            if np.isnan(Y[0]).any():
                return
            self.inner.tell(self._X[members], rank_consistent(Y))
            self._gens.pop(0)

    def stop(self) -> bool:
        return not self._queue and self.inner.stop() and self._promotion() is None

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return (f"AsyncHalving({self.optimizer!r}, {self.min_fidelity}, "
                f"{self.max_fidelity}, eta={self.eta}, workers={self.workers})")
