"""scipy's global optimizers as ask/tell peers on the unit box.

``scipy.optimize.dual_annealing``, ``differential_evolution``, ``direct``, ``shgo`` and
``basinhopping`` call the objective themselves; each adapter runs one in a worker thread
(:class:`~hybridlab.optimizers.threaded.ThreadedOptimizer`), so the driver owns budget,
evaluations and failures, and the peer can be a stage or an arm of a hybrid
(``make("differential_evolution>>local")``).  Registry names are the scipy names.

Common rules:

* Box: bounds ``[0, 1]^dim``; every asked point is inside.
* Budget: scipy's own limit (``maxfun``, ``maxfev``) is the evaluations left when the
  run starts; when scipy's loop ends first (converged, ``maxiter``), the next ``ask``
  restarts it, so a run uses its whole budget (``restarts=False``: :meth:`stop` turns
  True instead).  The driver ends the last run by :meth:`close`.
* Seeding: each scipy run gets ``rng=`` drawn from the generator given to ``start``.
  DIRECT and SHGO are deterministic, so their restarts search a sub-box of half the
  edge around a uniform random point (the full box again would repeat every point).
* Batches: ``differential_evolution`` asks a whole population per generation
  (``vectorized=True, updating="deferred"``), ``shgo`` its sampling points
  (``workers=`` map), and the L-BFGS-B local searches of ``dual_annealing``,
  ``basinhopping`` and ``shgo`` ask each finite-difference stencil as one batch: an
  executor spreads them over workers.
* ``init``: its best point is ``x0`` of the first run where scipy takes one
  (``dual_annealing``, ``differential_evolution``, ``basinhopping``).
* Any other keyword of the scipy function can be passed through ``options``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize

from ..optimizers.base import is_int
from ..optimizers.threaded import Evaluator, ThreadedOptimizer

__all__ = ["SHGO", "BasinHopping", "DifferentialEvolution", "Direct", "DualAnnealing"]

#: local minimizers of ``basinhopping`` that respect the box
LOCAL_METHODS = ("L-BFGS-B", "COBYQA", "Nelder-Mead", "Powell")


def _check_options(options: dict[str, Any] | None, owned: tuple[str, ...],
                   who: str) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict of keywords of scipy.optimize.{who}, "
                         f"or None; got {options!r}")
    taken = sorted(set(options) & set(owned))
    if taken:
        raise ValueError(f"options {taken} are set by the adapter (the box, the budget, the "
                         f"seed, batching); leave them out of options")
    return dict(options)


def _check_int(value: Any, name: str, low: int, hint: str) -> None:
    if not is_int(value) or value < low:
        raise ValueError(f"{name} must be an integer >= {low} ({hint}); got {value!r}")


def _box(dim: int, rng: np.random.Generator, first: bool) -> list[tuple[float, float]]:
    """The full box for the first run, then a sub-box of half the edge around a uniform
    random point (for the deterministic DIRECT and SHGO)."""
    if first:
        return [(0.0, 1.0)] * dim
    c = rng.random(dim)
    return list(zip(np.maximum(c - 0.25, 0.0), np.minimum(c + 0.25, 1.0), strict=True))


def _local_kwargs(dim: int, ev: Evaluator) -> dict[str, Any]:
    """``dual_annealing``'s default local search (L-BFGS-B, its ``maxiter``) with the
    gradient's stencil asked as one batch."""
    return {"method": "L-BFGS-B", "bounds": [(0.0, 1.0)] * dim, "jac": ev.jac,
            "options": {"maxiter": min(max(6 * dim, 100), 1000)}}


def _run_dual_annealing(ev: Evaluator, *, dim: int, x0: np.ndarray | None,
                        rng: np.random.Generator, maxfun: float, batch_gradient: bool,
                        options: dict[str, Any]) -> optimize.OptimizeResult:
    local = _local_kwargs(dim, ev) if batch_gradient else None
    if options.get("no_local_search"):
        local = None
    return optimize.dual_annealing(ev.scalar, [(0.0, 1.0)] * dim, maxfun=maxfun, rng=rng,
                                   x0=x0, minimizer_kwargs=local, **options)


