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
