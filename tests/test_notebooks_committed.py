"""The committed notebooks as a reader sees them on GitHub: every cell that draws shows an
image, no output is an error or leaks a machine path, each has a kernelspec, none silences
warnings wholesale, and each was executed in order (no cell left unexecuted)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9]*.ipynb"))
# a call that draws: .plot(, plt., plot_xxx(, .show(), a figure variable
DRAWS = re.compile(r"\.plot\(|plt\.|plot_\w+\(|\.show\(\)|\bfig\b")
# an absolute path of two or more folders (home, temp, site-packages), not a URL
MACHINE_PATH = re.compile(r"(?<![\w:/.~])/(?:[\w.-]+/){2,}")
WHOLESALE = re.compile(r"(filterwarnings|simplefilter)\(\s*['\"]ignore['\"]\s*"
                       r"(\)|,\s*(category=)?\w*Warning\s*\))")


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def _text(outputs: list[dict]) -> str:
    parts = []
    for out in outputs:
        parts.append("".join(out.get("text", "")))
        for kind, value in out.get("data", {}).items():
            if kind.startswith("text/"):
                parts.append("".join(value))
    return "\n".join(parts)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_kernelspec(path):
    meta = json.loads(path.read_text())["metadata"]
    assert meta.get("kernelspec", {}).get("name"), f"{path.name}: no kernelspec"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_drawing_cell_shows_an_image(path):
    missing = []
    for i, cell in enumerate(_code_cells(path)):
        src = "".join(cell["source"])
        if src.lstrip().startswith(("def ", "from ", "import ")) or not DRAWS.search(src):
            continue
        if not any(k.startswith("image/") for o in cell["outputs"] for k in o.get("data", {})):
            missing.append(i)
    assert not missing, f"{path.name}: code cells {missing} draw but show no image"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_error_output_and_executed_in_order(path):
    cells = _code_cells(path)
    errors = [i for i, c in enumerate(cells)
              if any(o["output_type"] == "error" for o in c["outputs"])]
    assert not errors, f"{path.name}: code cells {errors} show an error"
    counts = [c["execution_count"] for c in cells if "".join(c["source"]).strip()]
    assert None not in counts, f"{path.name}: a code cell was never executed"
    assert counts == sorted(counts), f"{path.name}: cells executed out of order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_machine_paths_in_outputs(path):
    leaks = [(i, m.group(0)) for i, c in enumerate(_code_cells(path))
             for m in [MACHINE_PATH.search(_text(c["outputs"]))] if m]
    assert not leaks, f"{path.name}: outputs show machine paths {leaks}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_wholesale_warning_filters(path):
    quiet = [i for i, c in enumerate(_code_cells(path))
             if WHOLESALE.search("".join(c["source"]))]
    assert not quiet, f"{path.name}: code cells {quiet} silence warnings wholesale"


def test_the_checks_catch_what_they_should():
    assert DRAWS.search("r.plot()") and DRAWS.search("fig, ax = plt.subplots()")
    assert not DRAWS.search("print(result.y)")
    assert MACHINE_PATH.search("saved to /home/alice/work/x.csv")
    assert MACHINE_PATH.search("/tmp/pytest-1/reports/")
    assert not MACHINE_PATH.search("see https://example.org/a/b/c")
    assert not MACHINE_PATH.search("reports/case-study-2/report.md")
    assert WHOLESALE.search('warnings.filterwarnings("ignore")')
    assert WHOLESALE.search('warnings.simplefilter( "ignore" )')
    assert WHOLESALE.search("warnings.simplefilter('ignore', UserWarning)")
    assert not WHOLESALE.search('warnings.filterwarnings("ignore", message="x")')
