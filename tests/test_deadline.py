"""Per-evaluation time limits and Ctrl-C (hybridlab.deadline and the driver's use of it)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import hybridlab as hl
from hybridlab.deadline import STUCK, Deadline, EvaluationTimeout, map_with_deadlines
from hybridlab.tracking import RunStore


def hangs(x):
    """Sleeps for ever on one part of the box, spins for ever on another."""
    if x[0] > 0.8:
        time.sleep(1000)
    if x[0] < -0.8:
        while True:
            pass
    return float(np.sum(x**2))


def spins(x):
    """Spins for ever on part of the box (a thread can be interrupted in a loop only)."""
    while x[0] < -0.6:
        pass
    return float(np.sum(x**2))


HANGS = hl.Problem(hangs, hl.Space.box(2, -1, 1), name="hangs")


def _check_timeouts(r, budget):
    h = r.history
    assert r.n_evals == budget == len(h)
    assert set(h["status"]) == {"ok", "timeout"}
    out = h[h["status"] == "timeout"]
    assert out["error"].str.contains("timeout=0.2").all()
    assert out["y"].isna().all() and np.isfinite(r.y)  # a failure has no value
    return h


def test_deadline_returns_or_raises_in_the_main_thread():
    assert Deadline(lambda s: s * 2, 1.0)(3) == 6
    with pytest.raises(EvaluationTimeout, match=r"timeout=0\.05"):
        Deadline(time.sleep, 0.05)(5.0)


def test_deadline_gives_back_an_outer_alarm():
    rang = []
    previous = signal.signal(signal.SIGALRM, lambda *a: rang.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        Deadline(time.sleep, 1.0)(0.01)
        assert signal.getsignal(signal.SIGALRM) is not None and not rang
        time.sleep(0.5)
        assert rang == [1]  # the outer alarm still rang, once
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_deadline_interrupts_a_loop_in_another_thread():
    out = []

    def work():
        try:
            Deadline(spins, 0.1)(np.array([-1.0, 0.0]))
        except EvaluationTimeout as exc:
            out.append(str(exc))

    t = threading.Thread(target=work)
    t.start()
    t.join(5)
    assert not t.is_alive() and out == ["evaluation ran past timeout=0.1 s"]


def test_hanging_objective_serially():
    r = hl.minimize(HANGS, "ga", budget=40, seed=0, timeout=0.2)
    _check_timeouts(r, 40)


def test_hanging_objective_on_a_process_pool_is_interrupted_in_its_worker():
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        r = hl.minimize(HANGS, "ga", budget=40, seed=0, timeout=0.2, executor=pool)
    _check_timeouts(r, 40)
    # the workers were interrupted, not abandoned: the pool closed without waiting
    assert time.perf_counter() - t0 < 30


def test_spinning_objective_on_a_thread_pool():
    p = hl.Problem(spins, hl.Space.box(2, -1, 1))
    with ThreadPoolExecutor(3) as pool:
        r = hl.minimize(p, "pso", budget=30, seed=1, timeout=0.2, executor=pool)
    _check_timeouts(r, 30)


def test_a_worker_that_cannot_be_interrupted_is_left_behind():
    with ThreadPoolExecutor(2) as pool, pytest.warns(RuntimeWarning, match="stays busy"):
        out = map_with_deadlines(pool, time.sleep, [0.0, 1.5, 0.0], timeout=0.1, grace=0.2)
    assert out == [None, STUCK, None]


def test_problem_timeout_is_the_default_and_minimize_overrides_it():
    p = hl.Problem(hangs, hl.Space.box(2, -1, 1), timeout=0.2)
    assert p.timeout == 0.2
    assert (hl.minimize(p, "ga", budget=30, seed=0).history["status"] == "timeout").any()
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0"):
        hl.minimize(p, "ga", budget=30, seed=0, timeout=0)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "1", True])
def test_bad_timeouts_are_refused(bad):
    with pytest.raises(ValueError, match="timeout"):
        hl.Problem(hangs, hl.Space.box(2, -1, 1), timeout=bad)


def test_vectorised_batch_times_out_as_a_whole():
    def batch(X):
        if len(X) > 5:
            time.sleep(1000)
        return np.sum(X**2, axis=1)

    p = hl.Problem(batch, hl.Space.box(2, -1, 1), vectorized=True, timeout=0.2)
    b = p.evaluate_many(np.zeros((8, 2)))
    assert b.status == ["timeout"] * 8
    assert p.evaluate_many(np.zeros((3, 2))).status == ["ok"] * 3


class _CtrlC:
    """An objective that is 'interrupted' (raises KeyboardInterrupt) at its n-th call."""

    def __init__(self, at):
        self.at, self.calls = at, 0

    def __call__(self, x):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return float(np.sum(x**2))


def test_ctrl_c_gives_the_partial_result_and_marks_the_store(tmp_path):
    space = hl.Space.box(3, -1, 1)
    db = str(tmp_path / "runs.db")
    with pytest.raises(hl.Interrupted) as info:
        hl.minimize(hl.Problem(_CtrlC(75), space, name="p"), "ga", budget=200, seed=3,
                    store=db, run="r")
    partial = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)
    assert partial.stopped == "interrupted" and partial.n_evals == len(partial.history)
    assert 0 < partial.n_evals < 75
    with RunStore(db, read_only=True) as s:
        assert s.runs().set_index("name").loc["r", "status"] == "interrupted"
    resumed = hl.minimize(hl.Problem(_CtrlC(0), space, name="p"), "ga", budget=200, seed=3,
                          store=db, run="r")
    whole = hl.minimize(hl.Problem(_CtrlC(0), space, name="p"), "ga", budget=200, seed=3)
    assert resumed.matches(whole)


_HUNG_POOL = textwrap.dedent("""
    import signal, sys, time
    from concurrent.futures import ProcessPoolExecutor
    import hybridlab as hl
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def hang(x):
        time.sleep(1000)
        return 0.0

    if __name__ == "__main__":
        with ProcessPoolExecutor(2) as pool:
            print("started", flush=True)
            hl.minimize(hl.Problem(hang, hl.Space.box(2, -1, 1)), "ga", budget=10,
                        seed=0, executor=pool)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_ends_a_run_whose_process_pool_is_hung(tmp_path):
    script = tmp_path / "hung.py"
    script.write_text(_HUNG_POOL)
    # a session of its own: SIGINT reaches the parent only, as a Jupyter interrupt does
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=os.getcwd())
    assert proc.stdout.readline().strip() == "started"
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the run did not end within 20 s of Ctrl-C")
    assert proc.returncode != 0 and "Interrupted" in err
