"""A library's own loop as ask/tell: the library runs in a worker thread.

Many optimizers (``scipy.optimize.dual_annealing``, ``direct``, ``shgo``...) drive their
own loop and call ``f(x)`` themselves.  Here the library runs in a worker thread whose
``f`` posts the points on a queue and blocks until the driver's ``tell`` sends the values
back (the idea of Nevergrad's ``optimization/recaster.py``), so the driver keeps owning
the budget, the evaluations and the failures.  The two threads run in lockstep, never at
the same time, so a run is as deterministic as the library.  A hand-over costs two
thread switches (``queue.SimpleQueue``, ~50-100 us on a busy 2-core machine), which
matters for libraries that ask one point at a time.

* :class:`Evaluator`: the callables the library is given, in the worker thread (one
  point, a batch, a vectorised call, a ``map`` for ``workers=``, a forward-difference
  gradient whose stencil is one batch).
* :class:`Bridge`: one worker thread and its two queues.
* :class:`ThreadedOptimizer`: an :class:`~hybridlab.optimizers.base.Optimizer` built on
  them, with restarts when the library's loop ends before the budget, partial tells
  (a trimmed batch is asked again, the library never sees made-up values) and a clean
  :meth:`~ThreadedOptimizer.close`.  A subclass writes one method, ``_body``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .base import Optimizer, Population

__all__ = ["Bridge", "Evaluator", "ThreadedOptimizer"]

#: what the library sees for a failed evaluation before any finite value is known
_BIG = 1e30
_ABORT = object()


class _Abort(BaseException):
    """Raised in the worker's objective by ``close()``: a BaseException, so that no
    ``except Exception`` inside the library can swallow it."""


class Evaluator:
    """The objective as the library sees it, in the worker thread.

    Every call clips its points into ``[0, 1]^dim``, posts them as one batch and blocks
    until the values come back.  ``step`` is the forward-difference step of
    :meth:`jac` and :meth:`value_and_grad`.
    """

    def __init__(self, asks: queue.SimpleQueue, tells: queue.SimpleQueue,
                 step: float = 1e-8) -> None:
        self._asks = asks
        self._tells = tells
        self.step = step
        self._last: dict[bytes, float] = {}

    def batch(self, X: np.ndarray) -> np.ndarray:
        """Values of the rows of ``X`` (``(n, dim)``), asked as one batch."""
        X = np.clip(np.array(X, dtype=float, ndmin=2), 0.0, 1.0)
        self._asks.put(("x", X))
        values = self._tells.get()
        if values is _ABORT:
            raise _Abort
        self._last = {x.tobytes(): float(v) for x, v in zip(X, values, strict=True)}
        return values

    def scalar(self, x: np.ndarray, *args: Any) -> float:
        """``f(x)`` for one point (extra ``args`` a library passes are ignored)."""
        return float(self.batch(np.asarray(x, dtype=float)[None])[0])

    def vectorized(self, x: np.ndarray, *args: Any) -> float | np.ndarray:
        """``f`` for ``x`` of shape ``(dim,)`` (a float) or ``(dim, S)`` (``S`` values),
        as ``scipy.optimize.differential_evolution(vectorized=True)`` calls it."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            return self.scalar(x)
        return self.batch(x.T)

    def map(self, func: Callable[..., Any], iterable: Iterable[Any]) -> list[float]:
        """A map-like callable for a library's ``workers=``: the points of ``iterable``
        become one batch (``func`` is the library's wrapper of :meth:`scalar`)."""
        points = [np.asarray(x, dtype=float) for x in iterable]
        if not points:
            return []
        return [float(v) for v in self.batch(np.vstack(points))]

    def jac(self, x: np.ndarray, *args: Any) -> np.ndarray:
        """Forward-difference gradient; its stencil is one batch, and ``f(x)`` is taken
        from the last batch when ``x`` was in it (scipy asks ``f(x)`` first)."""
        x = np.clip(np.array(x, dtype=float), 0.0, 1.0)
        f0 = self._last.get(x.tobytes())
        steps = np.where(x + self.step <= 1.0, self.step, -self.step)
        stencil = x + np.diag(steps)
        if f0 is None:
            v = self.batch(np.vstack([x, stencil]))
            f0, v = float(v[0]), v[1:]
        else:
            v = self.batch(stencil)
        return (v - f0) / steps

    def value_and_grad(self, x: np.ndarray, *args: Any) -> tuple[float, np.ndarray]:
        """``f(x)`` and its forward-difference gradient, asked as one batch of
        ``dim + 1`` points (for ``jac=True``)."""
        x = np.clip(np.array(x, dtype=float), 0.0, 1.0)
        self._last = {}
        g = self.jac(x)
        return self._last[x.tobytes()], g


