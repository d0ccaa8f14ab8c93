"""The lowest versions pyproject.toml declares, as pins: ``pip install $(python floors.py)``.

Each pin takes the floor's latest patch release (``numpy>=1.26`` -> ``numpy==1.26.*``).

``make floors`` installs them (with torch 2.13.0, the build on disk; torch's own floor is
2.6) into ``.venv-floors`` and runs the core tests there, so that a declared floor that the
code outgrew shows up as a failing test, not as a user's broken install.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

SKIP = {"torch"}  # installed separately (see the Makefile)


def pins(pyproject: Path) -> list[str]:
    """``name==floor.*`` (the floor's latest patch release) for every ``name>=floor``
    among the project's dependencies."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    out = []
    for dep in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)>=([0-9][0-9.]*)", dep.replace(" ", ""))
        if m is None:
            sys.exit(f"floors.py: cannot read a floor from {dep!r}")
        if m.group(1) not in SKIP:
            out.append(f"{m.group(1)}=={m.group(2)}.*")
    return out


if __name__ == "__main__":
    print(" ".join(pins(Path(__file__).resolve().parent.parent / "pyproject.toml")))
