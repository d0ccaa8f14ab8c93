"""The recommended hybrid, chosen by ``benchmarks/hybrids.py`` (not by taste)."""

from __future__ import annotations

from ..optimizers import PSO, BayesOpt, LocalSearch
from ..optimizers.base import Optimizer
from .portfolio import Portfolio
from .sequential import Sequential

__all__ = ["default", "expensive"]


def default() -> Optimizer:
    """The recommended general-purpose hybrid: ``local | (pso >> local)`` with racing.

    Two arms share the budget and are evaluated in the same batches: multi-start
    L-BFGS-B (``local``), and a particle swarm whose best points are then polished by
    L-BFGS-B (``pso >> local``).  With racing, an arm that stops improving while the other
    leads is dropped and its remaining budget goes to the leader.

    Why this one.  ``benchmarks/hybrids.py`` ran 17 candidate hybrids and their components on the
    shifted/rotated suite (9 functions).  Two facts decided it:

    * multi-start L-BFGS-B alone is a very strong baseline on this suite (smooth
      functions, many of them unimodal or with few funnels): on dims 2-20 it reached as
      many targets as the best hybrid at 100 x D and more than ``pso >> local`` at
      1000 x D;
    * the swarm wins where the landscape has global structure (ackley, levy, rastrigin),
      multi-start local search where it is deceptive or ill-conditioned (schwefel,
      styblinski-tang, ellipsoid, rosenbrock).

    Running both and racing them had the best mean rank of every candidate at both
    budgets in the candidate round (dims 5-20, 3 seeds: 2.75 vs 2.96 for ``local`` and
    2.99 for ``pso >> local`` at 100 x D; 2.57 vs 3.19 and 3.72 at 1000 x D).  Its share
    of targets reached beats ``local`` at 1000 x D (54.4% vs 52.7%) but not at 100 x D
    (33.1% vs 34.8%): with a small budget, any budget not spent on L-BFGS-B costs
    precision.  The README quotes the full benchmark (dims 2-20, 5 seeds).

    Example
    -------
    >>> import hybridlab as hl
    >>> hl.default().name
    'local|pso>>local'
    """
    return Portfolio(LocalSearch(), Sequential(PSO(), LocalSearch()), race=True, patience=5)


def expensive() -> Optimizer:
    """The hybrid for few, costly evaluations (hyperparameter search, training runs):
    ``HybridSearchCV``'s default.

    GP-EI Bayesian optimization (:class:`~hybridlab.optimizers.BayesOpt`: a Latin
    hypercube design, then a Gaussian-process surrogate and expected improvement) with a
    *nested* hybrid inside: from 8 dimensions on, multi-start L-BFGS-B maximises the
    acquisition (log EI) from the ten best of 2000 random and local candidates.

    Why this one.  With 30-60 evaluations the population hybrids that win on cheap
    functions (``default()``, ``ga >> local``) barely finish a generation; model-based
    search is what works (``benchmarks/hpo.py``: GP-EI's mean CV score is level with or
    above Optuna's TPE at 30 and 60 trials on three scikit-learn tasks).  In many
    dimensions, such as a whole preprocessing pipeline plus a model (33 dimensions in
    notebook 02), random candidates cover the box too thinly to find the acquisition's
    maximum: there plain GP-EI did *worse* than random search (best 5-fold CV score of an
    80-candidate search, mean of 3 seeds: 0.9625 vs 0.9640), and the nested local search
    raised it to 0.9672 (``pso >> local`` as the inner optimizer: 0.9664), at about 14 ms
    per candidate instead of 8.  Three seeds are thin evidence: differences of this size
    are a few rows of the data.  Below 8 dimensions the inner search only costs time,
    so it is off.

    Example
    -------
    >>> import hybridlab as hl
    >>> hl.expensive().name
    'bayes[local]'
    """
    return BayesOpt(inner="local", inner_min_dim=8)