def _work(body: Callable[[Evaluator], Any], evaluator: Evaluator,
          asks: queue.SimpleQueue) -> None:
    """The worker thread: it holds the queues and the body, never the optimizer."""
    try:
        result = body(evaluator)
    except _Abort:
        return
    except Exception as exc:  # handed to the main thread, raised there
        asks.put(("error", exc))
    else:
        asks.put(("done", result))


class Bridge:
    """One run of a library's loop in a worker thread.

    ``body(evaluator)`` runs the library with the :class:`Evaluator`'s callables and
    returns its result.  :meth:`receive` blocks until the worker posts points
    (``("x", X)``), its result (``("done", result)``) or its exception
    (``("error", exc)``); :meth:`send` hands the values of the posted points back;
    :meth:`close` ends the thread (the blocked objective raises, the library unwinds).

    Example
    -------
    >>> import numpy as np
    >>> bridge = Bridge(lambda ev: ev.scalar(np.array([0.5])) + 1, name="demo")
    >>> bridge.receive()[0], bridge.send(np.array([2.0])), bridge.receive()
    ('x', None, ('done', 3.0))
    >>> bridge.close(); bridge.alive
    False
    """

    def __init__(self, body: Callable[[Evaluator], Any], name: str = "hybridlab-bridge",
                 step: float = 1e-8) -> None:
        self._asks: queue.SimpleQueue = queue.SimpleQueue()
        self._tells: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = threading.Thread(
            target=_work, args=(body, Evaluator(self._asks, self._tells, step), self._asks),
            name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the worker thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def receive(self) -> tuple[str, Any]:
        """The worker's next message; after ``"done"`` or ``"error"`` the thread has
        ended and been joined."""
        kind, payload = self._asks.get()
        if kind != "x" and self._thread is not None:
            self._thread.join()
            self._thread = None
        return kind, payload

    def send(self, values: np.ndarray) -> None:
        """The values of the last posted points, in their order."""
        self._tells.put(np.asarray(values, dtype=float).reshape(-1))

    def close(self) -> None:
        """End the worker thread (a no-op once it has ended)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._tells.put(_ABORT)
            thread.join()

    def __del__(self) -> None:
        if getattr(self, "_thread", None) is not None:  # forgotten close(): let it end
            self._tells.put(_ABORT)


class ThreadedOptimizer(Optimizer):
    """Base class of optimizers whose library runs its own loop (see the module).

    A subclass sets ``name`` and writes ``_body(x0, rng, budget)``: the function the
    worker runs, given an :class:`Evaluator`, returning the library's result.  It must
    not refer to the optimizer (a module-level function with ``functools.partial``), so
    that a forgotten optimizer can be collected and its thread ended.  ``x0`` is the
    next start point handed in (the best point of ``init`` for the first run) or
    ``None``; ``rng`` a generator drawn from the one given to :meth:`start` for this
    run; ``budget`` the evaluations left (``None`` when unknown).

    ``restarts``: when the library's loop ends before the budget, the next ``ask``
    starts a new run; with ``False``, :meth:`stop` turns True once the first run ended.

    Failed evaluations (NaN/inf) reach the library as the worst finite value told so
    far, or ``1e30`` before any.  :attr:`results_` holds the result of each finished run.
    """

    name = "threaded"
    restarts: bool = True
    #: forward-difference step of the gradients the evaluator computes
    fd_step: float = 1e-8
    _bridge: Bridge | None = None

    def _body(self, x0: np.ndarray | None, rng: np.random.Generator,
              budget: int | None) -> Callable[[Evaluator], Any]:  # pragma: no cover
        raise NotImplementedError

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        self.close()  # a restarted optimizer must not leave its old thread behind
        super().start(dim, rng, init, budget)
        starts = np.empty((0, self.dim)) if init is None or not len(init) else init.X[:1]
        self._starts = [np.clip(np.array(x, dtype=float), 0.0, 1.0) for x in starts]
        self._pending: np.ndarray | None = None
        self._got: list[np.ndarray] = []
        self._error: Exception | None = None
        self._worst = -np.inf
        self._ended = False
        self._empty_runs = 0
        self.n_runs = 0
        self.results_: list[Any] = []

    def ask(self) -> np.ndarray:
        if self._error is not None:
            err, self._error = self._error, None
            raise RuntimeError(f"{self.name} failed: {err}") from err
        while self._pending is None:
            if self._bridge is None:
                self._launch()
            self._receive()
            if self._error is not None:
                return self.ask()
        told = sum(len(v) for v in self._got)
        return self._pending[told:].copy()

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        y = np.asarray(y, dtype=float).reshape(-1)
        finite = y[np.isfinite(y)]
        if finite.size:
            self._worst = max(self._worst, float(finite.max()))
        if self._pending is None or y.size == 0:
            return
        left = len(self._pending) - sum(len(v) for v in self._got)
        if y.size > left:
            raise RuntimeError(f"{self.name}.tell() got {y.size} values for {left} asked "
                               "points")
        fill = self._worst if np.isfinite(self._worst) else _BIG
        self._got.append(np.where(np.isfinite(y), y, fill))
        if y.size < left:  # a trimmed batch: the rest is asked again
            return
        values = np.concatenate(self._got)
        self._pending, self._got = None, []
        assert self._bridge is not None
        self._bridge.send(values)
        self._receive()  # the next points, or the end of the run (so stop() knows)

    def stop(self) -> bool:
        return not self.restarts and self._ended and self._pending is None

    def close(self) -> None:
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.close()
        self._pending, self._got = None, []

    def _launch(self) -> None:
        x0 = self._starts.pop(0) if self._starts else None
        run_rng = np.random.default_rng(int(self.rng.integers(2**63)))
        left = None if self.budget is None else max(1, int(self.budget) - self.n_told)
        self.n_runs += 1
        self._run_evaluated = False
        self._bridge = Bridge(self._body(x0, run_rng, left), name=f"hybridlab-{self.name}",
                              step=self.fd_step)

    def _receive(self) -> None:
        assert self._bridge is not None
        kind, payload = self._bridge.receive()
        if kind == "x":
            self._pending, self._got, self._run_evaluated = payload, [], True
            return
        self._bridge = None
        if kind == "error":
            self._error = payload
            return
        self.results_.append(payload)
        self._ended = True
        self._empty_runs = 0 if self._run_evaluated else self._empty_runs + 1
        if self._empty_runs >= 3:
            self._error = RuntimeError("three runs in a row ended without evaluating a "
                                       "point; check the options")

    def __getstate__(self) -> dict[str, Any]:
        """Copies (``copy.deepcopy``, as hybrids make of their stages, and pickle) carry
        the constructor parameters only: a started run holds a thread."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")
                and not k.endswith("_") and k not in ("dim", "rng", "budget", "n_told",
                                                      "n_runs")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
