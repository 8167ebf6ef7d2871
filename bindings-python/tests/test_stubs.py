"""The hand-kept _native.pyi matches the compiled module (no drift either way)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import pytest

import synapsestream_auth
from synapsestream_auth import _native

STUB = Path(synapsestream_auth.__file__).with_name("_native.pyi")


def stub_classes() -> Dict[str, Set[str]]:
    tree = ast.parse(STUB.read_text())
    classes: Dict[str, Set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {
                item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
    return classes


def runtime_names(cls: type) -> Set[str]:
    return {name for name in vars(cls) if not name.startswith("__")}


def test_stub_ships_in_the_wheel() -> None:
    assert STUB.exists()
    assert Path(synapsestream_auth.__file__).with_name("py.typed").exists()


@pytest.mark.parametrize("name", sorted(stub_classes()))
def test_class_members_match(name: str) -> None:
    stub = {n for n in stub_classes()[name] if not n.startswith("__")}
    runtime = runtime_names(getattr(_native, name))
    assert stub == runtime, f"only in stub: {stub - runtime}; only at run time: {runtime - stub}"


def test_every_native_class_is_stubbed() -> None:
    native = {n for n, v in vars(_native).items() if isinstance(v, type)}
    assert native == set(stub_classes())


def test_module_constants() -> None:
    tree = ast.parse(STUB.read_text())
    annotated = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    assert annotated == {"__version__", "CONFIG_KEYS", "ERROR_CODES"}
    for name in annotated:
        assert hasattr(_native, name)
