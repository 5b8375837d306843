"""The admin listing and /metrics report both memory figures of each loaded version."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration


def _gauge(metrics: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", metrics, re.M)
    assert match is not None, f"{name} missing from /metrics"
    return float(match.group(1))


def test_loaded_versions_list_artifact_measured_and_charged_bytes(
        iris_registry: Registry, serve: Callable[..., BackgroundServer],
        iris_request: Callable[..., dict[str, Any]]) -> None:
    size = iris_registry.resolve("a").size
    server = serve(iris_registry, memory_budget=2**30)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for name in ("a", "b"):
            assert client.post(f"/v2/models/{name}/infer", json=iris_request()).status_code == 200
        state = client.get("/v2/admin/models").json()
        loaded = state["loaded"]
        assert sorted(m["name"] for m in loaded) == ["a", "b"]
        for version in loaded:
            assert version["artifact_bytes"] == version["size"] == size
            assert isinstance(version["measured_bytes"], int) and version["measured_bytes"] >= 0
            assert version["charged_bytes"] >= size
        assert state["memory_bytes"] == sum(m["charged_bytes"] for m in loaded)
        assert state["artifact_bytes"] == 2 * size
        assert state["measured_bytes"] == sum(m["measured_bytes"] for m in loaded)
        metrics = client.get("/metrics").text
        assert _gauge(metrics, "augur_models_memory_bytes") == state["memory_bytes"]
        assert _gauge(metrics, "augur_models_artifact_bytes") == 2 * size
