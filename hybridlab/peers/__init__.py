"""Peer libraries as hybridlab optimizers: pycma, Nevergrad and Optuna on the unit box.

Studies put hybridlab's optimizers beside the field's usual references, and because the
adapters speak ask/tell on ``[0, 1]^dim`` like everything else, a peer can also be a stage
of a hybrid (``make("cmaes") >> LocalSearch()``).

* :class:`CMAES`: pycma's ``cma.CMAEvolutionStrategy``; registry names ``"cmaes"`` and
  ``"ipop_cmaes"`` (IPOP restarts with a growing population).
* :class:`NGOpt`: any entry of ``nevergrad.optimizers.registry`` (NGOpt by default);
  ``"ngopt"``, ``"ng_cma"``, ``"ng_de"``.
* :class:`OptunaSampler`: Optuna's TPE, GP, CMA-ES or random sampler through
  ``study.ask``; ``"optuna_tpe"``, ``"optuna_gp"``, ``"optuna_cmaes"``.
* scipy's global optimizers in a worker thread (:mod:`.scipy_global`):
  :class:`DualAnnealing`, :class:`DifferentialEvolution`, :class:`Direct`,
  :class:`SHGO`, :class:`BasinHopping`; ``"dual_annealing"``,
  ``"differential_evolution"``, ``"direct"``, ``"shgo"``, ``"basinhopping"`` (scipy is
  a dependency of hybridlab, not an extra).

The libraries are an optional extra (``pip install hybridlab[peers]``): importing this
module needs none of them; each adapter imports its library when it is built and says
which extra to install when it is missing.  :data:`PEERS` maps the names above to
factories; :mod:`hybridlab.registry` reads it, so ``hybridlab.make("cmaes")`` and specs
such as ``"cmaes>>local"`` work (a name registered by the user wins).

Every adapter is seeded from the generator the driver hands to ``start`` (same seed,
same :class:`~hybridlab.Result`), writes no files, prints nothing, and leaves the
caller's global random state and logging settings as they were.
"""


from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .cma import CMAES
from .nevergrad import NGOpt
from .optuna import OptunaSampler
from .scipy_global import SHGO, BasinHopping, DifferentialEvolution, Direct, DualAnnealing

__all__ = ["CMAES", "PEERS", "SHGO", "BasinHopping", "DifferentialEvolution", "Direct",
           "DualAnnealing", "NGOpt", "OptunaSampler"]


def _optuna_tpe(**kwargs: Any) -> OptunaSampler:
    return OptunaSampler("tpe", **kwargs)


def _optuna_gp(**kwargs: Any) -> OptunaSampler:
    return OptunaSampler("gp", **kwargs)


def _optuna_cmaes(**kwargs: Any) -> OptunaSampler:
    return OptunaSampler("cmaes", **kwargs)


def _ipop_cmaes(**kwargs: Any) -> CMAES:
    kwargs.setdefault("restarts", 9)
    return CMAES(**kwargs)


def _ng_cma(**kwargs: Any) -> NGOpt:
    return NGOpt("CMA", **kwargs)


def _ng_de(**kwargs: Any) -> NGOpt:
    return NGOpt("DE", **kwargs)


#: registry name -> factory (:mod:`hybridlab.registry` reads it; nothing is imported
#: from the peer libraries until a factory is called)
PEERS: dict[str, Callable[..., Any]] = {
    "cmaes": CMAES, "ipop_cmaes": _ipop_cmaes, "ngopt": NGOpt, "ng_cma": _ng_cma,
    "ng_de": _ng_de, "optuna_tpe": _optuna_tpe, "optuna_gp": _optuna_gp,
    "optuna_cmaes": _optuna_cmaes,
    "dual_annealing": DualAnnealing, "differential_evolution": DifferentialEvolution,
    "direct": Direct, "shgo": SHGO, "basinhopping": BasinHopping}
