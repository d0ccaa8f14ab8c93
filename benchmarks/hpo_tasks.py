"""Tasks of the hyperparameter-optimization benchmark (:mod:`benchmarks.hpo`).

Each :class:`HPOTask` is a deterministic, single-threaded loss to minimise over a hybridlab
search space, plus the same space written for Optuna's define-by-run API:

* classification: ``1 - mean accuracy`` of a fixed 3-fold ``StratifiedKFold``;
* regression: mean RMSE of a fixed 3-fold ``KFold`` divided by the standard deviation of
  ``y`` (1.0 is the error of predicting the mean);
* cnn: ``1 - validation accuracy`` of case study 1's small CNN
  (:mod:`hybridlab.casestudies.hpo_cnn`, task ``"noisy-small"``, seed 0), fewer epochs.

Data are shipped with scikit-learn or generated with fixed seeds (label noise, redundant
features, class imbalance, unequal feature scales make the hyperparameters matter), and
small enough that one scikit-learn evaluation takes 0.03-0.25 s on one core (the CNN
about 0.3 s); ``benchmarks/hpo_best_known.json`` lists the measured times.

``loss(params, seed=0)``: ``seed`` 0 is the benchmark's loss; other seeds draw other CV
splits (the CNN: another initialisation) and only serve to measure the noise scale.

Role ``"report"`` tasks give the benchmark's results; role ``"tune"`` tasks (other data
and models) are for choosing a method's defaults and are never reported as results.

>>> sorted({t.role for t in TASKS.values()})
['report', 'tune']
"""

from __future__ import annotations

import functools
import math
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    AdaBoostClassifier,
    ExtraTreesClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, LogisticRegression, SGDClassifier
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier

from hybridlab import Categorical, Integer, Real, Space
from hybridlab.conditional import Choice, ConditionalSpace

__all__ = ["TASKS", "HPOTask", "single_thread"]

#: CNN training epochs per trial (case study 1 trains 20; 12 take about 0.3 s on one core)
CNN_EPOCHS = 12


@dataclass(frozen=True)
class HPOTask:
    """One benchmark task: ``loss(params) -> float`` to minimise over ``space``.

    ``suggest(trial)`` draws the same parameters with Optuna's define-by-run API and
    returns a dict that ``loss`` accepts.
    """

    name: str
    role: str          # "report" or "tune"
    kind: str          # "classification", "regression" or "cnn"
    space: Space
    loss: Callable[..., float]
    suggest: Callable[[Any], dict[str, Any]]
    description: str

    @property
    def dims(self) -> int:
        """Dimensions of the hybridlab space (a choice and every branch parameter count)."""
        return self.space.dim


# -- Optuna's define-by-run version of a space --------------------------------------------
def _suggester(space: Space) -> Callable[[Any], dict[str, Any]]:
    from hybridlab.integrations import suggest

    return functools.partial(suggest, space=space)  # picklable, for worker processes


# -- single-threaded evaluation --------------------------------------------------------------
def single_thread() -> None:
    """Make this whole process single-threaded (BLAS, OpenMP, torch), searches included:
    call it first thing in a benchmark's worker process."""
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # for libraries loaded later (torch)
    threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@functools.cache
def _threadpools() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # after sklearn's imports: sees BLAS and OpenMP


@dataclass(frozen=True)
class CVLoss:
    """Fixed-split 3-fold CV loss of the estimator ``build(params)`` on ``data()``."""

    data: Callable[[], tuple[np.ndarray, np.ndarray]]
    build: Callable[[dict[str, Any]], Any]
    regression: bool = False

    def prepare(self) -> None:
        """Load the data (cached), so that timing a search leaves this out."""
        self.data()

    def __call__(self, params: Mapping[str, Any], seed: int = 0) -> float:
        X, y = self.data()
        cv = (KFold(3, shuffle=True, random_state=seed) if self.regression
              else StratifiedKFold(3, shuffle=True, random_state=seed))
        scores = []
        with _threadpools().limit(limits=1), warnings.catch_warnings():
            # limited iterations (MLP, logistic regression, SVC) are part of the task's
            # design: their ConvergenceWarning, and only it, is expected here
            warnings.simplefilter("ignore", ConvergenceWarning)
            for tr, te in cv.split(X, y):
                model = self.build(dict(params)).fit(X[tr], y[tr])
                pred = model.predict(X[te])
                scores.append(math.sqrt(float(np.mean((pred - y[te]) ** 2)))
                              if self.regression else float(np.mean(pred == y[te])))
        mean = float(np.mean(scores))
        loss = mean / float(np.std(y)) if self.regression else 1.0 - mean
        # a diverging model's non-finite error counts as three times that of the mean
        return loss if math.isfinite(loss) else (3.0 if self.regression else 1.0)


