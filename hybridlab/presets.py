"""The recommended hybrids, chosen on benchmarks (not by taste): ``default()`` on BBOB
instances 1-5 (``benchmarks/bbob.py``), ``expensive()`` on the tuning tasks of
``benchmarks/hpo.py``.

They sit above both the combinators and the peers (``expensive()`` starts with Optuna's
TPE), which may not import each other.
"""

from __future__ import annotations

from .hybrid import Sequential, Switch
from .optimizers import LocalSearch, TrustRegion
from .optimizers.base import Optimizer
from .optimizers.cma import bipop
from .peers import OptunaSampler

__all__ = ["default", "expensive"]


def default() -> Optimizer:
    """The recommended general-purpose hybrid: :class:`Switch` from multi-start L-BFGS-B
    to BIPOP-CMA-ES on the measured problem state.

    Local searches probe first (the fastest way to the first targets on smooth
    landscapes); when two of them end in different optima (multimodal) or do not finish
    within a fifth of the budget with 200 x D evaluations left (ill-conditioned or
    rugged), BIPOP-CMA-ES takes over from the incumbent, with L-BFGS-B polishing the
    incumbent whenever a CMA-ES run ends and over the last 5% of the budget.  Every
    decision and its reason is in ``Result.decisions``.

    Why this one.  Chosen on COCO's BBOB instances 1-5 (``reports/bbob-tuning``: f1-f24,
    dims 2/5/10), not on the instances reported (6-10, ``reports/bbob``), among
    hybridlab 0.2's default ``local | (pso >> local)`` with racing, its components, BIPOP
    and ``dual_annealing``.  On the tuning instances it had the largest ECDF area at
    1000 x D (0.291 against 0.230 for the 0.2 default) and the best rank of the hybrids;
    at 100 x D the largest area (0.176 against 0.137) with the third-best rank (4.11,
    behind ``pso >> local`` at 3.89 and ``dual_annealing`` at 4.02).  Where it is
    weakest: the multimodal (f15-19) and weak-structure (f20-24) groups, and mean rank
    against BIPOP-CMA-ES alone at 1000 x D.  On the held-out instances 6-10 (dims 2, 3, 5,
    10) the same picture: the largest ECDF area at 1000 x D (0.296; ``dual_annealing``
    0.277, BIPOP 0.237) but BIPOP-CMA-ES the best mean rank (3.62 against 3.76, within
    noise); at 100 x D five optimizers (shgo, COBYQA, this, ``local``,
    ``dual_annealing``) lie within 0.007 in area and ``pso >> local`` ranks best.  The
    README quotes the tables (``reports/bbob/``).

    Example
    -------
    >>> import hybridlab as hl
    >>> hl.default().name
    'switch(local,bipop)'
    """
    return Switch(LocalSearch(), bipop())


def expensive() -> Optimizer:
    """The hybrid for few, costly evaluations (hyperparameter search, training runs):
    ``HybridSearchCV``'s default.

    Optuna's TPE sampler for the first half of the budget (its first ten trials are
    random), then :class:`~hybridlab.optimizers.TrustRegion` for the second half: a
    Gaussian process fitted on every trial so far, TPE's included, and expected
    improvement inside a trust region around the incumbent that grows on success,
    shrinks on failure and restarts elsewhere when it collapses.  A global model-based
    phase hands its incumbent and its data to a local model-based phase.

    Why this one.  Chosen on the three tuning tasks of ``benchmarks/hpo.py`` (seeds
    100-102; ``reports/hpo/summary-tune.md``), never on the reported ones, among GP-EI
    with a nested local search (0.2's ``expensive()``), ``TrustRegion`` alone (with 0, 5
    or 10 global steps first), surrogate-assisted GA and PSO, ``surrogate(pso) >>
    trust_region`` and TPE >> trust region with 30, 50 and 70 % of the budget for TPE:
    it had the lowest mean normalised regret at 30 and 60 trials (0.093 and 0.055
    against native TPE's 0.097 and 0.068 and Optuna GP's 0.133 and 0.094) and the
    third-lowest at 20 (0.150; surrogate-assisted PSO 0.145, TPE 0.248).  Re-run after
    the trust region's candidates became uniform instead of scrambled Sobol points (a
    third of its search time), the same spec gave 0.149, 0.104 and 0.065: above TPE at
    30 trials, below it at 20 and 60.  With 9 task-seed pairs none of these differences
    is significant.  The README and ``reports/hpo/`` give its results on the nine
    reported tasks.

    Example
    -------
    >>> import hybridlab as hl
    >>> hl.expensive().name
    'optuna_tpe>>trust_region'
    """
    return Sequential(OptunaSampler("tpe"), TrustRegion())