class DualAnnealing(ThreadedOptimizer):
    """``scipy.optimize.dual_annealing`` (generalized simulated annealing + L-BFGS-B).

    Parameters
    ----------
    batch_gradient : bool
        Ask each finite-difference gradient of the local search as one batch of ``dim``
        points (step ``1e-8``, as scipy's own); ``False``: scipy's one point at a time.
    restarts : bool
        Start a new run when scipy's ends before the budget (``maxiter`` reached).
    options : dict, optional
        Other keywords of ``dual_annealing`` (``maxiter``, ``initial_temp``, ``visit``,
        ``accept``, ``restart_temp_ratio``, ``no_local_search``).

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> r = hl.minimize(p, DualAnnealing(), budget=300, seed=0)
    >>> r.n_evals, bool(r.y < 1e-6)
    (300, True)
    """

    name = "dual_annealing"

    def __init__(self, batch_gradient: bool = True, restarts: bool = True,
                 options: dict[str, Any] | None = None) -> None:
        self.options = _check_options(options, ("func", "bounds", "maxfun", "rng", "seed",
                                                "x0", "args", "minimizer_kwargs"),
                                      "dual_annealing")
        self.batch_gradient = bool(batch_gradient)
        self.restarts = bool(restarts)

    def _body(self, x0: np.ndarray | None, rng: np.random.Generator,
              budget: int | None) -> Callable[[Evaluator], Any]:
        return functools.partial(_run_dual_annealing, dim=self.dim, x0=x0, rng=rng,
                                 maxfun=1e7 if budget is None else budget,
                                 batch_gradient=self.batch_gradient, options=self.options)


def _run_de(ev: Evaluator, *, dim: int, x0: np.ndarray | None, rng: np.random.Generator,
            options: dict[str, Any]) -> optimize.OptimizeResult:
    return optimize.differential_evolution(ev.vectorized, [(0.0, 1.0)] * dim, rng=rng,
                                           x0=x0, vectorized=True, updating="deferred",
                                           **options)


class DifferentialEvolution(ThreadedOptimizer):
    """``scipy.optimize.differential_evolution``, one generation per batch.

    With ``vectorized=True, updating="deferred"`` scipy evaluates a whole population
    (``popsize * dim`` points) per call: it is asked as one batch.  The final
    L-BFGS-B polish (``polish=True``, scipy's default) asks one point at a time.

    Parameters
    ----------
    popsize : int
        Population size as a multiple of ``dim`` (scipy's 15).
    restarts : bool
        Start a new run (a new random population) when scipy's converges (``tol``) or
        reaches ``maxiter`` before the budget.
    options : dict, optional
        Other keywords of ``differential_evolution`` (``strategy``, ``maxiter``, ``tol``,
        ``mutation``, ``recombination``, ``polish``, ``init``, ``atol``).

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> de = DifferentialEvolution(popsize=5)
    >>> de.start(3, np.random.default_rng(0)); de.ask().shape  # one generation
    (15, 3)
    >>> de.close()
    >>> r = hl.minimize(p, de, budget=600, seed=0)
    >>> r.n_evals, bool(r.y < 1e-3)
    (600, True)
    """

    name = "differential_evolution"

    def __init__(self, popsize: int = 15, restarts: bool = True,
                 options: dict[str, Any] | None = None) -> None:
        _check_int(popsize, "popsize", 1, "a multiple of dim; scipy's default is 15")
        self.options = _check_options(options, (
            "func", "bounds", "rng", "seed", "x0", "args", "vectorized", "updating",
            "workers", "popsize", "constraints", "integrality"), "differential_evolution")
        self.popsize = int(popsize)
        self.restarts = bool(restarts)

    def _body(self, x0: np.ndarray | None, rng: np.random.Generator,
              budget: int | None) -> Callable[[Evaluator], Any]:
        return functools.partial(_run_de, dim=self.dim, x0=x0, rng=rng,
                                 options={"popsize": self.popsize, **self.options})


