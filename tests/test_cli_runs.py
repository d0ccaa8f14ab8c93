"""``hybridlab runs list|show|export|delete`` and ``hybridlab run --store``."""

from __future__ import annotations

import json

import pandas as pd

from hybridlab.cli import main

RUN = "sphere-d2-i1/ga/seed0"


def _run(tmp_path, capsys):
    db = tmp_path / "runs.db"
    assert main(["run", "sphere", "--dim", "2", "--budget", "120", "--store", str(db)]) == 0
    first = capsys.readouterr().out
    assert main(["run", "sphere", "--dim", "2", "--budget", "120", "--store", str(db)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == first.splitlines()[1]  # replayed best
    return db


def test_list_and_show(tmp_path, capsys):
    db = _run(tmp_path, capsys)
    assert main(["runs", "list", str(db)]) == 0
    out = capsys.readouterr().out
    assert RUN in out and "budget" in out and "120" in out
    assert main(["runs", "show", str(db), RUN, "--last", "2"]) == 0
    out = capsys.readouterr().out
    assert "optimizer  ga" in out and "best       eval" in out and "np.float64" not in out
    assert len([ln for ln in out.splitlines() if ln.strip().startswith("1")]) >= 1


def test_export_csv_and_json_round_trip(tmp_path, capsys):
    db = _run(tmp_path, capsys)
    for suffix in ("csv", "json"):
        out = tmp_path / f"h.{suffix}"
        assert main(["runs", "export", str(db), RUN, "-o", str(out)]) == 0
        frame = pd.read_csv(out) if suffix == "csv" else pd.DataFrame(json.loads(out.read_text()))
        assert len(frame) == 120 and {"eval", "y", "phase", "x0", "x1"} <= set(frame.columns)
    assert main(["runs", "export", str(db), RUN, "-o", str(tmp_path / "h.xlsx")]) == 2
    assert "--out must end in one of" in capsys.readouterr().err


def test_errors_are_one_line_with_the_fix(tmp_path, capsys):
    db = _run(tmp_path, capsys)
    assert main(["runs", "show", str(db), "nope"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["runs", "list", str(tmp_path / "missing.db")]) == 2
    assert "no store file" in capsys.readouterr().err
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["runs", "list", str(junk)]) == 2
    assert "left untouched" in capsys.readouterr().err


def test_delete(tmp_path, capsys):
    db = _run(tmp_path, capsys)
    assert main(["runs", "delete", str(db), RUN]) == 0
    assert main(["runs", "list", str(db)]) == 0
    assert "no runs" in capsys.readouterr().out
