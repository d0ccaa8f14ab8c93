"""Names of optimizers: the registry, the spec parser and :func:`resolve`.

Everything that takes "a string or an optimizer" (:func:`hybridlab.minimize`,
:func:`hybridlab.study.compare`, ``HybridSearchCV``, the CLI, the Optuna and Ray Tune
integrations) turns it into an optimizer with :func:`resolve`, so a name means the same
everywhere: a registry name (``"ga"``, ``"pso"``, ``"bayes"``...), a peer of
:mod:`hybridlab.peers` (``"cmaes"``, ``"optuna_tpe"``...; its library is imported only
when it is built), ``"default"`` (:func:`hybridlab.default`), ``"expensive"``
(:func:`hybridlab.expensive`), or a hybrid spec.

A spec is a safe subset of Python expressions, parsed with :mod:`ast` (nothing is
``eval``-ed): registry names (``ga``, ``pso(n_particles=20)``), ``a >> b`` (Sequential),
``a | b`` (Portfolio), ``a * 4`` (Islands), and the combinator functions
``sequential(...)``, ``portfolio(...)``, ``islands(...)``, ``memetic(...)``,
``adaptive(...)``, ``multifidelity(...)``, ``switch(...)``, ``surrogate(...)`` with
positional and keyword
arguments (numbers, strings, booleans, lists of numbers).  Python's precedence applies:
``*`` binds tighter than ``>>``, which binds tighter than ``|``.

>>> make("ga").name
'ga'
>>> parse("(ga >> local) | pso").name
'ga>>local|pso'
>>> parse("memetic(ga(pop_size=30), local, every=3)").every
3
>>> resolve("default").name == default().name
True
"""

from __future__ import annotations

import ast
import copy as _copy
from collections.abc import Callable
from typing import Any

from .hybrid import (
    Adaptive,
    AsyncHalving,
    Islands,
    Memetic,
    MultiFidelity,
    Portfolio,
    Sequential,
    SurrogateAssisted,
    Switch,
)
from .optimizers import NAMES, Optimizer
from .peers import PEERS
from .presets import default, expensive

__all__ = ["COMBINATORS", "REGISTRY", "make", "names", "parse", "register", "resolve"]

#: short name -> factory (a class or any callable returning an Optimizer); the engines of
#: :mod:`hybridlab.optimizers` and whatever :func:`register` added
REGISTRY: dict[str, Callable[..., Any]] = dict(NAMES)

#: names that build a recommended hybrid (a registered name of the same spelling wins)
PRESETS: dict[str, Callable[[], Optimizer]] = {"default": default, "expensive": expensive}

#: the combinator functions of a spec
COMBINATORS: dict[str, Callable[..., Optimizer]] = {
    "sequential": Sequential,
    "portfolio": Portfolio,
    "islands": Islands,
    "memetic": Memetic,
    "adaptive": Adaptive,
    "multifidelity": MultiFidelity,
    "asha": AsyncHalving,
    "switch": Switch,
    "surrogate": SurrogateAssisted,
}


