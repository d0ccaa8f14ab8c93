"""Switching on the problem state: probe with local searches, then move the budget.

:class:`Switch` measures the landscape while it searches and gives the budget to the arm
that the measurements favour, writing every decision and its reason to
:attr:`Switch.decisions` (the driver copies it to ``Result.decisions``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..optimizers.base import Optimizer, Population
from .composite import Composite, fresh

__all__ = ["Switch"]

#: what each phase of a Switch is for, in the decision log
PHASES = ("probe", "explore", "polish")


class Switch(Composite):
    """Local probes first; a global arm only when the probes find several optima.

    The run starts with ``local`` (a restarting local search, e.g. model-based COBYQA or
    BOBYQA), which on a smooth unimodal landscape reaches high precision in a few dozen
    evaluations per dimension -- the fastest way to the first targets.  Each finished
    local run is a *probe*: it ends in a local optimum.  After ``probes`` of them the
    switch compares their values:

    * all within ``tol`` (relative) of the best: the landscape looks **unimodal**, and
      ``local`` keeps the budget (its restarts confirm or improve the optimum);
    * otherwise it is **multimodal**: ``explore`` (e.g. BIPOP-CMA-ES) takes the rest of
      the budget, started from the incumbent alone (so it keeps its own initial step).

    Local runs that have not finished ``probes`` runs within ``probe_share`` of the budget
    point to an ill-conditioned or rugged landscape, where an explorer that learns the
    shape (CMA-ES) does better: the budget moves too ("slow local search").  That move
    happens only while at least ``min_explore * dim`` evaluations are left, enough for
    the explorer to learn the shape; the move on a multimodal finding needs
    ``min_multimodal * dim``.  With less, the local search keeps the budget.

    While ``explore`` runs, the switch watches it:
    when an explorer that restarts (a CMA-ES with ``n_restarts``) ends a run and the
    incumbent improved since the last polish, the incumbent is **polished** by a fresh
    ``local`` run (at most ``polish_share`` of the budget); an explorer without restarts
    is polished after ``stall`` evaluations without improvement.  Either way the explorer
    then continues from its own state.  Finally the last ``polish_share`` of the budget
    polishes the incumbent.

    Parameters
    ----------
    local : Optimizer
        A restarting local search with ``results_`` (one scipy result per finished run),
        such as :class:`~hybridlab.optimizers.LocalSearch`.
    explore : Optimizer
        The global arm.
    probes : int
        Finished local runs before the unimodal/multimodal decision (>= 2).
    tol : float
        Relative spread of the probes' optima below which they count as the same optimum.
    probe_share : float
        Budget share for the probes; local runs still unfinished then are cut short.
    min_explore : int
        Evaluations per dimension the explorer needs to pay off after a slow local search;
        with fewer left, the local search keeps the budget.
    min_multimodal : int
        The same after a multimodal finding.  The defaults (200 and 0) were chosen on
        BBOB instances 1-5 (``reports/bbob-tuning``): on a multimodal landscape even a
        short exploration beats more local restarts, a slow local search is worth
        leaving only for an explorer with time to learn the shape.
    stall : int, optional
        For an explorer without restarts: evaluations without improvement before the
        incumbent is polished (default ``100 * dim``).
    polish_share : float
        Budget share of each polish, and of the final one.

    Attributes
    ----------
    decisions : list of dict
        One row per decision: evaluation, from, to, reason, and the state measured
        (``optima``: distinct optima seen, ``spread``: their relative spread,
        ``progress``: improvement per evaluation).

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> rastrigin = lambda x: float(10 * len(x) + np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)))
    >>> p = hl.Problem(rastrigin, hl.Space.box(3, -5, 5))
    >>> s = hl.Switch(hl.LocalSearch(), hl.PSO())
    >>> r = hl.minimize(p, s, budget=1500, seed=0)
    >>> r.decisions.loc[0, "to"], r.decisions.loc[0, "reason"].split(":")[0]
    ('explore', 'multimodal')
    """

    def __init__(self, local: Optimizer, explore: Optimizer, probes: int = 2,
                 tol: float = 1e-3, probe_share: float = 0.2, stall: int | None = None,
                 polish_share: float = 0.05, min_explore: int = 200,
                 min_multimodal: int = 0) -> None:
        if int(probes) != probes or probes < 2:
            raise ValueError(f"probes must be an integer >= 2 (finished local runs), "
                             f"got {probes!r}")
        if not tol > 0:
            raise ValueError(f"tol must be > 0 (a relative spread), got {tol!r}")
        for label, share in (("probe_share", probe_share), ("polish_share", polish_share)):
            if not 0 < share < 1:
                raise ValueError(f"{label} must be a fraction in (0, 1), got {share!r}")
        for label, need in (("min_explore", min_explore), ("min_multimodal", min_multimodal)):
            if int(need) != need or need < 0:
                raise ValueError(f"{label} must be an integer >= 0 (evaluations per "
                                 f"dimension), got {need!r}")
        if stall is not None and (int(stall) != stall or stall < 1):
            raise ValueError(f"stall must be an integer >= 1 (evaluations) or None, "
                             f"got {stall!r}")
        self.local = fresh(local)
        self.explore = fresh(explore)
        self.probes = int(probes)
        self.tol = float(tol)
        self.probe_share = float(probe_share)
        self.stall = stall
        self.polish_share = float(polish_share)
        self.min_explore = int(min_explore)
        self.min_multimodal = int(min_multimodal)

    def _parts(self) -> list[Optimizer]:
        return [self.local, self.explore]

    @property
    def name(self) -> str:  # type: ignore[override]
        return (f"switch({getattr(self.local, 'name', '?')},"
                f"{getattr(self.explore, 'name', '?')})")

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self.decisions: list[dict[str, Any]] = []
        self.state = "probe"
        self._stall = self.stall or 100 * dim
        self._best = np.inf
        self._best_at = 0  # evaluations told when the incumbent last improved
        self._since = 0  # evaluations told at the last switch
        self._explorer: int | None = None
        self._polish_end: int | None = None
        self._final = False
        self._restarts_seen = 0
        self._polished = np.inf  # the incumbent's value after the last polish
        self._start_child(fresh(self.local), init, budget)
        self._active = 0

    def ask(self) -> np.ndarray:
        limit = None
        if self.state == "polish" and self._polish_end is not None:
            limit = max(1, self._polish_end - self.n_told)
        elif self.state == "explore" and self.budget is not None:
            limit = max(1, self._final_at() - self.n_told)
        return self._collect([(self._active, limit)])

    def _final_at(self) -> int:
        """The evaluation from which the incumbent gets its final polish."""
        return int(self.budget - round(self.polish_share * self.budget))

    def _after_tell(self, owners: np.ndarray, y: np.ndarray) -> None:
        ymin = float(np.min(y)) if len(y) else np.inf
        if ymin < self._best:
            self._best, self._best_at = ymin, self.n_told
        if self.state == "probe":
            self._after_probe()
        elif self.state == "explore":
            self._after_explore()
        elif self._polish_end is not None and self.n_told >= self._polish_end:
            if self.budget is not None and self.n_told >= self._final_at():
                self._polish("final polish of the incumbent", final=True)
            else:
                self._resume_explorer()

    def _after_probe(self) -> None:
        optima = self._optima()
        if len(optima) >= self.probes:
            spread = _spread(optima)
            if spread > self.tol:
                self._explore_if_room(f"multimodal: {len(optima)} local runs ended "
                                      f"{spread:.2g} apart (relative spread of their values)",
                                      self.min_multimodal, optima=len(optima),
                                      spread=spread)
            elif not self.decisions:
                self._log("probe", f"unimodal so far: {len(optima)} local runs agree within "
                          f"{self.tol:g}; the local search keeps the budget",
                          optima=len(optima), spread=spread)
            return
        if self.budget is not None and self.n_told >= self.probe_share * self.budget:
            self._explore_if_room(f"slow local search: {len(optima)} of {self.probes} local "
                                  f"runs finished in {self.probe_share:.0%} of the budget "
                                  "(ill-conditioned or rugged)", self.min_explore,
                                  optima=len(optima))

    def _explore_if_room(self, reason: str, need: int, **state: Any) -> None:
        """Hand the budget to the explorer if ``need * dim`` evaluations are left."""
        left = None if self.budget is None else self.budget - self.n_told
        if left is None or left >= need * self.dim:
            self._explore(reason, **state)
        elif not any(row["to"] == "probe" and "too little" in row["reason"]
                     for row in self.decisions):
            self._log("probe", f"{reason}; but {left} evaluations left are fewer than "
                      f"{need} x dim: too little for the explorer, the local "
                      "search keeps the budget", **state)

    def _after_explore(self) -> None:
        if self.budget is not None and self.n_told >= self._final_at():
            self._polish("final polish of the incumbent", final=True)
            return
        restarts = getattr(self.children[self._explorer], "n_restarts", None)
        if restarts is not None:
            if restarts > self._restarts_seen:
                self._restarts_seen = restarts
                if self._best < self._polished:
                    self._polish(f"the explorer ended its run {restarts} and the incumbent "
                                 "improved since the last polish")
        elif self.n_told - max(self._best_at, self._since) >= self._stall:
            self._polish(f"the explorer has not improved the incumbent for {self._stall} "
                         "evaluations")

    def _explore(self, reason: str, **state: Any) -> None:
        self._log("explore", reason, **state)
        self.state, self._since = "explore", self.n_told
        left = None if self.budget is None else max(1, self._final_at() - self.n_told)
        # the incumbent alone: an explorer centres on it with its own initial step (a
        # population of local optima and their stencils would shrink a CMA-ES step to the
        # size of one basin)
        self._explorer = self._start_child(fresh(self.explore), self.population.best(1), left)
        self._active = self._explorer

    def _resume_explorer(self) -> None:
        assert self._explorer is not None
        self._polished = self._best
        self._log("explore", "polish done: the explorer resumes from its own state")
        self.state, self._since, self._polish_end = "explore", self.n_told, None
        self._active = self._explorer

    def _polish(self, reason: str, final: bool = False) -> None:
        self._log("polish", reason)
        self.state, self._since = "polish", self.n_told
        share = None if self.budget is None else max(1, round(self.polish_share * self.budget))
        if final or share is None:
            self._polish_end = None
        else:
            self._polish_end = min(self.n_told + share, self._final_at())
        self._start_child(fresh(self.local), self.population.best(1), share, slot=0)
        self._active = 0

    def _log(self, to: str, reason: str, **state: Any) -> None:
        row: dict[str, Any] = {"evaluation": self.n_told, "from": self.state, "to": to,
                               "reason": reason, "best": self._best}
        conditioning = getattr(self.children[self._explorer], "conditioning", None) \
            if self._explorer is not None else None
        if conditioning is not None:
            row["conditioning"] = float(conditioning)
        row.update(state)
        self.decisions.append(row)

    def _optima(self) -> np.ndarray:
        """Values of the finished local runs (the probes)."""
        results = getattr(self.children[0], "results_", [])
        return np.array([float(r.fun) for r in results], dtype=float)

    def stop(self) -> bool:
        return False


def _spread(values: np.ndarray) -> float:
    """Relative spread of local optima: (worst - best) / max(1, |best|)."""
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return 0.0
    best = float(finite.min())
    return float((finite.max() - best) / max(1.0, abs(best)))
