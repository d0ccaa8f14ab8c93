"""A real-coded genetic algorithm on DEAP's operators, with ask/tell stepping.

DEAP supplies the variation and selection operators (``selTournament``,
``cxSimulatedBinaryBounded``, ``mutPolynomialBounded``); hybridlab supplies the loop.  No
``deap.creator`` globals: the individual type is local to this module.  DEAP's operators
draw from the global :mod:`random` module, so the GA swaps its own state in around them
and leaves the caller's untouched (see :mod:`hybridlab.optimizers.rng`).

``GA(operators="numpy")`` (registry name ``"ga_np"``) runs the same operators on the
whole population with numpy (:mod:`hybridlab.optimizers.ga_ops`), drawing from the GA's
own ``rng``: the same algorithm and distributions, not the same random stream, several
times faster per generation.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable
from numbers import Real

import numpy as np
from deap import base, tools

from ..schedules import Schedule, SuccessRule
from .base import Optimizer, Population
from .ga_ops import ArrayGA
from .rng import private_rng

__all__ = ["GA", "ga_np"]

OPERATORS = ("deap", "numpy")

#: a constant index, a schedule ``progress -> eta``, or a success rule adapting the step
EtaMut = float | Callable[[float], float] | SuccessRule


class _Fitness(base.Fitness):
    weights = (-1.0,)  # minimisation


class _Individual(list):
    """A list of genes with a DEAP fitness, built here instead of ``creator.create``."""

    __slots__ = ("fitness",)

    def __init__(self, genes: np.ndarray | list[float]) -> None:
        super().__init__(genes)
        self.fitness = _Fitness()


class GA(Optimizer):
    """Generational GA with tournament selection, SBX crossover, polynomial mutation
    and elitism, on the unit box.

    Parameters
    ----------
    pop_size : int
        Individuals per generation (each ``ask`` returns that many offspring).
    cxpb : float
        Probability that a pair of parents is crossed over.
    eta_cx : float
        Distribution index of SBX crossover (larger = children closer to their parents).
    eta_mut : float, callable or SuccessRule
        Distribution index of polynomial mutation (larger = smaller steps), either

        * a number (default 20.0);
        * a schedule ``f(progress) -> eta``, ``progress`` being the fraction of the budget
          told so far (0 when the budget is unknown), read once per generation, e.g.
          ``Linear(5.0, 50.0)`` from bold to fine mutations (:mod:`hybridlab.schedules`);
        * a :class:`~hybridlab.schedules.SuccessRule`, self-adapted by the 1/5th success
          rule (see Notes).  Its value is the *step size* ``sigma``, not ``eta``.
    indpb : float, optional
        Per-gene mutation probability (default ``1 / dim``).
    mutpb : float
        Probability that an offspring is mutated.
    tournsize : int
        Tournament size of the parent selection.
    elitism : int
        Best individuals of the previous generation that survive unchanged.
    operators : {"deap", "numpy"}
        ``"deap"`` (default): DEAP's per-individual operators.  ``"numpy"``: the same
        operators on the whole population at once (:mod:`~hybridlab.optimizers.ga_ops`),
        seeded from the GA's ``rng``; the name becomes ``"ga_np"``.  Every option
        above works with both; a seed gives different (equally distributed) runs.

    Notes
    -----
    *Success rule.*  After every generation is told, the success rate is the fraction of
    the offspring *that mutation changed* that are strictly better than **the parent
    they were copied from** (the tournament winner at their index, before crossover and
    mutation): the comparison of a (1+1)-ES, transferred to a GA.  Offspring mutation
    left alone (with ``indpb = 1/dim`` about a third) say nothing about the mutation step
    and are left out; failed evaluations count as failures.  The rule's
    value ``sigma`` (grown on a rate above ``target``, shrunk below it) is the mean
    mutation step as a fraction of the box, and is mapped onto polynomial mutation through
    its mean absolute perturbation ``E|delta| = 1 / (eta + 2)``::

        eta = 1 / sigma - 2        # sigma = 1/22 is eta = 20; larger sigma, smaller eta

    so a high success rate gives smaller ``eta`` (bolder mutations).  ``SuccessRule``'s
    default ``upper=0.5`` is ``eta = 0`` (the boldest polynomial mutation).  The rule
    passed in is never modified: each run adapts a copy, reset at :meth:`start`; the
    current index is :attr:`eta_mut_`.

    *Injection* (:meth:`inject`, e.g. migrants or locally refined points) is pagmo's
    ``fair_replace``: the injected points replace the worst parents they beat, so the
    parents keep their size (``pop_size``) and their best member; injected points worse
    than every parent and non-finite ones change nothing (all still join
    :attr:`population`); a copy of a parent with a better value re-scores that parent
    (Baldwinian learning).  Before the first generation is told, injected points
    take the place of not-yet-asked random individuals of the initial population (so no
    evaluation is spent on a point that is already known; individuals handed in by
    ``init`` are kept), and compete with the initial population when it is told.

    Example
    -------
    >>> import numpy as np
    >>> from hybridlab import GA, Problem, Space, minimize
    >>> from hybridlab.schedules import SuccessRule
    >>> p = Problem(lambda x: float(np.sum(x ** 2)), Space.box(4, -5, 5))
    >>> r = minimize(p, GA(pop_size=40), budget=2000, seed=0)
    >>> r.y < 0.05
    True
    >>> r = minimize(p, GA(pop_size=40, eta_mut=SuccessRule(1 / 22)), budget=2000, seed=0)
    >>> r.y < 1e-3
    True
    >>> r = minimize(p, GA(pop_size=40, operators="numpy"), budget=2000, seed=0)
    >>> r.optimizer, r.n_evals, bool(r.y < 0.05)
    ('ga_np', 2000, True)
    """

    name = "ga"

    def __init__(self, pop_size: int = 50, cxpb: float = 0.9, eta_cx: float = 15.0,
                 eta_mut: EtaMut = 20.0, indpb: float | None = None, mutpb: float = 1.0,
                 tournsize: int = 3, elitism: int = 2, operators: str = "deap") -> None:
        self.pop_size = pop_size
        self.cxpb = cxpb
        self.eta_cx = eta_cx
        self.eta_mut = eta_mut
        self.indpb = indpb
        self.mutpb = mutpb
        self.tournsize = tournsize
        self.elitism = elitism
        self.operators = operators
        if operators == "numpy":
            self.name = "ga_np"
        self._check()

    def _check(self) -> None:
        if int(self.pop_size) != self.pop_size or self.pop_size < 2:
            raise ValueError(f"GA pop_size must be an integer >= 2, got {self.pop_size!r}")
        for name in ("cxpb", "mutpb"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"GA {name} is a probability in [0, 1], got {v!r}")
        if self.indpb is not None and not 0.0 < self.indpb <= 1.0:
            raise ValueError(f"GA indpb must be in (0, 1] or None (1/dim), got {self.indpb!r}")
        if not _positive(self.eta_cx):
            raise ValueError(f"GA eta_cx must be a number > 0 (typical: 10-30), "
                             f"got {self.eta_cx!r}")
        eta = self.eta_mut
        if isinstance(eta, SuccessRule):
            if eta.upper > 0.5:
                raise ValueError(f"GA eta_mut=SuccessRule(...) adapts the mutation step sigma "
                                 f"(eta = 1/sigma - 2), which must stay <= 0.5: pass "
                                 f"upper <= 0.5, got upper={eta.upper!r}")
        elif isinstance(eta, Schedule):
            if not (_positive(eta.start) and _positive(eta.end)):
                raise ValueError(f"GA eta_mut schedule must stay > 0, got {eta!r}")
        elif not (callable(eta) or _positive(eta)):
            raise ValueError(f"GA eta_mut must be a number > 0 (typical: 10-30), a schedule "
                             f"f(progress) -> eta or a SuccessRule, got {eta!r}")
        if int(self.tournsize) != self.tournsize or self.tournsize < 1:
            raise ValueError(f"GA tournsize must be an integer >= 1, got {self.tournsize!r}")
        if not 0 <= self.elitism < self.pop_size:
            raise ValueError(f"GA elitism must be in [0, pop_size), got {self.elitism!r}")
        if self.operators not in OPERATORS:
            raise ValueError(f"GA operators must be 'deap' (DEAP's, the default) or 'numpy' "
                             f"(vectorised), got {self.operators!r}")

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        numpy_path = self.operators == "numpy"
        if not numpy_path:
            self._private_rng = private_rng(random.Random(int(rng.integers(2**63))))
        n = int(self.pop_size)
        seeds = init.X[:n] if init is not None else np.empty((0, dim))
        fill = rng.random((n - len(seeds), dim))
        self._array = ArrayGA(self, np.vstack([seeds, fill]), len(fill)) if numpy_path \
            else None
        self._pending = [_Individual(row) for row in np.vstack([seeds, fill]).tolist()]
        self._n_fill = len(fill)  # random individuals at the end of _pending, not yet asked
        self._initial = True  # the initial population has not been told yet
        self._parents: list[_Individual] = []
        rule = self.eta_mut
        self._rule = copy.deepcopy(rule).reset() if isinstance(rule, SuccessRule) else None
        self._parent_f: list[float | None] = []  # for the rule: see _breed

    @property
    def eta_mut_(self) -> float:
        """The polynomial-mutation index the next generation is bred with."""
        if self._rule is not None:
            return max(1.0 / self._rule.value - 2.0, 0.0)
        eta = self.eta_mut
        if not callable(eta):
            return eta
        t = min(1.0, self.n_told / self.budget) if self.budget else 0.0
        value = float(eta(t))
        if not _positive(value):
            raise ValueError(f"GA eta_mut schedule returned {value!r} at progress {t:.3g}: "
                             "it must stay > 0")
        return value

    def ask(self) -> np.ndarray:
        if self._array is not None:
            if not len(self._array.pending):
                self._array.breed(self.eta_mut_, self._rule is not None)
            return self._array.ask()
        if not self._pending:
            self._pending = self._breed()
        self._n_fill = 0  # handed out: no longer replaceable by injected points
        return np.array(self._pending, dtype=float)

    def _breed(self) -> list[_Individual]:
        parents = self._parents
        n, indpb = int(self.pop_size), self.indpb or 1.0 / self.dim
        eta_mut = self.eta_mut_
        with self._private_rng:
            chosen = tools.selTournament(parents, n, tournsize=self.tournsize)
            kids = [_Individual(ind) for ind in chosen]
            for a, b in zip(kids[::2], kids[1::2], strict=False):
                if random.random() < self.cxpb:
                    tools.cxSimulatedBinaryBounded(a, b, self.eta_cx, 0.0, 1.0)
            track = self._rule is not None
            mutated = [False] * n
            for i, kid in enumerate(kids):
                if random.random() < self.mutpb:
                    before = kid[:] if track else None
                    tools.mutPolynomialBounded(kid, eta_mut, 0.0, 1.0, indpb)
                    mutated[i] = track and kid != before
        if track:  # for the success rule: the parent's fitness where mutation changed a kid
            self._parent_f = [_key(p) if m else None
                              for p, m in zip(chosen, mutated, strict=True)]
        return kids

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        super().tell(X, y)
        if self._array is not None:
            rate = self._array.tell(X, y)
            if rate is not None and self._rule is not None:
                self._rule.update(rate)
            return
        told = self._pending[: len(y)]
        rows = np.asarray(X, dtype=float).reshape(len(told), -1).tolist()
        for ind, x, val in zip(told, rows, np.asarray(y, dtype=float), strict=True):
            ind[:] = x  # adopt the told point (a Lamarckian repair may have moved it)
            ind.fitness.values = (val,)
        self._pending = []
        n, k = int(self.pop_size), int(self.elitism)
        if self._initial:  # the initial population (with any points injected before it)
            self._parents = sorted(self._parents + told, key=_key)[:n]
            self._initial = not self._parents
            return
        if self._rule is not None:
            self._adapt(told)
        elite = sorted(self._parents, key=_key)[:k]
        self._parents = sorted(elite + sorted(told, key=_key)[: n - k], key=_key)

    def _adapt(self, told: list[_Individual]) -> None:
        """One step of the success rule from the offspring just told."""
        pairs = [(_key(kid), pf) for kid, pf in zip(told, self._parent_f, strict=False)
                 if pf is not None]
        if pairs:
            wins = sum(1 for f, pf in pairs if f < pf)  # NaN/inf never win
            self._rule.update(wins / len(pairs))

    def inject(self, X: np.ndarray, y: np.ndarray) -> None:
        """Let points evaluated elsewhere replace the worst parents they beat (see Notes).

        They are not counted in ``n_told``; the number of parents stays ``pop_size``."""
        super().inject(X, y)
        X = np.clip(np.asarray(X, dtype=float).reshape(-1, self.dim), 0.0, 1.0)
        y = np.asarray(y, dtype=float).reshape(-1)
        if self._array is not None:
            self._array.inject(X, y)
            return
        n = int(self.pop_size)
        resident = {tuple(ind): ind for ind in self._parents}
        new: list[_Individual] = []
        for i in np.argsort(y, kind="stable"):
            if not math.isfinite(y[i]):
                break  # sorted: the rest are not finite either
            genes = tuple(X[i].tolist())
            if genes in resident:  # a parent re-scored (Baldwinian learning)
                ind = resident[genes]
                if y[i] < _key(ind):
                    ind.fitness.values = (float(y[i]),)
            elif len(new) < n:
                ind = resident[genes] = _Individual(genes)
                ind.fitness.values = (float(y[i]),)
                new.append(ind)
        # residents first: on ties they stay
        self._parents = sorted(self._parents + new, key=_key)[:n]
        if new and self._initial and self._n_fill:  # skip random individuals not asked yet
            drop = min(self._n_fill, len(new))
            self._pending = self._pending[: len(self._pending) - drop]
            self._n_fill -= drop
            if not self._pending:  # nothing left to evaluate: breed from the injected
                self._initial = False

    def stop(self) -> bool:
        """Converged when the population has collapsed onto one point."""
        if self._array is not None:
            return self._array.stop()
        if len(self._parents) < 2 or _key(self._parents[0]) != _key(self._parents[-1]):
            return False
        P = np.asarray(self._parents, dtype=float)
        return bool(np.ptp(P, axis=0).max() < 1e-12)


def ga_np(**params: object) -> GA:
    """``GA(operators="numpy", **params)``: the registry's ``"ga_np"``.

    >>> ga_np(pop_size=20).name
    'ga_np'
    """
    return GA(operators="numpy", **params)  # type: ignore[arg-type]


def _key(ind: _Individual) -> float:
    return ind.fitness.values[0]


def _positive(v: object) -> bool:
    return (isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)
            and v > 0)
