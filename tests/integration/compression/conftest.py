"""MiniLM for the serving tests, shared with tests/unit/compression within a session."""

from __future__ import annotations

from typing import Any

import pytest

from minilm_fixtures import cached_minilm


@pytest.fixture(scope="session")
def minilm_artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Any]:
    """The exported MiniLM (bytes, signature), exported at most once per session."""
    converted = cached_minilm(tmp_path_factory)
    return converted.onnx, converted.signature
