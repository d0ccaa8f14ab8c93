"""scipy's global optimizers as peers: overhead per evaluation, and a sanity check.

1. Overhead: each peer (``hybridlab.peers.scipy_global``, run by ``hybridlab.minimize``)
   against calling the scipy function directly with the same budget (restarted until the
   budget is used, stopped by the objective when it is), on a cheap 10-d sphere in
   ``[-5, 5]^10``.  Prints microseconds per evaluation for each side and the ratio.
2. Sanity: ``f - f_opt`` of each peer (and ``local``, ``random`` for scale) on three
   functions of the own suite (``hybridlab.benchmarks.make_instance``, instance 1) at
   100 x D, seed 0.

    python benchmarks/scipy_peers.py [--evals 5000] [--repeats 3] [--dim 10]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import timed
from scipy import optimize

import hybridlab as hl
from hybridlab.benchmarks import make_instance

NAMES = ("dual_annealing", "differential_evolution", "direct", "shgo", "basinhopping")


class _Spent(BaseException):
    """Raised by the counting objective when the budget is used."""


def _raw(name: str, dim: int, evals: int, seed: int) -> int:
    """Call scipy's ``name`` directly on the unit box, restarting until ``evals``."""
    n = [0]

    def f(u):
        u = np.asarray(u, dtype=float)
        cols = 1 if u.ndim == 1 else u.shape[1]
        if n[0] + cols > evals:
            raise _Spent
        n[0] += cols
        x = -5.0 + 10.0 * u
        return float(x @ x) if u.ndim == 1 else np.einsum("ij,ij->j", x, x)

    rng = np.random.default_rng(seed)
    box = [(0.0, 1.0)] * dim
    try:
        while True:
            left = evals - n[0]
            if name == "dual_annealing":
                optimize.dual_annealing(f, box, maxfun=left, rng=rng)
            elif name == "differential_evolution":
                optimize.differential_evolution(f, box, rng=rng, vectorized=True,
                                                updating="deferred")
            elif name == "direct":
                optimize.direct(f, box, maxfun=left)
            elif name == "shgo":
                optimize.shgo(f, box, n=2 * dim + 1, options={"maxfev": left})
            else:
                optimize.basinhopping(f, rng.random(dim), rng=rng, minimizer_kwargs={
                    "method": "L-BFGS-B", "bounds": box})
    except _Spent:
        pass
    return n[0]


def _sphere(x):
    return float(np.dot(x, x))


def _sphere_batch(X):
    return np.einsum("ij,ij->i", X, X)


def overhead(dim: int, evals: int, repeats: int) -> None:
    point = hl.Problem(_sphere, hl.Space.box(dim, -5, 5), name="sphere")
    batch = hl.Problem(_sphere_batch, hl.Space.box(dim, -5, 5), name="sphere",
                       vectorized=True)
    print(f"{evals} evaluations, {dim}-d sphere, median of {repeats} runs (us/eval)")
    print(f"{'peer':34s} {'scipy':>8s} {'peer':>8s} {'ratio':>6s}")
    for name in NAMES:
        for label, problem in (("per-point objective", point), ("vectorised", batch)):
            if problem is batch and name != "differential_evolution":
                continue
            raw = timed(lambda s, n=name: _raw(n, dim, evals, s), repeats)
            ours = timed(lambda s, n=name, p=problem: hl.minimize(p, hl.make(n),
                                                                   budget=evals, seed=s),
                         repeats)
            print(f"{name + ' (' + label + ')':34s} {1e6 * raw / evals:8.1f} "
                  f"{1e6 * ours / evals:8.1f} {ours / raw:6.2f}")


def sanity(dim: int) -> None:
    functions = ("rastrigin", "rosenbrock", "ellipsoid")
    print(f"\nf - f_opt at 100 x D = {100 * dim} evaluations, dim {dim}, instance 1, seed 0")
    print(f"{'optimizer':24s}" + "".join(f"{f:>12s}" for f in functions))
    for name in (*NAMES, "local", "random"):
        gaps = []
        for fn in functions:
            inst = make_instance(fn, dim, 1)
            r = hl.minimize(inst.problem(), hl.make(name), budget=100 * dim, seed=0)
            gaps.append(float(inst.gap(r.y)))
        print(f"{name:24s}" + "".join(f"{g:12.3g}" for g in gaps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=hl.scaled(5000, 1000))
    ap.add_argument("--repeats", type=int, default=hl.scaled(3, 1))
    ap.add_argument("--dim", type=int, default=10)
    args = ap.parse_args()
    overhead(args.dim, args.evals, args.repeats)
    sanity(args.dim)


if __name__ == "__main__":
    main()
