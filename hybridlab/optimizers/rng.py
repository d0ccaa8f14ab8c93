"""Run library code that draws from a *global* generator on a private one.

DEAP's operators call :mod:`random`'s module functions and PySwarms' backend calls
``np.random``'s (pyswarms #235).  Both sets of module functions are bound methods of one
hidden instance (``random._inst``, ``np.random.mtrand._rand``).  :func:`private_rng`
rebinds those names (one dict update of the module's namespace) to the same methods of our
own generator for the duration of a ``with`` block, and puts the originals back after: the
caller's generator is never touched (not even read), and the swap costs ~3 us, where
copying the states in and out with ``getstate``/``setstate`` costs ~100 us.

Not thread-safe, like any use of the global generators: do not run DEAP or PySwarms code
in another thread of the same process during a ``with private_rng(...)`` block.
"""

from __future__ import annotations

import random
from operator import itemgetter
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["global_names", "private_rng"]


def _bound_names(module: ModuleType, instance: Any) -> tuple[str, ...]:
    return tuple(n for n in dir(module) if not n.startswith("_")
                 and getattr(getattr(module, n), "__self__", None) is instance)


_GLOBALS: dict[type, tuple[ModuleType, tuple[str, ...]]] = {
    random.Random: (random, _bound_names(random, random._inst)),  # type: ignore[attr-defined]
    np.random.RandomState: (np.random, _bound_names(np.random, np.random.mtrand._rand)),
}


def global_names(kind: type) -> tuple[str, ...]:
    """Names of the module functions that draw from the hidden global generator of
    ``kind`` (``random.Random`` or ``np.random.RandomState``).

    >>> "shuffle" in global_names(np.random.RandomState)
    True
    """
    return _GLOBALS[kind][1]


class private_rng:
    """Within the block, ``random.*`` (for a ``random.Random``) or ``np.random.*`` (for a
    ``np.random.RandomState``) module functions draw from ``gen``.

    Build it once and reuse it: the generator's bound methods are looked up only once.

    >>> import random
    >>> mine = random.Random(0)
    >>> with private_rng(mine):
    ...     a = random.random()
    >>> a == random.Random(0).random()
    True
    """

    __slots__ = ("_getter", "_mine", "_names", "_namespace", "_saved")

    def __init__(self, gen: random.Random | np.random.RandomState) -> None:
        module, names = _GLOBALS[type(gen)]
        self._namespace = vars(module)
        self._names = names
        self._getter = itemgetter(*names)
        self._mine = {n: getattr(gen, n) for n in names}

    def __enter__(self) -> None:
        self._saved = dict(zip(self._names, self._getter(self._namespace), strict=True))
        self._namespace.update(self._mine)

    def __exit__(self, *exc: object) -> None:
        self._namespace.update(self._saved)
