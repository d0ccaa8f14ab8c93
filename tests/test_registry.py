"""The registry: names, specs and the one resolver of "a string or an optimizer"."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridlab as hl
from hybridlab import registry
from hybridlab.optimizers import NAMES
from hybridlab.peers import PEERS
from hybridlab.registry import REGISTRY, make, names, parse, register, resolve

PLAIN = ["ga", "pso", "local", "random", "lhs"]


def test_registry_starts_from_the_engines_and_reads_the_peers_from_peers() -> None:
    assert set(NAMES) <= set(REGISTRY)
    assert set(PEERS) <= set(names()) and {"default", "expensive"} <= set(names())
    assert "cmaes" not in REGISTRY  # peers are not copied in: peers.PEERS is the one table


def test_top_level_and_registry_are_the_same_functions() -> None:
    assert hl.make is make and hl.register is register and hl.resolve is resolve
    import hybridlab.optimizers as optimizers

    for gone in ("make", "register", "REGISTRY"):
        assert not hasattr(optimizers, gone)


def test_default_and_expensive_mean_the_same_everywhere() -> None:
    assert resolve("default").name == hl.default().name
    assert resolve("expensive").name == hl.expensive().name
    assert make(" default ").name == hl.default().name


def test_resolve_returns_objects_as_they_are_or_copies() -> None:
    ga = hl.GA(pop_size=12)
    assert resolve(ga) is ga
    copied = resolve(ga, copy=True)
    assert copied is not ga and copied.pop_size == 12
    assert resolve("pso", n_particles=7).n_particles == 7


@pytest.mark.parametrize("bad, fix", [
    ("nonesuch", "register your own"),
    ("ga >>", "cannot parse"),
    ("ga >> nonesuch", "unknown name 'nonesuch'"),
    (3, "start/ask/tell"),
    (object(), "start/ask/tell"),
])
def test_resolve_names_the_fix(bad, fix) -> None:
    with pytest.raises(ValueError, match=fix):
        resolve(bad)


def test_keyword_arguments_need_a_plain_name() -> None:
    with pytest.raises(ValueError, match="inside the spec"):
        make("ga>>local", pop_size=3)
    with pytest.raises(ValueError, match="only apply to a registry name"):
        resolve(hl.GA(), pop_size=3)


def test_a_registered_name_wins_and_works_inside_specs(monkeypatch) -> None:
    monkeypatch.setitem(registry.REGISTRY, "walk", hl.RandomSearch)
    assert make("walk").name == "random"
    assert make("walk >> local").name == "random>>local"
    with pytest.raises(ValueError, match="identifiers"):
        register("not a name", hl.GA)


def test_multifidelity_is_a_spec_function() -> None:
    opt = parse("multifidelity(ga, 1, 27, eta=3)")
    assert opt.name == "mf(ga)" and opt.rungs.tolist() == [1.0, 3.0, 9.0, 27.0]


# -- property: names of specs round-trip ----------------------------------------------

def _leaf() -> st.SearchStrategy[str]:
    return st.sampled_from(PLAIN)


specs = st.recursive(_leaf(), lambda inner: st.tuples(inner, st.sampled_from([">>", "|"]),
                                                      inner).map(lambda t: t), max_leaves=5)


def _text(tree) -> str:
    """The spec text, fully parenthesised."""
    if isinstance(tree, str):
        return tree
    a, op, b = tree
    return f"({_text(a)}){op}({_text(b)})"


def _objects(tree):
    if isinstance(tree, str):
        return NAMES[tree]()
    a, op, b = tree
    return _objects(a) >> _objects(b) if op == ">>" else _objects(a) | _objects(b)


@settings(max_examples=60, deadline=None)
@given(specs)
def test_spec_names_round_trip(tree) -> None:
    built = make(_text(tree))
    assert built.name == _objects(tree).name
    # a name without parentheses parses back to the same optimizer (when unambiguous)
    if "(" not in built.name:
        again = make(built.name)
        assert again.name == built.name


def test_a_spec_runs_like_the_objects_it_names() -> None:
    p = hl.Problem(lambda x: float(np.sum(x ** 2)), hl.Space.box(2, -1, 1))
    a = hl.minimize(p, "(ga>>local)|pso", budget=120, seed=0)
    b = hl.minimize(p, (hl.GA() >> hl.LocalSearch()) | hl.PSO(), budget=120, seed=0)
    assert a.history["y"].tolist() == b.history["y"].tolist()
