"""A run store: every evaluation of a run in SQLite, as it completes, and exact resume.
Over 400 lines because :class:`RunStore` keeps every SQL statement of the store.

``minimize(problem, optimizer, budget, seed=0, store="runs.db", run="name")`` appends each
batch of evaluations (unit point, user values, y, status, error, seconds, phase, time,
timestamp, constraint violations) to a SQLite database in one transaction (WAL mode), with
the run's metadata (problem, optimizer, space, seed, budget, package versions).

Calling the same run again **replays** the stored evaluations instead of recomputing
them: the optimizer, seeded the same, asks the same points, is told the stored values,
reaches the same state and carries on.  The final :class:`~hybridlab.result.Result` equals
that of an uninterrupted run (:meth:`Result.matches`).  Each asked point is checked
against the stored one, so a replay that diverges (a changed objective, optimizer or
library) stops with a clear error instead of silently mixing two runs.  What a crash can
lose is the batch that was being evaluated: batches are committed whole.

Example
-------
>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> from hybridlab import Problem, Space, minimize
>>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -5, 5), name="sphere")
>>> db = Path(tempfile.mkdtemp()) / "runs.db"
>>> first = minimize(p, "ga", budget=200, seed=3, store=db, run="demo")
>>> again = minimize(p, "ga", budget=200, seed=3, store=db, run="demo")  # replayed
>>> again.matches(first), RunStore(db).runs()["n_evals"].tolist()
(True, [200])
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RunMismatch", "RunStore", "StoreError", "StoredEvaluations"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    name TEXT PRIMARY KEY, status TEXT NOT NULL, created TEXT NOT NULL,
    updated TEXT NOT NULL, problem TEXT NOT NULL, optimizer TEXT NOT NULL,
    space TEXT NOT NULL, dim INTEGER NOT NULL, seed TEXT NOT NULL, budget INTEGER NOT NULL,
    constraints TEXT NOT NULL, n_evals INTEGER NOT NULL DEFAULT 0, best_y REAL,
    seconds REAL NOT NULL DEFAULT 0, host TEXT, pid INTEGER, info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evals (
    run TEXT NOT NULL, i INTEGER NOT NULL, x BLOB NOT NULL, params TEXT NOT NULL,
    y REAL, status TEXT NOT NULL, error TEXT NOT NULL, seconds REAL NOT NULL,
    phase TEXT NOT NULL, time REAL NOT NULL, timestamp TEXT NOT NULL, violations BLOB,
    fidelity REAL, PRIMARY KEY (run, i)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS studies (name TEXT PRIMARY KEY, meta TEXT NOT NULL);
"""

_RUN_COLUMNS = ["name", "status", "problem", "optimizer", "dim", "seed", "budget",
                "n_evals", "best_y", "seconds", "created", "updated"]


class StoreError(RuntimeError):
    """The store file cannot be used (not a database, corrupted, locked); it is left as
    it was."""


class RunMismatch(ValueError):
    """A stored run of that name was made with another problem, optimizer, space, seed
    or budget, or its replay diverged."""


@dataclass(frozen=True)
class StoredEvaluations:
    """A run's stored evaluations, in order, as the driver replays them (``n`` rows,
    ``dim`` unit-box coordinates, ``m`` constraints; ``fidelity`` NaN where none)."""

    X: np.ndarray  # (n, dim)
    y: np.ndarray  # (n,), NaN where not ok
    status: list[str]
    error: list[str]
    seconds: np.ndarray
    phase: list[str]
    time: np.ndarray
    violations: np.ndarray  # (n, m)
    fidelity: np.ndarray


#: the columns that identify a run (a resumed run must match them)
IDENTITY = ("problem", "optimizer", "space", "dim", "budget", "constraints", "seed")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _json(value: Any) -> str:
    return json.dumps(value, default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays; ``repr`` for anything else (an estimator)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)


