"""Helpers shared by the study tests (an optimizer that crashes, a plain problem)."""

import numpy as np

from hybridlab.optimizers import Optimizer


class Boom(Optimizer):
    """An optimizer that raises in ask: a study must record its cells as crashed."""

    name = "boom"

    def ask(self):
        raise RuntimeError("boom in ask")


def shifted_sphere(x):
    """A problem with no known f_opt (minimum 3 at x = 1)."""
    return float(np.sum((x - 1.0) ** 2)) + 3.0
