"""GET /v1/predictions/{model}/{key} from SQLite, Redis and PostgreSQL, over a real server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from augur.batch import open_store
from augur.registry import Registry
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration

OUTPUTS = {"label": 2, "probabilities": [0.0, 0.25, 0.75]}


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A prediction store URL with a unique table / key prefix, dropped afterwards."""
    tag = uuid.uuid4().hex[:10]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'preds.db'}?table=p_{tag}"
        return
    if request.param == "redis":
        base = request.getfixturevalue("redis_url")
        yield f"{base}?prefix=augur-test:{tag}"
        import redis

        client = redis.Redis.from_url(base)
        keys = list(client.scan_iter(f"augur-test:{tag}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    base = request.getfixturevalue("postgres_url")
    yield f"{base}?table=lookup_{tag}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        for suffix in ("", "_errors", "_progress"):
            conn.execute(f"DROP TABLE IF EXISTS lookup_{tag}{suffix}")


def test_lookup_returns_outputs_version_and_age(
        iris_registry: Registry, serve: Callable[..., BackgroundServer], store_url: str) -> None:
    store = open_store(store_url, iris_registry.home)
    try:
        store.put("iris", 2, "user-42", OUTPUTS, run_id="run-1")
        store.put("iris", 1, "7", {"label": 0, "probabilities": [1.0, 0.0, 0.0]})
    finally:
        store.close()
    server = serve(iris_registry, prediction_store=store_url)
    with httpx.Client(base_url=server.url) as http:
        got = http.get("/v1/predictions/iris/user-42")
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["outputs"] == OUTPUTS
        assert body["version"] == 2
        assert body["run_id"] == "run-1"
        assert body["key"] == "user-42" and body["model"] == "iris"
        assert 0 <= body["age_seconds"] < 3600
        assert http.get("/v1/predictions/iris/7").json()["outputs"]["label"] == 0

        missing = http.get("/v1/predictions/iris/nobody")
        assert missing.status_code == 404
        assert missing.json() == {"error": "no stored prediction of 'iris' for key 'nobody'"}
        other_model = http.get("/v1/predictions/other/user-42")
        assert other_model.status_code == 404
        assert "'other'" in other_model.json()["error"]


def test_lookup_needs_the_inference_token(iris_registry: Registry,
                                          serve: Callable[..., BackgroundServer]) -> None:
    store = open_store(None, iris_registry.home)  # the embedded default the batch part writes
    try:
        store.put("iris", 1, "k/with/slashes", OUTPUTS)
    finally:
        store.close()
    server = serve(iris_registry, inference_token="s3cret", admin_token="adm")
    with httpx.Client(base_url=server.url) as http:
        denied = http.get("/v1/predictions/iris/k/with/slashes")
        assert denied.status_code == 401
        assert "inference token" in denied.json()["error"]
        for token in ("s3cret", "adm"):
            ok = http.get("/v1/predictions/iris/k/with/slashes",
                          headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200, ok.text
            assert ok.json()["outputs"] == OUTPUTS


def test_unreachable_store_is_a_503(iris_registry: Registry,
                                    serve: Callable[..., BackgroundServer]) -> None:
    server = serve(iris_registry, prediction_store="redis://127.0.0.1:1/0")
    with httpx.Client(base_url=server.url) as http:
        got = http.get("/v1/predictions/iris/x")
        assert got.status_code == 503
        assert "error" in got.json()
        bad = serve(iris_registry, prediction_store="ftp://nowhere/x")
        got = http.get(f"{bad.url}/v1/predictions/iris/x")
        assert got.status_code == 400
        assert "unsupported scheme 'ftp'" in got.json()["error"]


@pytest.mark.parametrize("key", ["6", "k/with/slashes", "ключ 7"])
def test_a_failed_key_says_which_run_and_why(
        iris_registry: Registry, serve: Callable[..., BackgroundServer], store_url: str,
        key: str) -> None:
    from augur.batch import PredictionChunk, Progress, RowError

    store = open_store(store_url, iris_registry.home)
    try:
        chunk = PredictionChunk(0, 2, keys=["ok"], outputs=['{"label": 1}'],
                                errors=[RowError(6, key, "column 'petal_width': missing value")])
        store.write("run-9", "iris", 1, chunk, Progress().advance(chunk))
    finally:
        store.close()
    server = serve(iris_registry, prediction_store=store_url)
    with httpx.Client(base_url=server.url) as http:
        got = http.get(f"/v1/predictions/iris/{key}")
        assert got.status_code == 404
        body = got.json()
        assert "row 6 of batch run run-9 failed: column 'petal_width'" in body["error"]
        assert body["failed"]["run_id"] == "run-9" and body["failed"]["key"] == key
        assert body["failed"]["reason"] == "column 'petal_width': missing value"
        # the failure belongs to that model and key only
        for other in (f"/v1/predictions/other/{key}", "/v1/predictions/iris/nobody"):
            missing = http.get(other)
            assert missing.status_code == 404 and "failed" not in missing.json()
        assert http.get("/v1/predictions/iris/ok").json()["outputs"] == {"label": 1}
