"""Run-wide settings read from the environment.

``HYBRIDLAB_QUICK=1`` (set by ``make test`` and CI) shrinks budgets in notebooks and
scripts so that they run in seconds; results then illustrate, they do not measure.
"""

from __future__ import annotations

import os

__all__ = ["quick", "scaled"]


def quick() -> bool:
    """True when ``HYBRIDLAB_QUICK`` is set to a true value (1, true, yes)."""
    return os.environ.get("HYBRIDLAB_QUICK", "").strip().lower() in ("1", "true", "yes")


def scaled(full: int, quick_value: int) -> int:
    """``full`` normally, ``quick_value`` in quick mode.

    >>> scaled(10_000, 500) in (10_000, 500)
    True
    """
    return quick_value if quick() else full
