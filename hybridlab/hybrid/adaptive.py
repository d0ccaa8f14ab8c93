"""Strategy switching: pick the arm to run from the state of the search."""

from __future__ import annotations

from collections import deque

import numpy as np

from ..optimizers.base import Optimizer, Population
from .composite import Composite, fresh

__all__ = ["Adaptive"]

RULES = ("stagnation", "bandit")


class Adaptive(Composite):
    """Switch between arms on stagnation, or choose among them with a bandit.

    ``rule="stagnation"``: run one arm at a time; when the best value has not improved
    for ``patience`` evaluations (or the arm converged), switch to the next arm (cyclic),
    started afresh from the best points found so far.

    ``rule="bandit"``: all arms keep their state; before every batch, UCB1 picks the arm
    whose recent *credit* is highest plus an exploration bonus
    ``exploration * sqrt(2 ln N / n_arm)``.  A pull that improved the best value found so
    far earns ``smallest batch / its batch size`` (success per evaluation: an arm asking 20
    points per pull must succeed 20 times as often as a one-point arm), else 0.  This is
    scale-free, so it means the same on any objective; an arm's credit is the mean over
    its last ``window`` pulls.  The chosen arm first
    receives the incumbent best point (``inject``) if it has not seen anything as good.

    Parameters
    ----------
    *arms : Optimizer
    rule : {"stagnation", "bandit"}
    patience : int, optional
        Evaluations without improvement before switching (default ``20 * dim``).
    window : int
        Pulls per arm that count towards its credit (bandit).
    exploration : float
        UCB1 exploration constant (bandit).

    Example
    -------
    >>> import numpy as np
    >>> import hybridlab as hl
    >>> p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(3, -5, 5))
    >>> a = hl.Adaptive(hl.PSO(), hl.LocalSearch(), rule="bandit")
    >>> r = hl.minimize(p, a, budget=500, seed=0)
    >>> sorted(set(r.history["phase"]))
    ['local', 'pso']
    """

    def __init__(self, *arms: Optimizer, rule: str = "stagnation", patience: int | None = None,
                 window: int = 10, exploration: float = 0.1) -> None:
        if len(arms) < 2:
            raise ValueError("Adaptive needs at least two arms, e.g. Adaptive(GA(), PSO())")
        if rule not in RULES:
            raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}")
        if patience is not None and (int(patience) != patience or patience < 1):
            raise ValueError(f"patience must be an integer >= 1 (evaluations), got {patience!r}")
        if int(window) != window or window < 1:
            raise ValueError(f"window must be an integer >= 1 (pulls), got {window!r}")
        if not exploration >= 0:
            raise ValueError(f"exploration must be >= 0, got {exploration!r}")
        self.arms = tuple(fresh(a) for a in arms)
        self.rule = rule
        self.patience = patience
        self.window = int(window)
        self.exploration = float(exploration)

    def _parts(self) -> list[Optimizer]:
        return list(self.arms)

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"adaptive[{self.rule}]({','.join(getattr(a, 'name', '?') for a in self.arms)})"

    def start(self, dim: int, rng: np.random.Generator, init: Population | None = None,
              budget: int | None = None) -> None:
        super().start(dim, rng, init, budget)
        k = len(self.arms)
        self._best = np.inf
        self._current = 0
        self._stale = 0
        self._patience = self.patience or 20 * dim
        self.switches: list[tuple[int, int]] = []  # (evaluation, arm) at each switch
        self._credits = [deque(maxlen=self.window) for _ in range(k)]
        self._pulls = np.zeros(k, dtype=int)
        self._min_batch = np.inf
        if self.rule == "stagnation":
            self._start_child(fresh(self.arms[0]), init, budget)
        else:
            for arm in self.arms:
                self._start_child(fresh(arm), init, budget)

    def ask(self) -> np.ndarray:
        if self.rule == "bandit":
            self._current = self._choose()
            arm = self.children[self._current]
            inc = self.population.best(1)
            own = arm.population
            if len(inc) and (not len(own) or inc.y[0] < own.y[0]):
                arm.inject(inc.X, inc.y)
        slot = self._current if self.rule == "bandit" else 0
        return self._collect([(slot, None)])

    def _choose(self) -> int:
        untried = np.flatnonzero(self._pulls == 0)
        if untried.size:
            return int(untried[0])
        mean = np.array([np.mean(c) if c else 0.0 for c in self._credits])
        bonus = self.exploration * np.sqrt(2 * np.log(self._pulls.sum()) / self._pulls)
        return int(np.argmax(mean + bonus))

    def _after_tell(self, owners: np.ndarray, y: np.ndarray) -> None:
        improved = bool(len(y)) and float(np.min(y)) < self._best
        if improved:
            self._best = float(np.min(y))
        if self.rule == "bandit":
            self._min_batch = min(self._min_batch, max(len(y), 1))
            self._credits[self._current].append(improved * self._min_batch / max(len(y), 1))
            self._pulls[self._current] += 1
            return
        self._stale = 0 if improved else self._stale + len(y)
        if self._stale >= self._patience or self.children[0].stop():
            self._current = (self._current + 1) % len(self.arms)
            self._start_child(fresh(self.arms[self._current]), self.population,
                              None if self.budget is None else max(1, self.budget - self.n_told),
                              slot=0)
            self.switches.append((self.n_told, self._current))
            self._stale = 0

    @property
    def pulls(self) -> dict[str, int]:
        """How often each arm was chosen (bandit) -- what the bandit learned."""
        return {f"{i}:{getattr(a, 'name', '?')}": int(n)
                for i, (a, n) in enumerate(zip(self.arms, self._pulls, strict=True))}

    def stop(self) -> bool:
        return False
