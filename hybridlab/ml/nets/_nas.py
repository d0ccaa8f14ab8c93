"""Neural architecture search as a hybridlab problem: any optimizer, any hybrid.
Over 400 lines because the space, its objective and constraint, and the comparison are one
concept that share the config decoding.

* :func:`architecture_space` -- depth, per-layer widths/channels, kernel sizes and
  activations, pooling, normalization, dropout and residual connections as a search
  space: a dict for :class:`~hybridlab.conditional.ConditionalSpace` (per-layer
  parameters exist only for the chosen depth) or a flat :class:`~hybridlab.space.Space`;
* :func:`config_from_params` -- a decoded point -> :class:`~hybridlab.ml.nets.NetConfig`;
* :func:`nas_problem` -- a :class:`~hybridlab.problem.Problem` whose objective trains the
  decoded architecture with :func:`~hybridlab.ml.train.fit` and returns validation error
  plus optional size and latency penalties, with an optional parameter-count constraint;
* :func:`nas_compare` -- several optimizers at an equal budget: best-so-far per
  evaluation, and the best architecture of each run retrained and scored on test data.

Example
-------
>>> import hybridlab as hl
>>> from hybridlab.conditional import ConditionalSpace
>>> space = ConditionalSpace(architecture_space("mlp", max_depth=2))
>>> params = space.decode([0.9] * space.dim)  # depth 2: layers 0 and 1 are active
>>> config_from_params(params)  # doctest: +NORMALIZE_WHITESPACE
NetConfig(depth=2, widths=(128, 128), kernel_sizes=(3, 3), activations=('leaky_relu',
'leaky_relu'), pooling='none', norm='none', dropout=0.45, residual=True,
shared_blocks=False)
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import TensorDataset

from hybridlab.conditional import Choice, ConditionalSpace
from hybridlab.constraints import FeasibilityRules
from hybridlab.driver import minimize
from hybridlab.ml.train import Data, accuracy, as_dataset, fit, latency
from hybridlab.problem import Problem
from hybridlab.space import Categorical, Integer, Real, Space

from ._activations import ACTIVATION_NAMES
from ._builders import NORMS, POOLINGS, Net, NetConfig, build_net, count_parameters

__all__ = ["NASObjective", "ParamsConstraint", "architecture_space", "config_from_params",
           "nas_compare", "nas_problem"]

#: Default widths (MLP units / CNN channels) searched per layer.
DEFAULT_WIDTHS = {"mlp": (16, 32, 64, 128), "cnn": (4, 8, 16, 32)}


def architecture_space(kind: str = "cnn", max_depth: int = 3, *, min_depth: int = 1,
                       widths: Sequence[int] | None = None,
                       kernel_sizes: Sequence[int] = (3, 5),
                       activations: Sequence[str] = ACTIVATION_NAMES,
                       poolings: Sequence[str] = POOLINGS,
                       norms: Sequence[str] = NORMS,
                       dropout: tuple[float, float] | None = (0.0, 0.5),
                       residual: Sequence[bool] = (False, True),
                       conditional: bool = True) -> dict[str, Any] | Space:
    """The search space of :class:`~hybridlab.ml.nets.NetConfig` architectures.

    Per layer ``i`` (from 0): ``width_i`` (a categorical of ``widths``), ``kernel_i``
    (CNN only) and ``act_i``; globally ``pooling`` (CNN only), ``norm``, ``dropout`` (a
    real interval; None leaves it out, i.e. no dropout) and ``residual``.

    Parameters
    ----------
    kind : {"cnn", "mlp"}
    max_depth, min_depth : int
        Depths searched. With 2x2 pooling an 8x8 image allows at most 3 layers: deeper
        points with pooling fail to build and count as failed evaluations.
    widths : sequence of int, optional
        Candidate widths; :data:`DEFAULT_WIDTHS` by kind.
    kernel_sizes, activations, poolings, norms, residual : sequences
        Candidates of each categorical.
    dropout : (low, high) or None
    conditional : bool, default True
        True: a dict for :class:`~hybridlab.conditional.ConditionalSpace` where ``depth``
        is a :class:`~hybridlab.conditional.Choice` and each depth carries its own layer
        parameters (decoded points hold only the active ones; the box has one dimension
        per layer *per depth*). False: a flat :class:`~hybridlab.space.Space` with
        ``depth`` an Integer and ``max_depth`` sets of layer parameters, of which only the
        first ``depth`` are used (a smaller box; inactive layers keep their values).

    Example
    -------
    >>> space = architecture_space("cnn", max_depth=2, conditional=False)
    >>> space.names  # doctest: +NORMALIZE_WHITESPACE
    ['depth', 'width_0', 'kernel_0', 'act_0', 'width_1', 'kernel_1', 'act_1', 'pooling',
     'norm', 'dropout', 'residual']
    >>> ConditionalSpace(architecture_space("cnn", max_depth=2)).dim
    14
    """
    if kind not in ("cnn", "mlp"):
        raise ValueError(f"kind must be 'cnn' or 'mlp', got {kind!r}")
    if not 1 <= min_depth <= max_depth:
        raise ValueError(f"need 1 <= min_depth <= max_depth, got min_depth={min_depth}, "
                         f"max_depth={max_depth}")
    widths = tuple(widths) if widths is not None else DEFAULT_WIDTHS[kind]
    bad = [a for a in activations if a not in (*ACTIVATION_NAMES, "elu", "mixed")]
    if bad:
        raise ValueError(f"unknown activation(s) {bad}; use some of {ACTIVATION_NAMES}")

    def layer(i: int) -> dict[str, Any]:
        dims: dict[str, Any] = {f"width_{i}": Categorical(widths)}
        if kind == "cnn":
            dims[f"kernel_{i}"] = Categorical(kernel_sizes)
        dims[f"act_{i}"] = Categorical(activations)
        return dims

    glob: dict[str, Any] = {}
    if kind == "cnn":
        glob["pooling"] = Categorical(poolings)
    glob["norm"] = Categorical(norms)
    if dropout is not None:
        glob["dropout"] = Real(float(dropout[0]), float(dropout[1]))
    glob["residual"] = Categorical(residual)
    if conditional:
        options = {}
        for d in range(min_depth, max_depth + 1):
            sub: dict[str, Any] = {}
            for i in range(d):
                sub |= layer(i)
            options[str(d)] = (d, sub)
        return {"depth": Choice(options), **glob}
    dims: dict[str, Any] = {"depth": Integer(min_depth, max_depth) if max_depth > min_depth
                            else Categorical([min_depth])}
    for i in range(max_depth):
        dims |= layer(i)
    return Space({**dims, **glob})


def config_from_params(params: Mapping[str, Any]) -> NetConfig:
    """A :class:`~hybridlab.ml.nets.NetConfig` from a decoded point of
    :func:`architecture_space` (or any dict with ``depth`` and ``width_i``).

    ``kernel_i`` defaults to 3, ``act_i`` to "relu"; ``pooling``, ``norm``, ``dropout``,
    ``residual`` and ``shared_blocks`` to the NetConfig defaults (pooling "none" for
    MLPs, where it is ignored anyway). Layer parameters beyond ``depth`` and other keys
    (training hyperparameters such as ``lr``) are ignored.

    Example
    -------
    >>> config_from_params({"depth": 1, "width_0": 8, "act_0": "tanh"}).activations
    ('tanh',)
    """
    if "depth" not in params:
        raise ValueError(f"params need 'depth' (and width_0, ...), got {sorted(params)}")
    depth = int(params["depth"])
    missing = [f"width_{i}" for i in range(depth) if f"width_{i}" not in params]
    if missing:
        raise ValueError(f"params miss {missing} for depth={depth}")
    extra = {k: params[k] for k in ("pooling", "norm", "dropout", "residual", "shared_blocks")
             if k in params}
    if "pooling" not in extra and not any(f"kernel_{i}" in params for i in range(depth)):
        extra["pooling"] = "none"  # an MLP point
    for flag in ("residual", "shared_blocks"):
        if flag in extra:
            extra[flag] = bool(extra[flag])
    return NetConfig(
        depth=depth,
        widths=tuple(int(params[f"width_{i}"]) for i in range(depth)),
        kernel_sizes=tuple(int(params.get(f"kernel_{i}", 3)) for i in range(depth)),
        activations=tuple(str(params.get(f"act_{i}", "relu")) for i in range(depth)),
        **extra,
    )


def _shape_and_classes(train: Data, val: Data | None,
                       n_classes: int | None) -> tuple[tuple[int, ...], int]:
    ds = as_dataset(train, "train")
    if len(ds) == 0:  # type: ignore[arg-type]
        raise ValueError("train is empty")
    in_shape = tuple(ds[0][0].shape)
    if n_classes is not None:
        return in_shape, int(n_classes)
    top = -1
    for d in (ds, as_dataset(val, "val") if val is not None else None):
        if d is None:
            continue
        if isinstance(d, TensorDataset):
            top = max(top, int(d.tensors[1].max()))
        else:
            top = max(top, *(int(d[i][1]) for i in range(len(d))))  # type: ignore[arg-type]
    return in_shape, top + 1


class _Builder:
    """Builds the network of a decoded point, with seeded initial weights."""

    def __init__(self, kind: str, in_shape: tuple[int, ...], n_classes: int,
                 seed: int) -> None:
        self.kind, self.in_shape, self.n_classes, self.seed = kind, in_shape, n_classes, seed

    def build(self, params: Mapping[str, Any] | NetConfig) -> Net:
        config = params if isinstance(params, NetConfig) else config_from_params(params)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return build_net(config, self.kind, self.in_shape, self.n_classes)


class ParamsConstraint(_Builder):
    """The constraint ``count_parameters(net) - max_params <= 0`` of a decoded point."""

    name = "max_params"

    def __init__(self, kind: str, in_shape: tuple[int, ...], n_classes: int,
                 max_params: int) -> None:
        super().__init__(kind, in_shape, n_classes, 0)
        self.max_params = int(max_params)

    def __call__(self, params: Mapping[str, Any]) -> float:
        return float(count_parameters(self.build(params)) - self.max_params)


class NASObjective(_Builder):
    """The objective of :func:`nas_problem` (a picklable callable).

    ``objective(params)`` builds the decoded architecture (initial weights seeded with
    ``seed``), trains it with :func:`~hybridlab.ml.train.fit` and returns
    ``1 - val_accuracy + size_penalty * params / 1e5 + latency_penalty * latency_ms``
    (``latency_ms``: median batch-1 inference latency in milliseconds). ``lr`` and
    ``batch_size`` in ``params`` override the fixed ones, so a space may search them too.

    Attributes
    ----------
    records : list of dict
        One per call, in call order (serial runs: the order of ``Result.history``):
        ``params`` (count), ``val_accuracy``, ``latency_ms``, ``train_seconds``,
        ``trained``, ``config`` (a dict), ``error``. Not filled in worker processes.
    """

    def __init__(self, train: Data, val: Data, *, kind: str, in_shape: tuple[int, ...],
                 n_classes: int, epochs: int, lr: float, batch_size: int, optimizer: str,
                 size_penalty: float, latency_penalty: float, max_params: int | None,
                 train_infeasible: bool, seed: int, fit_kwargs: Mapping[str, Any]) -> None:
        super().__init__(kind, in_shape, n_classes, seed)
        self.train, self.val = train, val
        self.epochs, self.lr, self.batch_size, self.optimizer = epochs, lr, batch_size, optimizer
        self.size_penalty, self.latency_penalty = size_penalty, latency_penalty
        self.max_params, self.train_infeasible = max_params, train_infeasible
        self.fit_kwargs = dict(fit_kwargs)
        self.records: list[dict[str, Any]] = []
        self.__name__ = f"nas_{kind}"

    def score(self, val_accuracy: float, n_params: int, latency_ms: float) -> float:
        """``1 - val_accuracy + size_penalty * n_params / 1e5 + latency_penalty *
        latency_ms`` (the latency term only when its penalty is non-zero)."""
        y = 1.0 - val_accuracy + self.size_penalty * n_params / 1e5
        return y + self.latency_penalty * latency_ms if self.latency_penalty else y

    def __call__(self, params: Mapping[str, Any]) -> float:
        rec: dict[str, Any] = {"params": math.nan, "val_accuracy": math.nan,
                               "latency_ms": math.nan, "train_seconds": 0.0,
                               "trained": False, "config": None, "error": ""}
        try:
            model = self.build(params)
            rec["config"] = model.config.to_dict()
            n = rec["params"] = count_parameters(model)
            if (self.max_params is not None and n > self.max_params
                    and not self.train_infeasible):
                return self.score(0.0, n, 0.0)  # not trained: accuracy taken as 0
            t0 = time.perf_counter()
            history = fit(model, self.train, self.val, optimizer=self.optimizer,
                          lr=float(params.get("lr", self.lr)),
                          batch_size=int(params.get("batch_size", self.batch_size)),
                          epochs=self.epochs, seed=self.seed, **self.fit_kwargs)
            rec["train_seconds"] = time.perf_counter() - t0
            rec["trained"] = True
            acc = rec["val_accuracy"] = float(history.frame["val_accuracy"].iloc[-1])
            example = as_dataset(self.train, "train")[0][0][None]
            rec["latency_ms"] = float(latency(model, example, repeats=10, batch_sizes=(1,),
                                              warmup=2)["median_ms"].iloc[0])
            return self.score(acc, n, rec["latency_ms"])
        except Exception as exc:
            rec["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.records.append(rec)


def nas_problem(train: Data, val: Data, *, kind: str = "cnn",
                space: Mapping[str, Any] | Space | None = None, epochs: int = 2,
                lr: float = 3e-3, batch_size: int = 64, optimizer: str = "adam",
                max_params: int | None = None, size_penalty: float = 0.0,
                latency_penalty: float = 0.0, handler: Any = None,
                train_infeasible: bool = False, n_classes: int | None = None, seed: int = 0,
                **fit_kwargs: Any) -> Problem:
    """Architecture search as a :class:`~hybridlab.problem.Problem` to minimise.

    The objective (a :class:`NASObjective`) trains each decoded architecture for
    ``epochs`` epochs and returns ``1 - val_accuracy + size_penalty * params / 1e5``
    ``+ latency_penalty * latency_ms``. Every architecture starts from weights seeded with
    ``seed`` and trains with ``fit(..., seed=seed)``, so on CPU the same point always
    scores the same (the latency term, a wall-clock measurement, is the exception).

    Parameters
    ----------
    train, val : Dataset or (X, y)
        Training and validation data (pass a subset to search faster).
    kind : {"cnn", "mlp"}
    space : dict or Space, optional
        Default ``architecture_space(kind)``; a dict becomes a
        :class:`~hybridlab.conditional.ConditionalSpace`.
    epochs, lr, batch_size, optimizer : training settings of every evaluation
        (``lr``/``batch_size`` in the space override them).
    max_params : int, optional
        Adds the constraint ``params - max_params <= 0`` (named ``max_params``). Handled
        by ``handler``, :class:`~hybridlab.constraints.FeasibilityRules` by default (any
        feasible architecture beats any infeasible one, infeasible ones rank by excess
        parameters); ``Result.x`` is the best *feasible* point.
    size_penalty, latency_penalty : float
        Weights of ``params / 1e5`` and of the batch-1 latency in ms.
    handler : constraint handler, optional
    train_infeasible : bool, default False
        False skips training architectures over ``max_params``: they score
        ``1 + size_penalty * params / 1e5`` (accuracy taken as 0), which costs no training
        time and ranks them with the worst (FeasibilityRules ranks them by violation
        anyway).
    n_classes : int, optional
        Inferred from the labels of ``train``/``val`` when omitted.
    seed : int
        Seed of every architecture's initial weights and training.
    **fit_kwargs
        More :func:`~hybridlab.ml.train.fit` arguments (``weight_decay``, ``scheduler``...).

    Example
    -------
    >>> import hybridlab as hl
    >>> from hybridlab.ml.train import digits_data
    >>> train, val, _ = digits_data()
    >>> small = TensorDataset(*(t[:200] for t in train.tensors))
    >>> p = nas_problem(small, val, kind="mlp", epochs=1, max_params=5000)
    >>> r = hl.minimize(p, "random", budget=3, seed=0)
    >>> r.n_evals, r.feasible, r.violations
    (3, True, {'max_params': 0.0})
    """
    if kind not in ("cnn", "mlp"):
        raise ValueError(f"kind must be 'cnn' or 'mlp', got {kind!r}")
    for name, v in (("size_penalty", size_penalty), ("latency_penalty", latency_penalty)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    if max_params is not None and (not isinstance(max_params, int | np.integer)
                                   or max_params < 1):
        raise ValueError(f"max_params must be a positive integer or None, got {max_params!r}")
    in_shape, n_classes = _shape_and_classes(train, val, n_classes)
    if kind == "cnn" and len(in_shape) != 3:
        raise ValueError(f"kind='cnn' needs image inputs (C, H, W), got samples of shape "
                         f"{in_shape}; use kind='mlp'")
    space = ConditionalSpace.of(space if space is not None else architecture_space(kind))
    objective = NASObjective(train, val, kind=kind, in_shape=in_shape, n_classes=n_classes,
                             epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer,
                             size_penalty=float(size_penalty),
                             latency_penalty=float(latency_penalty), max_params=max_params,
                             train_infeasible=train_infeasible, seed=seed,
                             fit_kwargs=fit_kwargs)
    constraints = ([ParamsConstraint(kind, in_shape, n_classes, int(max_params))]
                   if max_params is not None else [])
    if constraints and handler is None:
        handler = FeasibilityRules()
    return Problem(objective, space, constraints=constraints, name=f"nas_{kind}",
                   handler=handler)


def _label(optimizer: Any) -> str:
    return optimizer if isinstance(optimizer, str) else getattr(optimizer, "name",
                                                                repr(optimizer))


def nas_compare(train: Data, val: Data, test: Data, *,
                optimizers: Sequence[Any] = ("random", "expensive", "ga>>local"),
                budget: int = 20, seeds: Sequence[int] = (0,), kind: str = "cnn",
                final_epochs: int | None = None, **problem_kwargs: Any
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Architecture search by several optimizers at an equal budget of evaluations.

    Every (optimizer, seed) pair runs ``minimize(nas_problem(train, val, kind=kind,
    **problem_kwargs), optimizer, budget, seed)``; the best feasible architecture of each
    run is then retrained from its seeded initial weights for ``final_epochs`` (default:
    the search's ``epochs``) on ``train`` and scored on ``test``.

    Parameters
    ----------
    train, val, test : Dataset or (X, y)
    optimizers : sequence
        Registry names or hybrid specs ("random", "expensive", "ga>>local", ...) or
        optimizer objects (a fresh one is made per run from a name).
    budget : int
        Evaluations (training runs) per search.
    seeds : sequence of int
        Search seeds; also the architectures' weight seed (``seed`` of
        :func:`nas_problem`), unless ``problem_kwargs`` fixes it.
    kind : {"cnn", "mlp"}
    final_epochs : int, optional
    **problem_kwargs
        Passed to :func:`nas_problem` (``epochs``, ``max_params``, ``size_penalty``...).

    Returns
    -------
    trials : pandas.DataFrame
        One row per evaluation: ``optimizer, seed, eval, y, best_so_far, status, phase``,
        ``violation`` (with ``max_params``), ``params, val_accuracy, latency_ms,
        train_seconds, config``.
    summary : pandas.DataFrame
        One row per run: ``optimizer, seed, best_y, best_val_accuracy, test_accuracy``
        (of the retrained best), ``params, latency_ms`` (its batch-1 median),
        ``n_feasible, search_seconds, config``.

    Example
    -------
    >>> from hybridlab.ml.train import digits_data
    >>> train, val, test = digits_data()
    >>> small = TensorDataset(*(t[:150] for t in train.tensors))
    >>> trials, summary = nas_compare(small, val, test, optimizers=("random",), budget=2,
    ...                               kind="mlp", epochs=1)
    >>> len(trials), list(summary.optimizer)
    (2, ['random'])
    """
    epochs = problem_kwargs.get("epochs", 2)
    final_epochs = final_epochs or epochs
    trial_frames, rows = [], []
    for opt in optimizers:
        label = _label(opt)
        for seed in seeds:
            kwargs = {"seed": seed, **problem_kwargs}
            problem = nas_problem(train, val, kind=kind, **kwargs)
            objective: NASObjective = problem.objective
            t0 = time.perf_counter()
            result = minimize(problem, opt, budget, seed=seed)
            seconds = time.perf_counter() - t0
            hist = result.history
            keep = [c for c in ("eval", "y", "best_so_far", "status", "phase", "violation")
                    if c in hist.columns]
            frame = hist[keep].copy()
            records = pd.DataFrame(objective.records[: len(frame)])
            for col in ("params", "val_accuracy", "latency_ms", "train_seconds", "config"):
                frame[col] = records[col].to_numpy() if len(records) == len(frame) \
                    else np.nan
            frame.insert(0, "seed", seed)
            frame.insert(0, "optimizer", label)
            trial_frames.append(frame)
            ok = (frame["status"] == "ok") & (frame.get("violation", 0.0) <= 0)
            row: dict[str, Any] = {"optimizer": label, "seed": seed, "best_y": result.y,
                                   "best_val_accuracy": math.nan, "test_accuracy": math.nan,
                                   "params": math.nan, "latency_ms": math.nan,
                                   "n_feasible": int(ok.sum()), "search_seconds": seconds,
                                   "config": None}
            if result.feasible and ok.any():
                best = frame.loc[frame["y"].where(ok).idxmin()]
                row["best_val_accuracy"] = best["val_accuracy"]
                model = objective.build(result.x)
                fit(model, train, val, optimizer=objective.optimizer,
                    lr=float(result.x.get("lr", objective.lr)),
                    batch_size=int(result.x.get("batch_size", objective.batch_size)),
                    epochs=final_epochs, seed=objective.seed, **objective.fit_kwargs)
                example = as_dataset(train, "train")[0][0][None]
                row.update(test_accuracy=accuracy(model, test),
                           params=count_parameters(model),
                           latency_ms=float(latency(model, example, repeats=20,
                                                    batch_sizes=(1,))["median_ms"].iloc[0]),
                           config=model.config.to_dict())
            rows.append(row)
    trials = pd.concat(trial_frames, ignore_index=True) if trial_frames else pd.DataFrame()
    return trials, pd.DataFrame(rows)
