"""One stored run as the driver sees it: open (or create) it, replay what is stored,
append what is new.  The SQL lives in :class:`~hybridlab.tracking.RunStore`; this module
keeps the replay logic (which evaluations are stored, checking that a replay asks the
same points)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from .problem import Batch
from .provenance import environment
from .tracking import RunMismatch, RunStore, StoredEvaluations, StoreError

__all__ = ["RunLog", "open_run"]


class RunLog:
    """The driver's handle on one stored run: replay what is stored, append the rest."""

    def __init__(self, store: RunStore, name: str, stored: StoredEvaluations, seed: int,
                 owns: bool) -> None:
        self.store, self.name, self.seed, self._owns = store, name, seed, owns
        self._stored = stored
        self.n_stored = len(stored.X)
        self.replayed = 0

    @property
    def elapsed(self) -> float:
        """Wall time the run had spent when it was last stored."""
        return float(self._stored.time[-1]) if self.n_stored else 0.0

    def replay(self, start: int, X: np.ndarray, fidelity: Any = None
               ) -> tuple[Batch, list[str], np.ndarray] | None:
        """The stored evaluations ``start .. start+k`` for the first ``k`` rows of ``X``
        (``None`` when nothing is stored there).  Raises :class:`RunMismatch` when an
        asked point (or its fidelity) differs from the stored one."""
        k = min(len(X), self.n_stored - start)
        if k <= 0:
            return None
        s = self._stored
        fid = _per_point(fidelity, len(X))[:k]
        differs = (X[:k] != s.X[start:start + k]).any(axis=1) | ~np.isclose(
            fid, s.fidelity[start:start + k], equal_nan=True)
        if differs.any():
            bad = start + int(np.flatnonzero(differs)[0])
            raise RunMismatch(
                f"run {self.name!r} in {self.store.path}: the replay diverged at evaluation "
                f"{bad + 1} (the optimizer asked another point than the stored one), so the "
                f"objective, optimizer or a library changed since it was stored; use another "
                f"run name, or delete this run (`hybridlab runs delete`)")
        self.replayed += k
        sl = slice(start, start + k)
        batch = Batch(s.y[sl].copy(), s.status[sl], s.error[sl], s.seconds[sl].copy(),
                      s.violations[sl].copy())
        return batch, s.phase[sl], s.time[sl].copy()

    def append(self, start: int, X: np.ndarray, values: Any, batch: Batch,
               phases: list[str], times: np.ndarray, space: Any,
               fidelity: Any = None) -> None:
        """Store evaluations ``start ..`` in one transaction, with the run's totals
        (``fidelity``: one for the batch or one per point)."""
        if self.store.read_only:
            raise StoreError(
                f"{self.store.path} is read-only: run {self.name!r} has {self.n_stored} "
                f"evaluations stored and needs more; copy the file somewhere writable to "
                f"continue it (a finished run replays from a read-only store)")
        cols = space.columns(X)
        params = [{n: col[j] for n, col in cols.items()} for j in range(len(X))]
        self.store.append(self.name, start, X, params, batch, phases, times, fidelity)

    def finish(self, status: str, n_evals: int, seconds: float) -> None:
        """Mark the run ended (``budget``, ``converged``, ``callback`` or ``crashed: ..``);
        a replay from a read-only store changes nothing."""
        if not self.store.read_only:
            self.store.finish(self.name, status, n_evals, seconds)

    def close(self) -> None:
        if self._owns:
            self.store.close()

    def evaluate(self, problem: Any, executor: Any, start: int, X: np.ndarray, values: Any,
                 phases: list[str], t0: float, fidelity: Any = None,
                 timeout: float | None = None) -> tuple[Batch, list[str], np.ndarray]:
        """A batch for the driver: the stored part replayed, the rest evaluated (at
        ``fidelity``) and appended in one transaction; returns the batch, its phases and
        its times since ``t0``."""
        old = self.replay(start, X, fidelity)
        k = 0 if old is None else len(old[0].y)
        if k == len(X):
            return old
        if np.ndim(fidelity):  # one per point: the rest's
            fidelity = np.asarray(fidelity, dtype=float)[k:]
        new = problem.evaluate_many(values[k:], executor, fidelity=fidelity, timeout=timeout)
        t_new = np.full(len(X) - k, time.perf_counter() - t0)
        self.append(start + k, X[k:], values[k:], new, phases[k:], t_new, problem.space,
                    fidelity)
        if old is None:
            return new, phases, t_new
        b, ph, t = old
        batch = Batch(np.concatenate([b.y, new.y]), b.status + new.status,
                      b.error + new.error, np.concatenate([b.seconds, new.seconds]),
                      np.concatenate([b.violations, new.violations]))
        return batch, ph + phases[k:], np.concatenate([t, t_new])

    def end(self, status: str, n_evals: int, t0: float) -> None:
        """:meth:`finish` with the elapsed time since ``t0``, then :meth:`close`."""
        try:
            self.finish(status, n_evals, time.perf_counter() - t0)
        finally:
            self.close()


