"""The package's shape: private names stay inside their package, modules stay small.

The layers themselves (which package may import which) are import-linter contracts in
``pyproject.toml`` (``make test`` runs ``lint-imports``); these tests cover what
import-linter does not: private names, and the size rule of ``docs/architecture.md``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "hybridlab"
MODULES = sorted(ROOT.rglob("*.py"))
MAX_LINES = 400


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(path: Path) -> str:
    """The package a file belongs to: its own name for an ``__init__``, else its parent."""
    name = _dotted(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def _is_package(dotted: str) -> bool:
    return (ROOT.parent / dotted.replace(".", "/") / "__init__.py").exists()


def _owner(module: str) -> str:
    """The package that owns ``module``'s private parts: the package itself, or the
    package holding the module."""
    return module if _is_package(module) else module.rsplit(".", 1)[0]


def _inside(package: str, owner: str) -> bool:
    return package == owner or package.startswith(owner + ".")


def _private_imports(path: Path) -> list[str]:
    """``module: statement`` for each import of another package's private name."""
    here = _package(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("hybridlab"):
                continue
            names = [a.name for a in node.names]
            # a private module on the way (hybridlab.optimizers._rng) is private to the
            # package holding it
            parts = module.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_"):
                    owner = ".".join(parts[:i])
                    if not _inside(here, owner):
                        found.append(f"{_dotted(path)}: from {module} import {', '.join(names)}")
                    break
            else:
                owner = _owner(module)
                bad = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if bad and not _inside(here, owner):
                    found.append(f"{_dotted(path)}: from {module} import {', '.join(bad)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] != "hybridlab":
                    continue
                for i, part in enumerate(parts):
                    if part.startswith("_"):
                        if not _inside(here, ".".join(parts[:i])):
                            found.append(f"{_dotted(path)}: import {alias.name}")
                        break
    return found


def test_no_module_imports_a_private_name_from_another_package() -> None:
    found = [line for path in MODULES for line in _private_imports(path)]
    assert not found, "private names imported across packages:\n" + "\n".join(found)


def test_the_checker_sees_private_imports(tmp_path: Path) -> None:
    """The rule itself: same package may, another package may not."""
    assert _inside("hybridlab.ml.train", "hybridlab.ml.train")
    assert _inside("hybridlab.ml.train", "hybridlab.ml")
    assert not _inside("hybridlab.ml.compress", "hybridlab.ml.train")
    assert not _inside("hybridlab.ml", "hybridlab.ml.train")
    assert not _inside("hybridlab.mlx", "hybridlab.ml")


def _reason_given(path: Path) -> bool:
    """A long module says why in the first paragraph of its docstring."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = doc.split("\n\n", 1)[0].lower()
    return "400 lines" in first


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _dotted(p))
def test_modules_are_small_or_say_why(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES or _reason_given(path), (
        f"{_dotted(path)} has {n} lines: split it by concept, or end the first paragraph "
        f"of its docstring with a one-line reason that mentions '{MAX_LINES} lines'")


MAX_FUNCTION_LINES = 80


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, source: list[str]) -> int:
    """Lines of code in a function's body: no docstring, blank lines or comments."""
    body = node.body
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        body = body[1:]
    if not body:
        return 0
    lines = source[body[0].lineno - 1: node.end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def test_functions_are_short() -> None:
    long = []
    for path in MODULES:
        text = path.read_text()
        source = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = _code_lines(node, source)
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{_dotted(path)}.{node.name}: {n} lines of code")
    assert not long, (f"functions over {MAX_FUNCTION_LINES} lines of code (split them):\n"
                      + "\n".join(long))


#: the modules allowed a module-level ``__getattr__`` (docs/architecture.md says why)
LAZY_LOADERS = {"hybridlab", "hybridlab.integrations", "hybridlab.ml"}


def test_lazy_loaders_are_the_documented_three() -> None:
    found = {_dotted(path) for path in MODULES
             if any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
                    for node in ast.parse(path.read_text()).body)}
    assert found == LAZY_LOADERS
