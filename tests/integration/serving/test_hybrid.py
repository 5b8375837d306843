"""The hybrid mode over a real server: fresh hits from the store, stale misses, write-back."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from augur.batch import open_store
from augur.registry import Registry
from augur.runtime import load
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration

ROW = [5.1, 3.5, 1.4, 0.2]
RECORD = dict(zip(["sepal_length", "sepal_width", "petal_length", "petal_width"], ROW,
                  strict=True))
#: not what the forest predicts for ROW (setosa, label 0): an answer from the store
STORED = {"label": 2, "probabilities": [0.0, 0.0, 1.0]}


def _v2(key: Any = None, key_input: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4],
                                        "data": ROW}]}
    if key is not None:
        body["parameters"] = {"key": key}
    if key_input is not None:
        body["inputs"].append(key_input)
    return body


def _age(db: Path, table: str, key: str, seconds: float) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE {table} SET created_at = created_at - ? WHERE key = ?",
                     (seconds, key))


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(want)}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def hybrid_server(iris_registry: Registry, tmp_path: Path,
                  serve: Callable[..., BackgroundServer]) -> tuple[BackgroundServer, str, Path]:
    table = f"h_{uuid.uuid4().hex[:8]}"
    db = tmp_path / "hybrid.db"
    url = f"sqlite:///{db}?table={table}"
    store = open_store(url, iris_registry.home)
    try:
        for key in ("fresh", "stale", "7"):
            store.put("iris", 1, key, STORED, run_id="batch-1")
    finally:
        store.close()
    _age(db, table, "stale", 7200)
    server = serve(iris_registry, models={"iris": {
        "hybrid": True, "hybrid_store": url, "hybrid_max_age_s": 3600,
        "hybrid_write_back": True}})
    return server, table, db


def test_fresh_hit_stale_miss_and_write_back(hybrid_server: tuple[BackgroundServer, str, Path],
                                             iris_registry: Registry) -> None:
    server, table, db = hybrid_server
    model_label = int(load("iris", registry=iris_registry).predict([RECORD])["label"][0])
    assert model_label != STORED["label"]
    with httpx.Client(base_url=server.url + "/v2/models/iris") as http:
        hit = http.post("/infer", json=_v2("fresh")).json()
        outs = {o["name"]: o for o in hit["outputs"]}
        assert outs["label"]["data"] == [2] and outs["label"]["datatype"] == "INT64"
        assert outs["probabilities"]["shape"] == [1, 3]
        assert outs["probabilities"]["datatype"] == "FP32"
        assert hit["parameters"]["source"] == "store"
        assert hit["parameters"]["version"] == 1

        miss = http.post("/infer", json=_v2("stale")).json()
        outs = {o["name"]: o for o in miss["outputs"]}
        assert outs["label"]["data"] == [model_label]
        assert "source" not in (miss.get("parameters") or {})

        # the miss was written back: the same key is now a fresh hit with the model's answer
        again = http.post("/infer", json=_v2("stale")).json()
        assert again["parameters"]["source"] == "store"
        assert {o["name"]: o for o in again["outputs"]}["label"]["data"] == [model_label]
        with sqlite3.connect(db) as conn:
            run_id, = conn.execute(f"SELECT run_id FROM {table} WHERE key = 'stale'").fetchone()
        assert run_id == "online"

        # a key as a BYTES or INT64 input, and requests without a key
        as_input = {"name": "key", "datatype": "BYTES", "shape": [1], "data": ["fresh"]}
        assert http.post("/infer", json=_v2(key_input=as_input)).json()[
            "parameters"]["source"] == "store"
        as_int = {"name": "key", "datatype": "INT64", "shape": [1], "data": [7]}
        assert http.post("/infer", json=_v2(key_input=as_int)).json()[
            "parameters"]["source"] == "store"
        plain = http.post("/infer", json=_v2()).json()
        assert {o["name"]: o for o in plain["outputs"]}["label"]["data"] == [model_label]

        bad = http.post("/infer", json=_v2(key={"a": 1}))
        assert bad.status_code == 400
        assert "key" in bad.json()["error"]

    metrics = httpx.get(server.url + "/metrics").text
    assert _metric(metrics, "augur_hybrid_requests_total", model="iris", outcome="hit") == 4
    assert _metric(metrics, "augur_hybrid_requests_total", model="iris", outcome="miss") == 1
    assert _metric(metrics, "augur_hybrid_hit_ratio", model="iris") == pytest.approx(0.8)
    assert _metric(metrics, "augur_hybrid_write_backs_total", model="iris") == 1


def test_plain_json_records_carry_a_key(hybrid_server: tuple[BackgroundServer, str, Path],
                                        iris_registry: Registry) -> None:
    server, _, _ = hybrid_server
    direct = load("iris", registry=iris_registry).predict([RECORD])
    with httpx.Client(base_url=server.url) as http:
        hit = http.post("/v1/models/iris:predict",
                        json={"instances": [{"key": "fresh", **RECORD}]})
        assert hit.status_code == 200, hit.text
        assert hit.json()["predictions"][0]["label"] == 2
        miss = http.post("/v1/models/iris:predict",
                         json={"instances": [{"key": "new-user", **RECORD}]})
        assert miss.status_code == 200, miss.text
        pred = miss.json()["predictions"][0]
        assert pred["label"] == int(direct["label"][0])
        np.testing.assert_allclose(pred["probabilities"], direct["probabilities"][0], atol=1e-6)
        # written back: the lookup endpoint of that store now has it
        stored = http.post("/v1/models/iris:predict",
                           json={"instances": [{"key": "new-user", **RECORD}]}).json()
        assert stored["predictions"][0]["label"] == int(direct["label"][0])
        # a mix of fresh and unknown keys runs the model for every row
        mixed = http.post("/v1/models/iris:predict", json={"instances": [
            {"key": "fresh", **RECORD}, {"key": "unknown", **RECORD}]}).json()
        assert [p["label"] for p in mixed["predictions"]] == [int(direct["label"][0])] * 2


def test_grpc_requests_get_the_hybrid_mode_too(iris_registry: Registry, tmp_path: Path,
                                               serve: Callable[..., BackgroundServer]) -> None:
    import tritonclient.grpc as triton

    url = f"sqlite:///{tmp_path / 'g.db'}"
    store = open_store(url, iris_registry.home)
    try:
        store.put("iris", 1, "fresh", STORED)
    finally:
        store.close()
    server = serve(iris_registry, grpc_enabled=True, grpc_port=0,
                   models={"iris": {"hybrid": True, "hybrid_store": url}})
    with triton.InferenceServerClient(f"127.0.0.1:{server.server.grpc_port}") as client:
        inp = triton.InferInput("input", [1, 4], "FP32")
        inp.set_data_from_numpy(np.array([ROW], dtype=np.float32))
        hit = client.infer("iris", [inp], parameters={"key": "fresh"})
        assert hit.as_numpy("label").tolist() == [2]
        assert hit.get_response().parameters["source"].string_param == "store"
        miss = client.infer("iris", [inp], parameters={"key": "other"})
        assert miss.as_numpy("label").tolist() != [2]


def test_an_unreachable_store_lets_the_model_answer(
        iris_registry: Registry, serve: Callable[..., BackgroundServer]) -> None:
    server = serve(iris_registry, models={"iris": {
        "hybrid": True, "hybrid_store": "redis://127.0.0.1:1/0", "hybrid_write_back": True}})
    got = httpx.post(f"{server.url}/v2/models/iris/infer", json=_v2("fresh"))
    assert got.status_code == 200, got.text
    assert "source" not in (got.json().get("parameters") or {})
    metrics = httpx.get(server.url + "/metrics").text
    assert _metric(metrics, "augur_hybrid_requests_total", model="iris", outcome="miss") == 1


def test_a_model_not_deployed_as_hybrid_ignores_keys(
        iris_registry: Registry, serve: Callable[..., BackgroundServer]) -> None:
    server = serve(iris_registry, models={"iris": {"hybrid": True}})
    with httpx.Client(base_url=server.url) as http:
        got = http.post("/v2/models/a/infer", json=_v2("fresh"))
        assert got.status_code == 200, got.text
        assert "source" not in (got.json().get("parameters") or {})


def test_hybrid_over_redis(iris_registry: Registry, redis_url: str,
                           serve: Callable[..., BackgroundServer]) -> None:
    import redis

    prefix = f"augur-test:{uuid.uuid4().hex[:10]}"
    url = f"{redis_url}?prefix={prefix}"
    store = open_store(url, iris_registry.home)
    client = redis.Redis.from_url(redis_url)
    try:
        store.put("iris", 1, "fresh", STORED)
        store.put("iris", 1, "stale", STORED)
        old = float(client.hget(f"{prefix}:iris:stale", "created_at") or 0) - 7200
        client.hset(f"{prefix}:iris:stale", "created_at", repr(old))
        server = serve(iris_registry, models={"iris": {
            "hybrid": True, "hybrid_store": url, "hybrid_max_age_s": 3600,
            "hybrid_write_back": True}})
        with httpx.Client(base_url=server.url + "/v2/models/iris") as http:
            assert http.post("/infer", json=_v2("fresh")).json()["parameters"]["source"] \
                == "store"
            miss = http.post("/infer", json=_v2("stale")).json()
            assert "source" not in (miss.get("parameters") or {})
            assert client.hget(f"{prefix}:iris:stale", "run_id") == b"online"
            again = http.post("/infer", json=_v2("stale")).json()
            assert again["parameters"]["source"] == "store"
            assert again["parameters"]["age_seconds"] < 3600
        lookup = httpx.get(f"{server.url}/v1/predictions/iris/stale")
        assert lookup.status_code == 200 and lookup.json()["run_id"] == "online"
    finally:
        store.close()
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "redis"])
def test_many_keys_come_back_in_request_order(kind: str, iris_registry: Registry,
                                              tmp_path: Path, request: pytest.FixtureRequest,
                                              serve: Callable[..., BackgroundServer]) -> None:
    """1500 keys (repeats included) are read in one lookup and answered row by row."""
    from augur.batch.predictions import PredictionChunk, Progress

    tag = f"h_{uuid.uuid4().hex[:8]}"
    url = {"sqlite": f"sqlite:///{tmp_path / 'many.db'}?table={tag}",
           "postgresql": f"{request.getfixturevalue('postgres_url')}?table={tag}",
           "redis": f"{request.getfixturevalue('redis_url')}?prefix=augur-test:{tag}"}[kind]
    keys = [f"u{i}" for i in range(1200)]
    outputs = [{"label": i % 3, "probabilities": [float(i % 3 == c) for c in range(3)]}
               for i in range(1200)]
    store = open_store(url, iris_registry.home)
    try:
        store.write("batch-1", "iris", 1, PredictionChunk(
            0, len(keys), keys, [json.dumps(o) for o in outputs]), Progress(1, 1200, 1200, 0))
        asked = keys[::-1] + keys[:300]
        labels = [int(k[1:]) % 3 for k in asked]
        assert [p.outputs["label"] for p in store.get_many("iris", asked) if p] == labels
        server = serve(iris_registry, models={"iris": {"hybrid": True, "hybrid_store": url}})
        body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [len(asked), 4],
                            "data": ROW * len(asked)}], "parameters": {"key": asked}}
        with httpx.Client(base_url=server.url, timeout=30) as http:
            hit = http.post("/v2/models/iris/infer", json=body).json()
            assert hit["parameters"]["source"] == "store"
            assert {o["name"]: o for o in hit["outputs"]}["label"]["data"] == labels
            plain = http.post("/v1/models/iris:predict", json={"instances": [
                {"key": k, **RECORD} for k in asked]}).json()
            assert [p["label"] for p in plain["predictions"]] == labels
            body["parameters"]["key"] = [*asked[:-1], "unknown"]  # one miss: the model answers
            miss = http.post("/v2/models/iris/infer", json=body).json()
            assert "source" not in (miss.get("parameters") or {})
            model_label = int(load("iris", registry=iris_registry).predict([RECORD])["label"][0])
            assert {o["name"]: o for o in miss["outputs"]}["label"]["data"] == \
                [model_label] * len(asked)
    finally:
        if kind == "postgresql":
            for suffix in ("", "_errors", "_progress"):
                store.conn.execute(f"DROP TABLE IF EXISTS {tag}{suffix}")
        elif kind == "redis":
            for start in range(0, 1200, 500):
                store.client.delete(*(store.key_of("iris", k) for k in keys[start:start + 500]))
        store.close()
