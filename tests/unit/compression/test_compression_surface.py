"""The compression surface: its methods, and the text exporter re-exported by convert.

That every public name exists and is documented is checked in tests/unit/test_public_api.py.
"""

from __future__ import annotations


def test_methods_listed() -> None:
    from augur.compression import METHODS

    assert set(METHODS) == {"quantize-dynamic", "quantize-static", "fp16", "prune", "low-rank",
                            "distill"}


def test_text_export_is_reexported() -> None:
    from augur.convert import convert_sentence_encoder, export_sentence_encoder

    assert export_sentence_encoder.__doc__ and convert_sentence_encoder.__doc__
