"""Vectorised against per-point objectives: evaluations per second through the driver.

The objective is cheap (a 10-d Rastrigin in numpy), so the figure is the cost of calling
it once per point versus once per population, plus what the optimizer spends per point.
GA and PSO at population 100; the torch variant runs the same function as a torch tensor
function on the CPU.  Prints evaluations per second for both paths and their ratio
(target: vectorised >= 10x per-point), then the same for the evaluation step alone
(``Problem.evaluate_many`` on the same batches, no optimizer): the gap between the two
lines is what the optimizer itself spends per point, which vectorising cannot remove.
``GA-np`` is ``GA(operators="numpy")`` (``"ga_np"``: the GA's operators on the whole
population with numpy); the last line is the issue's target, the numpy GA with a
vectorised objective against the DEAP GA with a per-point one (target >= 10x), all
measured in this run.

``--quality`` instead checks that the numpy GA optimises as well as DEAP's: final gaps
over 10 seeds on three 10-d functions of the own suite (Mann-Whitney U test).

    python benchmarks/vectorized.py [--evals 20000] [--repeats 3] [--quick] [--quality]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import hybridlab as hl
from hybridlab.vectorize import torch_objective

DIM, POP = 10, 100


def rastrigin(x: np.ndarray) -> float:
    return float(10.0 * x.shape[0] + np.sum(x * x - 10.0 * np.cos(2 * np.pi * x)))


def rastrigin_batch(X: np.ndarray) -> np.ndarray:
    return 10.0 * X.shape[1] + np.sum(X * X - 10.0 * np.cos(2 * np.pi * X), axis=1)


def rastrigin_torch(T):  # a torch tensor (n, d) -> (n,)
    import torch

    return 10.0 * T.shape[1] + (T * T - 10.0 * torch.cos(2 * torch.pi * T)).sum(dim=1)


def evals_per_second(problem: hl.Problem, make_opt: Callable[[], object], evals: int,
                     repeats: int) -> float:
    """Median over ``repeats`` seeds of evaluations per second (after one warm-up run)."""
    hl.minimize(problem, make_opt(), budget=min(evals, 10 * POP), seed=0)
    times = []
    for seed in range(repeats):
        t0 = time.perf_counter()
        hl.minimize(problem, make_opt(), budget=evals, seed=seed)
        times.append(time.perf_counter() - t0)
    return evals / statistics.median(times)


def evaluation_rate(problem: hl.Problem, batches: list[np.ndarray], repeats: int) -> float:
    """Evaluations per second of ``Problem.evaluate_many`` alone (no optimizer, no driver)."""
    problem.evaluate_many(batches[0])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for X in batches:
            problem.evaluate_many(X)
        times.append(time.perf_counter() - t0)
    return sum(len(X) for X in batches) / statistics.median(times)


def quality(budget: int = 5000, seeds: int = 10) -> None:
    """Median final gap f - f_opt of GA(operators="deap") and GA(operators="numpy")."""
    from scipy.stats import mannwhitneyu

    from hybridlab.benchmarks import suite

    print(f"10-d own suite (instance 1), budget {budget}, GA(pop_size=50), {seeds} seeds: "
          "median [IQR] of the final gap f - f_opt")
    for inst in suite(dims=(10,), instances=1,
                      functions=["rastrigin", "rosenbrock", "ellipsoid"]):
        gaps = {ops: np.array([hl.minimize(inst.problem(), hl.GA(operators=ops), budget=budget,
                                           seed=s).y - inst.f_opt for s in range(seeds)])
                for ops in ("deap", "numpy")}
        cells = "  ".join(f"{ops} {np.median(g):.4g} [{np.quantile(g, 0.25):.3g}, "
                          f"{np.quantile(g, 0.75):.3g}]" for ops, g in gaps.items())
        p = mannwhitneyu(gaps["deap"], gaps["numpy"]).pvalue
        print(f"{inst.function:11s} {cells}  Mann-Whitney p = {p:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="2000 evaluations, 1 run: smoke")
    ap.add_argument("--quality", action="store_true",
                    help="numpy GA against DEAP GA: final gaps over 10 seeds, 3 functions")
    args = ap.parse_args()
    if args.quality:
        return quality()
    quick = args.quick or hl.quick()
    evals = args.evals or (2_000 if quick else 20_000)
    repeats = args.repeats or (1 if quick else 3)
    space = hl.Space.box(DIM, -5.12, 5.12)
    point = hl.Problem(rastrigin, space, name="rastrigin")
    batch = hl.Problem(rastrigin_batch, space, name="rastrigin", vectorized=True)
    torch_batch = hl.Problem(torch_objective(rastrigin_torch, device="cpu"), space,
                             name="rastrigin", vectorized=True)
    optimizers = {"GA ": lambda: hl.GA(pop_size=POP),
                  "GA-np": lambda: hl.GA(pop_size=POP, operators="numpy"),
                  "PSO": lambda: hl.PSO(n_particles=POP)}
    print(f"{evals} evaluations, population {POP}, {DIM}-d Rastrigin, median of {repeats} "
          f"run(s){' (QUICK: illustrates, does not measure)' if quick else ''}")
    print(f"{'':5s} {'per-point ev/s':>15s} {'vectorised ev/s':>16s} {'ratio':>7s} "
          f"{'torch-cpu ev/s':>15s} {'ratio':>7s}")
    rates = {}
    for label, make in optimizers.items():
        p = evals_per_second(point, make, evals, repeats)
        v = evals_per_second(batch, make, evals, repeats)
        t = evals_per_second(torch_batch, make, evals, repeats)
        rates[label] = p, v
        print(f"{label:5s} {p:15,.0f} {v:16,.0f} {v / p:6.1f}x {t:15,.0f} {t / p:6.1f}x")
    rng = np.random.default_rng(0)
    batches = [space.decode_batch(rng.random((POP, DIM))) for _ in range(evals // POP)]
    p, v, t = (evaluation_rate(q, batches, repeats) for q in (point, batch, torch_batch))
    print(f"{'eval':5s} {p:15,.0f} {v:16,.0f} {v / p:6.1f}x {t:15,.0f} {t / p:6.1f}x"
          "   <- Problem.evaluate_many alone, same batches, no optimizer")
    deap_point, np_vec = rates["GA "][0], rates["GA-np"][1]
    print(f"GA-np vectorised vs DEAP GA per-point: {np_vec:,.0f} / {deap_point:,.0f} ev/s = "
          f"{np_vec / deap_point:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
