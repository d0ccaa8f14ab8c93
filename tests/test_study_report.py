import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from study_helpers import Boom, shifted_sphere

import hybridlab as hl
from hybridlab.benchmarks import suite
from hybridlab.study import (
    Study,
    compare,
    plot_convergence,
    plot_ecdf,
    plot_quality,
    plot_ranks,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def study():
    problems = {i.name: i for i in suite(dims=(2,), instances=1,
                                         functions=["sphere", "rastrigin"])}
    problems["plain"] = hl.Problem(shifted_sphere, hl.Space.box(2, -5, 5), name="plain")
    return compare(["random", "pso", "ga", "local", "ga>>local"], problems, budget=120,
                   seeds=2, progress=False, name="demo")


def test_plot_functions_return_figures(study):
    for fig in (plot_convergence(study.runs), plot_ecdf(study.hits),
                plot_quality(study.final()), plot_quality(study.final(), kind="violin"),
                plot_ranks(study.ranks().ranks, cd=1.0)):
        assert isinstance(fig, Figure)
    fig = plot_convergence(study.runs, problems=["sphere-d2-i1"], ylabel="gap")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert ax.get_xlabel() == "evaluations" and "gap" in ax.get_ylabel()
    assert ax.get_title() == "sphere-d2-i1"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == study.optimizers
    with pytest.raises(ValueError, match="kind"):
        plot_quality(study.final(), kind="pie")


def test_study_plots_write_pngs(study, tmp_path):
    for name in ("convergence", "ecdf", "quality", "ranks"):
        path = tmp_path / f"{name}.png"
        fig = getattr(study, f"plot_{name}")(path=path)
        assert isinstance(fig, Figure)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = [ax.get_ylabel() for ax in study.plot_convergence().axes]
    assert labels[-1].startswith("objective") and labels[0].startswith("gap")


def test_to_report_writes_markdown_plots_and_data(study, tmp_path):
    path = study.to_report(tmp_path)
    assert path == tmp_path / "demo" / "report.md"
    text = path.read_text()
    links = re.findall(r"\]\(([^)]+)\)", text)
    for png in ("convergence.png", "ecdf.png", "quality.png", "ranks.png"):
        assert png in links
    for csv in ("runs.csv", "hits.csv", "summary.csv"):
        assert csv in links
    for link in links:
        assert (path.parent / link).is_file(), link
    for heading in ("## Summary", "## Statistics", "## Hybrids versus their components",
                    "## Expected running time", "## Reproduce"):
        assert heading in text
    assert "Friedman test" in text and "Holm" in text
    assert "hybridlab.study.compare(" in text and "| numpy " in text
    summary = pd.read_csv(path.parent / "summary.csv")
    assert summary["optimizer"].tolist() == study.optimizers
    back = Study.load(path.parent)  # the report folder is a saved study
    pd.testing.assert_frame_equal(back.runs, study.runs)
    assert back.meta == study.meta


def test_report_lists_crashed_runs(tmp_path):
    s = compare({"boom": Boom(), "random": "random"},
                suite(dims=(2,), instances=1, functions=["sphere"]), budget=40, seeds=2,
                progress=False, name="crashy")
    text = s.to_report(tmp_path).read_text()
    assert "## Runs that crashed" in text and "boom in ask" in text


def always_fails(x):
    raise ValueError("no value here")


def test_objective_that_always_fails_still_reports(tmp_path):
    bad = hl.Problem(always_fails, hl.Space.box(2, -1, 1), name="bad")
    s = compare(["random", "pso"], {"bad": bad}, budget=20, seeds=2, progress=False,
                name="bad")
    assert np.isinf(s.runs["gap"]).all() and s.meta["problems"]["bad"]["targets"] == []
    summary = s.summary()
    assert np.isinf(summary["median"]).all() and np.isinf(summary["q75"]).all()
    path = s.to_report(tmp_path)
    assert (path.parent / "convergence.png").is_file()


def test_returned_figures_render_as_png_in_an_ipython_shell():
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    from hybridlab.study import plots

    shell = InteractiveShell.instance()
    try:
        plots.enable_notebook_display()
        fig = Figure()
        fig.add_subplot().plot([0, 1])
        data, _ = shell.display_formatter.format(fig)
        assert data["image/png"][:4] == b"\x89PNG"
    finally:
        InteractiveShell.clear_instance()


def test_cd_diagram_bars_are_the_pairs_the_tests_call_not_different():
    pytest.importorskip("scikit_posthocs")
    rng = np.random.default_rng(0)
    base = rng.normal(size=12)
    table = pd.DataFrame({"a": base, "b": base + rng.normal(0, 0.01, 12),  # a ~ b
                          "c": base + 5 + rng.random(12)})                # c always worse
    from hybridlab.study.stats import average_ranks, pairwise_wilcoxon_holm

    p = pairwise_wilcoxon_holm(table)
    assert np.allclose(p, p.T) and (np.diag(p) == 1).all()
    assert p.loc["a", "b"] >= 0.05 > p.loc["a", "c"]
    ranks = average_ranks(table)
    fig = plot_ranks(ranks, pvalues=p)
    joined = []
    for bar in fig.crossbars:
        xs = np.concatenate([line.get_xdata() for line in bar])
        joined.append(sorted(n for n, r in ranks.items()
                             if xs.min() - 1e-9 <= r <= xs.max() + 1e-9))
    assert joined == [["a", "b"]]
    # the study's own diagram uses the matrix its report prints
    ranking = compare(["random", "ga"], suite(dims=(2,), instances=1,
                                             functions=["sphere"]),
                      budget=30, seeds=2, progress=False).ranks()
    assert list(ranking.all_pairs.index) == ["random", "ga"]