class RunStore:
    """A SQLite file of runs: their metadata and every evaluation.

    Parameters
    ----------
    path : str or Path
        The database file (created if missing).
    timeout : float
        Seconds to wait for another writer's lock before :class:`StoreError`.
    read_only : bool
        Open for reading only (``hybridlab runs list/show/export``): the file is never
        created or changed, and a file without write permission opens.

    Raises
    ------
    StoreError
        The file is not a SQLite database, is corrupted anywhere (``PRAGMA quick_check``
        at open: about a millisecond per 100 kB of store), or stays locked.  Nothing is
        written to it in that case.
    """

    def __init__(self, path: str | os.PathLike, timeout: float = 10.0,
                 read_only: bool = False) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
        self.path = Path(path)
        self.read_only = bool(read_only)
        if self.path.is_dir():
            raise ValueError(f"store must be a file path such as 'runs.db', got the "
                             f"folder {self.path}")
        if self.read_only:  # never creates or changes the file (a read-only file works)
            if not self.path.is_file():
                raise StoreError(f"no run store at {self.path}")
            target: Any = f"{self.path.resolve().as_uri()}?mode=ro{self._immutable()}"
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            target = self.path
        with self._errors():  # e.g. "unable to open database file", with the path
            self._con = sqlite3.connect(target, timeout=timeout, isolation_level=None,
                                        check_same_thread=False, uri=self.read_only)
        try:
            with self._errors():
                self._setup()
        except BaseException:
            self._con.close()
            raise

    def _immutable(self) -> str:
        """``&immutable=1`` for a store in a folder this process cannot write: SQLite
        reads a WAL-mode file read-only only where it can create the ``-shm`` index
        beside it, unless told the file cannot change (true here: nobody who is refused
        the folder can write a journal).  A journal (``-wal``) left by a run that did
        not close would be ignored that way, so it is refused instead."""
        folder = self.path.resolve().parent
        if os.access(folder, os.W_OK):
            return ""
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(f"{self.path} has a journal ({wal.name}) from a run that did "
                             f"not close, in a folder this process cannot write; copy both "
                             f"files somewhere writable and open the copy")
        return "&immutable=1"

    # -- plumbing -----------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"{self.path} is locked by another process (a run still "
                                 f"writing to it?): wait for it, raise timeout=, or use "
                                 f"another store file") from exc
            raise StoreError(f"{self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a hybridlab run store or is corrupted "
                             f"({exc}); it was left untouched: move it away or pass another "
                             f"store= file") from exc

    def _setup(self) -> None:
        con = self._con
        con.execute("PRAGMA schema_version").fetchone()  # reads the header: fails if junk
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master "
                                             "WHERE type='table'")}
        if tables and "runs" not in tables:
            raise StoreError(f"{self.path} is a SQLite database but not a hybridlab run "
                             f"store (tables: {sorted(tables)}); it was left untouched: "
                             f"pass another store= file")
        if tables:  # damage anywhere in the file, found before anything is written
            problems = [r[0] for r in con.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise StoreError(f"{self.path} is damaged ({'; '.join(problems)}); it was "
                                 f"left untouched: restore it from a copy, or move it away "
                                 f"and pass another store= file")
        if self.read_only:
            if not tables:
                raise StoreError(f"{self.path} holds no runs (an empty file)")
        else:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
        if not tables:
            with self.transaction():
                self._create()
        version = con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema {version and version[0]!r}; this "
                             f"hybridlab writes schema {SCHEMA_VERSION}: use another file")

    def _create(self) -> None:
        for stmt in filter(str.strip, _SCHEMA.split(";")):
            self._con.execute(stmt)
        self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on error)."""
        with self._errors():
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._errors():
            return self._con.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._con.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # -- reading ------------------------------------------------------------------------

    def runs(self) -> pd.DataFrame:
        """One row per run: name, status, problem, optimizer, dim, seed, budget, n_evals,
        best_y, seconds, created, updated.  A run whose process died shows
        ``interrupted``."""
        rows = self._query(f"SELECT {', '.join(_RUN_COLUMNS)}, host, pid FROM runs "
                           "ORDER BY created, name")
        frame = pd.DataFrame([r[:-2] for r in rows], columns=_RUN_COLUMNS)
        frame["status"] = [_live_status(r[1], r[-2], r[-1]) for r in rows]
        return frame.astype({"n_evals": "int64", "budget": "int64", "dim": "int64"})

    def info(self, run: str) -> dict[str, Any]:
        """A run's metadata (the ``runs`` row plus its ``info``: versions, command)."""
        rows = self._query("SELECT * FROM runs WHERE name=?", (run,))
        if not rows:
            raise KeyError(f"no run {run!r} in {self.path}; runs: {self.names()}")
        cols = [d[1] for d in self._query("PRAGMA table_info(runs)")]
        out = dict(zip(cols, rows[0], strict=True))
        out["status"] = _live_status(out["status"], out["host"], out["pid"])
        out["constraints"] = json.loads(out["constraints"])
        out["info"] = json.loads(out["info"])
        return out

    def names(self) -> list[str]:
        """Names of the stored runs, oldest first."""
        return [r[0] for r in self._query("SELECT name FROM runs ORDER BY created, name")]

    def evaluations(self, run: str) -> pd.DataFrame:
        """A run's evaluations in order: ``eval, y, best_so_far, status, error, phase,
        seconds, time, timestamp``, ``violation`` (with constraints), then one column per
        parameter (the stored user values)."""
        info = self.info(run)
        rows = self._query("SELECT i, y, status, error, phase, seconds, time, timestamp, "
                           "violations, params, fidelity FROM evals WHERE run=? ORDER BY i",
                           (run,))
        y = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float)
        ok = np.array([r[2] == "ok" for r in rows], dtype=bool)
        y = np.where(ok, y, np.nan)
        m = len(info["constraints"])
        viol = np.array([np.frombuffer(r[8], dtype=float).sum() if m else 0.0 for r in rows])
        best = np.minimum.accumulate(np.where(ok & (viol <= 0), y, np.inf)) if rows else y
        frame = pd.DataFrame({
            "eval": np.array([r[0] + 1 for r in rows], dtype=np.int64), "y": y,
            "best_so_far": best, "status": [r[2] for r in rows],
            "error": [r[3] for r in rows], "phase": [r[4] for r in rows],
            "seconds": np.array([r[5] for r in rows], dtype=float),
            "time": np.array([r[6] for r in rows], dtype=float),
            "timestamp": [r[7] for r in rows]})
        if m:
            frame["violation"] = viol
        if any(r[10] is not None for r in rows):
            frame["fidelity"] = np.array([np.nan if r[10] is None else r[10] for r in rows])
        params = pd.DataFrame([json.loads(r[9]) for r in rows])
        return pd.concat([frame, params], axis=1)

    def delete(self, run: str) -> None:
        """Remove a run and its evaluations."""
        with self.transaction() as con:
            con.execute("DELETE FROM evals WHERE run=?", (run,))
            con.execute("DELETE FROM runs WHERE name=?", (run,))

    # -- one run, as the driver writes it -----------------------------------------------

    def identity(self, run: str) -> dict[str, Any] | None:
        """What identifies a stored run (:data:`IDENTITY`: problem, optimizer, space, dim,
        budget, constraint names, seed entropy), or ``None`` when there is no such run."""
        rows = self._query(f"SELECT {', '.join(IDENTITY)} FROM runs WHERE name=?", (run,))
        if not rows:
            return None
        out = dict(zip(IDENTITY, rows[0], strict=True))
        out["constraints"] = json.loads(out["constraints"])
        out["seed"] = int(out["seed"])
        return out

    def create_run(self, run: str, *, problem: str, optimizer: str, space: str, dim: int,
                   budget: int, constraints: Sequence[str], seed: int,
                   info: Mapping[str, Any]) -> None:
        """Add the row of a new run, ``running`` in this process (``info``: provenance)."""
        now = _now()
        with self.transaction() as con:
            self._refuse_live_owner(con, run)  # another process created it just now
            con.execute("INSERT INTO runs (name, status, created, updated, problem, "
                        "optimizer, space, dim, seed, budget, constraints, host, pid, info) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (run, "running", now, now, problem, optimizer, space, dim, str(seed),
                         budget, _json(list(constraints)), socket.gethostname(),
                         os.getpid(), _json(dict(info))))

    def reopen_run(self, run: str) -> None:
        """Mark a stored run ``running`` in this process (a finished one keeps its
        ``budget``/``converged`` status).  A run that another live process on this host
        is writing is refused (:class:`StoreError`); one whose process died is taken
        over."""
        with self.transaction() as con:
            self._refuse_live_owner(con, run)
            con.execute("UPDATE runs SET status=CASE WHEN status IN ('budget', 'converged') "
                        "THEN status ELSE 'running' END, host=?, pid=?, updated=? "
                        "WHERE name=?", (socket.gethostname(), os.getpid(), _now(), run))

    def _refuse_live_owner(self, con: sqlite3.Connection, run: str) -> None:
        row = con.execute("SELECT status, host, pid, updated FROM runs WHERE name=?",
                          (run,)).fetchone()
        if row is None:
            return
        status, host, pid, updated = row
        if status == "running" and host == socket.gethostname() and pid is not None \
                and pid != os.getpid() and _live_status(status, host, pid) == "running":
            raise StoreError(f"run {run!r} in {self.path} is being written by process {pid} "
                             f"on this host (last write {updated}): wait for it to end, "
                             f"stop it, or use another run name")

    def append(self, run: str, start: int, X: np.ndarray, params: Sequence[Mapping[str, Any]],
               batch: Any, phases: Sequence[str], times: np.ndarray,
               fidelity: Any = None) -> None:
        """Store evaluations ``start ..`` of ``run`` and its totals, in one transaction.

        ``X`` are the unit points, ``params`` their user values, ``batch`` a
        :class:`~hybridlab.problem.Batch` (``y, status, error, seconds, violations``),
        ``times`` the run's wall time at each evaluation."""
        stamp = _now()
        rows = []
        fids = [None] * len(X) if fidelity is None else \
            np.broadcast_to(np.asarray(fidelity, dtype=float), (len(X),)).tolist()
        for j in range(len(X)):
            y = float(batch.y[j])
            rows.append((run, start + j, X[j].astype(float).tobytes(), _json(params[j]),
                         None if np.isnan(y) else y, batch.status[j], batch.error[j],
                         float(batch.seconds[j]), phases[j], float(times[j]), stamp,
                         batch.violations[j].astype(float).tobytes(), fids[j]))
        ok = np.array([s == "ok" for s in batch.status]) & (batch.violation <= 0)
        best = float(batch.y[ok].min()) if ok.any() else None
        with self.transaction() as con:
            con.executemany("INSERT INTO evals VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            con.execute("UPDATE runs SET n_evals=?, updated=?, seconds=?, best_y=CASE WHEN "
                        "? IS NOT NULL AND (best_y IS NULL OR ? < best_y) THEN ? ELSE best_y "
                        "END WHERE name=?",
                        (start + len(X), stamp, float(times[-1]), best, best, best, run))

    def finish(self, run: str, status: str, n_evals: int, seconds: float) -> None:
        """Mark ``run`` ended (``budget``, ``converged``, ``callback`` or ``crashed: ..``)
        unless another process has stored more of it since."""
        with self.transaction() as con:
            con.execute("UPDATE runs SET status=?, updated=?, seconds=MAX(seconds, ?), "
                        "pid=NULL WHERE name=? AND (n_evals<=? OR status='running')",
                        (status[:300], _now(), seconds, run, n_evals))

    def stored(self, run: str, dim: int, n_constraints: int) -> StoredEvaluations:
        """The evaluations of ``run`` as the driver replays them."""
        rows = self._query("SELECT x, y, status, error, seconds, phase, time, violations, "
                           "fidelity FROM evals WHERE run=? ORDER BY i", (run,))
        n = len(rows)
        return StoredEvaluations(
            X=np.array([np.frombuffer(r[0], dtype=float) for r in rows]).reshape(n, dim),
            y=np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float),
            status=[r[2] for r in rows], error=[r[3] for r in rows],
            seconds=np.array([r[4] for r in rows], dtype=float), phase=[r[5] for r in rows],
            time=np.array([r[6] for r in rows], dtype=float),
            violations=np.array([np.frombuffer(r[7], dtype=float) for r in rows]
                                ).reshape(n, n_constraints),
            fidelity=np.array([np.nan if r[8] is None else r[8] for r in rows], dtype=float))

    # -- studies ------------------------------------------------------------------------

    def save_study(self, name: str, meta: dict[str, Any]) -> None:
        """Record a study's metadata (written by ``compare(..., store=...)``)."""
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO studies VALUES (?, ?)", (name, _json(meta)))

    def study_meta(self, name: str) -> dict[str, Any]:
        """A study's metadata as :meth:`save_study` stored it (``KeyError`` if none)."""
        rows = self._query("SELECT meta FROM studies WHERE name=?", (name,))
        if not rows:
            known = [r[0] for r in self._query("SELECT name FROM studies ORDER BY name")]
            raise KeyError(f"no finished study {name!r} in {self.path} (studies: {known}); "
                           f"run compare(..., name={name!r}, store=...) to finish it")
        return json.loads(rows[0][0])


def _live_status(status: str, host: str | None, pid: int | None) -> str:
    """``running`` only while its process lives (on this host); else ``interrupted``."""
    if status != "running" or host != socket.gethostname() or pid is None:
        return status
    if pid == os.getpid():
        return status
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "interrupted"
    except PermissionError:
        return status
    return status
