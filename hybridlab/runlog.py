"""One stored run as the driver sees it: open (or create) it, replay what is stored,
append what is new (see :mod:`hybridlab.tracking` for the store itself)."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .problem import Batch
from .tracking import RunMismatch, RunStore, _json, _now

__all__ = ["RunLog", "open_run"]


@dataclass
class _Stored:
    X: np.ndarray
    batch: Batch
    phase: list[str]
    time: np.ndarray
    fidelity: np.ndarray  # NaN without fidelity


class RunLog:
    """The driver's handle on one stored run: replay what is stored, append the rest."""

    def __init__(self, store: RunStore, name: str, stored: _Stored, seed: int,
                 owns: bool) -> None:
        self.store, self.name, self.seed, self._owns = store, name, seed, owns
        self._stored = stored
        self.n_stored = len(stored.X)
        self.replayed = 0

    @property
    def elapsed(self) -> float:
        """Wall time the run had spent when it was last stored."""
        return float(self._stored.time[-1]) if self.n_stored else 0.0

    def replay(self, start: int, X: np.ndarray, fidelity: float | None = None
               ) -> tuple[Batch, list[str], np.ndarray] | None:
        """The stored evaluations ``start .. start+k`` for the first ``k`` rows of ``X``
        (``None`` when nothing is stored there).  Raises :class:`RunMismatch` when an
        asked point (or its fidelity) differs from the stored one."""
        k = min(len(X), self.n_stored - start)
        if k <= 0:
            return None
        s = self._stored
        fid = np.full(k, np.nan if fidelity is None else fidelity)
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
        b = s.batch
        batch = Batch(b.y[sl].copy(), b.status[sl], b.error[sl], b.seconds[sl].copy(),
                      b.violations[sl].copy())
        return batch, s.phase[sl], s.time[sl].copy()

    def append(self, start: int, X: np.ndarray, values: Any, batch: Batch,
               phases: list[str], times: np.ndarray, space: Any,
               fidelity: float | None = None) -> None:
        """Store evaluations ``start ..`` in one transaction, with the run's totals."""
        stamp = _now()
        cols = space.columns(X)
        names = list(cols)
        rows = []
        for j in range(len(X)):
            params = _json({n: cols[n][j] for n in names})
            y = float(batch.y[j])
            rows.append((self.name, start + j, X[j].astype(float).tobytes(), params,
                         None if np.isnan(y) else y, batch.status[j], batch.error[j],
                         float(batch.seconds[j]), phases[j], float(times[j]), stamp,
                         batch.violations[j].astype(float).tobytes(), fidelity))
        ok = np.array([s == "ok" for s in batch.status]) & (batch.violation <= 0)
        best = float(batch.y[ok].min()) if ok.any() else None
        with self.store.transaction() as con:
            con.executemany("INSERT INTO evals VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            con.execute("UPDATE runs SET n_evals=?, updated=?, seconds=?, best_y=CASE WHEN "
                        "? IS NOT NULL AND (best_y IS NULL OR ? < best_y) THEN ? ELSE best_y "
                        "END WHERE name=?",
                        (start + len(X), stamp, float(times[-1]), best, best, best, self.name))

    def finish(self, status: str, n_evals: int, seconds: float) -> None:
        """Mark the run ended (``budget``, ``converged``, ``callback`` or ``crashed: ..``)."""
        with self.store.transaction() as con:
            con.execute("UPDATE runs SET status=?, updated=?, seconds=MAX(seconds, ?), "
                        "pid=NULL WHERE name=? AND (n_evals<=? OR status='running')",
                        (status[:300], _now(), seconds, self.name, n_evals))

    def close(self) -> None:
        if self._owns:
            self.store.close()

    def evaluate(self, problem: Any, executor: Any, start: int, X: np.ndarray, values: Any,
                 phases: list[str], t0: float, fidelity: float | None = None
                 ) -> tuple[Batch, list[str], np.ndarray]:
        """A batch for the driver: the stored part replayed, the rest evaluated (at
        ``fidelity``) and appended in one transaction; returns the batch, its phases and
        its times since ``t0``."""
        old = self.replay(start, X, fidelity)
        k = 0 if old is None else len(old[0].y)
        if k == len(X):
            return old
        new = problem.evaluate_many(values[k:], executor) if fidelity is None else \
            problem.evaluate_many(values[k:], executor, fidelity=fidelity)
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
            "constraints": _json(list(problem.constraint_names))}


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
    rs = RunStore(store) if owns else store
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
    rows = rs._query("SELECT problem, optimizer, space, dim, budget, constraints, seed "
                     "FROM runs WHERE name=?", (run,))
    if rows:
        stored = dict(zip([*ident, "seed"], rows[0], strict=True))
        if seed is not None and str(np.random.SeedSequence(seed).entropy) != stored["seed"]:
            _refuse(rs, run, "seed", stored["seed"], seed)
        for key, mine in ident.items():
            if stored[key] != mine:
                _refuse(rs, run, key, stored[key], mine)
        seed_value = int(stored["seed"])
        with rs.transaction() as con:
            con.execute("UPDATE runs SET status=CASE WHEN status IN ('budget', 'converged') "
                        "THEN status ELSE 'running' END, host=?, pid=?, updated=? "
                        "WHERE name=?", (socket.gethostname(), os.getpid(), _now(), run))
        return RunLog(rs, run, _load(rs, run, problem.space.dim,
                                     len(problem.constraint_names)), seed_value, owns)
    seed_value = int(np.random.SeedSequence(seed).entropy)
    from .study.compare import versions

    info = {"versions": versions(), "cwd": os.getcwd()}
    now = _now()
    with rs.transaction() as con:
        con.execute("INSERT INTO runs (name, status, created, updated, problem, optimizer, "
                    "space, dim, seed, budget, constraints, host, pid, info) VALUES "
                    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run, "running", now, now, ident["problem"], ident["optimizer"],
                     ident["space"], ident["dim"], str(seed_value), budget,
                     ident["constraints"], socket.gethostname(), os.getpid(), _json(info)))
    empty = _Stored(np.empty((0, problem.space.dim)),
                    Batch(np.empty(0), [], [], np.empty(0),
                          np.empty((0, len(problem.constraint_names)))), [], np.empty(0),
                    np.empty(0))
    return RunLog(rs, run, empty, seed_value, owns)


