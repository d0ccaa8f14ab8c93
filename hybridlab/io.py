"""Files that are never half-written: write to a temporary file, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)``, then atomically rename the temporary file to ``path``.

    The temporary file lives in the destination folder (so the rename stays on one file
    system); if ``write`` raises, it is removed and ``path`` is left as it was.

    >>> import pathlib, tempfile
    >>> d = tempfile.mkdtemp()
    >>> atomic_write(f"{d}/a.txt", lambda p: pathlib.Path(p).write_text("hi"))
    >>> pathlib.Path(f"{d}/a.txt").read_text()
    'hi'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
