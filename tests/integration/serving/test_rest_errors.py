"""Bad requests get a 4xx with the v2 error body, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration


def _binary(header: dict[str, object], payload: bytes) -> tuple[bytes, dict[str, str]]:
    head = orjson.dumps(header)
    return head + payload, {"Inference-Header-Content-Length": str(len(head)),
                            "Content-Type": "application/octet-stream"}


def test_each_bad_request_is_a_4xx_and_the_server_keeps_serving(
        iris_registry: Registry, serve: Callable[..., BackgroundServer],
        iris_request: Callable[..., dict[str, Any]]) -> None:
    server = serve(iris_registry, max_body_bytes=64 * 1024)
    wrong_type = iris_request()
    wrong_type["inputs"][0]["datatype"] = "BYTES"
    wrong_type["inputs"][0]["data"] = ["a", "b", "c", "d"]
    wrong_shape = iris_request()
    wrong_shape["inputs"][0]["shape"] = [1, 3]
    wrong_shape["inputs"][0]["data"] = [1.0, 2.0, 3.0]
    nan = iris_request()
    nan["inputs"][0]["data"] = [None, 1.0, 1.0, 1.0]
    sizes_body, sizes_headers = _binary(
        {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4],
                     "parameters": {"binary_data_size": 16}}]}, b"\0" * 12)
    cases: list[tuple[str, str, dict[str, object], int, str]] = [
        ("/v2/models/iris/infer", "raw", {"content": b'{"inputs": [', "headers": {}}, 400,
         "malformed JSON"),
        ("/v2/models/iris/infer", "json", {"json": wrong_type}, 400, "expected FP32"),
        ("/v2/models/iris/infer", "json", {"json": wrong_shape}, 400, "dimension 1 must be 4"),
        ("/v2/models/iris/infer", "json", {"json": nan}, 400, "NaN"),
        ("/v2/models/iris/infer", "raw", {"content": sizes_body, "headers": sizes_headers}, 400,
         "runs past the end"),
        ("/v2/models/iris/infer", "raw", {"content": b"x" * 100_000, "headers": {}}, 413,
         "over the limit"),
        ("/v2/models/nope/infer", "json", {"json": iris_request()}, 404, "no model named"),
        ("/v2/models/iris/versions/9/infer", "json", {"json": iris_request()}, 404,
         "no version 9"),
        ("/v2/models/iris@canary/infer", "json", {"json": iris_request()}, 404,
         "no alias 'canary'"),
        ("/v2/models/iris/versions/x/infer", "json", {"json": iris_request()}, 400,
         "positive integer"),
        ("/v2/models/bad%20name/infer", "json", {"json": iris_request()}, 400, "characters"),
        ("/v1/models/iris:predict", "json", {"json": {"rows": []}}, 400, "instances"),
        ("/v1/models/iris:predict", "json", {"json": {"instances": [{"sepal_length": 1}]}},
         400, "missing column"),
    ]
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for path, kind, kwargs, status, message in cases:
            if kind == "json":
                response = client.post(path, json=kwargs["json"])
            else:
                response = client.post(path, content=kwargs["content"],  # type: ignore[arg-type]
                                       headers=kwargs["headers"])  # type: ignore[arg-type]
            assert response.status_code == status, (path, response.text)
            assert message in response.json()["error"], (path, response.text)
            ok = client.post("/v2/models/iris/infer", json=iris_request())
            assert ok.status_code == 200
        assert client.get("/v2/nothing/here").status_code == 404
        edge = client.get("/edge")  # the edge part's routes are mounted when it is installed
        assert edge.status_code == 200 and "text/html" in edge.headers["content-type"]
        assert client.post("/v2/repository/nothing").json()["error"].startswith("no such")
        metrics = client.get("/metrics").text
        assert 'augur_request_errors_total{model="iris",reason="InvalidInput",version="1"}' \
            in metrics


def test_tokens_guard_inference_and_admin(iris_registry: Registry,
                                          serve: Callable[..., BackgroundServer],
                                          iris_request: Callable[..., dict[str, Any]]) -> None:
    server = serve(iris_registry, admin_token="adm", inference_token="inf")
    infer = "/v2/models/iris/infer"
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/v2/health/ready").status_code == 200
        denied = client.post(infer, json=iris_request())
        assert denied.status_code == 401 and "Bearer" in denied.json()["error"]
        wrong = client.post(infer, json=iris_request(), headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
        for token in ("inf", "adm"):
            ok = client.post(infer, json=iris_request(),
                             headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200
        load = "/v2/repository/models/iris/load"
        assert client.post(load, headers={"Authorization": "Bearer inf"}).status_code == 403  # valid, but not admin
        assert client.post(load, headers={"Authorization": "Bearer adm"}).status_code == 200
        move = client.post("/v2/admin/models/iris/aliases/production", json={"version": 2})
        assert move.status_code == 401
        assert iris_registry.resolve("iris").version == 1