def _refuse(rs: RunStore, run: str, key: str, stored: Any, mine: Any) -> None:
    def short(v: Any) -> str:
        s = str(v)
        return s if len(s) <= 80 else s[:77] + "..."

    raise RunMismatch(f"run {run!r} in {rs.path} was made with {key} {short(stored)!r}, not "
                      f"{short(mine)!r}: to resume it call with the same {key}; otherwise "
                      f"use another run name, or delete it (`hybridlab runs delete "
                      f"{rs.path} {run}`)")


def _load(rs: RunStore, run: str, dim: int, m: int) -> _Stored:
    rows = rs._query("SELECT x, y, status, error, seconds, phase, time, violations, fidelity "
                     "FROM evals WHERE run=? ORDER BY i", (run,))
    n = len(rows)
    X = np.array([np.frombuffer(r[0], dtype=float) for r in rows]).reshape(n, dim)
    y = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float)
    viol = np.array([np.frombuffer(r[7], dtype=float) for r in rows]).reshape(n, m)
    batch = Batch(y, [r[2] for r in rows], [r[3] for r in rows],
                  np.array([r[4] for r in rows], dtype=float), viol)
    return _Stored(X, batch, [r[5] for r in rows], np.array([r[6] for r in rows], dtype=float),
                   np.array([np.nan if r[8] is None else r[8] for r in rows], dtype=float))
