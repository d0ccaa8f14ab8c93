"""The layout of hybridlab.ml: eight rooms, one public import path per name, the old flat
names deprecated, and the search room free of torch."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import warnings

import pytest

import hybridlab.ml as ml

ROOMS = ("data", "train", "nets", "compress", "hardware", "search", "measure", "drift")


def _exports() -> list[tuple[str, str]]:
    return [(room, name) for room in ROOMS
            for name in importlib.import_module(f"hybridlab.ml.{room}").__all__]


def test_every_room_lists_its_names_and_documents_itself():
    for room in ROOMS:
        module = importlib.import_module(f"hybridlab.ml.{room}")
        assert module.__doc__ and "Example" in module.__doc__, room
        assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(),
                                                                       n[0].islower(), n))
        assert not hasattr(module, "__getattr__"), f"{room}: no lazy tables in rooms"


@pytest.mark.parametrize(("room", "name"), _exports())
def test_each_name_resolves_through_its_room_and_is_defined_there(room, name):
    module = importlib.import_module(f"hybridlab.ml.{room}")
    obj = getattr(module, name)
    defined_in = getattr(obj, "__module__", None)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert defined_in.startswith(f"hybridlab.ml.{room}._"), (name, defined_in)


def test_no_name_is_exported_by_two_rooms():
    seen: dict[str, str] = {}
    for room, name in _exports():
        assert name not in seen, f"{name} is exported by {seen[name]} and {room}"
        seen[name] = room


def test_hybridlab_ml_exports_no_names_itself():
    assert ml.__all__ == []


@pytest.mark.parametrize("name", sorted(ml._MOVED))
def test_old_flat_names_warn_and_return_the_room_object(name):
    room = importlib.import_module(f"hybridlab.ml.{ml._MOVED[name]}")
    with pytest.warns(DeprecationWarning, match=rf"hybridlab\.ml\.{name} moved to "
                      rf"hybridlab\.ml\.{ml._MOVED[name]}\.{name}; .* hybridlab 0\.3"):
        obj = getattr(ml, name)
    assert obj is getattr(room, name)


def test_old_flat_modules_are_gone():
    for old in ("batch_size", "models", "tiny_models", "runtime", "optim", "hpo",
                "multifidelity", "onnx_export", "search_fidelity", "hypergrad"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"hybridlab.ml.{old}")


def test_unknown_name_raises_attribute_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no attribute 'nope'"):
            ml.nope  # noqa: B018


def test_search_and_data_rooms_do_not_import_torch():
    code = ("import sys, hybridlab.ml.search, hybridlab.ml.data; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stderr
