"""Guard the curated public surface: every name in __all__ exists and is documented."""

from __future__ import annotations

import importlib

import pytest

import augur

PARTS = ["augur", "augur.registry", "augur.runtime", "augur.convert", "augur.serving",
         "augur.batch", "augur.features", "augur.streaming", "augur.compression",
         "augur.tuning", "augur.edge", "augur.console", "augur.backends"]


@pytest.mark.parametrize("module_name", PARTS)
def test_all_names_exist_and_have_docstrings(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    for name in module.__all__:
        obj = getattr(module, name)
        if callable(obj) and not name.startswith("_"):
            assert obj.__doc__, f"{module_name}.{name} has no docstring"


def test_top_level_surface() -> None:
    assert {"export", "load", "Registry", "InvalidInput", "ModelNotFound"} <= set(augur.__all__)


def test_augur_convert_is_the_part_not_a_function() -> None:
    """``import augur.convert as c`` gives the part (the README's own example)."""
    import augur.convert as c

    assert callable(c.export_sentence_encoder) and callable(c.convert)
    assert "convert" not in augur.__all__
