"""Local search: ``scipy.optimize.minimize`` as an ask/tell optimizer.

scipy drives its own loop and calls the objective itself.  :class:`LocalSearch` runs it
in a worker thread whose objective posts each point on a queue and blocks until
:meth:`~LocalSearch.tell` sends the value back (the idea of Nevergrad's
``optimization/recaster.py``), so the driver keeps owning budget and evaluations.  The two
threads run in lockstep, never at the same time, so a run is as deterministic as scipy.
When a scipy run ends, the next ``ask`` restarts it from a fresh point.

Two model-based derivative-free methods fit a quadratic model in a trust region and
respect the box: scipy's COBYQA (``LocalSearch("COBYQA")``, registry name ``"cobyqa"``)
and Py-BOBYQA's BOBYQA (``LocalSearch("BOBYQA")``, ``"bobyqa"``), run in the same worker
thread.
"""

from __future__ import annotations

import importlib
import queue
import threading
from typing import Any

import numpy as np
import scipy
from scipy.optimize import Bounds, OptimizeResult
from scipy.optimize import minimize as scipy_minimize

from .base import Optimizer, Population

__all__ = ["METHODS", "LocalSearch", "bobyqa", "cobyqa"]

#: scipy methods that respect the unit-box bounds
METHODS = ("L-BFGS-B", "Nelder-Mead", "Powell", "COBYQA", "BOBYQA")
#: the model-based methods' default options, in unit-box units (``options`` overrides
#: them); a scipy method gets ``options``, BOBYQA the keywords of ``pybobyqa.solve``
MODEL_OPTIONS: dict[str, dict[str, Any]] = {
    "COBYQA": {"initial_tr_radius": 0.1, "final_tr_radius": 1e-8},
    "BOBYQA": {"rhobeg": 0.1, "rhoend": 1e-8, "maxfun": 100_000},
}
#: what scipy sees for a failed evaluation before any finite value is known
_BIG = 1e30
_ABORT = object()


class _Abort(BaseException):
    """Raised in the worker's objective by ``close()``.  A BaseException, so that no
    ``except Exception`` inside scipy can swallow it."""