def _run_direct(ev: Evaluator, *, bounds: list[tuple[float, float]], maxfun: int,
                options: dict[str, Any]) -> optimize.OptimizeResult:
    return optimize.direct(ev.scalar, bounds, maxfun=maxfun, **options)


class Direct(ThreadedOptimizer):
    """``scipy.optimize.direct`` (DIRECT_L by default), one point per ask.

    ``maxfun`` is the evaluations left.  DIRECT is deterministic and takes no start
    point (``init`` is not used); a restart (when ``maxiter``, ``len_tol`` or
    ``vol_tol`` end a run early) searches a sub-box of half the edge around a uniform
    random point.

    Parameters
    ----------
    restarts : bool
        Restart when scipy's run ends before the budget.
    options : dict, optional
        Other keywords of ``direct`` (``eps``, ``maxiter``, ``locally_biased``,
        ``vol_tol``, ``len_tol``, ``f_min``).

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> r = hl.minimize(p, Direct(), budget=300, seed=0)
    >>> r.n_evals, bool(r.y < 1e-3)
    (300, True)
    """

    name = "direct"

    def __init__(self, restarts: bool = True, options: dict[str, Any] | None = None) -> None:
        self.options = _check_options(options, ("func", "bounds", "maxfun", "args",
                                                "callback"), "direct")
        self.restarts = bool(restarts)

    def _body(self, x0: np.ndarray | None, rng: np.random.Generator,
              budget: int | None) -> Callable[[Evaluator], Any]:
        return functools.partial(_run_direct, bounds=_box(self.dim, rng, self.n_runs == 1),
                                 maxfun=1000 * self.dim if budget is None else budget,
                                 options=self.options)


def _run_shgo(ev: Evaluator, *, bounds: list[tuple[float, float]], n: int,
              maxfev: int | None, batch_gradient: bool,
              options: dict[str, Any]) -> optimize.OptimizeResult:
    local: dict[str, Any] = {"method": "SLSQP", "options": {"ftol": 1e-12}}
    if batch_gradient:
        local["jac"] = ev.jac
    opts = dict(options.pop("options", None) or {})
    if maxfev is not None:
        opts.setdefault("maxfev", maxfev)
    return optimize.shgo(ev.scalar, bounds, n=n, options=opts, minimizer_kwargs=local,
                         workers=ev.map, **options)


class SHGO(ThreadedOptimizer):
    """``scipy.optimize.shgo`` (simplicial homology global optimization).

    Each sampling round is asked as one batch (``workers=`` a map that asks its points
    together); the SLSQP local searches ask their gradient stencils as batches.
    ``options["maxfev"]`` is the evaluations left.  SHGO is deterministic and takes no
    start point (``init`` is not used); a restart searches a sub-box of half the edge
    around a uniform random point.

    Parameters
    ----------
    n : int, optional
        Sampling points of the simplicial complex; default ``2 * dim + 1``.  scipy's
        default, ``2**dim + 1``, spends a 100 x D budget on sampling alone at ``dim`` 10
        (own suite, 1000 evaluations: sphere 54 against 3e-14, rosenbrock 3e5 against
        1e-8, ellipsoid 5e5 against 1e5; equal at ``dim`` 5), and its ``2**dim``
        vertices take minutes to build before the first evaluation at ``dim`` 15.
    batch_gradient : bool
        Ask each finite-difference gradient of SLSQP as one batch.
    restarts : bool
        Restart when scipy's run ends before the budget.
    options : dict, optional
        Other keywords of ``shgo`` (``iters``, ``sampling_method``, and its own
        ``options`` dict).

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> r = hl.minimize(p, SHGO(), budget=300, seed=0)
    >>> r.n_evals, bool(r.y < 1e-6)
    (300, True)
    """

    name = "shgo"

    def __init__(self, n: int | None = None, batch_gradient: bool = True,
                 restarts: bool = True, options: dict[str, Any] | None = None) -> None:
        if n is not None:
            _check_int(n, "n", 1, "sampling points, or None for the default")
        self.options = _check_options(options, ("func", "bounds", "args", "n", "workers",
                                                "minimizer_kwargs", "constraints"), "shgo")
        self.n = n
        self.batch_gradient = bool(batch_gradient)
        self.restarts = bool(restarts)

    def _body(self, x0: np.ndarray | None, rng: np.random.Generator,
              budget: int | None) -> Callable[[Evaluator], Any]:
        n = 2 * self.dim + 1 if self.n is None else self.n
        return functools.partial(_run_shgo, bounds=_box(self.dim, rng, self.n_runs == 1),
                                 n=n, maxfev=budget, batch_gradient=self.batch_gradient,
                                 options=dict(self.options))