def register(name: str, factory: Callable[..., Any]) -> None:
    """Make ``factory`` available under ``name`` (in the CLI, studies and specs); a
    registered name wins over a peer or preset of the same spelling.

    >>> from hybridlab import RandomSearch
    >>> register("my_random", RandomSearch)
    >>> make("my_random").name
    'random'
    >>> del REGISTRY["my_random"]
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"optimizer names must be identifiers, got {name!r}")
    REGISTRY[name] = factory


def names() -> list[str]:
    """Every name :func:`make` knows: registered, peers and presets, sorted."""
    return sorted({*REGISTRY, *PEERS, *PRESETS})


def _factory(name: str) -> Callable[..., Any] | None:
    for table in (REGISTRY, PEERS, PRESETS):
        if name in table:
            return table[name]
    return None


def make(spec: str, **kwargs: Any) -> Optimizer:
    """Build an optimizer from a registry name or a hybrid spec.

    >>> make("pso", n_particles=30).n_particles
    30
    >>> make("(ga >> local) | pso").name
    'ga>>local|pso'
    """
    if not isinstance(spec, str):
        raise ValueError(f"optimizer spec must be a string, got {spec!r}")
    key = spec.strip()
    factory = _factory(key)
    if factory is not None:
        return factory(**kwargs)
    if key.isidentifier():
        raise ValueError(f"unknown optimizer {spec!r}; choose one of {names()}, a hybrid "
                         "spec such as 'ga>>local', or register your own with "
                         "hybridlab.register")
    if kwargs:
        raise ValueError("keyword arguments only apply to a plain registry name; write them "
                         "inside the spec, e.g. 'pso(n_particles=20)>>local'")
    return parse(key)


def resolve(optimizer: Optimizer | str, *, copy: bool = False, **kwargs: Any) -> Optimizer:
    """THE way from "a string or an optimizer" to an optimizer.

    Parameters
    ----------
    optimizer : Optimizer or str
        A name or spec (see :func:`make`), or an object speaking ask/tell (an
        :class:`~hybridlab.Optimizer`, or a duck-typed one with ``start``, ``ask`` and
        ``tell``).
    copy : bool
        Return a deep copy of an optimizer object (a prototype that must stay unstarted,
        as studies and combinators keep them); a string always builds a new one.
    **kwargs
        Arguments of a plain registry name (``resolve("pso", n_particles=20)``).

    Raises
    ------
    ValueError
        For an unknown name, a spec that does not parse, or an object that is not an
        optimizer; the message says what to pass instead.

    >>> from hybridlab import GA
    >>> ga = GA()
    >>> resolve(ga) is ga, resolve(ga, copy=True) is ga, resolve("ga>>local").name
    (True, False, 'ga>>local')
    """
    if isinstance(optimizer, str):
        return make(optimizer, **kwargs)
    if not all(callable(getattr(optimizer, m, None)) for m in ("start", "ask", "tell")):
        raise ValueError(f"optimizer must be a name such as 'ga', a hybrid spec such as "
                         f"'ga>>local', or an object with start/ask/tell (e.g. a "
                         f"hybridlab.Optimizer), got {optimizer!r}")
    if kwargs:
        raise ValueError(f"keyword arguments {sorted(kwargs)} only apply to a registry name; "
                         f"set them on the optimizer object instead")
    return _copy.deepcopy(optimizer) if copy else optimizer


def parse(spec: str) -> Optimizer:
    """Build an optimizer (plain or hybrid) from its string form."""
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse optimizer spec {spec!r}: {exc.msg}") from None
    return _build(tree.body, spec)


def _build(node: ast.AST, spec: str) -> Any:
    if isinstance(node, ast.BinOp):
        left, right = _build(node.left, spec), _build(node.right, spec)
        if isinstance(node.op, ast.RShift):
            return left >> right
        if isinstance(node.op, ast.BitOr):
            return left | right
        if isinstance(node.op, ast.Mult):
            return left * right
        raise ValueError(f"unsupported operator in {spec!r}: use >>, | or *")
    if isinstance(node, ast.Name):
        return _callable(node.id, spec)()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_build(a, spec) for a in node.args]
        kwargs = {k.arg: _value(k.value, spec) for k in node.keywords}
        return _callable(node.func.id, spec)(*args, **kwargs)
    return _value(node, spec)


def _value(node: ast.AST, spec: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand, spec)
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(e, spec) for e in node.elts]
    if isinstance(node, ast.Name | ast.Call | ast.BinOp):
        return _build(node, spec)
    raise ValueError(f"unsupported element {ast.dump(node)[:40]}... in {spec!r}")


def _callable(name: str, spec: str) -> Callable[..., Any]:
    if name in COMBINATORS:
        return COMBINATORS[name]
    factory = _factory(name)
    if factory is not None:
        return factory
    raise ValueError(f"unknown name {name!r} in {spec!r}; optimizers: {names()}, "
                     f"combinators: {sorted(COMBINATORS)}")
