"""Overhead of hybridlab's driver + wrappers against hand-written DEAP / PySwarms loops.

Same algorithm, population, generations and objective on both sides; the objective is
cheap (a 10-d sphere) so the figure is the framework's cost, not the objective's.  Prints
microseconds per evaluation for each side and the ratio (targets: GA <= 1.2x at 10k evals;
PSO <= 1.5x, issue 17).  The two sides of a row run alternately, one run each in turn, so
that a shared machine's load falls on both alike; the figure is each side's median.

    python benchmarks/overhead.py [--evals 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np
from deap import base, tools

import hybridlab as hl

# PySwarms' own names, imported through hybridlab, which keeps PySwarms from reconfiguring
# the root logger and writing ./report.log at import time
from hybridlab.optimizers.pso import (
    BoundaryHandler,
    Star,
    Swarm,
    VelocityHandler,
    _no_log_config,
    compute_pbest,
)

DIM, POP = 10, 50


def sphere(x):
    return float(np.dot(x, x))


def sphere_batch(X):
    return np.einsum("ij,ij->i", X, X)


# --- hand-written DEAP loop: same operators and elitism as hybridlab.GA ------------------
class _Fit(base.Fitness):
    weights = (-1.0,)


class _Ind(list):
    __slots__ = ("fitness",)

    def __init__(self, genes):
        super().__init__(genes)
        self.fitness = _Fit()


def raw_deap(evals: int, seed: int) -> float:
    random.seed(seed)
    lo, hi = -5.0, 5.0
    key = lambda ind: ind.fitness.values[0]  # noqa: E731
    pop = [_Ind([random.random() for _ in range(DIM)]) for _ in range(POP)]
    n = 0
    for ind in pop:
        ind.fitness.values = (sphere(lo + (hi - lo) * np.asarray(ind)),)
        n += 1
    pop.sort(key=key)
    while n < evals:
        kids = [_Ind(p) for p in tools.selTournament(pop, POP, tournsize=3)]
        for a, b in zip(kids[::2], kids[1::2], strict=False):
            if random.random() < 0.9:
                tools.cxSimulatedBinaryBounded(a, b, 15.0, 0.0, 1.0)
        for kid in kids:
            tools.mutPolynomialBounded(kid, 20.0, 0.0, 1.0, 1.0 / DIM)
        for kid in kids:
            kid.fitness.values = (sphere(lo + (hi - lo) * np.asarray(kid)),)
            n += 1
        pop = sorted(pop[:2] + sorted(kids, key=key)[: POP - 2], key=key)
    return pop[0].fitness.values[0]


# --- hand-written PySwarms backend loop, as in PySwarms' "custom optimization loop" ------
def raw_pyswarms(evals: int, seed: int, per_point: bool = False) -> float:
    np.random.seed(seed)
    lo, hi = -5.0, 5.0
    with _no_log_config():  # PySwarms' Reporter would write ./report.log
        topo = Star()
        bh, vh = BoundaryHandler("reflective"), VelocityHandler("unmodified")
    bounds = (np.zeros(DIM), np.ones(DIM))
    pos = np.random.random((POP, DIM))
    swarm = Swarm(position=pos, velocity=np.zeros_like(pos),
                  options={"w": 0.7298, "c1": 1.49618, "c2": 1.49618})
    swarm.pbest_pos, swarm.pbest_cost = pos.copy(), np.full(POP, np.inf)
    n = 0
    while n < evals:
        X = lo + (hi - lo) * swarm.position
        swarm.current_cost = np.array([sphere(x) for x in X]) if per_point else sphere_batch(X)
        n += POP
        swarm.pbest_pos, swarm.pbest_cost = compute_pbest(swarm)
        swarm.best_pos, swarm.best_cost = topo.compute_gbest(swarm)
        swarm.velocity = topo.compute_velocity(swarm, (-0.5, 0.5), vh, bounds)
        swarm.position = topo.compute_position(swarm, bounds, bh)
    return float(swarm.best_cost)


def alternately(a, b, repeats: int) -> tuple[float, float]:
    """Median wall times of ``a(r)`` and ``b(r)``, run in turn for ``r`` in ``range(repeats)``."""
    times: tuple[list[float], list[float]] = ([], [])
    for r in range(repeats):
        for fn, out in zip((a, b), times, strict=True):
            t0 = time.perf_counter()
            fn(r)
            out.append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=hl.scaled(10_000, 2_000))
    ap.add_argument("--repeats", type=int, default=hl.scaled(5, 2))
    args = ap.parse_args()
    E = args.evals
    point = hl.Problem(sphere, hl.Space.box(DIM, -5, 5), name="sphere")
    batch = hl.Problem(sphere_batch, hl.Space.box(DIM, -5, 5), name="sphere", vectorized=True)
    rows = [
        ("GA  (per-point objective)", lambda s: raw_deap(E, s),
         lambda s: hl.minimize(point, hl.GA(pop_size=POP), budget=E, seed=s)),
        ("PSO (per-point objective)", lambda s: raw_pyswarms(E, s, per_point=True),
         lambda s: hl.minimize(point, hl.PSO(n_particles=POP), budget=E, seed=s)),
        ("PSO (vectorised objective)", lambda s: raw_pyswarms(E, s),
         lambda s: hl.minimize(batch, hl.PSO(n_particles=POP), budget=E, seed=s)),
    ]
    print(f"{E} evaluations, population {POP}, {DIM}-d sphere, median of {args.repeats} runs")
    print(f"{'':28s} {'raw us/eval':>12s} {'hybridlab us/eval':>18s} {'ratio':>7s}")
    for label, raw, ours in rows:
        raw(0), ours(0)  # warm-up (imports, caches)
        t_raw, t_ours = alternately(raw, ours, args.repeats)
        print(f"{label:28s} {1e6 * t_raw / E:12.2f} {1e6 * t_ours / E:18.2f} "
              f"{t_ours / t_raw:6.2f}x")


if __name__ == "__main__":
    main()
