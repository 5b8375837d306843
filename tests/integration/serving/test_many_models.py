"""Lazy loading once under concurrent first requests, and LRU under a memory budget."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration


def _loads(metrics: str, model: str) -> float:
    prefix = f'augur_model_load_seconds_count{{model="{model}",version="1"}} '
    lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_concurrent_first_requests_load_once_and_budget_evicts_lru(
        iris_registry: Registry, serve: Callable[..., BackgroundServer],
        iris_request: Callable[..., dict[str, Any]]) -> None:
    size = iris_registry.resolve("a").size
    server = serve(iris_registry, memory_budget=2 * size + 10)

    async def first_requests() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            responses = await asyncio.gather(*[
                client.post("/v2/models/a/infer", json=iris_request()) for _ in range(16)])
            return [r.status_code for r in responses]

    assert asyncio.run(first_requests()) == [200] * 16
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert _loads(client.get("/metrics").text, "a") == 1.0
        for name in ("b", "a", "c"):  # b is the least recently used when c arrives
            assert client.post(f"/v2/models/{name}/infer", json=iris_request()).status_code == 200
        state = client.get("/v2/admin/models").json()
        assert sorted(m["name"] for m in state["loaded"]) == ["a", "c"]
        assert state["memory_bytes"] <= 2 * size + 10
        index = {m["name"]: m["state"] for m in client.post("/v2/repository/index").json()}
        assert index["a"] == "READY" and index["b"] == "UNAVAILABLE"
        assert client.post("/v2/models/b/infer", json=iris_request()).status_code == 200
        assert client.post("/v2/repository/models/b/unload").status_code == 200
        assert client.post("/v2/repository/models/b/unload").status_code == 200  # not loaded
        missing = client.post("/v2/repository/models/nosuch/unload")
        assert missing.status_code == 404 and "nosuch" in missing.json()["error"]
        assert "b" not in [m["name"] for m in client.get("/v2/admin/models").json()["loaded"]]
        assert client.get("/v2/models/b/ready").status_code == 200  # loads it again
