import pathlib

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
