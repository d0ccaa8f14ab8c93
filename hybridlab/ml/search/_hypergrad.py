"""Gradient-based hyperparameter optimization: hyperparameters that follow their hypergradients.
Over 400 lines: one estimator whose derivation (this docstring) is a third of the module.

:class:`HypergradientClassifier` is a plain-numpy softmax regression (``hidden=0``) or
one-hidden-layer MLP trained by mini-batch SGD (optionally heavy-ball momentum) in which two
hyperparameters are *adapted during the single training run* instead of being searched over:

* the **learning rate**, by hypergradient descent (Baydin et al., 2018, "Online Learning
  Rate Adaptation with Hypergradient Descent", ICLR).  The derivative of the training loss
  at step ``t`` with respect to the previous learning rate is ``-g_t · d_{t-1}``, where
  ``g_t`` is the current (penalised) minibatch gradient and ``d_{t-1}`` the previous update
  direction (``g_{t-1}`` for plain SGD, the momentum buffer ``v_{t-1}`` with momentum).  We use
  a **multiplicative, normalised** rule::

      lr_t = lr_{t-1} * (1 + hyper_lr * clip(g_t · d_{t-1} / s_t, -1, 1))

  so ``hyper_lr`` is scale-free (the largest relative change per step), and ``lr`` stays
  positive because ``0 <= hyper_lr < 1`` is enforced.  With ``hyper_norm="step"``,
  ``s_t = ||g_t|| ||d_{t-1}||`` and the ratio is the cosine: exactly the paper's
  multiplicative rule.  The default ``hyper_norm="running"`` divides by a running mean
  (EMA, factor 0.9) of ``||g_t|| ||d_{t-1}||`` instead.  Reason: with the per-step cosine
  every minibatch gets the same vote whatever its gradient size, and once the softmax
  saturates (lr too large) most minibatches carry only the small, consistently aligned
  ``alpha * W`` penalty gradient, so the cosine is biased positive and the lr *grows* while
  the training loss rises (on digits, from lr0=10 the step rule drove lr to ~25 and test
  accuracy to ~0.90; the running rule keeps it near 10 and ~0.93, and shrinks lr0=100 to
  ~13).  The additive rule ``lr_t = lr_{t-1} + beta * g_t · d_{t-1}`` needs a ``beta``
  tuned to the gradient scale (and a clip to stay positive), which would defeat the
  purpose in an HPO comparison.

* the **L2 strength** ``alpha`` (penalty ``alpha/2 ||W||^2`` on the weight matrices, not
  the biases), by a *one-step (greedy) validation hypergradient*: after the step
  ``w_{t+1} = w_t - lr (g_data + alpha w_t)``,
  ``dL_val(w_{t+1})/d alpha = grad L_val(w_{t+1}) · (-lr w_t)``.  Its sign says whether more
  shrinkage would have lowered the validation loss; the step is taken on ``log(alpha)`` with
  the same normalisation as the learning rate (``hyper_norm``)::

      log alpha_{t+1} = log alpha_t + hyper_alpha_lr * clip(grad L_val(w_{t+1}) · w_t / s, -1, 1)

  (ratio ``> 0``: the validation gradient points along the weights, so shrinking them helps
  and ``alpha`` grows).  ``grad L_val`` is taken on a validation minibatch drawn from the
  held-out ``validation_fraction`` of the training data, which is never trained on.

:func:`~hybridlab.ml.search.hypergradient_search` (in the
same room) is the "gradient-based HPO" entry of an equal-budget comparison with grid /
random / Bayesian search: each trial is *one* training run started from a log-uniformly
sampled ``(lr, alpha)``, so a trial costs the same as one random-search trial and the
best-so-far curves are directly comparable.

>>> from sklearn.datasets import load_digits
>>> from sklearn.preprocessing import StandardScaler
>>> X, y = load_digits(return_X_y=True)
>>> X = StandardScaler().fit_transform(X)
>>> clf = HypergradientClassifier(lr=1e-4, epochs=10, random_state=0).fit(X, y)
>>> bool(clf.lr_path_[-1] > 100 * clf.lr_path_[0])   # the lr grew from far too small
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["HypergradientClassifier"]

# Safety rails, not tuning knobs: the multiplicative rules cannot reach 0 or change sign,
# these only stop under/overflow after very long runs (e.g. separable data, where the lr
# hypergradient keeps pointing the same way).
_LR_BOUNDS = (1e-12, 1e6)
_LOG_ALPHA_BOUNDS = (math.log(1e-10), math.log(1e3))
_TINY = 1e-300
_EMA = 0.9  # running-mean factor of hyper_norm='running' (a ~10-step window)


def _is_int(v: object) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _is_real(v: object) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _dot(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    return float(sum(np.vdot(x, y) for x, y in zip(a, b, strict=True)))


class _Normalised:
    """``a · b`` divided by ``||a|| ||b||`` (``running=False``: the cosine) or by a running
    mean of ``||a|| ||b||`` (``running=True``), clipped to ``[-1, 1]``; 0 if the scale is 0."""

    def __init__(self, running: bool) -> None:
        self.running = running
        self.scale: float | None = None

    def __call__(self, a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
        prod = math.sqrt(_dot(a, a) * _dot(b, b))
        if self.running:
            self.scale = prod if self.scale is None else (
                _EMA * self.scale + (1.0 - _EMA) * prod)
            prod = self.scale
        return max(-1.0, min(1.0, _dot(a, b) / prod)) if prod > _TINY else 0.0


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class HypergradientClassifier(ClassifierMixin, BaseEstimator):
    """Softmax regression / one-hidden-layer MLP whose lr and L2 strength adapt by hypergradients.

    Mini-batch SGD on the mean cross-entropy plus ``alpha/2 ||W||^2`` (weights only).  The
    learning rate follows a multiplicative hypergradient-descent rule (Baydin et al.,
    2018) and ``log(alpha)`` follows the one-step validation hypergradient; see the module
    docstring for the exact update rules.  Inputs are *not* scaled here (put a
    ``StandardScaler`` in front, as for any SGD model); the log-softmax is computed stably so
    badly scaled inputs cannot overflow it.

    Parameters
    ----------
    hidden : int, default 0
        Width of the hidden layer; ``0`` gives (multinomial) softmax regression.
    activation : {"tanh", "relu"}, default "tanh"
        Hidden-layer nonlinearity (ignored when ``hidden=0``).
    lr : float, default 0.01
        Initial learning rate (> 0).
    hyper_lr : float, default 0.02
        Hypergradient step ``beta`` of the multiplicative lr rule, in ``[0, 1)``: the largest
        relative lr change per SGD step.  ``0`` is plain SGD at the fixed ``lr``.
    alpha : float, default 1e-4
        Initial L2 strength (>= 0; > 0 when ``hyper_alpha_lr > 0`` since it adapts on a
        log scale).
    hyper_alpha_lr : float, default 0.05
        Step on ``log(alpha)`` per SGD step, scaled by the normalised product of the
        validation gradient and the weights (in ``[-1, 1]``), so ``alpha`` changes by at most
        a factor ``exp(hyper_alpha_lr)`` per step.  ``0`` keeps ``alpha`` fixed.
    hyper_norm : {"running", "step"}, default "running"
        How the hypergradients are normalised: by a running mean of the gradient-norm
        products (robust to minibatch noise), or per step, i.e. by the cosine (the
        multiplicative rule of Baydin et al. as published).  See the module docstring.
    validation_fraction : float, default 0.1
        Fraction of the training data held out (stratified when possible) for the alpha
        hypergradient, ``val_loss_`` and early stopping; in ``(0, 1)``.  It is never trained on.
    epochs : int, default 50
        Maximum number of passes over the training part.
    batch_size : int, default 32
        Minibatch size (clipped to the training-part size).
    momentum : float, default 0.0
        Heavy-ball momentum ``mu`` in ``[0, 1)``: ``v = mu v + g; w -= lr v``.
    early_stopping : bool, default False
        Stop when the validation loss has not improved for ``patience`` epochs and restore
        the best weights (with the lr and alpha in effect then).
    patience : int, default 5
        Epochs without improvement tolerated when ``early_stopping`` is on.
    random_state : int, RandomState instance or None, default None
        Seeds the validation split, the initialisation and the minibatch order.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in ``fit``.
    coefs_ : list of ndarray
        Weight matrices (input to output), ``intercepts_`` the biases.
    lr_path_ : ndarray of shape (n_steps_,)
        Learning rate used at each SGD step.
    alpha_path_ : ndarray of shape (n_steps_,)
        L2 strength used at each SGD step.
    lr_, alpha_ : float
        Learning rate and L2 strength in effect when the kept weights were produced (the last
        step, or the end of the best epoch after early stopping).
    train_loss_ : ndarray of shape (n_epochs_,)
        Per epoch, the mean minibatch cross-entropy (without the penalty) seen while training.
    val_loss_ : ndarray of shape (n_epochs_,)
        Per epoch, the cross-entropy on the held-out validation part after the epoch.
    n_epochs_ : int
        Epochs actually run.
    best_epoch_ : int
        Index (0-based) of the epoch whose weights were kept (the last one unless early
        stopping or divergence intervened; -1: the initial weights, after divergence in the
        first epoch).
    n_steps_ : int
        SGD steps actually taken (the compute budget, with one validation minibatch per step
        when ``hyper_alpha_lr > 0``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_digits(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(),
    ...                       HypergradientClassifier(lr=1.0, epochs=10, random_state=0))
    >>> model = model.fit(X[:1200], y[:1200])
    >>> clf = model[-1]
    >>> bool(clf.lr_ < 1.0), bool(model.score(X[1200:], y[1200:]) > 0.85)
    (True, True)
    """

    def __init__(
        self,
        hidden: int = 0,
        activation: str = "tanh",
        lr: float = 0.01,
        hyper_lr: float = 0.02,
        alpha: float = 1e-4,
        hyper_alpha_lr: float = 0.05,
        hyper_norm: str = "running",
        validation_fraction: float = 0.1,
        epochs: int = 50,
        batch_size: int = 32,
        momentum: float = 0.0,
        early_stopping: bool = False,
        patience: int = 5,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.lr = lr
        self.hyper_lr = hyper_lr
        self.alpha = alpha
        self.hyper_alpha_lr = hyper_alpha_lr
        self.hyper_norm = hyper_norm
        self.validation_fraction = validation_fraction
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.patience = patience
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        name = type(self).__name__
        if not _is_int(self.hidden) or self.hidden < 0:
            raise ValueError(f"{name}: hidden must be an int >= 0 (0 = softmax regression), "
                             f"got {self.hidden!r}")
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"{name}: activation must be 'tanh' or 'relu', "
                             f"got {self.activation!r}")
        if not _is_real(self.lr) or self.lr <= 0:
            raise ValueError(f"{name}: lr is the initial learning rate and must be a finite "
                             f"number > 0, got {self.lr!r} (try lr=0.01)")
        if not _is_real(self.hyper_lr) or not 0 <= self.hyper_lr < 1:
            raise ValueError(f"{name}: hyper_lr must be in [0, 1) (the largest relative lr "
                             f"change per step; 0 = fixed lr), got {self.hyper_lr!r} "
                             "(try hyper_lr=0.02)")
        if not _is_real(self.hyper_alpha_lr) or self.hyper_alpha_lr < 0:
            raise ValueError(f"{name}: hyper_alpha_lr must be a finite number >= 0 "
                             f"(0 = fixed alpha), got {self.hyper_alpha_lr!r}")
        if self.hyper_norm not in ("running", "step"):
            raise ValueError(f"{name}: hyper_norm must be 'running' or 'step', "
                             f"got {self.hyper_norm!r}")
        if not _is_real(self.alpha) or self.alpha < 0:
            raise ValueError(f"{name}: alpha (L2 strength) must be a finite number >= 0, "
                             f"got {self.alpha!r}")
        if self.alpha == 0 and self.hyper_alpha_lr > 0:
            raise ValueError(f"{name}: alpha adapts on a log scale and cannot start at 0; "
                             "pass alpha > 0 (e.g. 1e-4) or hyper_alpha_lr=0 to train "
                             "unregularised")
        vf = self.validation_fraction
        if not _is_real(vf) or not 0 < vf < 1:
            raise ValueError(f"{name}: validation_fraction must be in the open interval "
                             f"(0, 1), got {vf!r} (try validation_fraction=0.1)")
        if not _is_int(self.epochs) or self.epochs < 1:
            raise ValueError(f"{name}: epochs must be an int >= 1, got {self.epochs!r}")
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise ValueError(f"{name}: batch_size must be an int >= 1, "
                             f"got {self.batch_size!r}")
        if not _is_real(self.momentum) or not 0 <= self.momentum < 1:
            raise ValueError(f"{name}: momentum must be in [0, 1), got {self.momentum!r} "
                             "(0 = plain SGD)")
        if not isinstance(self.early_stopping, bool | np.bool_):
            raise ValueError(f"{name}: early_stopping must be True or False, "
                             f"got {self.early_stopping!r}")
        if not _is_int(self.patience) or self.patience < 1:
            raise ValueError(f"{name}: patience must be an int >= 1 (epochs without "
                             f"improvement), got {self.patience!r}")

    # ------------------------------------------------------------------ the network
    def _forward(
        self, X: np.ndarray, params: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Log-probabilities, plus the hidden pre-activation and activation (MLP only)."""
        if len(params) == 2:
            return _log_softmax(X @ params[0] + params[1]), None, None
        z = X @ params[0] + params[1]
        h = np.tanh(z) if self.activation == "tanh" else np.maximum(z, 0.0)
        return _log_softmax(h @ params[2] + params[3]), z, h

    def _loss_grad(
        self, X: np.ndarray, yi: np.ndarray, params: list[np.ndarray]
    ) -> tuple[float, list[np.ndarray]]:
        """Mean cross-entropy on ``(X, yi)`` and its gradient (no penalty)."""
        logp, z, h = self._forward(X, params)
        n = X.shape[0]
        rows = np.arange(n)
        loss = -float(logp[rows, yi].mean())
        d = np.exp(logp)
        d[rows, yi] -= 1.0
        d /= n
        if h is None:
            return loss, [X.T @ d, d.sum(axis=0)]
        dh = d @ params[2].T
        dz = dh * (1.0 - h * h) if self.activation == "tanh" else dh * (z > 0)
        return loss, [X.T @ dz, dz.sum(axis=0), h.T @ d, d.sum(axis=0)]

    def _init_params(self, n_in: int, n_out: int, rng: np.random.RandomState) -> list[np.ndarray]:
        if self.hidden == 0:  # convex: zeros are a fine, symmetric start
            return [np.zeros((n_in, n_out)), np.zeros(n_out)]
        params = []
        for a, b in ((n_in, self.hidden), (self.hidden, n_out)):
            lim = math.sqrt(6.0 / (a + b))  # Glorot uniform
            params += [rng.uniform(-lim, lim, size=(a, b)), np.zeros(b)]
        return params

    # ------------------------------------------------------------------ sklearn API
    def fit(self, X: Any, y: Any) -> HypergradientClassifier:
        """Train on ``(X, y)``, adapting lr and alpha along the way.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (scale them first).
        y : array-like of shape (n_samples,)
            Class labels (any hashable, sortable labels, e.g. strings).

        Returns
        -------
        self : HypergradientClassifier
            The fitted estimator.
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples (one is held out "
                             f"for validation), got {n} sample")
        self.classes_, yi = np.unique(y, return_inverse=True)
        rng = check_random_state(self.random_state)

        Xtr, ytr, Xva, yva = self._holdout(X, yi, rng)
        n_tr, n_va = len(ytr), len(yva)
        bs, bs_va = min(self.batch_size, n_tr), min(self.batch_size, n_va)

        params = self._init_params(X.shape[1], len(self.classes_), rng)
        weights = range(0, len(params), 2)  # indices of the penalised matrices
        velocity = [np.zeros_like(p) for p in params]
        lr, alpha = float(self.lr), float(self.alpha)
        log_alpha = math.log(alpha) if alpha > 0 else -math.inf  # only used when adapting
        adapt_lr, adapt_alpha = self.hyper_lr > 0, self.hyper_alpha_lr > 0
        lr_ratio = _Normalised(self.hyper_norm == "running")
        alpha_ratio = _Normalised(self.hyper_norm == "running")
        prev_dir: list[np.ndarray] | None = None  # d_{t-1}: the previous update direction
        prev_w: list[np.ndarray] | None = None  # w_t of the previous step (weights only)
        va_order, va_pos = rng.permutation(n_va), 0

        lr_path: list[float] = []
        alpha_path: list[float] = []
        train_loss: list[float] = []
        val_loss: list[float] = []
        best, since_best = (math.inf, -1, [p.copy() for p in params], lr, alpha), 0
        # overflow can only happen on divergence (relu MLP, huge lr); it is detected below
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(self.epochs):
                order = rng.permutation(n_tr)
                batch_losses = []
                for start in range(0, n_tr, bs):
                    b = order[start:start + bs]
                    # one-step validation hypergradient of the previous step's alpha
                    if adapt_alpha and prev_w is not None:
                        if va_pos + bs_va > n_va:
                            va_order, va_pos = rng.permutation(n_va), 0
                        vb = va_order[va_pos:va_pos + bs_va]
                        va_pos += bs_va
                        _, gv = self._loss_grad(Xva[vb], yva[vb], params)
                        c = alpha_ratio([gv[i] for i in weights], prev_w)
                        log_alpha = min(max(log_alpha + self.hyper_alpha_lr * c,
                                            _LOG_ALPHA_BOUNDS[0]), _LOG_ALPHA_BOUNDS[1])
                        alpha = math.exp(log_alpha)
                    loss, g = self._loss_grad(Xtr[b], ytr[b], params)
                    if not math.isfinite(loss):
                        break
                    batch_losses.append(loss)
                    if alpha > 0:
                        for i in weights:
                            g[i] = g[i] + alpha * params[i]
                    # hypergradient descent on lr (multiplicative rule, Baydin et al. 2018)
                    if adapt_lr and prev_dir is not None:
                        lr *= 1.0 + self.hyper_lr * lr_ratio(g, prev_dir)
                        lr = min(max(lr, _LR_BOUNDS[0]), _LR_BOUNDS[1])
                    lr_path.append(lr)
                    alpha_path.append(alpha)
                    if adapt_alpha:
                        prev_w = [params[i].copy() for i in weights]
                    for i, gi in enumerate(g):
                        velocity[i] = self.momentum * velocity[i] + gi if self.momentum else gi
                        params[i] = params[i] - lr * velocity[i]
                    prev_dir = list(velocity)

                train_loss.append(float(np.mean(batch_losses)) if batch_losses else math.nan)
                vl = self._loss_grad(Xva, yva, params)[0]
                if not all(np.isfinite(p).all() for p in params) or not math.isfinite(vl):
                    # diverged (possible for relu MLPs): keep the last finite weights
                    warnings.warn(f"{type(self).__name__}: training diverged in epoch {epoch} "
                                  f"(lr={lr:.3g}); keeping the weights of the last finite epoch. "
                                  "Lower lr or hyper_lr, or use activation='tanh'.",
                                  RuntimeWarning, stacklevel=2)
                    val_loss.append(math.nan)
                    break
                val_loss.append(vl)
                improved = vl < best[0]
                if improved or not self.early_stopping:
                    best = (min(vl, best[0]), epoch, [p.copy() for p in params], lr, alpha)
                since_best = 0 if improved else since_best + 1
                if self.early_stopping and since_best >= self.patience:
                    break

        return self._store(best, lr_path, alpha_path, train_loss, val_loss)

    def _holdout(self, X: np.ndarray, yi: np.ndarray,
                 rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
        """``(X_train, y_train, X_val, y_val)``: the held-out validation split of ``fit``."""
        n = X.shape[0]
        idx = np.arange(n)
        n_val = min(max(1, round(self.validation_fraction * n)), n - 1)
        try:
            tr, va = train_test_split(idx, test_size=n_val, stratify=yi, random_state=rng)
        except ValueError:  # a class too small to stratify
            tr, va = train_test_split(idx, test_size=n_val, random_state=rng)
        return X[tr], yi[tr], X[va], yi[va]

    def _store(self, best: tuple[Any, ...], lr_path: list[float], alpha_path: list[float],
               train_loss: list[float], val_loss: list[float]) -> HypergradientClassifier:
        """Set the fitted attributes from the kept epoch ``best`` and the paths."""
        params = best[2]  # the last epoch, unless early stopping or divergence intervened
        self.coefs_ = [params[i] for i in range(0, len(params), 2)]
        self.intercepts_ = [params[i] for i in range(1, len(params), 2)]
        self.best_epoch_ = int(best[1])
        self.lr_ = float(best[3])
        self.alpha_ = float(best[4])
        self.lr_path_ = np.asarray(lr_path)
        self.alpha_path_ = np.asarray(alpha_path)
        self.train_loss_ = np.asarray(train_loss)
        self.val_loss_ = np.asarray(val_loss)
        self.n_epochs_ = len(train_loss)
        self.n_steps_ = len(lr_path)
        return self

    def _params(self) -> list[np.ndarray]:
        out = []
        for w, b in zip(self.coefs_, self.intercepts_, strict=True):
            out += [w, b]
        return out

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log-probabilities (computed with a stable log-softmax).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._forward(X, self._params())[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities; each row sums to 1.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class for each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels taken from ``classes_``.
        """
        logp = self.predict_log_proba(X)  # checks fitted before classes_ is touched
        return self.classes_[np.argmax(logp, axis=1)]
