"""The public surfaces of augur.features and augur.streaming exist and are documented."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("module_name", ["augur.features", "augur.streaming"])
def test_all_names_exist_and_have_docstrings(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    for name in module.__all__:
        obj = getattr(module, name)
        if callable(obj):
            assert obj.__doc__, f"{module_name}.{name} has no docstring"
