"""Loss functions by name, and the loss as a searched dimension.

:func:`make_loss` builds ``loss(outputs, targets) -> mean loss`` from a name and its
parameters; :func:`fit` takes the same names (``fit(..., loss_fn="huber")``).

Classification (``outputs``: ``(n, classes)`` logits, ``targets``: ``(n,)`` class indices):

* ``"cross_entropy"`` -- ``F.cross_entropy``;
* ``"label_smoothing"`` (``smoothing`` in [0, 1), default 0.1) --
  ``F.cross_entropy(label_smoothing=smoothing)``;
* ``"focal"`` (``gamma`` >= 0, default 2; optional ``alpha``: per-class weights or
  ``"balanced"``) -- multi-class focal loss on the softmax, ``-(1 - p_t)^gamma log p_t``
  (Lin et al. 2017), averaged like ``F.cross_entropy(weight=alpha)``: with ``gamma=0`` it
  *is* (weighted) cross-entropy;
* ``"class_weighted"`` (``weights``: ``"balanced"``, the default, or per-class weights) --
  ``F.cross_entropy(weight=weights)``; ``"balanced"`` weights are scikit-learn's
  ``compute_class_weight("balanced")`` of the training targets ``y_train``.

Regression (``outputs``: ``(n,)`` or ``(n, 1)``, ``targets``: ``(n,)``; an ``(n, 1)``
output is matched to ``(n,)`` targets, never broadcast to ``(n, n)``, and targets are cast
to the outputs' dtype):

* ``"mse"``, ``"mae"`` -- ``F.mse_loss``, ``F.l1_loss``;
* ``"huber"`` (``delta`` > 0, default 1) -- ``F.huber_loss(delta=delta)``;
* ``"quantile"`` (``q`` in (0, 1), default 0.5) -- the pinball loss
  ``mean(max(q r, (q - 1) r))`` with ``r = target - output``; ``q=0.5`` gives MAE / 2.

Custom losses plug in by name with :func:`register_loss`. :func:`loss_space` is a
:class:`~hybridlab.conditional.ConditionalSpace` whose categorical ``"loss"`` carries each
loss's own parameter (``"loss__smoothing"``, ``"loss__gamma"``, ...) conditional on it;
:func:`loss_from_params` turns its decoded point into the loss.

Example
-------
>>> import torch
>>> loss = make_loss("focal", gamma=2.0)
>>> logits, y = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
>>> bool(loss(logits, y) < make_loss("cross_entropy")(logits, y))
True
>>> space = loss_space("regression")
>>> space.decode([0.7, 0.5, 0.5])
{'loss': 'huber', 'loss__delta': 0.5477225575051662}
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ...conditional import Choice, ConditionalSpace
from ...space import Categorical, Integer, Real

__all__ = ["loss_from_params", "loss_names", "loss_space", "make_loss", "register_loss"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., LossFn]
    task: str | None
    space: dict[str, Any] = field(default_factory=dict)


# -- the losses themselves (module-level, so that partials of them pickle) ----------------
def _weight(w: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    return None if w is None else w.to(device=like.device, dtype=like.dtype)


def _cross_entropy(outputs: torch.Tensor, targets: torch.Tensor, *, smoothing: float = 0.0,
                   weight: torch.Tensor | None = None) -> torch.Tensor:
    return F.cross_entropy(outputs, targets, weight=_weight(weight, outputs),
                           label_smoothing=smoothing)


def _focal(outputs: torch.Tensor, targets: torch.Tensor, *, gamma: float,
           alpha: torch.Tensor | None = None) -> torch.Tensor:
    log_pt = F.log_softmax(outputs, dim=1).gather(1, targets[:, None]).squeeze(1)
    # 1 - p_t by expm1 (exact near p_t = 1); the floor keeps the gradient of x**gamma
    # finite for 0 < gamma < 1 when a logit is so large that p_t rounds to 1
    away = (-torch.expm1(log_pt)).clamp_min(torch.finfo(log_pt.dtype).tiny)
    loss = -away.pow(gamma) * log_pt
    if alpha is None:
        return loss.mean()
    w = _weight(alpha, outputs)[targets]  # type: ignore[index]
    return (w * loss).sum() / w.sum()  # the weighted mean of F.cross_entropy(weight=)


def _matched(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if outputs.ndim == targets.ndim + 1 and outputs.shape[-1] == 1:
        outputs = outputs.squeeze(-1)
    if outputs.shape != targets.shape:
        raise ValueError(f"regression loss: outputs {tuple(outputs.shape)} do not match "
                         f"targets {tuple(targets.shape)}; give the model one output per "
                         "target (e.g. n_classes=1)")
    return outputs


def _mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    out = _matched(outputs, targets)
    return F.mse_loss(out, targets.to(out.dtype))


def _mae(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    out = _matched(outputs, targets)
    return F.l1_loss(out, targets.to(out.dtype))


def _huber(outputs: torch.Tensor, targets: torch.Tensor, *, delta: float) -> torch.Tensor:
    out = _matched(outputs, targets)
    return F.huber_loss(out, targets.to(out.dtype), delta=delta)


def _quantile(outputs: torch.Tensor, targets: torch.Tensor, *, q: float) -> torch.Tensor:
    out = _matched(outputs, targets)
    r = targets.to(out.dtype) - out
    return torch.maximum(q * r, (q - 1) * r).mean()


# -- factories: check parameters, return a partial ----------------------------------------
def _check(name: str, value: Any, ok: Callable[[float], bool], rule: str, hint: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and ok(v)):
        raise ValueError(f"{name} must be {rule}, got {value!r}; use e.g. {hint}")
    return v


def _class_weights(weights: Any, y_train: Any, what: str) -> torch.Tensor:
    if isinstance(weights, str):
        if weights != "balanced":
            raise ValueError(f"{what}={weights!r}: use 'balanced' or a sequence of per-class "
                             "weights")
        if y_train is None:
            raise ValueError(f"{what}='balanced' needs the training targets: pass "
                             "y_train=<class indices> (for fit: loss_fn=make_loss(name, "
                             "y_train=y))")
        from sklearn.utils.class_weight import compute_class_weight

        y = np.asarray(y_train.cpu() if isinstance(y_train, torch.Tensor) else y_train)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(y) == 0 or y.min() < 0:
            raise ValueError(f"y_train must be a non-empty 1-D array of class indices >= 0, "
                             f"got dtype {y.dtype} and shape {y.shape}")
        classes = np.unique(y)
        w = np.ones(int(y.max()) + 1)  # a class absent from y_train keeps weight 1
        w[classes] = compute_class_weight("balanced", classes=classes, y=y)
        return torch.tensor(w, dtype=torch.float32)
    w = torch.as_tensor(np.asarray(weights, dtype=float), dtype=torch.float32)
    if w.ndim != 1 or len(w) == 0 or not bool(torch.isfinite(w).all()) or bool((w < 0).any()) \
            or float(w.sum()) <= 0:
        raise ValueError(f"{what} must be 'balanced' or a 1-D sequence of non-negative "
                         f"per-class weights (not all zero), got {weights!r}")
    return w


def _make_cross_entropy() -> LossFn:
    return F.cross_entropy


def _make_label_smoothing(smoothing: float = 0.1) -> LossFn:
    s = _check("smoothing", smoothing, lambda v: 0 <= v < 1, "in [0, 1)", "smoothing=0.1")
    return partial(_cross_entropy, smoothing=s)


def _make_focal(gamma: float = 2.0, alpha: Any = None, y_train: Any = None) -> LossFn:
    g = _check("gamma", gamma, lambda v: v >= 0, ">= 0", "gamma=2.0")
    a = None if alpha is None else _class_weights(alpha, y_train, "alpha")
    return partial(_focal, gamma=g, alpha=a)


def _make_class_weighted(weights: Any = "balanced", y_train: Any = None) -> LossFn:
    return partial(_cross_entropy, weight=_class_weights(weights, y_train, "weights"))


def _make_huber(delta: float = 1.0) -> LossFn:
    return partial(_huber, delta=_check("delta", delta, lambda v: v > 0, "> 0", "delta=1.0"))


def _make_quantile(q: float = 0.5) -> LossFn:
    return partial(_quantile, q=_check("q", q, lambda v: 0 < v < 1, "in (0, 1)", "q=0.5"))


_REGISTRY: dict[str, _Entry] = {
    "cross_entropy": _Entry(_make_cross_entropy, "classification"),
    "label_smoothing": _Entry(_make_label_smoothing, "classification",
                              {"smoothing": Real(0.0, 0.3)}),
    "focal": _Entry(_make_focal, "classification", {"gamma": Real(0.5, 5.0)}),
    "class_weighted": _Entry(_make_class_weighted, "classification"),
    "mse": _Entry(lambda: _mse, "regression"),
    "mae": _Entry(lambda: _mae, "regression"),
    "huber": _Entry(_make_huber, "regression", {"delta": Real(0.1, 3.0, log=True)}),
    "quantile": _Entry(_make_quantile, "regression", {"q": Real(0.2, 0.8)}),
}


# -- the public API ----------------------------------------------------------------------
def loss_names(task: str | None = None) -> list[str]:
    """The registered loss names, in registration order (of one ``task`` if given; a loss
    registered without a task is listed only when ``task`` is None).

    Example
    -------
    >>> loss_names("regression")
    ['mse', 'mae', 'huber', 'quantile']
    """
    _check_task(task, allow_none=True)
    return [n for n, e in _REGISTRY.items() if task is None or e.task == task]


def make_loss(name: str, **params: Any) -> LossFn:
    """The loss called ``name``, built with ``params``.

    Parameters
    ----------
    name : str
        A name of :func:`loss_names` (built in or :func:`register_loss` ed).
    **params
        The loss's own parameters (``smoothing``, ``gamma``/``alpha``, ``weights``,
        ``delta``, ``q``), and ``y_train`` (training class indices) for ``"balanced"``
        class weights.

    Returns
    -------
    callable
        ``loss(outputs, targets)`` returning the mean loss of the batch (a 0-d tensor).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones), a parameter the loss does
        not take, or a parameter out of its range.

    Example
    -------
    >>> import torch
    >>> mae = make_loss("mae")
    >>> float(make_loss("quantile", q=0.5)(torch.zeros(3, 1), torch.ones(3)))
    0.5
    >>> float(mae(torch.zeros(3, 1), torch.ones(3)))
    1.0
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; use one of {list(_REGISTRY)} or "
                         "register_loss(name, factory)")
    factory = _REGISTRY[name].factory
    sig = inspect.signature(factory)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = sorted(set(params) - set(sig.parameters)) if not takes_any else []
    if unknown:
        raise ValueError(f"loss {name!r} takes no parameter(s) {unknown}; it takes "
                         f"{[p for p in sig.parameters if p != 'y_train'] or 'none'}")
    loss = factory(**params)
    if not callable(loss):
        raise ValueError(f"the factory of loss {name!r} returned {type(loss).__name__}, not "
                         "a callable loss(outputs, targets)")
    return loss