def _stencil(x: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``x + h e_i`` for every axis (``- h`` where ``+ h`` leaves the box)."""
    steps = np.where(x + h <= 1.0, h, -h)
    return np.vstack([x, x + np.diag(steps)]), steps


def _run_scipy(method: str, x0: np.ndarray, options: dict, asks: queue.Queue,
               tells: queue.Queue, fd_step: float | None) -> None:
    """Body of the worker thread.  It holds only the queues, never the optimizer.

    With ``fd_step`` (L-BFGS-B) each objective call asks for the point *and* its
    forward-difference stencil as one batch and returns the value with its gradient: one
    hand-over per gradient instead of ``dim + 1``, and a batch a process pool can share.
    """

    def request(X: np.ndarray) -> np.ndarray:
        asks.put(("x", X))
        values = tells.get()
        if values is _ABORT:
            raise _Abort
        return values

    def fun(x: np.ndarray) -> float:
        return float(request(np.clip(np.array(x, dtype=float), 0.0, 1.0)[None])[0])

    def fun_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        X, steps = _stencil(np.clip(np.array(x, dtype=float), 0.0, 1.0), fd_step)
        v = request(X)
        return float(v[0]), (v[1:] - v[0]) / steps

    bounds = Bounds(np.zeros(len(x0)), np.ones(len(x0)))
    try:
        if method == "BOBYQA":
            res = _bobyqa(fun, x0, options)
        elif fd_step is None:
            res = scipy_minimize(fun, x0, method=method, bounds=bounds, options=options)
        else:
            res = scipy_minimize(fun_and_grad, x0, method=method, jac=True, bounds=bounds,
                                 options=options)
    except _Abort:
        return
    except Exception as exc:  # raised again in the main thread by the next ask()
        asks.put(("error", exc))
    else:
        asks.put(("done", res))


def _bobyqa(fun: Any, x0: np.ndarray, options: dict[str, Any]) -> OptimizeResult:
    """Py-BOBYQA on the unit box, its own restarts (which draw from the global
    ``np.random``) and random initial directions off, no logging."""
    pybobyqa = importlib.import_module("pybobyqa")
    opts = dict(options)
    params = {**opts.pop("user_params", {}), "restarts.use_restarts": False,
              "init.random_initial_directions": False}
    soln = pybobyqa.solve(fun, x0, bounds=(np.zeros(len(x0)), np.ones(len(x0))),
                          user_params=params, do_logging=False, print_progress=False, **opts)
    if soln.flag == soln.EXIT_INPUT_ERROR:
        raise ValueError(soln.msg)
    return OptimizeResult(x=soln.x, fun=soln.f, nfev=soln.nf, status=soln.flag,
                          success=soln.flag == soln.EXIT_SUCCESS, message=soln.msg)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)} "
                         "(the methods that respect the unit-box bounds)")
    if method == "COBYQA" and tuple(map(int, scipy.__version__.split(".")[:2])) < (1, 14):
        raise ValueError(f"method='COBYQA' needs scipy >= 1.14 (here {scipy.__version__}): "
                         "pip install -U scipy")
    if method == "BOBYQA":
        try:
            importlib.import_module("pybobyqa")
        except ImportError as exc:
            raise ImportError("method='BOBYQA' needs Py-BOBYQA: pip install Py-BOBYQA") \
                from exc


class LocalSearch(Optimizer):
    """``scipy.optimize.minimize`` on the unit box, with restarts.

    Parameters
    ----------
    method : {"L-BFGS-B", "Nelder-Mead", "Powell", "COBYQA", "BOBYQA"}
        L-BFGS-B (default) estimates gradients by finite differences (``dim + 1``
        evaluations per gradient): best on smooth problems.  Nelder-Mead and Powell need
        no gradient and cope better with noise and kinks.  COBYQA (scipy >= 1.14) and
        BOBYQA (Py-BOBYQA) build a quadratic model from the points they evaluate and
        step in its trust region: no finite differences, often the most progress per
        evaluation on smooth functions at budgets of 10-100 x dim.  Their optimizer is
        named ``"cobyqa"`` / ``"bobyqa"``, the others ``"local"``.
    restarts : bool
        When scipy converges, restart from the next-best point of ``init`` not yet used,
        then from uniform random points.  With ``False``, :meth:`stop` turns True once
        the first run has converged (the driver then ends with ``stopped="converged"``).
    options : dict, optional
        Passed to ``scipy.optimize.minimize(options=...)``, e.g. ``{"ftol": 1e-12}``;
        for BOBYQA, keywords of ``pybobyqa.solve`` (``rhobeg``, ``rhoend``, ``npt``,
        ``maxfun``, ``user_params``).  The model-based methods start from
        :data:`MODEL_OPTIONS` (an initial trust radius of 0.1 box widths).
    init_step : float
        Edge of Nelder-Mead's first simplex in unit-box units, at most 0.5 (ignored when
        ``options`` has ``initial_simplex``).  L-BFGS-B and Powell do not use it.
    init_starts : int, optional
        How many of the best points handed in (``init``) become start points, best first,
        before the restarts turn to uniform random points (default: all of them).  Using
        only the best one (``init_starts=1``) sounds better for a clustered population
        but measured slightly worse in ``benchmarks/hybrids.py`` (``pso>>local`` at 100 x D
        on dims 5-20: 31.5% of targets against 32.0%).
    batch_gradient : bool
        L-BFGS-B only: ask for each point together with its forward-difference stencil
        (``dim + 1`` points, step ``options["eps"]``, default 1e-8) as one batch and hand
        scipy the value and gradient.  Same evaluations as scipy's own finite differences,
        but one thread hand-over per gradient, and batches an executor can spread over
        workers.  ``False``: scipy asks one point at a time.

    Attributes
    ----------
    results_ : list of scipy.optimize.OptimizeResult
        One per finished scipy run.

    Notes
    -----
    Failed evaluations (NaN/inf) reach scipy as the worst finite value told so far, or
    ``1e30`` before any.  Call :meth:`close` (the driver does) to end the worker thread.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import LocalSearch, Problem, Space, minimize
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(3, -5, 5))
    >>> r = minimize(p, LocalSearch(), budget=200, seed=0)
    >>> bool(r.y < 1e-8)
    True
    """

    name = "local"
    _worker: threading.Thread | None = None

    def __init__(self, method: str = "L-BFGS-B", restarts: bool = True,
                 options: dict[str, Any] | None = None, init_step: float = 0.05,
                 batch_gradient: bool = True, init_starts: int | None = None) -> None:
        _check_method(method)
        if options is not None and not isinstance(options, dict):
            raise ValueError(f"options must be a dict or None, got {options!r}")
        if not 0 < init_step <= 0.5:
            raise ValueError(f"init_step must be in (0, 0.5] (unit-box units), got {init_step!r}")
        if init_starts is not None and (int(init_starts) != init_starts or init_starts < 0):
            raise ValueError(f"init_starts must be an integer >= 0 or None, got {init_starts!r}")
        self.method = method
        self.restarts = restarts
        self.options = options
        self.init_step = init_step
        self.batch_gradient = batch_gradient
        self.init_starts = init_starts
        if method in MODEL_OPTIONS:
            self.name = method.lower()

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        self.close()  # a restarted optimizer must not leave its old thread behind
        super().start(dim, rng, init, budget)
        starts = np.empty((0, self.dim)) if init is None else init.X[: self.init_starts]
        self._starts = np.clip(np.array(starts, dtype=float), 0.0, 1.0)
        self._n_runs = 0
        self._pending: np.ndarray | None = None
        self._error: BaseException | None = None
        self._worst = -np.inf
        self._converged = False
        self._run_best = np.inf
        self.results_: list[OptimizeResult] = []

    @property
    def n_runs(self) -> int:
        """scipy runs started so far (restarts included)."""
        return self._n_runs

    def ask(self) -> np.ndarray:
        if self._pending is None and self._error is None:
            self._launch()
            self._receive()
        if self._error is not None:
            err, self._error = self._error, None
            raise RuntimeError(f"scipy.optimize.minimize(method={self.method!r}) failed: "
                               f"{err}") from err
        if self._pending is None:
            raise RuntimeError(f"scipy's {self.method} ended without evaluating a point; "
                               f"check options={self.options!r}")
        return self._pending.copy()

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        y = np.asarray(y, dtype=float).reshape(-1)
        finite = y[np.isfinite(y)]
        if finite.size:
            self._worst = max(self._worst, float(finite.max()))
        if self._pending is None or y.size == 0:
            return
        if y.size < len(self._pending):  # a trimmed batch: scipy cannot use a part of it
            self.close()
            return
        self._run_best = min(self._run_best, float(y.min()))
        fill = self._worst if np.isfinite(self._worst) else _BIG
        self._pending = None
        self._tells.put(np.where(np.isfinite(y), y, fill)[: len(y)])
        self._receive()  # wait for scipy's next point, so stop() knows if it converged

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        """Points offered from outside become the next start points (best first); if the
        best of them beats everything the current scipy run has seen, that run is
        abandoned and the next ``ask`` restarts from it."""
        super().inject(X, y)
        y = np.asarray(y, dtype=float).reshape(-1)
        finite = np.isfinite(y)
        if not finite.any():
            return
        X = np.asarray(X, dtype=float).reshape(-1, self.dim)[finite]
        y = y[finite]
        order = np.argsort(y, kind="stable")
        X = np.clip(X, 0.0, 1.0)[order]
        used = min(self._n_runs, len(self._starts))
        self._starts = np.vstack([self._starts[:used], X, self._starts[used:]])
        if y[order[0]] < self._run_best:
            self.close()  # abandon the current run; ask() launches from the injected point
            self._error = None

    def stop(self) -> bool:
        return not self.restarts and self._converged

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            self._tells.put(_ABORT)  # the blocked objective raises _Abort; scipy unwinds
            worker.join()
        self._pending = None

    def __del__(self) -> None:
        if self._worker is not None:  # forgotten close(): let the thread end by itself
            self._tells.put(_ABORT)

    def _launch(self) -> None:
        if self._n_runs < len(self._starts):
            x0 = self._starts[self._n_runs]
        else:
            x0 = self.rng.random(self.dim)
        self._n_runs += 1
        self._run_best = np.inf
        self._asks: queue.Queue = queue.Queue()
        self._tells: queue.Queue = queue.Queue()
        self._worker = threading.Thread(
            target=_run_scipy, args=(self.method, x0, self._run_options(x0), self._asks,
                                     self._tells, self._fd_step()),
            name="hybridlab-local", daemon=True)
        self._worker.start()

    def _fd_step(self) -> float | None:
        if self.method != "L-BFGS-B" or not self.batch_gradient:
            return None
        return float((self.options or {}).get("eps", 1e-8))

    def _run_options(self, x0: np.ndarray) -> dict[str, Any]:
        opts = {**MODEL_OPTIONS.get(self.method, {}), **(self.options or {})}
        if self._fd_step() is not None:
            opts.pop("eps", None)  # used for our stencil; scipy gets the gradient
        if self.method == "Nelder-Mead" and "initial_simplex" not in opts:
            step = np.where(x0 <= 0.5, self.init_step, -self.init_step)  # stays in the box
            opts["initial_simplex"] = np.vstack([x0, x0 + np.diag(step)])
        return opts

    def _receive(self) -> None:
        """Block until the worker posts its next point, its result or its error."""
        kind, payload = self._asks.get()
        if kind == "x":
            self._pending = payload
            return
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        if kind == "done":
            self.results_.append(payload)
            self._converged = True
        else:
            self._error = payload


def cobyqa(**kwargs: Any) -> LocalSearch:
    """``LocalSearch("COBYQA", ...)``: registry name ``"cobyqa"``.

    >>> cobyqa(restarts=False).name
    'cobyqa'
    """
    kwargs.setdefault("method", "COBYQA")
    return LocalSearch(**kwargs)


def bobyqa(**kwargs: Any) -> LocalSearch:
    """``LocalSearch("BOBYQA", ...)``: registry name ``"bobyqa"``.

    >>> bobyqa().method
    'BOBYQA'
    """
    kwargs.setdefault("method", "BOBYQA")
    return LocalSearch(**kwargs)
