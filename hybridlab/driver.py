"""The one driver: budget, evaluation, failures, seeding, callbacks and history.

Optimizers never call the objective; :func:`minimize` asks them for points, evaluates the
points (serially, or through any ``concurrent.futures.Executor``), tells them the values
and records everything.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .deadline import check_timeout, stop_workers
from .optimizers.adapted import adapt
from .optimizers.base import Optimizer, Population
from .problem import Batch, Problem
from .recording import Incumbent, Recorder
from .registry import resolve
from .result import Result
from .stepping import (
    batch_fidelity,
    checked_ask,
    checked_fidelity,
    encode_init,
    phase_labels,
)

__all__ = ["EvaluationError", "Interrupted", "Progress", "minimize", "minimize_async"]


class EvaluationError(RuntimeError):
    """Raised with ``on_error="raise"`` when an objective fails or returns NaN/inf."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (``KeyboardInterrupt``) during :func:`minimize`, with what the run had done.

    ``result`` is the partial :class:`~hybridlab.result.Result` of every batch completed
    before the interrupt (``stopped="interrupted"``; ``None`` when none was); a run store
    marks the run ``interrupted`` and resumes it on the next call.  It is a
    ``KeyboardInterrupt``, so a script still stops unless it catches it::

        try:
            r = minimize(problem, "ga", budget=10_000)
        except Interrupted as stop:
            r = stop.result
    """

    def __init__(self, result: Result | None) -> None:
        n = 0 if result is None else result.n_evals
        super().__init__(f"interrupted after {n} evaluations")
        self.result = result


@dataclass(frozen=True)
class Progress:
    """What a callback sees after each batch. Return ``True`` from the callback to stop."""

    n_evals: int
    budget: int
    best_y: float
    best_x: Any
    batch_y: np.ndarray
    batch_phase: list[str]
    elapsed: float
    #: the history so far (built on call; the same object becomes ``Result.history``
    #: when no batch follows, so read it, do not modify it)
    history: Callable[[], pd.DataFrame]
    #: budget spent: evaluations, or fidelity units for a multi-fidelity problem
    spent: float = math.nan


def _check_args(problem: Any, budget: Any, on_error: str, seed: Any = None,
                executor: Any = None, callbacks: Any = (), optimizer: Any = None) -> list:
    """Every argument checked before any evaluation; returns the callbacks as a list."""
    if isinstance(optimizer, type):
        raise ValueError(f"optimizer must be an optimizer object or a name, got the class "
                         f"{optimizer.__name__}: call it, e.g. {optimizer.__name__}()")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)
                             or seed < 0):
        raise ValueError(f"seed must be an integer >= 0 or None, got {seed!r}")
    if executor is not None and not callable(getattr(executor, "map", None)):
        raise ValueError(f"executor must have a map(fn, iterable) method (a "
                         f"concurrent.futures.Executor, a Ray or Dask pool), got "
                         f"{executor!r}; e.g. executor=ThreadPoolExecutor(4)")
    if callable(callbacks) or isinstance(callbacks, str | bytes):
        raise ValueError("callbacks must be a list of callables: callbacks=[my_callback]")
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise ValueError(f"callbacks must be a list of callables, got {callbacks!r}") from None
    for cb in callbacks:
        if not callable(cb):
            raise ValueError(f"every callback must be callable (f(progress) -> bool), got "
                             f"{cb!r}")
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a hybridlab.Problem, got {type(problem).__name__}; "
                         "wrap your function: Problem(f, space)")
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
        raise ValueError(f"budget must be an integer >= 1 (evaluations), got {budget!r}")
    if on_error not in ("penalize", "raise"):
        raise ValueError(f"on_error must be 'penalize' or 'raise', got {on_error!r}")
    return callbacks


def minimize(problem: Problem, optimizer: Optimizer | str, budget: int,
             seed: int | None = None, executor: Executor | None = None,
             callbacks: Iterable[Callable[[Progress], bool | None]] = (),
             on_error: str = "penalize", init: Sequence[Any] | None = None,
             store: Any = None, run: str | None = None,
             timeout: float | None = None) -> Result:
    """Minimise ``problem`` with ``optimizer`` in exactly ``budget`` evaluations.

    Parameters
    ----------
    problem : Problem
    optimizer : Optimizer or str
        An optimizer object or a registry name such as ``"ga"``, ``"pso"``, ``"local"``.
    budget : int
        Number of objective evaluations; the last batch is trimmed so it is exact.  The
        run ends earlier only if the optimizer's ``stop()`` says it converged or a
        callback returns True.  For a problem with a ``fidelity`` range the budget is in
        fidelity units (e.g. epochs): a plain optimizer's evaluation costs the full
        fidelity, a :class:`~hybridlab.hybrid.MultiFidelity` one its rung's (see
        ``Result.cost``).
    seed : int, optional
        Seeds everything through ``numpy.random.SeedSequence``; the same seed gives the
        same result, serially or with a process pool.  ``None`` draws fresh entropy
        (recorded in ``Result.seed``).
    executor : concurrent.futures.Executor, optional
        Evaluates each batch with ``executor.map`` (order kept): a
        ``ProcessPoolExecutor``, a Ray or Dask executor.  Serial when omitted.
    callbacks : iterable of callables
        Each is called with a :class:`Progress` after every batch; returning True stops
        the run cleanly.  A callback with a ``close`` method gets ``close(result)`` at the
        end (e.g. :class:`hybridlab.widgets.Dashboard` draws its final state).
    on_error : {"penalize", "raise"}
        ``"penalize"`` (default) records a failing evaluation (exception, NaN or inf)
        with its status and error text and tells the optimizer the worst value seen;
        ``"raise"`` raises :class:`EvaluationError` instead.
    init : sequence of user values, optional
        Warm start: these points (dicts, or arrays for real spaces) are evaluated first
        (phase ``"init"``, counted in the budget) and handed to the optimizer as its
        starting population -- e.g. defaults you want to improve on, or another run's
        best points.
    store : str, Path or :class:`~hybridlab.tracking.RunStore`, optional
        A SQLite run store (:mod:`hybridlab.tracking`): every batch of evaluations is
        appended as it completes.  Calling again with the same ``run`` **resumes**: stored
        evaluations are replayed instead of recomputed, so a run killed halfway finishes
        with the result an uninterrupted run gives.  A stored run made with another
        problem, optimizer, space, seed or budget is refused
        (:class:`~hybridlab.tracking.RunMismatch`); ``seed=None`` takes the stored seed.
    run : str, optional
        The run's name in ``store`` (default ``<problem>/<optimizer>/seed<seed>``).
    timeout : float, optional
        Seconds one evaluation may take (default: ``problem.timeout``, else none).  An
        evaluation past it is interrupted where it runs (serially, in a thread or in a
        worker process; see :mod:`hybridlab.deadline`), recorded with status
        ``"timeout"`` like any failure, and the run goes on with the budget exact.  With
        an executor the batch is dispatched one evaluation per free worker, so each
        clock starts when its evaluation does.  Which evaluations time out depends on
        the machine's speed, so a timeout can make two runs with one seed differ; a run
        store replays them as they happened.

    Returns
    -------
    Result

    Raises
    ------
    Interrupted
        On Ctrl-C, promptly in every mode: with the partial result (``.result``), the
        store's run marked ``interrupted`` and a process pool's workers ended (so that a
        ``with ProcessPoolExecutor()`` block does not wait for a hung evaluation).

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(3, -5, 5))
    >>> r = minimize(p, "ga", budget=300, seed=1)
    >>> r.n_evals, r.y < 1.0
    (300, True)
    """
    callbacks = _check_args(problem, budget, on_error, seed, executor, callbacks, optimizer)
    budget = int(budget)
    timeout = problem.timeout if timeout is None else check_timeout(timeout)
    given = resolve(optimizer)
    opt = adapt(given)  # the whole contract, also for a duck-typed object
    fid_spec = checked_fidelity(problem, opt)
    log = _open_log(store, run, problem, given, seed, budget)
    ss = np.random.SeedSequence(seed if log is None else log.seed)
    space = problem.space
    handler = _constraint_handler(problem, budget)
    rec = Recorder(problem)
    state = Incumbent()
    n, spent, stopped = 0, 0.0, "budget"
    t0 = time.perf_counter() - (log.elapsed if log is not None else 0.0)

    def evaluate(X: np.ndarray, phases: list[str], fid: Any = None,
                 cost: Any = 1.0) -> tuple[np.ndarray, np.ndarray, bool]:
        """Evaluate, record, call back; return what to tell and whether to stop."""
        nonlocal n, spent
        values = space.decode_batch(X)
        X_told, kept = X, values if rec.values is not None else None
        if handler is not None and hasattr(handler, "prepare"):  # e.g. Repair
            X, values, X_told = handler.prepare(X, values, space)
            kept = None
        own = _own_copy(values)  # an objective that changes its input changes only this
        if log is None:
            batch = problem.evaluate_many(own, executor, fidelity=fid, timeout=timeout)
            times: Any = time.perf_counter() - t0
        else:
            batch, phases, times = log.evaluate(problem, executor, n, X, own, phases,
                                                 t0, fid, timeout)
        if on_error == "raise":
            _raise_first_failure(batch, n)
        full = fid_spec is None or fid >= fid_spec.high
        fitness = state.update(batch, X, values, handler, full)
        n += len(X)
        spent += float(np.sum(cost)) if np.ndim(cost) else cost * len(X)
        rec.add(X, batch, phases, times, math.nan if fid is None else fid, cost, kept)
        halt = bool(callbacks) and _run_callbacks(callbacks, rec, state, n, budget, batch,
                                                  phases, t0, spent)
        return X_told, fitness, halt

    def finish(stopped: str) -> Result:
        return state.result(problem, rec, n, t0, ss.entropy, opt.name, stopped,
                            None if fid_spec is None else spent, opt.decisions)

    start_pop, halt = None, False
    try:
        if init is not None:  # warm start: evaluate the given points first
            fid0, cost0 = batch_fidelity(None, fid_spec)
            X0 = encode_init(space, init)[: max(1, int(budget / cost0 + 1e-9))]
            X_told, fitness, halt = evaluate(X0, ["init"] * len(X0), fid0, cost0)
            start_pop = Population(X_told, fitness)
        opt.start(space.dim, np.random.default_rng(ss), start_pop, int(budget - spent))
        while spent < budget and not halt:
            X = checked_ask(opt, space.dim)
            fits, fid, cost = _affordable(*batch_fidelity(opt, fid_spec, len(X)),
                                          budget - spent)
            if fits < 1:  # the next batch costs more than the budget left
                break
            X = X[:fits]
            X_told, fitness, halt = evaluate(X, phase_labels(opt, len(X)), fid, cost)
            opt.tell(X_told, fitness)
            if not halt and spent < budget and opt.stop():
                stopped = "converged"
                break
        if halt:
            stopped = "callback"
    except BaseException as exc:
        if _ended_by(exc, executor, log, n, t0, callbacks):  # Ctrl-C: keep what is done
            raise Interrupted(None if n == 0 else finish("interrupted")) from exc
        raise
    finally:
        opt.close()
    if log is not None:
        log.end(stopped, n, t0)
    result = finish(stopped)
    _close_callbacks(callbacks, result)
    return result


def _affordable(fid: Any, cost: Any, left: float) -> tuple[int, Any, Any]:
    """How many points of the next batch the budget ``left`` pays for, with their
    fidelities and costs (one per point, or one for the batch)."""
    if np.ndim(cost):  # one cost per point: as many as the budget left pays for
        fits = int(np.searchsorted(np.cumsum(cost), left + 1e-9, "right"))
        return fits, fid[:fits], cost[:fits]
    return int(left / cost + 1e-9), fid, cost


def _ended_by(exc: BaseException, executor: Any, log: Any, n: int, t0: float,
              callbacks: list) -> bool:
    """Close a run that raised ``exc``: the store marks it ``interrupted`` (Ctrl-C, which
    also ends a process pool's workers) or ``crashed``; True for Ctrl-C."""
    interrupted = isinstance(exc, KeyboardInterrupt)
    if interrupted:
        stop_workers(executor)
    if log is not None:
        log.end("interrupted" if interrupted else f"crashed: {type(exc).__name__}: {exc}",
                n, t0)
    _close_callbacks(callbacks, None)
    return interrupted


def _open_log(store: Any, run: str | None, problem: Problem, opt: Any, seed: int | None,
              budget: int) -> Any:
    """The run log of ``store`` (None without one); it replays and records."""
    if store is None:
        if run is not None:
            raise ValueError("run= names a run in a store: also pass store='runs.db'")
        return None
    from .runlog import open_run

    return open_run(store, run, problem, opt, seed, budget)


def _close_callbacks(callbacks: list, result: Result | None) -> None:
    """``close(result)`` for callbacks that have it (``None`` when the run raised)."""
    for cb in callbacks:
        close = getattr(cb, "close", None)
        if callable(close):
            try:
                close(result)
            except Exception:
                if result is not None:  # a failing run's own error matters more
                    raise


async def minimize_async(*args: Any, **kwargs: Any) -> Result:
    """:func:`minimize` in a worker thread, awaitable: ``r = await minimize_async(...)``.

    In Jupyter this keeps the kernel answering widget events while the run goes on, so
    the Stop button of :class:`hybridlab.widgets.Dashboard` ends it (with a blocking
    ``minimize`` a kernel handles the click only after the cell).  Same arguments and
    result as :func:`minimize`.

    Example
    -------
    >>> import asyncio, numpy as np
    >>> from hybridlab import Problem, Space
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(2, -1, 1))
    >>> asyncio.run(minimize_async(p, "pso", budget=50, seed=0)).n_evals
    50
    """
    import asyncio

    return await asyncio.to_thread(minimize, *args, **kwargs)


def _own_copy(values: Any) -> Any:
    """The points as the objective gets them: a copy, so that ``Result.x`` and the
    history keep the point that produced each value even when the objective writes into
    its argument (one copy of the batch array; a shallow copy of each dict)."""
    if isinstance(values, np.ndarray):
        return values.copy()
    return [dict(v) if isinstance(v, dict) else copy.copy(v) for v in values]


def _raise_first_failure(batch: Batch, n: int) -> None:
    i = batch.first_failure()
    if i is not None:
        raise EvaluationError(f"evaluation {n + i + 1} failed ({batch.status[i]}): "
                              f"{batch.error[i]}")


def _constraint_handler(problem: Problem, budget: int) -> Any:
    if not problem.constraints:
        return None
    handler = getattr(problem, "handler", None)
    if handler is None:
        from .constraints import Penalty

        handler = Penalty()
    handler.reset(budget)
    return handler


def _run_callbacks(callbacks: list, rec: Recorder, state: Incumbent, n: int, budget: int,
                   batch: Batch, phases: list[str], t0: float, spent: float) -> bool:
    prog = Progress(n_evals=n, budget=budget, best_y=state.y if state.feasible else math.inf,
                    best_x=state.x, batch_y=batch.y,
                    batch_phase=phases, elapsed=time.perf_counter() - t0,
                    history=rec.frame, spent=spent)
    stop = False
    for cb in callbacks:
        stop = bool(cb(prog)) or stop
    return stop