def _identity(problem: Any, optimizer: Any, budget: int) -> dict[str, Any]:
    return {"problem": problem.name, "optimizer": getattr(optimizer, "name", repr(optimizer)),
            "space": repr(problem.space), "dim": problem.space.dim, "budget": budget,
            "constraints": list(problem.constraint_names)}


def open_run(store: RunStore | str | os.PathLike, run: str | None, problem: Any,
             optimizer: Any, seed: int | None, budget: int) -> RunLog:
    """Open (or create) the run ``run`` in ``store`` for :func:`hybridlab.minimize`.

    A stored run of that name must have been made with the same problem name, optimizer,
    space, budget and seed (``seed=None`` takes the stored seed); otherwise
    :class:`RunMismatch`.
    """
    if run is None:
        if seed is None:
            raise ValueError("store= needs run='a name' (or a seed, which names the run "
                             "<problem>/<optimizer>/seed<seed>) so the run can be found "
                             "again to resume it")
        run = f"{problem.name}/{getattr(optimizer, 'name', 'optimizer')}/seed{seed}"
    if not isinstance(run, str) or not run:
        raise ValueError(f"run must be a non-empty string naming the run, got {run!r}")
    owns = not isinstance(store, RunStore)
    rs = RunStore(store, read_only=_write_protected(store)) if owns else store
    try:
        log = _open(rs, run, problem, optimizer, seed, budget, owns)
    except BaseException:
        if owns:
            rs.close()
        raise
    return log


def _open(rs: RunStore, run: str, problem: Any, optimizer: Any, seed: int | None,
          budget: int, owns: bool) -> RunLog:
    ident = _identity(problem, optimizer, budget)
    dim, m = problem.space.dim, len(problem.constraint_names)
    stored = rs.identity(run)
    if stored is not None:
        if seed is not None and int(np.random.SeedSequence(seed).entropy) != stored["seed"]:
            _refuse(rs, run, "seed", stored["seed"], seed)
        for key, mine in ident.items():
            if stored[key] != mine:
                _refuse(rs, run, key, stored[key], mine)
        if not rs.read_only:
            rs.reopen_run(run)
        return RunLog(rs, run, rs.stored(run, dim, m), stored["seed"], owns)
    if rs.read_only:
        raise StoreError(f"{rs.path} is read-only and has no run {run!r} to replay: pass a "
                         f"store you can write to")
    seed_value = int(np.random.SeedSequence(seed).entropy)
    rs.create_run(run, **ident, seed=seed_value,
                  info={"versions": environment(), "cwd": os.getcwd()})
    return RunLog(rs, run, rs.stored(run, dim, m), seed_value, owns)


def _write_protected(path: str | os.PathLike) -> bool:
    """A store file (or its folder, where SQLite keeps its journal) this process may not
    write: it is opened read-only, so a finished run still replays from it."""
    p = os.fspath(path)
    return os.path.isfile(p) and not (os.access(p, os.W_OK)
                                      and os.access(os.path.dirname(os.path.abspath(p)),
                                                    os.W_OK))


def _refuse(rs: RunStore, run: str, key: str, stored: Any, mine: Any) -> None:
    def short(v: Any) -> str:
        s = str(v)
        return s if len(s) <= 80 else s[:77] + "..."

    raise RunMismatch(f"run {run!r} in {rs.path} was made with {key} {short(stored)!r}, not "
                      f"{short(mine)!r}: to resume it call with the same {key}; otherwise "
                      f"use another run name, or delete it (`hybridlab runs delete "
                      f"{rs.path} {run}`)")


def _per_point(fidelity: Any, n: int) -> np.ndarray:
    """``n`` fidelities (NaN without one) from one for the batch or one per point."""
    return np.broadcast_to(np.asarray(np.nan if fidelity is None else fidelity,
                                      dtype=float), (n,))
