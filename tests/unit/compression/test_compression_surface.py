"""Guard the public surfaces of compression and tuning: names exist and are documented."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("module_name", ["augur.compression", "augur.tuning"])
def test_all_names_exist_and_have_docstrings(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    for name in module.__all__:
        obj = getattr(module, name)
        if callable(obj):
            assert obj.__doc__, f"{module_name}.{name} has no docstring"


def test_methods_listed() -> None:
    from augur.compression import METHODS

    assert set(METHODS) == {"quantize-dynamic", "quantize-static", "fp16", "prune", "low-rank",
                            "distill"}


def test_text_export_is_reexported() -> None:
    from augur.convert import convert_sentence_encoder, export_sentence_encoder

    assert export_sentence_encoder.__doc__ and convert_sentence_encoder.__doc__
