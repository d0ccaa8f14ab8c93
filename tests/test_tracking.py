"""The run store: every evaluation recorded, exact resume after a crash or SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from hybridlab import Problem, Space, minimize
from hybridlab.registry import make
from hybridlab.space import Categorical, Integer, Real
from hybridlab.tracking import RunMismatch, RunStore, StoreError

BUDGET = 160


def sphere(x):
    return float(np.sum((np.asarray(x) - 0.3) ** 2))


def problem(name: str = "sphere") -> Problem:
    return Problem(sphere, Space.box(3, -2, 2), name=name)


class Crash(BaseException):
    """Not an Exception: the driver does not catch it, like a kill."""


class Counting:
    def __init__(self, fn, crash_after: int | None = None):
        self.fn, self.calls, self.crash_after = fn, 0, crash_after

    def __call__(self, x):
        if self.crash_after is not None and self.calls >= self.crash_after:
            raise Crash
        self.calls += 1
        return self.fn(x)


def test_every_evaluation_is_stored_with_its_history(tmp_path):
    db = tmp_path / "runs.db"
    res = minimize(problem(), "ga>>local", budget=BUDGET, seed=1, store=db, run="a")
    with RunStore(db) as store:
        ev = store.evaluations("a")
        runs = store.runs()
        info = store.info("a")
    h = res.history
    assert len(ev) == BUDGET
    for col in ("eval", "y", "best_so_far", "status", "phase", "seconds", "time", "x0", "x2"):
        np.testing.assert_array_equal(ev[col].to_numpy(), h[col].to_numpy(), err_msg=col)
    assert set(ev["phase"]) == {"ga", "local"}
    row = runs.iloc[0]
    assert (row["name"], row["status"], row["n_evals"], row["budget"]) == ("a", "budget",
                                                                         BUDGET, BUDGET)
    assert row["best_y"] == res.y and row["optimizer"] == res.optimizer
    assert info["info"]["versions"]["numpy"] == np.__version__
    assert info["seed"] == str(res.seed)


def test_crashed_run_resumes_to_the_uninterrupted_result(tmp_path):
    db = tmp_path / "runs.db"
    reference = minimize(problem(), "ga>>local", budget=BUDGET, seed=5)
    crashing = Counting(sphere, crash_after=70)
    with pytest.raises(Crash):
        minimize(Problem(crashing, Space.box(3, -2, 2), name="sphere"), "ga>>local",
                 budget=BUDGET, seed=5, store=db, run="r")
    with RunStore(db) as store:
        stored = store.info("r")["n_evals"]
        assert store.info("r")["status"].startswith("crashed: Crash")
    assert 0 < stored <= 70  # whole batches only
    counting = Counting(sphere)
    resumed = minimize(Problem(counting, Space.box(3, -2, 2), name="sphere"), "ga>>local",
                       budget=BUDGET, seed=5, store=db, run="r")
    assert counting.calls == BUDGET - stored  # nothing recomputed, nothing skipped
    assert resumed.matches(reference)
    assert resumed.seconds >= resumed.history["time"].iloc[stored - 1]
    with RunStore(db) as store:
        assert store.info("r")["status"] == "budget"
        assert store.evaluations("r")["eval"].tolist() == list(range(1, BUDGET + 1))


def test_finished_run_is_replayed_without_calling_the_objective(tmp_path):
    db = tmp_path / "runs.db"
    first = minimize(problem(), "pso", budget=90, seed=2, store=db, run="p")
    counting = Counting(sphere)
    again = minimize(Problem(counting, Space.box(3, -2, 2), name="sphere"), "pso",
                     budget=90, seed=None, store=db, run="p")  # seed taken from the store
    assert counting.calls == 0
    assert again.matches(first) and again.seed == first.seed


_CHILD = """
import sys, time
import numpy as np
from hybridlab import Problem, Space, minimize

def slow(x):
    time.sleep(0.004)
    return float(np.sum((np.asarray(x) - 0.3) ** 2))

