"""What the peer adapters share: lazy imports, seeding, finite values, copying."""

from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import Any

import numpy as np

_EXTRA = "pip install 'hybridlab[peers]'"


def _require(module: str, package: str, who: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{who} needs the {package!r} package, an optional extra of "
                          f"hybridlab: {_EXTRA} (or pip install {package})") from exc


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _finite(y: np.ndarray, worst: float, default: float) -> tuple[np.ndarray, float]:
    """Replace non-finite values by the worst finite value seen (``default`` if none);
    return the values and the updated worst."""
    ok = np.isfinite(y)
    if ok.any():
        worst = max(worst, float(y[ok].max()))
    return np.where(ok, y, worst if math.isfinite(worst) else default), worst


class _CopiesParameters:
    """Copies (``copy.deepcopy``, as hybrids make of their stages, and pickle) carry the
    constructor parameters only: a started run holds library objects (threads, studies)
    that cannot be copied, and a copy is started afresh anyway."""

    _parameters: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        return {k: self.__dict__[k] for k in self._parameters}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
