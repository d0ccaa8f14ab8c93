"""Scale-out and run-store costs, measured against a serial run in the same process.

1. An objective that sleeps 50 ms, budget 200, GA (batches of 50): serial vs a 2-process
   pool vs a local Ray pool with 2 CPUs (when Ray is installed).  Prints wall times and
   speed-ups over serial (ideal: 2x on 2 cores).
2. The run store's cost per evaluation: a cheap objective (10-d sphere) with and without
   ``store=``, for a batch optimizer (GA, one transaction per 50 evaluations) and a
   one-point-per-batch optimizer (local search, one transaction per evaluation).
   Target: the store adds <= 1 ms per evaluation.

    python benchmarks/scale.py [--quick] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import hybridlab as hl

SLEEP = 0.05


def sleepy(x: np.ndarray) -> float:
    time.sleep(SLEEP)
    return float(np.sum(x ** 2))


def sphere(x: np.ndarray) -> float:
    return float(np.dot(x, x))


def _timed(problem: hl.Problem, opt: str, budget: int, **kwargs) -> tuple[float, hl.Result]:
    t0 = time.perf_counter()
    res = hl.minimize(problem, opt, budget=budget, seed=0, **kwargs)
    return time.perf_counter() - t0, res


def scale_out(budget: int) -> None:
    problem = hl.Problem(sleepy, hl.Space.box(5, -5, 5), name="sleepy")
    print(f"## objective sleeping {SLEEP * 1e3:.0f} ms, GA, budget {budget}")
    t_serial, ref = _timed(problem, "ga", budget)
    print(f"serial                 {t_serial:6.2f} s")
    with ProcessPoolExecutor(2) as pool:
        pool.submit(int).result()  # workers up before the clock starts
        t_pool, res = _timed(problem, "ga", budget, executor=pool)
    assert res.matches(ref), "a process pool changed the result"
    print(f"process pool (2)       {t_pool:6.2f} s   speed-up {t_serial / t_pool:.2f}x")
    try:
        import ray
        from ray.util.multiprocessing import Pool
    except ImportError:
        print("ray                    not installed (pip install 'hybridlab[ray]')")
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    try:
        with Pool(2) as pool:
            pool.map(int, [0, 1])  # actors up before the clock starts
            t_ray, res = _timed(problem, "ga", budget, executor=pool)
    finally:
        ray.shutdown()
    assert res.matches(ref), "a Ray pool changed the result"
    print(f"ray pool (2 CPUs)      {t_ray:6.2f} s   speed-up {t_serial / t_ray:.2f}x")


def store_cost(budget: int, repeats: int) -> None:
    problem = hl.Problem(sphere, hl.Space.box(10, -5, 5), name="sphere")
    print(f"\n## run store, cheap objective, budget {budget}, median of {repeats}")
    print(f"{'optimizer':10s} {'plain s':>8s} {'store s':>8s} {'ms/eval added':>14s}")
    with tempfile.TemporaryDirectory() as tmp:
        _timed(problem, "ga", 100, store=Path(tmp) / "warm.db", run="warm")  # imports
        for opt in ("ga", "local"):
            plain, stored = [], []
            for r in range(repeats):
                plain.append(_timed(problem, opt, budget)[0])
                db = Path(tmp) / f"{opt}-{r}.db"
                t, res = _timed(problem, opt, budget, store=db, run="bench")
                stored.append(t)
                assert res.n_evals == budget
            p, s = statistics.median(plain), statistics.median(stored)
            added = (s - p) / budget * 1e3
            verdict = "ok" if added <= 1.0 else "over the 1 ms target"
            print(f"{opt:10s} {p:8.3f} {s:8.3f} {added:14.3f}   {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller budgets")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    scale_out(60 if args.quick else 200)
    store_cost(500 if args.quick else 3000, 1 if args.quick else args.repeats)


if __name__ == "__main__":
    main()
