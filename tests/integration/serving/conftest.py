"""Fixtures of the serving integration tests: two small iris forests as ONNX bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer, ServerSettings
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


@pytest.fixture
def serve() -> Iterator[Callable[..., BackgroundServer]]:
    """Start real uvicorn servers on free ports: ``serve(registry, **settings)``."""
    started: list[BackgroundServer] = []

    def start(registry: Registry, **settings: Any) -> BackgroundServer:
        raw = {"http_port": 0, "grpc_enabled": False, "access_log": "off",
               "alias_poll_seconds": 0.1, **settings}
        server = BackgroundServer(ServerSettings.from_dict(raw), registry).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _iris_request(rows: int = 1) -> dict[str, Any]:
    data = [5.1, 3.5, 1.4, 0.2] * rows
    return {"inputs": [{"name": "input", "datatype": "FP32", "shape": [rows, 4], "data": data}]}


@pytest.fixture
def iris_request() -> Callable[..., dict[str, Any]]:
    """Make a v2 JSON request for the iris models: ``iris_request(rows=1)``."""
    return _iris_request