def register_loss(name: str, factory: Callable[..., LossFn], *, task: str | None = None,
                  space: Mapping[str, Any] | None = None, overwrite: bool = False) -> None:
    """Make ``factory(**params) -> loss(outputs, targets)`` available as ``name``.

    Parameters
    ----------
    name : str
        The new name; taken names need ``overwrite=True``.
    factory : callable
        Called with the parameters given to :func:`make_loss` (and ``y_train`` by
        :func:`loss_from_params` when it takes one).
    task : {"classification", "regression"} or None
        Which :func:`loss_space` includes the loss by default (None: neither; name it in
        ``losses=``).
    space : dict, optional
        The loss's own searched parameters for :func:`loss_space`, e.g.
        ``{"beta": Real(0.1, 1.0)}`` (passed to ``factory`` as ``beta``).
    overwrite : bool, default False
        Replace a loss of the same name.

    Example
    -------
    >>> import torch
    >>> register_loss("log_cosh", lambda: lambda o, t: torch.log(torch.cosh(o - t)).mean(),
    ...               overwrite=True)
    >>> float(make_loss("log_cosh")(torch.zeros(2), torch.zeros(2)))
    0.0
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"loss name must be an identifier string, got {name!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"loss {name!r} is already registered; pass overwrite=True to "
                         "replace it")
    if not callable(factory):
        raise ValueError(f"factory must be callable (params -> loss), got {factory!r}")
    _check_task(task, allow_none=True)
    space = dict(space or {})
    for key, dim in space.items():
        if not isinstance(dim, Real | Integer | Categorical):
            raise ValueError(f"space[{key!r}] = {dim!r}: use Real, Integer or Categorical")
    _REGISTRY[name] = _Entry(factory, task, space)


def loss_space(task: str = "classification", *, losses: Sequence[str] | None = None,
               extra: Mapping[str, Any] | None = None) -> ConditionalSpace:
    """A search space whose categorical ``"loss"`` carries each loss's own parameters.

    Parameters
    ----------
    task : {"classification", "regression"}
        Which losses are included by default (:func:`loss_names` of the task).
    losses : sequence of str, optional
        The losses to choose from instead.
    extra : dict, optional
        More dimensions searched alongside (``{"lr": Real(1e-3, 1e-1, log=True)}``).

    Returns
    -------
    ConditionalSpace
        ``decode`` gives ``{"loss": name, "loss__<param>": value, ...}`` with only the
        chosen loss's parameters (and ``extra``'s); :func:`loss_from_params` builds it.

    Example
    -------
    >>> space = loss_space("classification", losses=["cross_entropy", "focal"])
    >>> space.names
    ['loss', 'loss__gamma[loss=focal]']
    >>> space.decode([0.9, 0.0])
    {'loss': 'focal', 'loss__gamma': 0.5}
    """
    _check_task(task)
    names = list(losses) if losses is not None else loss_names(task)
    for n in names:
        if n not in _REGISTRY:
            raise ValueError(f"unknown loss {n!r}; use one of {list(_REGISTRY)}")
    if not names:
        raise ValueError("losses is empty: give at least one loss name")
    options = {n: (n, {f"loss__{k}": d for k, d in _REGISTRY[n].space.items()})
               for n in names}
    extra = dict(extra or {})
    if "loss" in extra or any(k.startswith("loss__") for k in extra):
        raise ValueError("extra must not use the names 'loss' or 'loss__*'; rename them")
    return ConditionalSpace({"loss": Choice(options), **extra})


def loss_from_params(params: Mapping[str, Any], y_train: Any = None) -> LossFn:
    """The loss of a point decoded from :func:`loss_space`.

    ``params["loss"]`` is the name; every ``"loss__<p>"`` entry is passed as ``p``; other
    entries are ignored. ``y_train`` is passed to losses that take it (``"balanced"``
    class weights), so pass the training targets when such a loss may be chosen.

    Example
    -------
    >>> import torch
    >>> loss = loss_from_params({"loss": "huber", "loss__delta": 0.5, "lr": 0.01})
    >>> float(loss(torch.zeros(1, 1), torch.full((1,), 2.0)))
    0.875
    """
    if "loss" not in params:
        raise ValueError(f"params has no 'loss' entry (got {sorted(params)}); decode a "
                         "point of loss_space(...)")
    name = params["loss"]
    kwargs = {k[len("loss__"):]: v for k, v in params.items() if k.startswith("loss__")}
    if name in _REGISTRY and y_train is not None \
            and "y_train" in inspect.signature(_REGISTRY[name].factory).parameters:
        kwargs["y_train"] = y_train
    return make_loss(name, **kwargs)


def _check_task(task: str | None, *, allow_none: bool = False) -> None:
    if not (task in TASKS or (allow_none and task is None)):
        raise ValueError(f"unknown task {task!r}; use one of {list(TASKS)}")
