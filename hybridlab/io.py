"""Files that are never half-written: write to a temporary file, then rename."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)``, then atomically rename the temporary file to ``path``.

    The temporary file lives in the destination folder (so the rename stays on one file
    system); if ``write`` raises, it is removed and ``path`` is left as it was.  The file
    is flushed to disk (``fsync``) before the rename and the folder after it, so a power
    loss leaves the old file or the new one.  The file gets the permissions a plain
    ``open(path, "w")`` would give (``0o666`` less the umask, applied by the OS: the
    process umask is never changed, not even for a moment).

    >>> import pathlib, tempfile
    >>> d = tempfile.mkdtemp()
    >>> atomic_write(f"{d}/a.txt", lambda p: pathlib.Path(p).write_text("hi"))
    >>> pathlib.Path(f"{d}/a.txt").read_text()
    'hi'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _new_file(folder, os.path.splitext(path)[1])
    try:
        write(tmp)
        _fsync(tmp, os.O_RDONLY)
        os.replace(tmp, path)
        _fsync(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _new_file(folder: str, suffix: str) -> str:
    """Create an empty, new ``.tmp-*`` file in ``folder`` with mode 0o666 less the umask."""
    for _ in range(100):
        tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}{suffix}")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - a uuid4 collision
            continue
    raise FileExistsError(f"could not create a temporary file in {folder}")  # pragma: no cover


def _fsync(path: str, flags: int) -> None:
    """``fsync`` a file or folder; a folder that cannot be opened (Windows) is skipped."""
    try:
        fd = os.open(path, flags)
    except OSError:
        if os.path.isdir(path):
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
