"""Any hybridlab run as an Optuna study: Optuna's importance, plots and dashboard on it.

:func:`to_optuna` turns a :class:`~hybridlab.result.Result` (or the evaluations of a stored
run, ``RunStore(...).evaluations(name)``) into an Optuna ``Study``: one trial per
evaluation, built with ``optuna.trial.create_trial`` and added with ``study.add_trials``,
in memory or in Optuna's RDB storage (``storage="sqlite:///optuna.db"``, which
``optuna-dashboard`` opens).  A failed evaluation becomes a ``FAIL`` trial; in a
multi-fidelity run an evaluation below the full fidelity becomes a ``PRUNED`` trial whose
intermediate value is its score at that fidelity.  The phase, evaluation number, seconds
and status are user attributes.

:func:`param_importances` is Optuna's hyperparameter importance on such a study,
fANOVA by default (``FanovaImportanceEvaluator``, a random forest fitted to the completed
trials; seeded).

Example
-------
>>> import numpy as np, hybridlab as hl
>>> space = hl.Space({"a": hl.Real(-1, 1), "b": hl.Real(-1, 1)})
>>> r = hl.minimize(hl.Problem(lambda x: (x[0] - 0.3) ** 2 + 1e-3 * x[1], space),
...                 "random", budget=60, seed=0)
>>> study = to_optuna(r, space)
>>> len(study.trials), study.best_value == r.y
(60, True)
>>> imp = param_importances(study)
>>> imp.index[0]
'a'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hybridlab.conditional import Choice, ConditionalSpace
from hybridlab.space import Categorical, Integer, Real, Space

__all__ = ["distributions", "param_importances", "to_optuna"]


def distributions(space: Space | ConditionalSpace | Mapping[str, Any]) -> dict[str, Any]:
    """Optuna distributions of a hybridlab space, by parameter name (a
    :class:`~hybridlab.conditional.Choice` by its labels, then every option's own
    parameters)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    params = space.params if isinstance(space, ConditionalSpace) else \
        space.dims if isinstance(space, Space) else dict(space)
    out: dict[str, Any] = {}
    for name, d in params.items():
        if isinstance(d, Choice):
            out[name] = CategoricalDistribution(list(d.labels))
            for option in d.options:
                out.update(distributions(option.subspace))
        elif isinstance(d, Real):
            out[name] = FloatDistribution(float(d.low), float(d.high), log=d.log)
        elif isinstance(d, Integer):
            out[name] = IntDistribution(int(d.low), int(d.high), log=d.log)
        elif isinstance(d, Categorical):
            out[name] = CategoricalDistribution(list(d.choices))
        else:
            raise ValueError(f"no Optuna distribution for {name}: {d!r}; use Real, "
                             f"Integer, Categorical or Choice")
    return out


def _choice_labels(space: Any) -> dict[str, dict[Any, str]]:
    """For each Choice: option value -> label (history columns hold the values)."""
    params = space.params if isinstance(space, ConditionalSpace) else {}
    out: dict[str, dict[Any, str]] = {}
    for name, d in params.items():
        if isinstance(d, Choice):
            out[name] = {repr(o.value): label for o, label in zip(d.options, d.labels,
                                                                   strict=True)}
            for option in d.options:
                out.update(_choice_labels(option.subspace))
    return out