@dataclass(frozen=True)
class CNNLoss:
    """``1 - validation accuracy`` of case study 1's CNN on ``noisy-small`` (seed 0)."""

    epochs: int = CNN_EPOCHS

    def prepare(self) -> None:
        """Import torch and load the data, so that timing a search leaves this out."""
        from hybridlab.casestudies.hpo_cnn import load_task

        _cnn_data(load_task)

    def __call__(self, params: Mapping[str, Any], seed: int = 0) -> float:
        import torch

        from hybridlab.casestudies.hpo_cnn import load_task, train_and_score

        data = _cnn_data(load_task)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            acc = train_and_score(dict(params), data, seed=seed, epochs=self.epochs)
        finally:
            torch.set_num_threads(threads)
        return 1.0 - float(acc["val_accuracy"])


_CNN_DATA: list[Any] = []


def _cnn_data(load_task: Callable[..., Any]) -> Any:
    if not _CNN_DATA:
        _CNN_DATA.append(load_task("noisy-small", seed=0))
    return _CNN_DATA[0]


# -- data ----------------------------------------------------------------------------------
@functools.cache
def _clf_data(seed: int, n: int, n_features: int, informative: int, redundant: int,
              flip: float, weights: tuple[float, ...] | None = None, n_classes: int = 2,
              class_sep: float = 1.0, clusters: int = 2, scales: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
    """``make_classification`` data; ``scales``: unequal feature scales and heavy-tailed
    outliers, so that the choice of scaler matters."""
    X, y = datasets.make_classification(
        n_samples=n, n_features=n_features, n_informative=informative,
        n_redundant=redundant, n_classes=n_classes, n_clusters_per_class=clusters,
        weights=list(weights) if weights else None, flip_y=flip, class_sep=class_sep,
        random_state=seed)
    if scales:
        rng = np.random.default_rng(seed)
        X = X * 10.0 ** rng.uniform(-2, 3, n_features)
        X = X + rng.standard_t(1.5, X.shape) * (rng.random(X.shape) < 0.02) * X.std(0)
    return X, y


def _subsample(X: np.ndarray, y: np.ndarray, n: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
    idx = np.sort(np.random.default_rng(seed).permutation(len(y))[:n])
    return X[idx], y[idx]


@functools.cache
def _quantiles(n: int, n_features: int, noise_features: int, flip: float, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Two classes inside / outside a Gaussian quantile (a nonlinear boundary), plus
    noise features and label noise."""
    X, y = datasets.make_gaussian_quantiles(n_samples=n, n_features=n_features, n_classes=2,
                                            random_state=seed)
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < flip, 1 - y, y)
    return np.hstack([X, rng.normal(size=(n, noise_features))]), y


@functools.cache
def _digits(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.load_digits(return_X_y=True)
    X, y = _subsample(X / 16.0, y, n, seed)
    return X + np.random.default_rng(seed).normal(0.0, noise, X.shape), y


@functools.cache
def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.load_diabetes(return_X_y=True)
    noise = np.random.default_rng(18).normal(size=(len(y), 15))
    return StandardScaler().fit_transform(np.hstack([X, noise])), y.astype(float)


@functools.cache
def _friedman(which: int, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if which == 1:
        return datasets.make_friedman1(n_samples=n, n_features=15, noise=noise,
                                       random_state=seed)
    X, y = datasets.make_friedman3(n_samples=n, noise=noise, random_state=seed)
    return StandardScaler().fit_transform(X), y


@functools.cache
def _hastie(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.make_hastie_10_2(n_samples=n, random_state=seed)
    rng = np.random.default_rng(seed)
    flip = rng.random(n) < 0.05
    return np.hstack([X, rng.normal(size=(n, 10))]), np.where(flip, -y, y)


# -- estimators of a configuration ---------------------------------------------------------
_SVC_ITER = 20_000  # caps libsvm's iterations (large C on hard data); a ConvergenceWarning


def _svc(C: float, gamma: float | str = "scale", **kw: Any) -> SVC:
    return SVC(C=C, gamma=gamma, max_iter=_SVC_ITER, random_state=0, **kw)


def _logreg(C: float) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=200)


def _build_svc_kernel(p: dict[str, Any]) -> Pipeline:
    kernel = p["kernel"]
    kw: dict[str, Any] = {"rbf": {"gamma": p.get("rbf_gamma")},
                          "poly": {"degree": p.get("poly_degree"), "coef0": p.get("poly_coef0")},
                          "sigmoid": {"gamma": p.get("sig_gamma"), "coef0": p.get("sig_coef0")},
                          }[kernel]
    return make_pipeline(StandardScaler(), _svc(p["C"], kernel=kernel,
                                                class_weight=p["class_weight"], **kw))


def _build_model_select(p: dict[str, Any]) -> Any:
    m = p["model"]
    if m == "svc":
        return make_pipeline(StandardScaler(), _svc(p["svc_C"], p["svc_gamma"]))
    if m == "logreg":
        return make_pipeline(StandardScaler(), _logreg(p["lr_C"]))
    if m == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(
            p["knn_k"], weights=p["knn_weights"], p=p["knn_p"]))
    return RandomForestClassifier(p["rf_trees"], max_depth=p["rf_depth"],
                                  max_features=p["rf_max_features"],
                                  min_samples_leaf=p["rf_min_leaf"], random_state=0)


_SCALERS: dict[str, Callable[[], Any]] = {
    "none": lambda: "passthrough", "standard": StandardScaler, "minmax": MinMaxScaler,
    "robust": RobustScaler}


def _build_pipeline(p: dict[str, Any], n_features: int = 40) -> Pipeline:
    """scaler -> optional SelectKBest(k) -> optional PCA(a fraction of what is left) ->
    classifier: every combination is valid by construction."""
    k = p["k"] if p["kbest"] == "on" else n_features
    steps: list[tuple[str, Any]] = [("scale", _SCALERS[p["scaler"]]())]
    if p["kbest"] == "on":
        steps.append(("kbest", SelectKBest(f_classif, k=k)))
    if p["pca"] == "on":
        steps.append(("pca", PCA(max(1, round(p["pca_frac"] * k)), random_state=0)))
    clf = (_logreg(p["lr_C"]) if p["clf"] == "logreg"
           else _svc(p["svc_C"], p["svc_gamma"]))
    return Pipeline([*steps, ("clf", clf)])


def _build_hgb(p: dict[str, Any]) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=40, early_stopping=False, random_state=0,
                                          **p)


def _build_mlp(p: dict[str, Any]) -> Pipeline:
    return make_pipeline(StandardScaler(), MLPClassifier(
        (p["hidden"],) * p["layers"], activation=p["activation"], alpha=p["alpha"],
        learning_rate_init=p["lr_init"], batch_size=p["batch_size"], max_iter=20,
        random_state=0))


def _build_sgd(p: dict[str, Any]) -> Pipeline:
    # tol=None: always max_iter epochs, no early stop and no ConvergenceWarning
    return make_pipeline(StandardScaler(), SGDClassifier(
        loss=p["loss"], alpha=p["alpha"], penalty=p["penalty"],
        l1_ratio=p.get("l1_ratio", 0.15), learning_rate=p["learning_rate"],
        eta0=p.get("eta0", 0.01), max_iter=30, tol=None, random_state=0))


def _build_gbr(p: dict[str, Any]) -> GradientBoostingRegressor:
    return GradientBoostingRegressor(random_state=0, **p)


def _build_regressor_select(p: dict[str, Any]) -> Any:
    m = p["model"]
    if m == "kernel_ridge":
        return TransformedTargetRegressor(
            KernelRidge(alpha=p["kr_alpha"], kernel="rbf", gamma=p["kr_gamma"]),
            transformer=StandardScaler())
    if m == "rf":
        return RandomForestRegressor(40, max_depth=p["rf_depth"], min_samples_leaf=p[
            "rf_min_leaf"], max_features=p["rf_max_features"], random_state=0)
    if m == "enet":
        return ElasticNet(alpha=p["en_alpha"], l1_ratio=p["en_l1_ratio"])
    return KNeighborsRegressor(p["knn_k"], weights=p["knn_weights"])


def _build_svr(p: dict[str, Any]) -> TransformedTargetRegressor:
    kw = ({"gamma": p["rbf_gamma"]} if p["kernel"] == "rbf"
          else {"degree": p["poly_degree"], "coef0": 1.0})
    return TransformedTargetRegressor(
        SVR(kernel=p["kernel"], C=p["C"], epsilon=p["epsilon"], max_iter=_SVC_ITER, **kw),
        transformer=StandardScaler())


def _build_et(p: dict[str, Any]) -> ExtraTreesClassifier:
    return ExtraTreesClassifier(random_state=0, **p)


def _build_model_hastie(p: dict[str, Any]) -> Any:
    m = p["model"]
    if m == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(
            p["knn_k"], weights=p["knn_weights"]))
    if m == "tree":
        return DecisionTreeClassifier(max_depth=p["tree_depth"], min_samples_leaf=p[
            "tree_min_leaf"], criterion=p["tree_criterion"], random_state=0)
    if m == "ada":
        return AdaBoostClassifier(n_estimators=p["ada_n"], learning_rate=p["ada_lr"],
                                  random_state=0)
    return make_pipeline(StandardScaler(), _svc(p["svc_C"], p["svc_gamma"]))


# -- spaces ----------------------------------------------------------------------------------
def _log(low: float, high: float) -> Real:
    return Real(low, high, log=True)


def _ilog(low: int, high: int) -> Integer:
    return Integer(low, high, log=True)


_SPACES: dict[str, Space] = {
    "svc_kernel": ConditionalSpace({
        "C": _log(1e-3, 1e3),
        "kernel": Choice({
            "rbf": ("rbf", {"rbf_gamma": _log(1e-4, 10.0)}),
            "poly": ("poly", {"poly_degree": Integer(2, 4), "poly_coef0": Real(0.0, 2.0)}),
            "sigmoid": ("sigmoid", {"sig_gamma": _log(1e-4, 1.0),
                                    "sig_coef0": Real(-1.0, 1.0)})}),
        "class_weight": Categorical([None, "balanced"])}),
    "model_select": ConditionalSpace({"model": Choice({
        "svc": ("svc", {"svc_C": _log(1e-2, 1e3), "svc_gamma": _log(1e-4, 10.0)}),
        "logreg": ("logreg", {"lr_C": _log(1e-4, 1e2)}),
        "knn": ("knn", {"knn_k": _ilog(1, 100),
                        "knn_weights": Categorical(["uniform", "distance"]),
                        "knn_p": Categorical([1, 2])}),
        "rf": ("rf", {"rf_trees": _ilog(5, 60), "rf_depth": _ilog(1, 20),
                      "rf_max_features": Real(0.05, 1.0), "rf_min_leaf": _ilog(1, 30)})})}),
    "pipeline": ConditionalSpace({
        "scaler": Categorical(["none", "standard", "minmax", "robust"]),
        "kbest": Choice({"off": "off", "on": ("on", {"k": _ilog(2, 40)})}),
        "pca": Choice({"off": "off", "on": ("on", {"pca_frac": Real(0.05, 1.0)})}),
        "clf": Choice({
            "logreg": ("logreg", {"lr_C": _log(1e-4, 1e2)}),
            "svc": ("svc", {"svc_C": _log(1e-2, 1e3), "svc_gamma": _log(1e-4, 10.0)})})}),
    "hgb_quantiles": Space({
        "learning_rate": _log(1e-3, 1.0), "max_leaf_nodes": _ilog(2, 32),
        "min_samples_leaf": _ilog(1, 100), "l2_regularization": _log(1e-6, 10.0),
        "max_features": Real(0.1, 1.0), "max_bins": _ilog(4, 255)}),
    "mlp": Space({
        "hidden": _ilog(4, 64), "layers": Integer(1, 2), "alpha": _log(1e-6, 10.0),
        "lr_init": _log(1e-4, 0.3), "activation": Categorical(["relu", "tanh", "logistic"]),
        "batch_size": Categorical([32, 64, 128, 256])}),
    "sgd_sparse": ConditionalSpace({
        "loss": Categorical(["hinge", "log_loss", "modified_huber"]),
        "alpha": _log(1e-6, 1.0),
        "penalty": Choice({"l2": "l2", "l1": "l1",
                           "elasticnet": ("elasticnet", {"l1_ratio": Real(0.05, 0.95)})}),
        "learning_rate": Choice({"optimal": "optimal",
                                 "adaptive": ("adaptive", {"eta0": _log(1e-4, 1.0)})})}),
    "gbr_friedman": Space({
        "n_estimators": _ilog(10, 100), "learning_rate": _log(1e-3, 1.0),
        "max_depth": Integer(1, 6), "subsample": Real(0.2, 1.0),
        "min_samples_leaf": _ilog(1, 50), "max_features": Real(0.1, 1.0)}),
    "regressor_select": ConditionalSpace({"model": Choice({
        "kernel_ridge": ("kernel_ridge", {"kr_alpha": _log(1e-4, 1e2),
                                          "kr_gamma": _log(1e-4, 1.0)}),
        "rf": ("rf", {"rf_depth": _ilog(1, 16), "rf_min_leaf": _ilog(1, 50),
                      "rf_max_features": Real(0.1, 1.0)}),
        "enet": ("enet", {"en_alpha": _log(1e-4, 10.0), "en_l1_ratio": Real(0.01, 1.0)}),
        "knn": ("knn", {"knn_k": _ilog(1, 100),
                        "knn_weights": Categorical(["uniform", "distance"])})})}),
    "tune_svr_friedman3": ConditionalSpace({
        "C": _log(1e-2, 1e3), "epsilon": _log(1e-3, 1.0),
        "kernel": Choice({"rbf": ("rbf", {"rbf_gamma": _log(1e-3, 10.0)}),
                          "poly": ("poly", {"poly_degree": Integer(2, 4)})})}),
    "tune_et_digits": Space({
        "n_estimators": _ilog(5, 50), "max_depth": _ilog(2, 30),
        "max_features": _log(0.02, 1.0), "min_samples_split": _ilog(2, 30),
        "criterion": Categorical(["gini", "entropy"]), "bootstrap": Categorical([False, True])}),
    "tune_model_hastie": ConditionalSpace({"model": Choice({
        "knn": ("knn", {"knn_k": _ilog(1, 100),
                        "knn_weights": Categorical(["uniform", "distance"])}),
        "tree": ("tree", {"tree_depth": _ilog(1, 20), "tree_min_leaf": _ilog(1, 50),
                          "tree_criterion": Categorical(["gini", "entropy"])}),
        "ada": ("ada", {"ada_n": _ilog(10, 100), "ada_lr": _log(0.01, 2.0)}),
        "svc": ("svc", {"svc_C": _log(1e-2, 1e3), "svc_gamma": _log(1e-4, 10.0)})})}),
}

# name -> (role, kind, loss, description without the dimension count)
_DEFS: dict[str, tuple[str, str, Callable[..., float], str]] = {
    "svc_kernel": ("report", "classification", CVLoss(
        functools.partial(_clf_data, 11, 500, 20, 5, 5, 0.08, (0.65, 0.35), class_sep=0.8),
        _build_svc_kernel),
        "SVC (rbf / poly / sigmoid kernel with its parameters, C, class weight) on 500 "
        "samples, 20 features (5 informative, 5 redundant), 8 % label noise, 65/35 classes"),
    "model_select": ("report", "classification", CVLoss(
        functools.partial(_clf_data, 12, 600, 16, 6, 4, 0.05, n_classes=3, class_sep=0.9),
        _build_model_select),
        "model choice: SVC (C, gamma) / logistic regression (C) / k-NN (k, weights, p) / "
        "random forest (trees, depth, max_features, min leaf); 600 samples, 3 classes"),
    "pipeline": ("report", "classification", CVLoss(
        functools.partial(_clf_data, 13, 500, 40, 8, 6, 0.05, scales=True),
        _build_pipeline),
        "pipeline: scaler (none/standard/minmax/robust), optional SelectKBest(k), optional "
        "PCA (fraction), then logistic regression (C) or SVC (C, gamma); 40 features of "
        "unequal scales with outliers"),
    "hgb_quantiles": ("report", "classification", CVLoss(
        functools.partial(_quantiles, 600, 5, 10, 0.05, 14), _build_hgb),
        "HistGradientBoosting (40 iterations): learning rate, leaves, min leaf, L2, "
        "max_features, max_bins; 600 samples, two Gaussian-quantile classes in 5 "
        "dimensions + 10 noise features, 5 % label noise"),
    "mlp": ("report", "classification", CVLoss(
        functools.partial(_clf_data, 15, 500, 20, 10, 4, 0.05, n_classes=4),
        _build_mlp),
        "MLP (20 epochs of Adam): width, depth, alpha, learning rate, activation, batch "
        "size; 500 samples, 4 classes"),
    "sgd_sparse": ("report", "classification", CVLoss(
        functools.partial(_clf_data, 16, 500, 200, 8, 8, 0.05),
        _build_sgd),
        "SGD linear classifier: loss, alpha, penalty (l2 / l1 / elastic net with l1_ratio), "
        "learning-rate schedule (optimal / adaptive with eta0); 200 features, 8 informative"),
    "gbr_friedman": ("report", "regression", CVLoss(
        functools.partial(_friedman, 1, 400, 1.0, 17), _build_gbr, regression=True),
        "GradientBoostingRegressor: trees, learning rate, depth, subsample, min leaf, "
        "max_features; make_friedman1, 400 samples, 15 features, noise 1"),
    "regressor_select": ("report", "regression", CVLoss(
        _diabetes, _build_regressor_select, regression=True),
        "model choice on diabetes + 15 noise features: kernel ridge (alpha, gamma) / "
        "random forest (depth, min leaf, max_features) / elastic net (alpha, l1_ratio) / "
        "k-NN (k, weights)"),
    "cnn": ("report", "cnn", CNNLoss(),
            f"case study 1's CNN on noisy-small digits (250 training, 300 validation "
            f"images), {CNN_EPOCHS} epochs: lr, conv blocks, channels, kernel, hidden, "
            "dropout, weight decay, batch size"),
    "tune_svr_friedman3": ("tune", "regression", CVLoss(
        functools.partial(_friedman, 3, 400, 0.1, 21), _build_svr, regression=True),
        "SVR: C, epsilon, kernel (rbf with gamma / poly with degree); make_friedman3"),
    "tune_et_digits": ("tune", "classification", CVLoss(
        functools.partial(_digits, 500, 0.3, 22), _build_et),
        "ExtraTrees: trees, depth, max_features, min split, criterion, bootstrap; 500 "
        "noisy digits"),
    "tune_model_hastie": ("tune", "classification", CVLoss(
        functools.partial(_hastie, 600, 23), _build_model_hastie),
        "model choice: k-NN (k, weights) / decision tree (depth, min leaf, criterion) / "
        "AdaBoost (n, learning rate) / SVC (C, gamma); Hastie 10.2 + 10 noise "
        "features, 5 % label noise"),
}


def _space(name: str) -> Space:
    if name == "cnn":
        from hybridlab.casestudies._hpo_setup import SPACE  # torch-free

        return SPACE
    return _SPACES[name]


def _make_tasks() -> dict[str, HPOTask]:
    tasks = {}
    for name, (role, kind, loss, text) in _DEFS.items():
        space = _space(name)
        tasks[name] = HPOTask(name, role, kind, space, loss, _suggester(space),
                              f"{text} ({space.dim} dims)")
    return tasks


#: every task by name
TASKS: dict[str, HPOTask] = _make_tasks()
