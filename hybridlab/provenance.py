"""Where a result came from: the Python, platform and package versions, and the command.

One record for every place that states its provenance: the run store
(:mod:`hybridlab.tracking` keeps it in a run's ``info``), a comparison study's metadata
(``study.json``) and the case-study reports.  This module is on the ground floor: it
imports nothing from hybridlab.

Example
-------
>>> env = environment()
>>> list(env)[:3]
['python', 'platform', 'hybridlab']
>>> env["numpy"] == __import__("numpy").__version__
True
>>> environment(["numpy"], platform_info=False).keys() == {"python", "numpy"}
True
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["PACKAGES", "PEERS", "command", "environment"]

#: the packages whose versions decide results, in the order a report lists them
PACKAGES = ("hybridlab", "numpy", "scipy", "pandas", "matplotlib", "deap", "pyswarms",
            "scikit-learn", "torch", "optuna", "onnxruntime")
#: peer libraries listed only when the process has imported them
PEERS = ("nevergrad", "cma", "cmaes")


@functools.cache
def _version(name: str) -> str:
    """A distribution's version, looked up once per process (about 5 ms each)."""
    try:
        return importlib.metadata.version(name)
    except Exception:  # not installed (or broken metadata): say so rather than fail
        return "not installed"


@functools.cache
def _platform() -> str:
    return platform.platform()


def environment(packages: Iterable[str] | None = None, *,
                platform_info: bool = True) -> dict[str, str]:
    """The Python version, the platform and package versions, as ``name -> version``.

    Parameters
    ----------
    packages : iterable of str, optional
        Distribution names to list (``"not installed"`` when missing).  Default:
        :data:`PACKAGES`, then those of :data:`PEERS` that this process has imported.
    platform_info : bool, default True
        Include ``platform`` (``platform.platform()``) after ``python``.

    Returns
    -------
    dict of str to str
        ``python`` first, then ``platform``, then the packages in the order given.
    """
    if packages is None:
        packages = [*PACKAGES, *(p for p in PEERS if p in sys.modules)]
    out = {"python": platform.python_version()}
    if platform_info:
        out["platform"] = _platform()
    for name in packages:
        out[name] = _version(name)
    return out


def command() -> str | None:
    """The shell command that ran this process, when it is a script or the CLI (``None``
    in a notebook, ``python -c`` or an interactive session)."""
    main = sys.modules.get("__main__")
    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0 or argv0 == "-c" or not getattr(main, "__file__", None) \
            or "ipykernel" in argv0:
        return None
    head = ["python", argv0] if argv0.endswith(".py") else [Path(argv0).name]
    return shlex.join(head + sys.argv[1:])
