"""Comparison studies: run optimizers on problems over seeds, then measure, test, plot and
report.

:func:`compare` runs every (optimizer, problem, seed) cell and returns a :class:`Study`:
tidy tables (``runs``: best-so-far trajectories; ``hits``: the evaluation at which each
target was reached) plus metadata.  Metrics, statistics and plots are plain functions of
those tables, also reachable as methods of the study.

>>> from hybridlab.benchmarks import suite
>>> from hybridlab.study import compare
>>> study = compare({"random": "random", "pso>>local": "pso>>local"},
...                 suite(dims=(2,), instances=1, functions=["sphere", "rastrigin"]),
...                 budget=lambda d: 50 * d, seeds=2, progress=False)
>>> study
Study('study': 2 optimizers x 2 problems x 2 seeds, 8 runs, 0 crashed)
>>> list(study.ranks().ranks.index)
['pso>>local', 'random']
"""

from .cells import log_grid
from .compare import DEFAULT_TARGETS, compare, run_cell
from .metrics import (
    block_table,
    ecdf,
    efficiency,
    ert,
    evals_to_targets,
    final_values,
    quality,
    success_rate,
    targets_reached,
    versus_components,
)
from .plots import plot_convergence, plot_ecdf, plot_quality, plot_ranks, save_figure
from .report import write_report
from .stats import (
    Friedman,
    average_ranks,
    bootstrap_median_ci,
    critical_difference,
    friedman,
    holm,
    wilcoxon_holm,
)
from .study import Ranking, Study

__all__ = [
    "DEFAULT_TARGETS",
    "Friedman",
    "Ranking",
    "Study",
    "average_ranks",
    "block_table",
    "bootstrap_median_ci",
    "compare",
    "critical_difference",
    "ecdf",
    "efficiency",
    "ert",
    "evals_to_targets",
    "final_values",
    "friedman",
    "holm",
    "log_grid",
    "plot_convergence",
    "plot_ecdf",
    "plot_quality",
    "plot_ranks",
    "quality",
    "run_cell",
    "save_figure",
    "success_rate",
    "targets_reached",
    "versus_components",
    "wilcoxon_holm",
    "write_report",
]
