"""Parallel speed-up: an objective that sleeps 20 ms, serial vs a 2-process pool.

Both runs use the same GA, seed and budget, and must give the same result; the script
prints wall times and the speed-up (target: >= 1.8x on 2 cores).

    python benchmarks/parallel.py [--budget 400] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import hybridlab as hl


def slow_sphere(x):
    time.sleep(0.02)
    return float(np.dot(x, x))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=hl.scaled(400, 80))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    problem = hl.Problem(slow_sphere, hl.Space.box(5, -5, 5), name="slow_sphere")
    opt = hl.GA(pop_size=20)

    serial = hl.minimize(problem, opt, budget=args.budget, seed=0)
    with ProcessPoolExecutor(args.workers) as pool:
        pool.submit(int).result()  # start the workers before timing
        parallel = hl.minimize(problem, opt, budget=args.budget, seed=0, executor=pool)
    print(f"budget {args.budget} x 20 ms, GA population 20, {args.workers} workers")
    print(f"serial   {serial.seconds:7.2f} s")
    print(f"parallel {parallel.seconds:7.2f} s")
    print(f"speed-up {serial.seconds / parallel.seconds:7.2f}x   "
          f"same result: {serial.matches(parallel)}")


if __name__ == "__main__":
    main()