def _param(value: Any, dist: Any) -> Any:
    """A history cell as Optuna stores it (None where a conditional parameter is off)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(dist).__name__ == "IntDistribution":
        return int(value)
    if type(dist).__name__ == "FloatDistribution":
        return float(value)
    return value.item() if isinstance(value, np.generic) else value


def to_optuna(run: Any, space: Space | ConditionalSpace | Mapping[str, Any], *,
              study_name: str | None = None, storage: Any = None) -> Any:
    """An Optuna study holding every evaluation of ``run``.

    Parameters
    ----------
    run : Result or pandas.DataFrame
        A :class:`~hybridlab.result.Result`, or a history frame with its columns
        (``eval, y, status, phase, seconds`` and one column per parameter), such as
        ``RunStore(path).evaluations(name)``.
    space : Space, ConditionalSpace or mapping
        The run's search space (gives each parameter its Optuna distribution).
    study_name, storage : optional
        As in ``optuna.create_study``; the default is an in-memory study named after the
        run's problem and optimizer.

    Returns
    -------
    optuna.Study
        Direction ``minimize``, as hybridlab's.
    """
    import optuna

    history: pd.DataFrame = run.history if hasattr(run, "history") else run
    missing = {"y", "status"} - set(history.columns)
    if missing:
        raise ValueError(f"run must be a Result or a history frame; missing columns "
                         f"{sorted(missing)}")
    dists = distributions(space)
    labels = _choice_labels(space)
    columns = _columns(dists, history.columns)
    if not columns:
        raise ValueError(f"none of the space's parameters {sorted(dists)} is a column of "
                         f"the run's history: pass the space the run searched")
    name = study_name or "/".join(str(getattr(run, k)) for k in ("problem", "optimizer")
                                  if hasattr(run, k)) or None
    study = optuna.create_study(direction="minimize", study_name=name, storage=storage)
    full = history["fidelity"].max() if "fidelity" in history else math.nan
    study.add_trials([_trial(row, dists, labels, columns, full)
                      for _, row in history.iterrows()])
    return study


def _columns(dists: Mapping[str, Any], names: Any) -> dict[str, tuple[str, Any]]:
    """Parameter -> (history column, condition): a conditional parameter's column is
    ``name[choice=label]`` and the parameter is active where ``choice == label``."""
    out: dict[str, tuple[str, Any]] = {}
    for col in map(str, names):
        if col in dists:
            out[col] = (col, None)
        elif col.endswith("]") and "[" in col and "=" in col:
            name, cond = col[:-1].split("[", 1)
            if name in dists:
                choice, label = cond.split("=", 1)
                out[name] = (col, (choice, label))
    return out


def _trial(row: pd.Series, dists: dict[str, Any], labels: dict[str, dict[Any, str]],
           columns: dict[str, tuple[str, Any]], full: float) -> Any:
    import optuna
    from optuna.trial import TrialState

    def label_of(n: str, value: Any) -> Any:
        return labels[n].get(repr(value), value) if n in labels else value

    params, used = {}, {}
    for n, (col, cond) in columns.items():
        if cond is not None and str(label_of(cond[0], row.get(cond[0]))) != cond[1]:
            continue  # inactive: its choice took another option
        dist = dists[n]
        value = _param(label_of(n, row.get(col)), dist)
        if value is not None:
            params[n], used[n] = value, dist
    attrs = {k: _param(row[k], None) for k in ("eval", "phase", "seconds", "status")
             if k in row}
    fidelity = float(row["fidelity"]) if "fidelity" in row else math.nan
    if row["status"] != "ok" or not np.isfinite(row["y"]):
        return optuna.trial.create_trial(state=TrialState.FAIL, params=params,
                                         distributions=used, user_attrs=attrs)
    if np.isfinite(fidelity) and fidelity < full:  # a lower rung: pruned there
        return optuna.trial.create_trial(state=TrialState.PRUNED, params=params,
                                         distributions=used, user_attrs=attrs,
                                         intermediate_values={round(fidelity):
                                                              float(row["y"])})
    return optuna.trial.create_trial(value=float(row["y"]), params=params,
                                     distributions=used, user_attrs=attrs)


def param_importances(study: Any, evaluator: str = "fanova", seed: int = 0) -> pd.Series:
    """Optuna's hyperparameter importance on ``study``'s completed trials, largest first.

    ``evaluator``: ``"fanova"`` (``FanovaImportanceEvaluator``), ``"mdi"``
    (``MeanDecreaseImpurityImportanceEvaluator``) or ``"ped_anova"``
    (``PedAnovaImportanceEvaluator``), each seeded with ``seed`` where it takes one.
    """
    from optuna import importance

    kinds = {"fanova": "FanovaImportanceEvaluator",
             "mdi": "MeanDecreaseImpurityImportanceEvaluator",
             "ped_anova": "PedAnovaImportanceEvaluator"}
    if evaluator not in kinds:
        raise ValueError(f"evaluator must be one of {sorted(kinds)}, got {evaluator!r}")
    cls = getattr(importance, kinds[evaluator])
    ev = cls() if evaluator == "ped_anova" else cls(seed=seed)
    imp = importance.get_param_importances(study, evaluator=ev)
    return pd.Series(imp, name=f"importance ({evaluator})", dtype=float)
