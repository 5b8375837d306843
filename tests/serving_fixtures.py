"""Serving fixtures shared by the unit and integration tests: two small iris forests as ONNX bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from augur.registry import Registry
from augur.signature import Signature


@pytest.fixture(scope="session")
def iris_onnx() -> tuple[bytes, bytes, Signature]:
    """Two different 5-tree iris forests (ONNX bytes) and their shared signature."""
    from sklearn.ensemble import RandomForestClassifier

    from augur.convert import convert
    from augur.examples import iris_frame

    X, y = iris_frame()
    first = convert(RandomForestClassifier(5, max_depth=3, random_state=0).fit(X, y), X)
    second = convert(RandomForestClassifier(5, max_depth=3, random_state=7).fit(X, y), X)
    return first.onnx, second.onnx, first.signature


@pytest.fixture
def iris_registry(tmp_path: Path, iris_onnx: tuple[bytes, bytes, Signature]) -> Registry:
    """A registry with iris versions 1 and 2 (production -> 1) and models a, b, c."""
    one, two, sig = iris_onnx
    reg = Registry(tmp_path / "home")
    reg.register("iris", one, sig)
    reg.register("iris", two, sig)
    reg.set_alias("iris", "production", 1)
    for name in ("a", "b", "c"):
        reg.register(name, one, sig)
    return reg
