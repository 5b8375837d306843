"""Fixtures of the serving integration tests: the shared iris forests, and real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer, ServerSettings
from serving_fixtures import iris_onnx, iris_registry  # noqa: F401  (fixtures, shared)


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
