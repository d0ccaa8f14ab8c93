"""Optimizers from strings: ``"ga>>local"``, ``"(ga>>local)|pso"``, ``"memetic(ga,local)"``.

The grammar is a safe subset of Python expressions, parsed with :mod:`ast` (nothing is
``eval``-ed): registry names (``ga``, ``pso(n_particles=20)``), ``a >> b`` (Sequential),
``a | b`` (Portfolio), ``a * 4`` (Islands), and the combinator functions
``sequential(...)``, ``portfolio(...)``, ``islands(...)``, ``memetic(...)``,
``adaptive(...)`` with positional and keyword arguments (numbers, strings, booleans,
lists of numbers).  Python's precedence applies: ``*`` binds tighter than ``>>``, which
binds tighter than ``|``.

>>> parse("(ga >> local) | pso").name
'ga>>local|pso'
>>> parse("memetic(ga(pop_size=30), local, every=3)").every
3
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from ..optimizers import REGISTRY
from ..optimizers.base import Optimizer
from .adaptive import Adaptive
from .islands import Islands
from .memetic import Memetic
from .portfolio import Portfolio
from .sequential import Sequential

__all__ = ["COMBINATORS", "parse"]

COMBINATORS: dict[str, Callable[..., Optimizer]] = {
    "sequential": Sequential,
    "portfolio": Portfolio,
    "islands": Islands,
    "memetic": Memetic,
    "adaptive": Adaptive,
}


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
    if name in REGISTRY:
        return REGISTRY[name]
    raise ValueError(f"unknown name {name!r} in {spec!r}; optimizers: {sorted(REGISTRY)}, "
                     f"combinators: {sorted(COMBINATORS)}")
