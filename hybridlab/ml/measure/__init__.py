"""Measure room: measure before you optimize -- what models score *and* cost, and what
plain single-algorithm searches reach.

* :func:`measure` -- candidate models side by side: cross-validated score (and its spread
  across folds), held-out test score, fit time, batch and single-row prediction time, peak
  memory while fitting, pickled size (:data:`MEASURE_COLUMNS`);
* :func:`optimizer_baselines`, :func:`summarize_baselines` -- one
  :class:`~hybridlab.ml.search.HybridSearchCV` per (optimizer, seed), every trial in a tidy
  frame (:data:`BASELINE_COLUMNS`), and one row per optimizer;
* :func:`plot_measurements`, :func:`plot_best_so_far` -- matplotlib Figures of both
  (nothing is shown).

Example
-------
>>> from sklearn.datasets import load_iris
>>> from sklearn.dummy import DummyClassifier
>>> from sklearn.linear_model import LogisticRegression
>>> from hybridlab.ml.measure import measure
>>> X, y = load_iris(return_X_y=True)
>>> table = measure({"dummy": DummyClassifier(), "logreg": LogisticRegression(max_iter=500)},
...                 X[::2], y[::2], X[1::2], y[1::2], cv=3, repeats=2, latency_rows=20)
>>> bool(table.loc["logreg", "cv_mean"] > table.loc["dummy", "cv_mean"])
True
"""

from ._baselines import BASELINE_COLUMNS, optimizer_baselines, summarize_baselines
from ._measure import MEASURE_COLUMNS, measure
from ._plots import plot_best_so_far, plot_measurements

__all__ = [
    "BASELINE_COLUMNS",
    "MEASURE_COLUMNS",
    "measure",
    "optimizer_baselines",
    "plot_best_so_far",
    "plot_measurements",
    "summarize_baselines",
]
