"""Overhead of the live dashboard (hybridlab.widgets.Dashboard) on a cheap run.

A 10-d sphere (per-point objective), so the figure is the dashboard's cost, not the
objective's.  For each optimizer and mode: median wall time of ``--repeats`` runs with and
without the dashboard, the ratio and the overhead in percent (target: < 5%).  Widget mode
runs without a kernel: widgets and the figure are updated but no PNG is rendered, so the
script also prints what one PNG render of the final plot costs in a kernel.  "in dashboard"
is the time measured inside the dashboard (construction + ``draw_seconds``) over the run's
time: steadier than the wall-time difference on a busy machine.

    python benchmarks/dashboard.py [--budget 20000] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
from _timing import timed

import hybridlab as hl
from hybridlab.widgets import Dashboard

DIM = 10


def sphere(x):
    return float(np.dot(x, x))


SPENT: list[float] = []  # per dashboard run: seconds inside the dashboard / run seconds


def run(problem: hl.Problem, opt: str, budget: int, mode: str | None,
        seed: int) -> Dashboard | None:
    t0 = time.perf_counter()
    dash = Dashboard(mode=mode) if mode else None
    built = time.perf_counter() - t0
    r = hl.minimize(problem, opt, budget=budget, seed=seed,
                    callbacks=[dash] if dash else [])
    if dash:
        dash.close(r)
        SPENT.append((built + dash.draw_seconds) / r.seconds)
    return dash


def render_cost(problem: hl.Problem, opt: str, budget: int) -> float:
    """Seconds for one PNG render of the final plot (what a kernel adds per plot draw)."""
    dash = run(problem, opt, budget, "widget", 0)
    buf = io.BytesIO()
    t0 = time.perf_counter()
    dash.figure.savefig(buf, format="png")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="budget 4000, for a smoke run")
    args = ap.parse_args()
    budget = args.budget or hl.scaled(4_000 if args.quick else 20_000, 4_000)
    problem = hl.Problem(sphere, hl.Space.box(DIM, -5, 5), name="sphere")
    print(f"{budget} evaluations, {DIM}-d sphere, median of {args.repeats} runs, "
          "dashboard built and closed inside the timed part")
    print(f"{'':22s} {'without s':>10s} {'with s':>8s} {'ratio':>7s} {'overhead':>9s} "
          f"{'in dashboard':>13s}")
    for opt in ("ga", "ga>>local"):
        run(problem, opt, budget, "widget", 0)  # warm-up (imports, caches)
        base = timed(lambda s, o=opt: run(problem, o, budget, None, s), args.repeats)
        for mode in ("widget", "text"):
            SPENT.clear()
            t = timed(lambda s, o=opt, m=mode: run(problem, o, budget, m, s), args.repeats)
            print(f"{opt + ' / ' + mode:22s} {base:10.3f} {t:8.3f} {t / base:6.3f}x "
                  f"{100 * (t / base - 1):8.1f}% {100 * statistics.median(SPENT):12.1f}%")
        print(f"{opt + ' / PNG render':22s} {1e3 * render_cost(problem, opt, budget):8.1f} ms "
              "per plot draw (kernel only)")


if __name__ == "__main__":
    main()
