"""Case studies to reproduce: one function each, one command each.

``hybridlab reproduce case-study-1 | case-study-2 | all [--quick]`` runs them and writes
``reports/case-study-N/report.md`` (tables, plots, the exact command, seeds and package
versions, from :func:`hybridlab.provenance.environment`) with
:func:`hybridlab.reporting.write_report`.  Each study is a function ``run(out_dir, *,
quick=False, progress=True) -> CaseStudyResult``:

* ``case-study-1`` (:mod:`~hybridlab.casestudies.hpo_cnn`): hyperparameter search of a
  small CNN (Bayesian, random and hybrid searchers at equal budgets) against honest
  default settings;
* ``case-study-2`` (:mod:`~hybridlab.casestudies.edge`): pruning and quantization for
  edge deployment, and a hybrid search for the smallest model within one point.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["CASE_STUDIES", "CaseStudyResult", "run_case_study"]

#: command-line name -> "module:function"
CASE_STUDIES: dict[str, str] = {
    "case-study-1": "hpo_cnn:run",
    "case-study-2": "edge:run",
}


@dataclass
class CaseStudyResult:
    """What a case study produced: its headline table, other tables, the report file,
    and whether each target was met (``targets``: name -> (met, text))."""

    name: str
    headline: pd.DataFrame
    report: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    targets: dict[str, tuple[bool, str]] = field(default_factory=dict)


def _resolve(name: str) -> Callable[..., CaseStudyResult]:
    if name not in CASE_STUDIES:
        raise ValueError(f"unknown case study {name!r}; choose one of {sorted(CASE_STUDIES)} "
                         "or 'all'")
    module, func = CASE_STUDIES[name].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), func)


def run_case_study(name: str, out_root: str | Path = "reports", *, quick: bool = False,
                   progress: bool = True, **kwargs: Any) -> CaseStudyResult:
    """Run one case study into ``out_root/<name>/`` and return its result.

    Example
    -------
    >>> try:
    ...     run_case_study("case-study-9")
    ... except ValueError as exc:
    ...     print(str(exc)[:38])
    unknown case study 'case-study-9'; cho
    """
    fn = _resolve(name)
    return fn(Path(out_root) / name, quick=quick, progress=progress, **kwargs)
