import subprocess
import sys

import pandas as pd

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
