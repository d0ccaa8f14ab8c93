"""Search room: hyperparameter search with hybridlab optimizers, without torch.

* :class:`HybridSearchCV` -- any hybridlab optimizer (a registry name, a hybrid spec or an
  optimizer object) as a scikit-learn ``BaseSearchCV``: ``cv_results_``, refit,
  ``n_jobs``, pipelines, conditional spaces, and multi-fidelity search with ``resource``
  (``"n_samples"`` or an estimator parameter such as ``"max_iter"``);
* :func:`compare_searches`, :func:`plot_searches`, :func:`grid_of_at_most` -- search
  methods (grid, random, Bayesian, hybrids, gradient-based) side by side at equal trial
  budgets;
* gradient-based HPO -- :class:`HypergradientClassifier` (learning rate and L2 strength
  that follow their hypergradients during one training run) and
  :func:`hypergradient_search` (restarts of it at a random-search budget).

Nothing here imports torch: ``import hybridlab.ml.search`` is cheap.

Example
-------
>>> from sklearn.datasets import load_iris
>>> from sklearn.linear_model import LogisticRegression
>>> from hybridlab import Real
>>> from hybridlab.ml.search import HybridSearchCV
>>> X, y = load_iris(return_X_y=True)
>>> search = HybridSearchCV(LogisticRegression(max_iter=500), {"C": Real(1e-2, 1e2, log=True)},
...                         optimizer="random", n_iter=4, cv=3, random_state=0).fit(X, y)
>>> len(search.cv_results_["params"]), bool(search.best_score_ > 0.9)
(4, True)
"""

from ._compare import compare_searches, grid_of_at_most, plot_searches
from ._hypergrad import HypergradientClassifier
from ._hypergrad_search import hypergradient_search
from ._search_cv import HybridSearchCV

__all__ = [
    "HybridSearchCV",
    "HypergradientClassifier",
    "compare_searches",
    "grid_of_at_most",
    "hypergradient_search",
    "plot_searches",
]
