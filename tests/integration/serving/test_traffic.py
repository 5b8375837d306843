"""Canary split and shadow comparison through the admin endpoint."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration


def test_canary_gets_its_share_and_shadow_agreement_is_recorded(
        iris_registry: Registry, serve: Callable[..., BackgroundServer],
        iris_request: Callable[..., dict[str, Any]]) -> None:
    server = serve(iris_registry)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        policy = client.put("/v2/admin/models/iris/traffic",
                            json={"canary": "iris:2", "canary_percent": 25})
        assert policy.status_code == 200, policy.text
        versions = Counter(client.post("/v2/models/iris/infer", json=iris_request())
                           .json()["model_version"] for _ in range(40))
        assert versions == {"1": 30, "2": 10}
        pinned = {client.post("/v2/models/iris/versions/1/infer", json=iris_request())
                  .json()["model_version"] for _ in range(8)}
        assert pinned == {"1"}  # an explicit version is never split

        # iris:1 copied as model "a" answers identically; iris:2 is another forest.
        client.put("/v2/admin/models/iris/traffic", json={"shadow": "a:1"})
        for _ in range(20):
            assert client.post("/v2/models/iris/infer",
                               json=iris_request(rows=3)).status_code == 200
        report = _wait_for(client, 20)
        assert report["shadow_comparisons"]["agree"] == 20
        assert report["shadow_comparisons"]["agreement"] == 1.0
        metrics = client.get("/metrics").text
        assert 'outcome="agree",shadow_version="1",version="1"} 20.0' in metrics

        bad = client.put("/v2/admin/models/iris/traffic",
                         json={"canary": "iris:2", "canary_percent": 300})
        assert bad.status_code == 400 and "0-100" in bad.json()["error"]
        missing = client.put("/v2/admin/models/iris/traffic", json={"shadow": "iris:99"})
        assert missing.status_code == 404
        cleared = client.put("/v2/admin/models/iris/traffic", json={})
        assert cleared.json()["shadow"] is None


def _wait_for(client: httpx.Client, compared: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        report: dict[str, Any] = client.get("/v2/admin/models/iris/traffic").json()
        stats = report["shadow_comparisons"]
        if stats["agree"] + stats["disagree"] + stats["errors"] >= compared or \
                time.monotonic() > deadline:
            return report
        time.sleep(0.05)


def test_the_traffic_of_an_unknown_model_is_404_and_nothing_is_set(
        iris_registry: Registry, serve: Callable[..., BackgroundServer]) -> None:
    server = serve(iris_registry)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for method, body in (("GET", None), ("PUT", {"canary": "iris:2", "canary_percent": 5})):
            got = client.request(method, "/v2/admin/models/nosuch/traffic", json=body)
            assert got.status_code == 404 and "nosuch" in got.json()["error"], got.text
        assert client.get("/v2/admin/models").json()["traffic"] == {}
        # KServe's v1 clients ask the root for liveness; a browser gets the console there
        assert client.get("/").json() == {"status": "alive"}
        page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*"})
        assert page.headers["content-type"].startswith("text/html") and "<main" in page.text