class _BoxStep:
    """basinhopping's random displacement, clipped into the box; scipy adapts
    ``stepsize``."""

    def __init__(self, stepsize: float, rng: np.random.Generator) -> None:
        self.stepsize = stepsize
        self.rng = rng

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x + self.rng.uniform(-self.stepsize, self.stepsize, x.shape), 0, 1)


def _run_basinhopping(ev: Evaluator, *, x0: np.ndarray, rng: np.random.Generator,
                      method: str, stepsize: float,
                      options: dict[str, Any]) -> optimize.OptimizeResult:
    dim = len(x0)
    local: dict[str, Any] = {"method": method, "bounds": [(0.0, 1.0)] * dim}
    func: Callable[..., Any] = ev.scalar
    if method == "L-BFGS-B":
        local["jac"], func = True, ev.value_and_grad
    step = _BoxStep(stepsize, np.random.default_rng(int(rng.integers(2**63))))
    return optimize.basinhopping(func, x0, minimizer_kwargs=local, take_step=step,
                                 rng=rng, **options)


class BasinHopping(ThreadedOptimizer):
    """``scipy.optimize.basinhopping``: random hops, each followed by a local search.

    Parameters
    ----------
    minimizer : {"L-BFGS-B", "COBYQA", "Nelder-Mead", "Powell"}
        The local search, with the box as bounds.  L-BFGS-B (default) asks each point
        with its finite-difference stencil as one batch of ``dim + 1`` points.
    stepsize : float
        Initial hop size in box widths (scipy's 0.5; scipy adapts it).  Hops are
        clipped into the box.
    restarts : bool
        Restart from a uniform random point when ``niter`` hops end before the budget.
    options : dict, optional
        Other keywords of ``basinhopping`` (``niter``, ``T``, ``interval``,
        ``niter_success``, ``target_accept_rate``, ``stepwise_factor``).

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> r = hl.minimize(p, BasinHopping(), budget=300, seed=0)
    >>> r.n_evals, bool(r.y < 1e-6)
    (300, True)
    """

    name = "basinhopping"

    def __init__(self, minimizer: str = "L-BFGS-B", stepsize: float = 0.5,
                 restarts: bool = True, options: dict[str, Any] | None = None) -> None:
        if minimizer not in LOCAL_METHODS:
            raise ValueError(f"unknown minimizer {minimizer!r}; choose one of "
                             f"{list(LOCAL_METHODS)} (the local searches that respect the box)")
        if isinstance(stepsize, bool) or not isinstance(stepsize, int | float) or not (
                0 < stepsize <= 1):
            raise ValueError(f"stepsize is in box widths, 0 < stepsize <= 1 (e.g. 0.5); got "
                             f"{stepsize!r}")
        self.options = _check_options(options, (
            "func", "x0", "rng", "seed", "minimizer_kwargs", "take_step", "stepsize",
            "disp"), "basinhopping")
        self.minimizer = minimizer
        self.stepsize = float(stepsize)
        self.restarts = bool(restarts)

    def _body(self, x0: np.ndarray | None, rng: np.random.Generator,
              budget: int | None) -> Callable[[Evaluator], Any]:
        start = rng.random(self.dim) if x0 is None else x0
        return functools.partial(_run_basinhopping, x0=start, rng=rng,
                                 method=self.minimizer, stepsize=self.stepsize,
                                 options=self.options)
