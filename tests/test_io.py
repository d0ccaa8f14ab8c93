import os
import pathlib
import stat
from pathlib import Path

import pytest

from hybridlab.io import atomic_write


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "out.csv"
    atomic_write(target, lambda p: pathlib.Path(p).write_text("new"))
    assert target.read_text() == "new"
    assert [f.name for f in target.parent.iterdir()] == ["out.csv"]


def test_failed_write_leaves_original_and_no_temp(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("original")

    def boom(p):
        pathlib.Path(p).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, boom)
    assert target.read_text() == "original"
    assert [f.name for f in tmp_path.iterdir()] == ["out.csv"]


def test_written_files_get_normal_permissions(tmp_path):
    import os

    target = tmp_path / "report.md"
    atomic_write(target, lambda p: pathlib.Path(p).write_text("x"))
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_never_touches_the_process_umask(tmp_path, monkeypatch):
    """Another thread creating files must never see a changed umask (it used to be set to
    0 for a moment, and 1-22 of 20,000 files made meanwhile came out world-writable)."""
    def no_umask(mask):
        raise AssertionError("atomic_write changed the process umask")

    old = os.umask(0o022)
    os.umask(old)
    try:
        os.umask(0o022)
        monkeypatch.setattr(os, "umask", no_umask)
        atomic_write(tmp_path / "a.txt", lambda p: Path(p).write_text("x"))
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_file_and_folder_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write(tmp_path / "a.txt", lambda p: Path(p).write_text("x"))
    assert synced == [False, True]  # the file before the rename, the folder after
