"""Time limits on evaluations, and stopping a pool's workers on Ctrl-C.

An evaluation with a time limit is interrupted *where it runs*: :class:`Deadline` wraps
the objective, and past the limit raises :class:`EvaluationTimeout` inside it --

* in a process's main thread (a serial run, a process pool's worker) by ``SIGALRM``
  (``signal.setitimer``), which also interrupts ``time.sleep`` and blocking I/O;
* in any other thread (a thread pool, :func:`hybridlab.minimize_async`) by an
  asynchronous exception (``PyThreadState_SetAsyncExc``), which the thread raises at its
  next Python instruction: a loop is stopped, a ``time.sleep`` only when it returns.

A worker so interrupted lives on and takes the next evaluation.  Code that never returns
to Python (a C library stuck in a call) cannot be interrupted in-process:
:func:`map_with_deadlines` then records the evaluation as timed out once ``timeout +
grace`` seconds have passed and goes on without the stuck worker (a ``RuntimeWarning``
says so); that worker stays busy until the call returns.

Example
-------
>>> import time
>>> slow = Deadline(lambda s: time.sleep(s) or s, 0.05)
>>> slow(0.0)
0.0
>>> try:
...     slow(10.0)
... except EvaluationTimeout as exc:
...     print(exc)
evaluation ran past timeout=0.05 s
"""

from __future__ import annotations

import ctypes
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any

__all__ = ["STUCK", "Deadline", "EvaluationTimeout", "check_timeout", "map_with_deadlines",
           "stop_workers"]

#: What :func:`map_with_deadlines` returns for an evaluation whose worker never came back.
STUCK = object()


class EvaluationTimeout(TimeoutError):
    """An evaluation ran past its time limit (recorded with status ``"timeout"``)."""


def check_timeout(timeout: Any) -> float | None:
    """``timeout`` as seconds > 0, or None; a ValueError naming the fix otherwise."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
            or not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a number of seconds > 0 (per evaluation) or None, "
                         f"got {timeout!r}")
    return float(timeout)


class Deadline:
    """``fn`` with a time limit: past ``seconds``, :class:`EvaluationTimeout` is raised
    inside it (see the module docstring for how, per thread).  Picklable when ``fn`` is,
    so it goes to a process pool as it is."""

    def __init__(self, fn: Callable[..., Any], seconds: float) -> None:
        self.fn = fn
        self.seconds = float(seconds)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread() \
                and hasattr(signal, "setitimer"):
            return self._by_alarm(args, kwargs)
        return self._by_async_exception(args, kwargs)

    def _error(self) -> EvaluationTimeout:
        return EvaluationTimeout(f"evaluation ran past timeout={self.seconds:g} s")

    def _by_alarm(self, args: tuple, kwargs: dict) -> Any:
        def ring(signum: int, frame: Any) -> None:
            raise self._error()

        previous = signal.signal(signal.SIGALRM, ring)
        t0 = time.monotonic()
        outer, _ = signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            return self.fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer > 0:  # someone else's alarm was set: give back what is left of it
                signal.setitimer(signal.ITIMER_REAL,
                                 max(outer - (time.monotonic() - t0), 1e-3))

    def _by_async_exception(self, args: tuple, kwargs: dict) -> Any:
        ident, lock, state = threading.get_ident(), threading.Lock(), {"running": True}

        def ring() -> None:
            with lock:
                if state["running"]:
                    state["rang"] = _raise_in(ident, EvaluationTimeout)

        timer = threading.Timer(self.seconds, ring)
        timer.daemon = True
        timer.start()
        try:
            return self.fn(*args, **kwargs)
        except EvaluationTimeout as exc:
            raise self._error() from exc  # the message with the limit
        finally:
            timer.cancel()
            with lock:
                state["running"] = False
            if state.get("rang"):  # rang as fn returned: take the exception back
                _raise_in(ident, None)


def _raise_in(ident: int, exc_type: type[BaseException] | None) -> bool:
    """Have thread ``ident`` raise ``exc_type`` at its next instruction (None: cancel a
    pending one).  False where the interpreter has no such call (not CPython)."""
    api = getattr(ctypes, "pythonapi", None)
    if api is None:
        return False
    arg = None if exc_type is None else ctypes.py_object(exc_type)
    return api.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), arg) == 1


def map_with_deadlines(executor: Executor, fn: Callable[[Any], Any], items: Sequence[Any],
                       timeout: float, grace: float | None = None) -> list[Any]:
    """``[fn(item) for item in items]`` through ``executor.submit``, in order, each given
    ``timeout + grace`` seconds from when it can start.

    ``fn`` is expected to stop itself at ``timeout`` (a :class:`Deadline` inside);
    ``grace`` (default ``max(1, timeout)`` seconds) is for a worker stuck where it cannot
    be interrupted: its item is returned as :data:`STUCK`, the run goes on with one
    worker fewer, and a ``RuntimeWarning`` says so.  At most as many items are in flight
    as the executor has workers (``max_workers``; all at once where it does not say), so
    an item's clock starts when a worker is free for it.
    """
    grace = max(1.0, timeout) if grace is None else grace
    slots = max(1, int(getattr(executor, "_max_workers", 0) or len(items)))
    out: list[Any] = [STUCK] * len(items)
    pending: dict[Future, tuple[int, float]] = {}
    nxt = 0
    while nxt < len(items) or pending:
        while nxt < len(items) and len(pending) < slots:
            pending[executor.submit(fn, items[nxt])] = (nxt, time.monotonic() + timeout + grace)
            nxt += 1
        first = min(d for _, d in pending.values())
        done, _ = wait(pending, timeout=max(0.0, first - time.monotonic()),
                       return_when=FIRST_COMPLETED)
        for fut in done:
            out[pending.pop(fut)[0]] = fut.result()
        now = time.monotonic()
        for fut, (i, due) in list(pending.items()):
            if due <= now and not fut.done():
                del pending[fut]
                fut.cancel()
                slots = max(1, slots - 1)
                warnings.warn(f"evaluation {i} of a batch did not return {timeout + grace:g} s "
                              f"after it started (timeout={timeout:g} s could not interrupt "
                              f"it, e.g. a C call that does not return): recorded as a "
                              f"timeout, its worker stays busy", RuntimeWarning, stacklevel=3)
    return out


def stop_workers(executor: Executor | None) -> None:
    """After Ctrl-C: cancel what has not started and end a process pool's workers, so that
    ``with ProcessPoolExecutor() as pool:`` does not wait for a hung evaluation (the
    pool cannot be used afterwards).  Threads cannot be ended; a thread pool only has its
    queued work cancelled."""
    if executor is None:
        return
    terminate = getattr(executor, "terminate_workers", None)  # Python >= 3.14
    processes = getattr(executor, "_processes", None)
    try:
        if callable(terminate):
            terminate()
        elif isinstance(processes, dict):
            for proc in list(processes.values()):
                proc.terminate()
        shutdown = getattr(executor, "shutdown", None)
        if callable(shutdown):
            shutdown(wait=False, cancel_futures=True)
    except Exception as exc:  # an executor we do not know: Ctrl-C still ends the run
        warnings.warn(f"could not stop the executor's workers ({type(exc).__name__}: {exc})",
                      RuntimeWarning, stacklevel=2)