minimize(Problem(slow, Space.box(3, -2, 2), name="sphere"), "ga>>local", budget={budget},
         seed=11, store=sys.argv[1], run="killed")
"""


def test_sigkill_mid_run_then_resume_loses_and_repeats_nothing(tmp_path):
    db = tmp_path / "runs.db"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD.format(budget=BUDGET)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, str(script), str(db)], env=env)
    deadline = time.monotonic() + 60
    stored = 0
    try:
        while time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
            if db.exists():
                try:
                    with RunStore(db) as store:
                        stored = int(store.runs()["n_evals"].sum())
                except (StoreError, KeyError):
                    continue
                if stored >= 50:
                    break
        assert child.poll() is None, "the child finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    with RunStore(db) as store:
        killed = store.info("killed")
        assert killed["status"] == "interrupted"  # its process is gone
        at_kill = killed["n_evals"]
    assert 50 <= at_kill < BUDGET
    counting = Counting(sphere)
    resumed = minimize(Problem(counting, Space.box(3, -2, 2), name="sphere"), "ga>>local",
                       budget=BUDGET, seed=11, store=db, run="killed")
    reference = minimize(problem(), "ga>>local", budget=BUDGET, seed=11)
    assert counting.calls == BUDGET - at_kill
    assert resumed.matches(reference)
    with RunStore(db) as store:
        ev = store.evaluations("killed")
    assert ev["eval"].tolist() == list(range(1, BUDGET + 1))
    np.testing.assert_array_equal(ev["y"].to_numpy(), reference.history["y"].to_numpy())


def test_mismatched_run_is_refused_with_the_fix(tmp_path):
    db = tmp_path / "runs.db"
    minimize(problem(), "ga", budget=40, seed=1, store=db, run="m")
    cases = [dict(optimizer="pso"), dict(seed=2), dict(budget=50)]
    for change in cases:
        kwargs = dict(optimizer="ga", budget=40, seed=1) | change
        opt = kwargs.pop("optimizer")
        with pytest.raises(RunMismatch, match="another run name"):
            minimize(problem(), opt, store=db, run="m", **kwargs)
    with pytest.raises(RunMismatch, match="space"):
        minimize(Problem(sphere, Space.box(4, -2, 2), name="sphere"), "ga", budget=40,
                 seed=1, store=db, run="m")
    assert issubclass(RunMismatch, ValueError)


def test_diverging_replay_is_refused(tmp_path):
    db = tmp_path / "runs.db"
    minimize(problem(), make("ga"), budget=60, seed=1, store=db, run="d")
    other = make("ga")
    other.pop_size = 7  # same name, other behaviour
    with pytest.raises(RunMismatch, match="diverged at evaluation"):
        minimize(problem(), other, budget=60, seed=1, store=db, run="d")


def test_failures_constraints_and_mixed_spaces_replay_exactly(tmp_path):
    db = tmp_path / "runs.db"
    space = Space({"lr": Real(1e-4, 1.0, log=True), "layers": Integer(1, 4),
                   "act": Categorical(["relu", "tanh"])})

    def f(p):
        if p["layers"] == 4:
            raise RuntimeError("too deep")
        if p["act"] == "tanh" and p["lr"] > 0.5:
            return float("nan")
        return (np.log10(p["lr"]) + 2) ** 2 + p["layers"]

    def g(p):
        return p["lr"] - 0.3

    prob = Problem(f, space, constraints=[g], name="mixed")
    first = minimize(prob, "ga", budget=80, seed=4, store=db, run="mixed")
    assert {"error", "nan"} <= set(first.history["status"])
    again = minimize(prob, "ga", budget=80, seed=4, store=db, run="mixed")
    assert again.matches(first) and again.violations == first.violations
    with RunStore(db) as store:
        ev = store.evaluations("mixed")
    assert ev["act"].isin(["relu", "tanh"]).all()
    assert (ev.loc[ev["status"] == "error", "error"].str.contains("too deep")).all()
    np.testing.assert_allclose(ev["violation"], first.history["violation"])


def test_store_with_a_process_pool_gives_the_serial_result(tmp_path):
    serial = minimize(problem(), "pso", budget=60, seed=3)
    with ProcessPoolExecutor(2) as pool:
        pooled = minimize(problem(), "pso", budget=60, seed=3, executor=pool,
                          store=tmp_path / "runs.db")
    assert pooled.matches(serial)
    with RunStore(tmp_path / "runs.db") as store:
        assert store.names() == ["sphere/pso/seed3"]  # the default run name


def test_corrupted_file_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "runs.db"
    junk = bytes(range(256)) * 64
    db.write_bytes(junk)
    with pytest.raises(StoreError, match="not a hybridlab run store or is corrupted"):
        minimize(problem(), "ga", budget=20, seed=0, store=db, run="x")
    assert db.read_bytes() == junk
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE users (name TEXT)")
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a hybridlab run store"):
        RunStore(other)
    assert other.read_bytes() == before


def test_locked_store_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "runs.db"
    minimize(problem(), "ga", budget=20, seed=0, store=db, run="kept")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            minimize(problem(), "ga", budget=20, seed=0, store=RunStore(db, timeout=0.1),
                     run="new")
    except StoreError:  # RunStore itself may already refuse: the same clear error
        pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with RunStore(db) as store:
        assert store.names() == ["kept"] and store.info("kept")["n_evals"] == 20


def test_bad_arguments_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="run='a name'"):
        minimize(problem(), "ga", budget=10, store=tmp_path / "r.db")
    with pytest.raises(ValueError, match="also pass store="):
        minimize(problem(), "ga", budget=10, seed=0, run="x")
    with pytest.raises(ValueError, match="file path"):
        RunStore(tmp_path)
    with pytest.raises(ValueError, match="timeout"):
        RunStore(tmp_path / "r.db", timeout=-1)
    with RunStore(tmp_path / "r.db") as store, pytest.raises(KeyError, match="no run"):
        store.info("nope")


def test_callbacks_with_close_get_the_result(tmp_path):
    seen = []

    class CB:
        def __call__(self, progress):
            return None

        def close(self, result):
            seen.append(result)

    res = minimize(problem(), "ga", budget=30, seed=0, callbacks=[CB()])
    assert seen == [res]


def test_delete_removes_run_and_evaluations(tmp_path):
    db = tmp_path / "runs.db"
    minimize(problem(), "ga", budget=20, seed=0, store=db, run="gone")
    with RunStore(db) as store:
        store.delete("gone")
        assert store.names() == [] and store.runs().empty
    assert minimize(problem(), "ga", budget=20, seed=0, store=db, run="gone").n_evals == 20


def test_damage_in_the_middle_is_refused_before_any_write(tmp_path):
    """8 KiB of random bytes in the middle of a store: the header is fine, so only a check
    of the whole file finds it; a resume and a new run must both refuse, file unchanged."""
    db = tmp_path / "runs.db"
    minimize(problem(), "ga", budget=3000, seed=0, store=db, run="big")
    for suffix in ("-wal", "-shm"):  # closed cleanly: everything is in the main file
        assert not (tmp_path / f"runs.db{suffix}").exists() or \
            (tmp_path / f"runs.db{suffix}").stat().st_size == 0
    data = bytearray(db.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 8192] = np.random.default_rng(0).bytes(8192)
    db.write_bytes(bytes(data))
    for run in ("big", "new"):
        with pytest.raises(StoreError, match=r"damaged|corrupted") as err:
            minimize(problem(), "ga", budget=3000 if run == "big" else 50, seed=0, store=db,
                     run=run)
        assert str(db) in str(err.value)
        assert db.read_bytes() == bytes(data)


def test_a_second_writer_of_a_live_run_is_refused_and_a_dead_ones_run_taken_over(tmp_path):
    db = tmp_path / "runs.db"
    minimize(problem(), "ga", budget=40, seed=0, store=db, run="r")
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with RunStore(db) as store, store.transaction() as con:  # r is being written by it
            con.execute("UPDATE runs SET status='running', budget=80, pid=? WHERE name='r'",
                        (owner.pid,))
        before = db.read_bytes()
        with pytest.raises(StoreError, match=f"being written by process {owner.pid}"):
            minimize(problem(), "ga", budget=80, seed=0, store=db, run="r")
        with RunStore(db) as store:
            assert store.info("r")["status"] == "running"  # not marked crashed by us
            with pytest.raises(StoreError, match="being written by process"):  # create race
                store.create_run("r", problem="sphere", optimizer="ga", space="s", dim=3,
                                 budget=80, constraints=[], seed=0, info={})
        assert db.read_bytes() == before
    finally:
        owner.kill()
        owner.wait(10)
    resumed = minimize(problem(), "ga", budget=80, seed=0, store=db, run="r")  # taken over
    assert resumed.n_evals == 80


def test_read_only_store_never_creates_or_changes_a_file(tmp_path):
    db = tmp_path / "runs.db"
    with pytest.raises(StoreError, match="no run store"):
        RunStore(db, read_only=True)
    assert not db.exists()
    minimize(problem(), "ga", budget=20, seed=0, store=db, run="r")
    before = db.read_bytes()
    with RunStore(db, read_only=True) as store:
        assert store.names() == ["r"] and len(store.evaluations("r")) == 20
        with pytest.raises(StoreError, match=str(db)):
            store.delete("r")
    assert db.read_bytes() == before


def test_a_finished_run_replays_from_a_read_only_store(tmp_path):
    db = tmp_path / "runs.db"
    whole = minimize(problem(), "ga", budget=20, seed=0, store=db, run="r")
    before = db.read_bytes()
    with RunStore(db, read_only=True) as store:
        again = minimize(problem(), "ga", budget=20, seed=0, store=store, run="r")
        assert again.matches(whole)
        with pytest.raises(StoreError, match="read-only and has no run 'new'"):
            minimize(problem(), "ga", budget=20, seed=0, store=store, run="new")
    assert db.read_bytes() == before


def test_an_unfinished_run_is_not_continued_in_a_read_only_store(tmp_path):
    db = tmp_path / "runs.db"
    first = minimize(problem(), "ga", budget=200, seed=0, store=db, run="r",
                     callbacks=[lambda p: p.n_evals >= 10])
    assert first.n_evals < 200
    with RunStore(db, read_only=True) as store, pytest.raises(
            StoreError, match=f"read-only: run 'r' has {first.n_evals} evaluations stored"):
        minimize(problem(), "ga", budget=200, seed=0, store=store, run="r")


def test_a_store_in_a_folder_nobody_may_write_replays(tmp_path, monkeypatch):
    # as on a read-only mount: SQLite cannot create the -shm index beside the file
    db = tmp_path / "runs.db"
    whole = minimize(problem(), "ga", budget=20, seed=0, store=db, run="r")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert minimize(problem(), "ga", budget=20, seed=0, store=db, run="r").matches(whole)
    (tmp_path / "runs.db-wal").write_bytes(b"x" * 100)  # a run that did not close
    with pytest.raises(StoreError, match="journal"):
        RunStore(db, read_only=True)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root ignores file permissions")
def test_a_write_protected_store_replays(tmp_path):
    db = tmp_path / "runs.db"
    whole = minimize(problem(), "ga", budget=20, seed=0, store=db, run="r")
    db.chmod(0o444)
    assert minimize(problem(), "ga", budget=20, seed=0, store=db, run="r").matches(whole)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root ignores file permissions")
def test_runs_list_reads_a_write_protected_store(tmp_path):
    from hybridlab.cli import main

    db = tmp_path / "runs.db"
    minimize(problem(), "ga", budget=20, seed=0, store=db, run="r")
    db.chmod(0o444)
    assert main(["runs", "list", str(db)]) == 0
