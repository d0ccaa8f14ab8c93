"""Run every (optimizer, problem, seed) cell of a comparison and collect a :class:`Study`.

Each cell is one :func:`hybridlab.minimize` run, done by :func:`run_cell` (module level,
so that a process pool can pickle it), and kept as :mod:`hybridlab.study.cells` describes.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..driver import minimize
from ..problem import Problem
from ..provenance import command, environment
from ..registry import resolve
from .cells import (
    GRID_POINTS,
    cell_labels,
    crashed,
    hits_frame,
    run_name,
    runs_frame,
    trajectory,
)
from .study import Study

__all__ = ["DEFAULT_TARGETS", "TARGET_QUANTILES", "Cell", "compare", "run_cell"]

#: targets on the gap ``f - f_opt`` when the optimum is known: 10^2 ... 10^-8 (COCO)
DEFAULT_TARGETS = tuple(10.0 ** k for k in range(2, -9, -1))
#: quantile levels of the final values that make targets when the optimum is unknown
TARGET_QUANTILES = tuple(np.round(np.linspace(1.0, 0.0, 11), 2).tolist())


def build_optimizer(spec: Any) -> Any:
    """A fresh optimizer from a spec string (``"default"`` is :func:`hybridlab.default`)
    or a copy of an optimizer prototype (:func:`hybridlab.registry.resolve`)."""
    return resolve(spec, copy=True)


@dataclass(frozen=True)
class Cell:
    """One run of a study: everything :func:`run_cell` needs, picklable."""

    optimizer: str
    spec: Any
    problem: str
    objective: Problem
    budget: int
    seed: int
    store: str | None = None
    run: str | None = None
    energy: bool = False
    callbacks: tuple[Any, ...] = ()


def run_cell(cell: Cell) -> dict[str, Any]:
    """Run one cell; never raises: an optimizer that raises gives status ``"crashed: ..."``
    (a store that cannot be used or a mismatched stored run does raise).

    Returns a dict with the cell's labels, ``status`` (the run's ``stopped``), total
    ``seconds``, the grid trajectory (``eval, best, time, objective``: best so far, wall
    and cumulated objective seconds at each grid evaluation) and the improvements
    (``improved_eval, improved_best``).
    """
    from ..tracking import RunMismatch, StoreError

    out = cell_labels(cell.optimizer, cell.problem, cell.seed, cell.objective.space.dim)
    monitor = None
    if cell.energy:
        from ..energy import EnergyMonitor

        monitor = EnergyMonitor(tracking_mode="process").start()
    t0 = time.perf_counter()
    try:
        res = minimize(cell.objective, build_optimizer(cell.spec), budget=cell.budget,
                       seed=cell.seed, store=cell.store, run=cell.run,
                       callbacks=list(cell.callbacks))
    except (StoreError, RunMismatch):
        raise
    except Exception as exc:  # a crashing optimizer is a result too
        msg = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return crashed(out, f"crashed: {msg}", time.perf_counter() - t0)
    finally:
        if monitor is not None:
            monitor.stop()
    if monitor is None:
        return trajectory(out, res.history, res.seconds, res.stopped)
    return {**trajectory(out, res.history, res.seconds, res.stopped, monitor.kwh),
            "energy_method": monitor.method}


# -- inputs ---------------------------------------------------------------------------

def _leaves(opt: Any) -> list[str]:
    """Names of the single optimizers a hybrid is made of ([] for a single optimizer)."""
    parts = getattr(opt, "_parts", None)
    if parts is None:
        return []
    names: list[str] = []
    for part in parts():
        names += _leaves(part) or [getattr(part, "name", type(part).__name__.lower())]
    return list(dict.fromkeys(names))


def _optimizers(optimizers: Any) -> dict[str, Any]:
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    if not isinstance(optimizers, Mapping):
        optimizers = {(o if isinstance(o, str) else getattr(o, "name", repr(o))): o
                      for o in optimizers}
    if not optimizers:
        raise ValueError("compare needs at least one optimizer")
    return dict(optimizers)


def _problems(problems: Any) -> dict[str, tuple[Problem, float | None]]:
    if isinstance(problems, Problem) or hasattr(problems, "f_opt"):
        problems = [problems]
    if not isinstance(problems, Mapping):
        problems = {p.name: p for p in problems}
    if not problems:
        raise ValueError("compare needs at least one problem")
    out = {}
    for name, p in problems.items():
        f_opt = getattr(p, "f_opt", None)
        if not isinstance(p, Problem):
            if not callable(getattr(p, "problem", None)):
                raise ValueError(f"problem {name!r} must be a hybridlab.Problem or a "
                                 f"benchmark Instance, got {type(p).__name__}")
            p = p.problem(vectorized=True)
        out[str(name)] = (p, None if f_opt is None else float(f_opt))
    return out


def _budget(budget: int | Callable[[int], int], dim: int) -> int:
    b = budget(dim) if callable(budget) else budget
    if isinstance(b, bool) or not isinstance(b, int | np.integer) or b < 1:
        raise ValueError(f"budget must be an int >= 1 or a function dim -> int, got {b!r} "
                         f"for dim {dim}")
    return int(b)


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    seeds = list(range(seeds)) if isinstance(seeds, int | np.integer) else list(seeds)
    if not seeds or not all(isinstance(s, int | np.integer) for s in seeds):
        raise ValueError(f"seeds must be a positive count or a list of ints, got {seeds!r}")
    return [int(s) for s in seeds]


def _targets(targets: Any, name: str, f_opt: float | None,
             results: list[dict[str, Any]]) -> list[float]:
    if isinstance(targets, Mapping):
        targets = targets.get(name)
    if targets is not None:
        return sorted((float(t) for t in targets), reverse=True)
    if f_opt is not None:
        return list(DEFAULT_TARGETS)
    finals = np.array([r["best"][-1] for r in results
                       if r["problem"] == name and len(r["best"])], dtype=float)
    finals = finals[np.isfinite(finals)]
    if finals.size == 0:
        return []
    return sorted({float(v) for v in np.quantile(finals, TARGET_QUANTILES)}, reverse=True)


def _targets_from(targets: Any, name: str, f_opt: float | None) -> str:
    given = targets.get(name) if isinstance(targets, Mapping) else targets
    if given is not None:
        return "given"
    return "default" if f_opt is not None else "quantiles"


# -- provenance -----------------------------------------------------------------------

def _describe(fn: Callable[..., Any]) -> str:
    """A readable name for a budget function: its ``repr`` when it defines one."""
    if type(fn).__repr__ is not object.__repr__ and not hasattr(fn, "__code__"):
        return repr(fn)
    return f"callable {getattr(fn, '__name__', type(fn).__name__)}"


def _call(specs: Mapping[str, str], problems: Sequence[str], budget: Any,
          seeds: list[int], name: str) -> str:
    b = budget if not callable(budget) else getattr(budget, "__name__", "budget_fn")
    return (f"hybridlab.study.compare({dict(specs)!r}, problems={list(problems)!r}, "
            f"budget={b!s}, seeds={seeds!r}, name={name!r})")


# -- assembly -------------------------------------------------------------------------

def compare(optimizers: Mapping[str, Any] | Sequence[Any] | str,
            problems: Mapping[str, Any] | Sequence[Any],
            budget: int | Callable[[int], int], seeds: int | Iterable[int],
            executor: Executor | None = None,
            targets: Sequence[float] | Mapping[str, Sequence[float]] | None = None, *,
            name: str = "study", progress: bool = True,
            store: str | Path | None = None, energy: bool = False,
            callbacks: Callable[[str, str, int], Sequence[Any]] | None = None) -> Study:
    """Run every (optimizer, problem, seed) cell and return a :class:`Study`.

    Parameters
    ----------
    optimizers : dict label -> spec, or list of specs
        A spec is a registry name or hybrid string (``"pso"``, ``"ga>>local"``,
        ``"default"`` for :func:`hybridlab.default`) or an optimizer object (copied per
        run).  A list is labelled by the specs (objects by their ``name``).
    problems : dict name -> Problem or benchmark Instance, or a list of them
        An :class:`~hybridlab.benchmarks.Instance` knows its optimum ``f_opt``: its runs
        are measured by the gap ``f - f_opt`` (clipped at 0).  A plain
        :class:`~hybridlab.Problem` (unknown optimum, unless it has an ``f_opt``
        attribute) is measured by its objective value.  A list is named by ``.name``.
    budget : int or callable
        Evaluations per run, or a function ``dim -> int`` such as ``lambda d: 100 * d``
        (called here, in the parent process, so it need not be picklable).
    seeds : int or iterable of int
        ``n`` means seeds ``0..n-1``; each run is seeded with its seed, so the same inputs
        give the same runs (up to timings), serially or in parallel.
    executor : concurrent.futures.Executor, optional
        Runs the cells with ``executor.map`` (e.g. ``ProcessPoolExecutor``; problems and
        optimizer objects must then be picklable).  Serial when omitted.
    targets : list of float, or dict problem -> list, optional
        Targets on the gap (known optimum) or the objective (unknown).  Default: ``10^k``
        for ``k = 2 .. -8`` on the gap; for problems without ``f_opt``, the quantiles
        (100%, 90%, ..., 0%) of the final best values of all completed runs on that
        problem, so that the easiest target is reached by every run and the hardest (the
        best value found) by at least one.  Such targets depend on the optimizers
        compared: compare ERT/ECDF across studies only with explicit targets.
    name : str
        The study's name (``to_report`` writes under ``reports/<name>/``).
    progress : bool
        Show a tqdm progress bar over the cells.
    store : str or Path, optional
        A SQLite run store (:mod:`hybridlab.tracking`): every evaluation of every run is
        recorded as it completes, each run named ``<name>/<optimizer>/<problem>/seed<s>``,
        and the study's metadata at the end.  Calling ``compare`` again with the same
        arguments and store replays finished runs and resumes interrupted ones, so a
        study killed halfway loses at most the batches in flight;
        :meth:`Study.from_store` rebuilds the study from the file.
    energy : bool
        Measure each run's energy with codecarbon, offline (extra ``energy``;
        :class:`~hybridlab.energy.EnergyMonitor`, this process's share of the CPU): the
        ``energy_kwh`` column of ``runs`` is that energy apportioned along the run by
        wall time (cumulative at each grid evaluation; NaN without ``energy``), and
        ``meta["energy_method"]`` says how codecarbon measured.
    callbacks : callable, optional
        ``(optimizer label, problem name, seed) -> list of callbacks`` for that run's
        :func:`~hybridlab.minimize`, e.g. one logger per run:
        ``lambda o, p, s: [TensorBoardLogger(f"runs/{o}/{p}/seed{s}")]``.  Called here,
        in the parent process; with an ``executor`` the callbacks must be picklable.

    Returns
    -------
    Study
        Crashed cells (an optimizer raised) appear with status ``"crashed: <error>"``.

    Examples
    --------
    >>> from hybridlab.benchmarks import suite
    >>> problems = suite(dims=(2,), instances=1, functions=["sphere"])
    >>> study = compare(["random", "ga>>local"], problems, budget=100, seeds=2,
    ...                 progress=False)
    >>> study.summary()[["optimizer", "runs", "crashed"]].to_numpy().tolist()
    [['random', 2, 0], ['ga>>local', 2, 0]]
    """
    opts = _optimizers(optimizers)
    probs = _problems(problems)
    seeds = _seeds(seeds)
    built = {label: build_optimizer(spec) for label, spec in opts.items()}  # fail early
    budgets = {p: _budget(budget, prob.space.dim) for p, (prob, _) in probs.items()}
    db = None if store is None else str(Path(store).resolve())
    if db is not None:
        from ..tracking import RunStore

        RunStore(db).close()  # refuse a bad file before any run starts
    if callbacks is not None and not callable(callbacks):
        raise ValueError("callbacks must be a function (optimizer, problem, seed) -> list of "
                         f"callbacks, e.g. lambda o, p, s: [TensorBoardLogger(...)]; got "
                         f"{callbacks!r}")
    cells = [Cell(label, spec, p, probs[p][0], budgets[p], s, db,
                  None if db is None else run_name(name, label, p, s), bool(energy),
                  tuple(callbacks(label, p, s)) if callbacks is not None else ())
             for label, spec in opts.items() for p in probs for s in seeds]
    mapped = map(run_cell, cells) if executor is None else executor.map(run_cell, cells)
    results = list(tqdm(mapped, total=len(cells), desc=name, unit="run",
                        disable=not progress))
    f_opts = {p: f for p, (_, f) in probs.items()}
    tg = {p: _targets(targets, p, f_opts[p], results) for p in probs}
    specs = {label: spec if isinstance(spec, str) else repr(spec)
             for label, spec in opts.items()}
    meta = {
        "name": name,
        "optimizers": {label: {"spec": specs[label], "name": getattr(o, "name", label),
                               "components": _leaves(o)} for label, o in built.items()},
        "problems": {p: {"dim": prob.space.dim, "f_opt": f_opts[p], "budget": budgets[p],
                         "measure": "objective" if f_opts[p] is None else "gap",
                         "targets": tg[p], "targets_from": _targets_from(targets, p, f_opts[p])}
                     for p, (prob, _) in probs.items()},
        "budget": budget if not callable(budget) else _describe(budget),
        "seeds": seeds,
        "grid_points": GRID_POINTS,
        "executor": "serial" if executor is None else type(executor).__name__,
        "energy_method": next((r["energy_method"] for r in results if "energy_method" in r),
                              None),
        "command": command(),
        "call": _call(specs, list(probs), budget, seeds, name),
        "versions": environment(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    meta = json.loads(json.dumps(meta))  # JSON-native: save/load round-trips exactly
    if db is not None:
        from ..tracking import RunStore

        with RunStore(db) as rs:
            rs.save_study(name, meta)
    return Study(runs_frame(results, f_opts), hits_frame(results, tg, f_opts), meta)
