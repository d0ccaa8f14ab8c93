"""Conditional search spaces: a categorical choice that switches sub-spaces.

Model selection and pipeline search need parameters that exist only for some choices:
``C`` and ``gamma`` only when the model is an SVC, ``l1_ratio`` only for the elastic-net
penalty.  :class:`Choice` spells that; :class:`ConditionalSpace` flattens the tree into
one unit box (every branch's dimensions side by side, so every optimizer and hybrid works
unchanged) and decodes a point to the *active* parameters only.

Where an option's sub-space parameters live follows scikit-learn's naming:

* when the option's value is an estimator (it has ``get_params``), they are *its*
  parameters: the sub-space ``{"C": ...}`` of the choice ``"model"`` yields ``"model__C"``;
* otherwise they are *siblings* of the choice: the sub-space ``{"l1_ratio": ...}`` of the
  choice ``"sgd__penalty"`` yields ``"sgd__l1_ratio"``.

Example
-------
>>> from hybridlab.space import Real, Integer
>>> space = ConditionalSpace({
...     "penalty": Choice({"l2": "l2",
...                        "elasticnet": ("elasticnet", {"l1_ratio": Real(0.0, 1.0)})}),
...     "alpha": Real(0.0, 1.0),
... })
>>> space.names          # one dimension per choice and per branch parameter
['penalty', 'l1_ratio[penalty=elasticnet]', 'alpha']
>>> space.decode([0.9, 0.25, 0.5])
{'penalty': 'elasticnet', 'l1_ratio': 0.25, 'alpha': 0.5}
>>> space.decode([0.1, 0.25, 0.5])
{'penalty': 'l2', 'alpha': 0.5}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .space import Categorical, Dimension, Integer, Real, Space

__all__ = ["Choice", "ConditionalSpace"]


@dataclass(frozen=True)
class _Option:
    label: str
    value: Any
    subspace: dict[str, Any]  # relative name -> Dimension | Choice


class Choice:
    """A categorical whose options may carry their own sub-space.

    Parameters
    ----------
    options : mapping or sequence
        ``{label: value}``, ``{label: (value, subspace)}``, or a plain sequence of values
        (labelled by ``str(value)``, or by class name for objects such as estimators).
        A ``subspace`` maps names to :class:`Real`, :class:`Integer`,
        :class:`Categorical` or another :class:`Choice`: parameters of the option's value
        when it is an estimator (``"C"`` becomes ``"<choice>__C"``), siblings of the
        choice otherwise (see the module docstring).  To use a tuple itself as a value,
        write ``(value, {})``.

    Example
    -------
    >>> c = Choice({"linear": "linear", "rbf": ("rbf", {"gamma": Real(1e-3, 1, log=True)})})
    >>> c.labels
    ['linear', 'rbf']
    """

    def __init__(self, options: Mapping[str, Any] | Sequence[Any]) -> None:
        if isinstance(options, Mapping):
            items = list(options.items())
        elif isinstance(options, Sequence) and not isinstance(options, str):
            items = [(_label(v), v) for v in options]
        else:
            raise ValueError(f"Choice needs a dict {{label: value}} or a list of values, "
                             f"got {options!r}")
        if not items:
            raise ValueError("Choice is empty: give at least one option")
        opts = []
        for label, spec in items:
            if not isinstance(label, str):
                raise ValueError(f"Choice labels must be str, got {label!r}")
            if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping):
                value, sub = spec
            else:
                value, sub = spec, {}
            for name, d in sub.items():
                if not isinstance(name, str) or not isinstance(d, Real | Integer | Categorical
                                                               | Choice):
                    raise ValueError(f"option {label!r}: sub-space entry {name!r}: {d!r} must "
                                     "be Real, Integer, Categorical or Choice")
            opts.append(_Option(label, value, dict(sub)))
        labels = [o.label for o in opts]
        if len(set(labels)) != len(labels):
            raise ValueError(f"Choice labels must be distinct, got {labels}; pass a dict "
                             "{label: value} to name options yourself")
        self.options: list[_Option] = opts

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.options]

    def __repr__(self) -> str:
        parts = [f"{o.label!r}: ({o.value!r}, {o.subspace!r})" if o.subspace
                 else f"{o.label!r}: {o.value!r}" for o in self.options]
        return "Choice({" + ", ".join(parts) + "})"


def _label(v: Any) -> str:
    if isinstance(v, str | int | float | bool) or v is None:
        return str(v)
    return type(v).__name__


@dataclass(frozen=True)
class _Node:
    """One entry of the flattened tree: a plain dimension or a choice."""

    flat: str            # name in the flat unit box
    param: str           # user-facing parameter name
    dim: Dimension
    choice: Choice | None
    children: dict[str, list[_Node]]  # label -> nodes active under that label


class ConditionalSpace(Space):
    """A :class:`~hybridlab.space.Space` with :class:`Choice` entries.

    The unit box has one dimension per choice and one per parameter of every branch;
    ``decode`` returns only the parameters active for the chosen branches (so an
    objective, or scikit-learn's ``set_params``, never sees a parameter of a model that
    was not chosen).  Points are always decoded to dicts.

    Parameters
    ----------
    params : mapping
        Names to :class:`Real`, :class:`Integer`, :class:`Categorical` or :class:`Choice`.

    Notes
    -----
    Inactive dimensions are still part of the box: an optimizer moving them changes
    nothing, and they carry their values along for when their branch is chosen again.
    ``encode`` puts an inactive dimension at the middle of its range.
    """

    def __init__(self, params: Mapping[str, Any]) -> None:
        if not isinstance(params, Mapping) or not params:
            raise ValueError("ConditionalSpace needs a non-empty dict of name -> Real/"
                             "Integer/Categorical/Choice")
        flat: dict[str, Dimension] = {}
        self.tree: list[_Node] = _build(params, "", "", flat)
        super().__init__(flat)
        self.is_real = False
        self.params: dict[str, Any] = dict(params)

    @classmethod
    def of(cls, params: Mapping[str, Any] | Space) -> Space:
        """``params`` as a space: a :class:`Space` stays itself, a dict becomes a
        :class:`ConditionalSpace` (plain dimensions only give the same decoding as
        :class:`Space` would, but always as dicts)."""
        return params if isinstance(params, Space) else cls(params)

    def __repr__(self) -> str:
        return f"ConditionalSpace({self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConditionalSpace) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    # -- decoding ------------------------------------------------------------------------
    def decode(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        u = np.asarray(u, dtype=float)
        if u.shape != (self.dim,):
            raise ValueError(f"expected a point of shape ({self.dim},), got {u.shape}")
        return self.decode_batch(u[None, :])[0]

    def decode_batch(self, U: np.ndarray) -> list[dict[str, Any]]:
        U = np.asarray(U, dtype=float)
        if U.ndim != 2 or U.shape[1] != self.dim:
            raise ValueError(f"expected points of shape (n, {self.dim}), got {U.shape}")
        cols = self.columns(U)
        out = []
        for r in range(U.shape[0]):
            params: dict[str, Any] = {}
            _decode(self.tree, cols, r, params)
            out.append(params)
        return out

    # -- encoding ------------------------------------------------------------------------
    def encode(self, value: Mapping[str, Any] | Sequence[float] | np.ndarray) -> np.ndarray:
        """Active parameters (as ``decode`` returns them) -> a unit point.

        A choice's value may be given as its label, its value, or (for objects such as
        estimators) an equal-looking object (same ``repr``) or the only option of its
        class.  Sub-parameters of an estimator-valued choice that are left out are read
        off the given estimator (``{"impute": SimpleImputer(strategy="median")}`` supplies
        ``impute__add_indicator``), so a pipeline's current steps can be encoded as is.
        """
        if not isinstance(value, Mapping):
            return super().encode(value)
        u = np.full(self.dim, 0.5)
        index = {n: i for i, n in enumerate(self.names)}
        # plain dimensions in the middle of their range are not valid for Integer edges,
        # but 0.5 decodes to a legal value for every kind; known values are overwritten
        used = _encode(self.tree, dict(value), u, index)
        unknown = set(value) - used
        if unknown:
            raise ValueError(f"unknown or inactive parameter(s) {sorted(unknown)}; "
                             f"active parameters come from {list(self.params)}")
        return u


def _build(params: Mapping[str, Any], prefix: str, tag: str,
           flat: dict[str, Dimension]) -> list[_Node]:
    nodes = []
    for name, d in params.items():
        if not isinstance(name, str):
            raise ValueError(f"parameter names must be str, got {name!r}")
        param = prefix + name
        key = param + tag
        if key in flat:
            raise ValueError(f"parameter {param!r} appears twice in the same branch")
        if isinstance(d, Choice):
            flat[key] = Categorical(d.labels)
            owner = param[: param.rfind("__") + 2] if "__" in param else ""
            children = {o.label: _build(o.subspace, param + "__" if hasattr(
                o.value, "get_params") else owner, f"{tag}[{param}={o.label}]", flat)
                for o in d.options}
            nodes.append(_Node(key, param, flat[key], d, children))
        elif isinstance(d, Real | Integer | Categorical):
            flat[key] = d
            nodes.append(_Node(key, param, d, None, {}))
        else:
            raise ValueError(f"parameter {param!r} is {d!r}; use Real, Integer, Categorical "
                             "or Choice")
    return nodes


def _decode(nodes: list[_Node], cols: dict[str, np.ndarray], r: int,
            out: dict[str, Any]) -> None:
    for node in nodes:
        v = cols[node.flat][r]
        if node.choice is None:
            out[node.param] = node.dim.to_python(v)
            continue
        option = node.choice.options[node.choice.labels.index(v)]
        out[node.param] = option.value
        _decode(node.children[option.label], cols, r, out)


def _encode(nodes: list[_Node], value: dict[str, Any], u: np.ndarray,
            index: dict[str, int], defaults: dict[str, Any] | None = None) -> set[str]:
    used: set[str] = set()
    for node in nodes:
        if node.param in value:
            v = value[node.param]
            used.add(node.param)
        elif defaults and node.param in defaults:  # read off the chosen estimator itself
            v = defaults[node.param]
        else:
            raise ValueError(f"missing value for {node.param!r}")
        if node.choice is None:
            u[index[node.flat]] = node.dim.encode(v)
            continue
        label = _match(node.choice, v, node.param)
        u[index[node.flat]] = node.dim.encode(label)
        own = node.choice.options[node.choice.labels.index(label)].value
        source = v if hasattr(v, "get_params") else own
        sub = {f"{node.param}__{k}": w for k, w in source.get_params(deep=False).items()} \
            if hasattr(source, "get_params") else {}
        used |= _encode(node.children[label], value, u, index, {**(defaults or {}), **sub})
    return used


def _match(choice: Choice, v: Any, param: str) -> str:
    for o in choice.options:  # by identity or equality of value, then by label
        if o.value is v:
            return o.label
    for o in choice.options:
        try:
            if bool(o.value == v):
                return o.label
        except (TypeError, ValueError):
            continue
    if isinstance(v, str) and v in choice.labels:
        return v
    if hasattr(v, "get_params"):  # estimators: same class, same fixed parameters
        alike = [o.label for o in choice.options if type(o.value) is type(v)
                 and _fixed_params(o.value, o.subspace) == _fixed_params(v, o.subspace)]
        if len(alike) == 1:
            return alike[0]
    same_class = [o.label for o in choice.options if type(o.value) is type(v)
                  and not isinstance(v, str | int | float | bool)]
    if len(same_class) == 1:
        return same_class[0]
    raise ValueError(f"{param}={v!r} matches no option; choose one of {choice.labels}")


def _fixed_params(est: Any, searched: Mapping[str, Any]) -> dict[str, str]:
    """An estimator's parameters that its option does not search, as reprs."""
    return {k: repr(v) for k, v in est.get_params(deep=False).items() if k not in searched}
