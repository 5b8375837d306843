"""Beyond the queue bound requests get 429 at once; the server recovers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration


def _big_binary_request(rows: int) -> tuple[bytes, dict[str, str]]:
    x = np.random.default_rng(0).random((rows, 4), dtype=np.float32)
    head = orjson.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [rows, 4],
                                     "parameters": {"binary_data_size": x.nbytes}}],
                         "outputs": [{"name": "label", "parameters": {"binary_data": True}}]})
    return head + x.tobytes(), {"Inference-Header-Content-Length": str(len(head))}


def test_full_queue_answers_429_and_recovers(
        iris_registry: Registry, serve: Callable[..., BackgroundServer],
        iris_request: Callable[..., dict[str, Any]]) -> None:
    server = serve(iris_registry, models={"iris": {"max_queue_size": 1, "max_batch_size": 1,
                                                   "executor": "thread"}})
    body, headers = _big_binary_request(200_000)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            return await asyncio.gather(*[client.post("/v2/models/iris/infer", content=body,
                                                      headers=headers) for _ in range(12)])

    responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(429) >= 1 and statuses.count(200) >= 1
    refused = next(r for r in responses if r.status_code == 429)
    assert "queue is full" in refused.json()["error"] and refused.headers["retry-after"] == "1"
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for _ in range(5):
            assert client.post("/v2/models/iris/infer", json=iris_request()).status_code == 200


def test_request_timeout_parameter(iris_registry: Registry,
                                   serve: Callable[..., BackgroundServer]) -> None:
    server = serve(iris_registry, models={"iris": {"executor": "thread", "max_batch_size": 1}})
    body, headers = _big_binary_request(400_000)
    head_len = int(headers["Inference-Header-Content-Length"])
    doc = orjson.loads(body[:head_len])
    doc["parameters"] = {"timeout": 1000}  # microseconds, as in Triton
    head = orjson.dumps(doc)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        response = client.post("/v2/models/iris/infer", content=head + body[head_len:],
                               headers={"Inference-Header-Content-Length": str(len(head))})
        assert response.status_code == 504 and "timed out" in response.json()["error"]
        bad = client.post("/v2/models/iris/infer", json={
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4],
                        "data": [1, 2, 3, 4]}],
            "parameters": {"timeout": "soon"}})
        assert bad.status_code == 400 and "timeout" in bad.json()["error"]
