"""Moving an alias under steady load: zero failed requests, both versions answer."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from augur.registry import Registry
from augur.serving import BackgroundServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_alias_moves_back_and_forth_under_load_without_failures(
        iris_registry: Registry, serve: Callable[..., BackgroundServer],
        iris_request: Callable[..., dict[str, Any]]) -> None:
    server = serve(iris_registry)
    stop = threading.Event()
    served: Counter[str] = Counter()
    failures: list[str] = []

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                for path in ("/v2/models/iris/infer", "/v2/models/iris@production/infer"):
                    response = client.post(path, json=iris_request())
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text}")
                    else:
                        served[response.json()["model_version"]] += 1

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as admin:
            for version in (2, 1, 2, 1):
                time.sleep(0.3)
                moved = admin.post("/v2/admin/models/iris/aliases/production",
                                   json={"version": version})
                assert moved.status_code == 200, moved.text
            time.sleep(0.3)
            back = admin.post("/v2/admin/models/iris/aliases/production/rollback")
            assert back.json()["version"] == 2
            time.sleep(0.3)
            iris_registry.set_alias("iris", "production", 1)  # as `augur models alias` does
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                seen = admin.post("/v2/models/iris/infer", json=iris_request()).json()
                if seen["model_version"] == "1":
                    break
                time.sleep(0.05)
            assert seen["model_version"] == "1"
            time.sleep(0.3)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == []
    assert served["1"] > 0 and served["2"] > 0
