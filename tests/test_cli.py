import subprocess
import sys

import pandas as pd
import pytest

from hybridlab.cli import main


def test_run_prints_gap_and_writes_files(tmp_path, capsys):
    csv, png = tmp_path / "h.csv", tmp_path / "c.png"
    rc = main(["run", "sphere", "--dim", "3", "--optimizer", "pso", "--budget", "300",
               "--csv", str(csv), "--plot", str(png)])
    out = capsys.readouterr().out
    assert rc == 0 and "sphere-d3-i1" in out and "gap f-f_opt" in out
    assert len(pd.read_csv(csv)) == 300
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_lists(capsys):
    assert main(["optimizers"]) == 0 and "pso" in capsys.readouterr().out.split()
    assert main(["functions"]) == 0 and "rastrigin" in capsys.readouterr().out


def test_bad_arguments_exit_2_with_message(capsys):
    assert main(["run", "sphere", "--budget", "0"]) == 2
    assert "budget must be an integer >= 1" in capsys.readouterr().err
    assert main(["run", "sphere", "--optimizer", "nope"]) == 2


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "hybridlab.cli", "optimizers"],
                         capture_output=True, text=True, check=True).stdout
    assert "ga" in out.split()


def test_compare_writes_study_and_report_then_report_rebuilds_it(tmp_path, capsys):
    from hybridlab.study import Study

    out = tmp_path / "demo"
    rc = main(["compare", "--dims", "2", "--functions", "sphere", "rastrigin", "--optimizers",
               "random", "pso>>local", "--budget-per-dim", "30", "--seeds", "2",
               "--out", str(out)])
    assert rc == 0
    study = Study.load(out)
    assert study.optimizers == ["random", "pso>>local"] and len(study.problems) == 2
    report = (out / "report.md").read_text()
    assert "pso>>local" in report and "30 x D" in report and "convergence.png" in report
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").exists()
    assert "report:" in capsys.readouterr().out


def test_compare_with_two_jobs(tmp_path):
    out = tmp_path / "par"
    assert main(["compare", "--dims", "2", "--functions", "sphere", "--optimizers", "random",
                 "ga", "--budget-per-dim", "20", "--seeds", "2", "--jobs", "2",
                 "--out", str(out)]) == 0
    assert (out / "runs.csv").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    # one real process (what a shell sees), the other cases in this one (same code path)
    proc = subprocess.run([sys.executable, "-m", "hybridlab.cli", "frobnicate"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "error" in proc.stderr
    for argv in (["compare", "--seeds", "x"], ["compare", "--functions", "nope"]):
        try:
            rc = main(argv)
        except SystemExit as stop:  # argparse's own errors exit
            rc = stop.code
        err = capsys.readouterr().err
        assert rc == 2
        assert len(err.strip().splitlines()) == 1 and "error" in err
    assert main(["compare", "--optimizers", "nope", "--dims", "2", "--out",
                 str(tmp_path / "x")]) == 2
    assert main(["report", str(tmp_path)]) == 2


def test_reproduce_runs_each_case_study_and_prints_targets(monkeypatch, capsys, tmp_path):
    import hybridlab.casestudies as cs

    calls = []

    def fake(name, out_root, *, quick, progress, seeds):
        calls.append((name, quick, seeds))
        return cs.CaseStudyResult(name, headline=None, report=tmp_path / name / "report.md",
                                  targets={"size": (True, "85% smaller"),
                                           "latency": (False, "38 vs 30 us")})

    monkeypatch.setattr(cs, "run_case_study", fake)
    assert main(["reproduce", "all", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    assert [c[0] for c in calls] == sorted(cs.CASE_STUDIES)
    assert all(c[1] for c in calls)
    out = capsys.readouterr().out
    assert "[met] size: 85% smaller" in out and "[MISSED] latency" in out
    assert main(["reproduce", "case-study-2", "--seeds", "0"]) == 2
    assert "--seeds must be >= 1" in capsys.readouterr().err


def test_compare_suite_bbob_runs_coco_functions(tmp_path, capsys):
    pytest.importorskip("cocoex")
    from hybridlab.study import Study

    out = tmp_path / "real"
    assert main(["compare", "--suite", "bbob", "--functions", "1", "f15", "--dims", "2",
                 "--instances", "2", "--optimizers", "random", "--budget-per-dim", "10",
                 "--seeds", "1", "--out", str(out)]) == 0
    study = Study.load(out)
    assert study.problems == ["bbob_f01_i01_d02", "bbob_f01_i02_d02", "bbob_f15_i01_d02",
                              "bbob_f15_i02_d02"]
    assert study.meta["problems"]["bbob_f01_i01_d02"]["f_opt"] == 79.48
    assert main(["compare", "--suite", "bbob", "--functions", "sphere", "--out",
                 str(tmp_path / "x")]) == 2
    assert "function numbers 1..24" in capsys.readouterr().err
    assert main(["compare", "--suite", "bbob", "--functions", "25", "--out",
                 str(tmp_path / "x")]) == 2
    with pytest.raises(SystemExit):
        main(["compare", "--suite", "nope"])


def test_compare_default_suite_is_the_shifted_one(tmp_path):
    from hybridlab.study import Study

    out = tmp_path / "own"
    assert main(["compare", "--suite", "shifted", "--dims", "2", "--functions", "sphere",
                 "--optimizers", "random", "--budget-per-dim", "10", "--seeds", "1",
                 "--out", str(out)]) == 0
    assert Study.load(out).problems == ["sphere-d2-i1"]


def test_every_failure_is_one_line_and_a_nonzero_exit(tmp_path, capsys, monkeypatch):
    import hybridlab.cli as cli

    assert main(["run", "sphere", "--dim", "2", "--budget", "10",
                 "--run", "r"]) == 2  # --run without --store: refused, not ignored
    assert "--store" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["run", "sphere", "--dim", "2", "--budget", "10",
                 "--csv", str(blocker / "h.csv")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Error" in err

    def bug(args):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(cli, "_run", bug)
    assert main(["run", "sphere", "--dim", "2", "--budget", "10"]) == 1
    assert capsys.readouterr().err.strip() == "hybridlab: error: RuntimeError: something broke"

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupted)
    assert main(["run", "sphere", "--dim", "2", "--budget", "10"]) == 130
