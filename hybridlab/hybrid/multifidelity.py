"""Multi-fidelity search: score many candidates cheaply, promote the promising ones.

An objective that accepts ``fidelity`` (training epochs, a data fraction, ``max_iter``)
declares its range on the problem, ``Problem(f, space, fidelity=(1, 27))``, and is then
called as ``f(x, fidelity=r)``.  The budget of such a problem is counted in **fidelity
units** (e.g. epochs), and every ``Result`` reports both the evaluations and the cost.
A plain optimizer evaluates every point at full fidelity.

:class:`MultiFidelity` wraps any optimizer or hybrid with successive-halving rules inside
each population: every candidate the inner optimizer asks for is scored at the lowest
rung ``r0``, the best ``1/eta`` of them at ``r0 * eta``, and so on up to the full
fidelity; then the inner optimizer is told the whole population at once, each candidate
with the value of the highest rung it reached (kept no better than any candidate that
went further, so a rank-based GA and a value-based swarm both see a consistent order).
That is how BOHB and DEHB save budget, but inside any hybrid of hybridlab.

With ``brackets="hyperband"`` the brackets cycle through Hyperband's starting rungs
(Li et al., 2018): the first starts many candidates at the lowest rung, the next fewer
at the second rung, and so on up to a bracket that trains a few candidates at full
fidelity only, which hedges against a lowest rung that ranks badly.  With a model-based
inner optimizer (Optuna's TPE or GP sampler, ``BayesOpt``) this is BOHB (Falkner et al.,
2018): every bracket's candidates are proposals of a model fitted to all results so far.

With ``Fidelity(low, high, resumable=True)`` a promoted candidate costs only the extra
fidelity (an objective that resumes training from its lower-rung checkpoint, such as
:class:`hybridlab.ml.train.EpochsObjective`); otherwise each rung costs its full
fidelity.

Example
-------
>>> import numpy as np
>>> import hybridlab as hl
>>> def noisy_sphere(x, fidelity):  # fewer "epochs", more noise
...     return float(np.sum(x ** 2) + np.sin(7 * x).sum() / fidelity)
>>> p = hl.Problem(noisy_sphere, hl.Space.box(3, -2, 2), fidelity=(1, 27))
>>> r = hl.minimize(p, hl.MultiFidelity(hl.GA(pop_size=27), 1, 27), budget=2000, seed=0)
>>> sorted(set(r.history["fidelity"])), r.cost <= 2000, bool(r.y < 0.5)
([1.0, 3.0, 9.0, 27.0], True, True)
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ..fidelity import ladder as rungs_of
from ..fidelity import per_candidate, rank_consistent
from ..optimizers.base import Optimizer, Population
from ..optimizers.engines import build
from ..stepping import phase_labels

__all__ = ["MultiFidelity"]


class MultiFidelity(Optimizer):
    """Successive halving inside every population an optimizer asks for.

    Parameters
    ----------
    optimizer : Optimizer or str
        Any optimizer or hybrid (a prototype: copied, never mutated), or the name of a
        plain engine (``"ga"``, ``"pso"``...; a hybrid spec is built first:
        ``MultiFidelity(hl.make("ga>>local"), 1, 27)``).
    min_fidelity, max_fidelity : float
        The lowest rung and the full fidelity (the problem's ``high``).
    eta : float
        Promotion ratio (> 1): the best ``1/eta`` of a rung go on to ``eta`` times the
        fidelity.
    brackets : {"halving", "hyperband"}
        ``"halving"``: every population starts at the lowest rung.  ``"hyperband"``:
        bracket ``s`` (cycling ``0, 1, ..., len(rungs) - 1``) starts at rung ``s`` with
        Hyperband's number of candidates, ``ceil(n * eta**-s * K / (K - s))`` for a
        population of ``n`` and ``K`` rungs.  It needs an inner optimizer whose batch can
        be sized (a ``batch_size`` attribute: Optuna's samplers, ``BayesOpt``,
        ``TrustRegion``): ``MultiFidelity(make("optuna_tpe", batch_size=27), 1, 27,
        brackets="hyperband")`` is BOHB.

    Notes
    -----
    The driver passes ``fidelity`` to the objective and counts the budget in fidelity
    units; the history has ``fidelity`` and ``cost`` columns.  Failed evaluations (told
    the worst value) rank last.  ``population`` holds full-fidelity values only, so a
    stage after it (``MultiFidelity(ga, 1, 27) >> local``) starts from comparable points.
    """

    def __init__(self, optimizer: Any, min_fidelity: float, max_fidelity: float,
                 eta: float = 3, brackets: str = "halving") -> None:
        optimizer = build(optimizer, "optimizer")
        if brackets not in ("halving", "hyperband"):
            raise ValueError(f"brackets must be 'halving' or 'hyperband', got {brackets!r}")
        if brackets == "hyperband" and not hasattr(optimizer, "batch_size"):
            raise ValueError(f"brackets='hyperband' sizes each bracket's batch: give an "
                             f"optimizer with a batch_size attribute (e.g. "
                             f"make('optuna_tpe', batch_size=27) or BayesOpt(batch_size="
                             f"27)), got {getattr(optimizer, 'name', optimizer)!r}")
        self.brackets = brackets
        ladder = rungs_of(min_fidelity, max_fidelity, eta)
        self.optimizer = optimizer
        self.min_fidelity, self.max_fidelity, self.eta = min_fidelity, max_fidelity, eta
        self.rungs = ladder

    @property
    def name(self) -> str:  # type: ignore[override]
        kind = "hb" if self.brackets == "hyperband" else "mf"
        return f"{kind}({getattr(self.optimizer, 'name', 'optimizer')})"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        self.inner = copy.deepcopy(self.optimizer)
        self._n0 = int(getattr(self.inner, "batch_size", 1))
        self._s = -1  # the bracket (its starting rung) of the population being run
        cost = per_candidate(self.rungs, self.eta)
        hint = None if budget is None else max(1, int(budget / cost))
        self.inner.start(dim, rng, init, hint)
        self._bracket: dict[str, Any] | None = None
        self.fidelity = float(self.rungs[0])
        self.previous_fidelity = 0.0

    # -- one bracket: a population through the rungs ------------------------------------

    def _new_bracket(self) -> None:
        k = 0
        if self.brackets == "hyperband":
            K = len(self.rungs)
            self._s = k = (self._s + 1) % K
            self.inner.batch_size = max(1, math.ceil(self._n0 * float(self.eta) ** -k
                                                     * K / (K - k)))
        X = np.asarray(self.inner.ask(), dtype=float)
        X = X[None, :] if X.ndim == 1 else X
        labels = phase_labels(self.inner, len(X))
        self._bracket = {"X": X, "labels": labels, "rung": k, "start": k,
                         "active": np.arange(len(X)),
                         "y": np.full((len(self.rungs), len(X)), np.nan)}

    def ask(self) -> np.ndarray:
        if self._bracket is None:
            self._new_bracket()
        b = self._bracket
        k = b["rung"]
        self.fidelity = float(self.rungs[k])
        # a bracket's first rung is paid in full; a promotion pays the difference
        self.previous_fidelity = float(self.rungs[k - 1]) if k > b["start"] else 0.0
        self._labels = [b["labels"][i] for i in b["active"]]
        return b["X"][b["active"]]

    @property
    def phase(self) -> list[str]:  # type: ignore[override]
        return self._labels

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        b = self._bracket
        y = np.asarray(y, dtype=float).reshape(-1)
        k, active = b["rung"], b["active"][: len(y)]  # the driver may trim a last batch
        b["y"][k, active] = y
        if k == len(self.rungs) - 1:
            super().tell(b["X"][active], y)  # full-fidelity values: this optimizer's own
            self._finish()
            return
        n_keep = max(1, int(len(active) / self.eta + 1e-9))
        finite = np.isfinite(y)
        order = np.argsort(np.where(finite, y, np.inf), kind="stable")
        keep = order[:n_keep]
        keep = keep[finite[keep]] if finite.any() else keep[:0]
        if keep.size == 0:  # nothing worth promoting: tell what we have
            self._finish()
            return
        b["active"], b["rung"] = np.sort(active[keep]), k + 1

    def _finish(self) -> None:
        """Tell the inner optimizer the whole population, each candidate with the value of
        its highest rung, never better than a candidate that got further."""
        b = self._bracket
        told = rank_consistent(b["y"])
        seen = ~np.isnan(told)
        if seen.any():
            self.inner.tell(b["X"][seen], told[seen])
        self._bracket = None

    def stop(self) -> bool:
        return self._bracket is None and self.inner.stop()

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return (f"MultiFidelity({self.optimizer!r}, {self.min_fidelity}, "
                f"{self.max_fidelity}, eta={self.eta}, brackets={self.brackets!r})")
