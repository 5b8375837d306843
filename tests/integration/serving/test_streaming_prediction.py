"""Streaming prediction end to end: events over Redis Streams -> feature worker -> Redis
online store -> a real server assembling the model's input from entity keys (REST v2,
plain JSON and gRPC)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis

from augur.features import RedisOnlineStore, load_definitions, run_feature_worker
from augur.registry import Registry
from augur.runtime import load
from augur.serving import BackgroundServer
from augur.streaming import RedisStreamTransport

pytestmark = pytest.mark.integration

DEFINITIONS = '''
from augur.features import (Aggregation, Deployment, Entity, EventSource, FeatureView,
                            RequestFeature, TableFeatureView, Window)

FLOWER = Entity("flower", "flower_id")
measurements = EventSource("measurements", {"sepal": "float", "petal": "float"})
sepals = FeatureView("sepals", FLOWER, measurements, (
    Aggregation("sepal_length", "last", Window.lifetime(), column="sepal"),
    Aggregation("petal_length", "last", Window.lifetime(), column="petal"),
))
widths = TableFeatureView("widths", FLOWER, "widths.parquet", {"sepal_width": "float"})
iris_deployment = Deployment("iris", views=(sepals, widths),
                             request_features=(RequestFeature("petal_width", "float"),),
                             defaults={"sepal_width": 3.0})
'''

T0 = 1_700_000_000_000


@pytest.fixture
def features(tmp_path: Path, redis_url: str) -> Iterator[tuple[Path, str, str]]:
    """A definitions file, a unique Redis namespace (store URL) and stream; dropped after."""
    ns = f"augur-test-{uuid.uuid4().hex[:10]}"
    defs = tmp_path / "features.py"
    defs.write_text(DEFINITIONS)
    yield defs, f"{redis_url}?namespace={ns}", ns
    store = RedisOnlineStore(redis.Redis.from_url(redis_url), namespace=ns)
    store.drop_namespace()
    store.close()
    client = redis.Redis.from_url(redis_url)
    client.delete(ns)
    client.close()


def _stream(defs: Path, redis_url: str, stream: str, store_url: str,
            events: list[dict[str, Any]]) -> None:
    """Publish events and run the features part's worker over them."""
    view = load_definitions(defs).stream_view("sepals")

    async def go() -> None:
        transport = RedisStreamTransport(redis_url, stream)
        try:
            await transport.publish(events)
        finally:
            await transport.close()
        store = RedisOnlineStore.from_url(store_url)
        consumer = RedisStreamTransport(redis_url, stream)
        try:
            await run_feature_worker(view, consumer, store, checkpoint_interval=0,
                                     idle_exit=0.3)
        finally:
            await consumer.close()
            store.close()

    asyncio.run(go())


def _event(i: int, flower: str, sepal: float, petal: float) -> dict[str, Any]:
    return {"flower_id": flower, "event_time": T0 + i * 1000, "event_id": f"e{i}",
            "sepal": sepal, "petal": petal}


def _v2(flowers: list[str], petal_widths: list[float]) -> dict[str, Any]:
    n = len(flowers)
    return {"inputs": [
        {"name": "flower_id", "datatype": "BYTES", "shape": [n], "data": flowers},
        {"name": "petal_width", "datatype": "FP32", "shape": [n], "data": petal_widths}]}


def test_predictions_from_live_features(features: tuple[Path, str, str], redis_url: str,
                                        iris_registry: Registry,
                                        serve: Callable[..., BackgroundServer]) -> None:
    defs, store_url, stream = features
    _stream(defs, redis_url, stream, store_url,
            [_event(0, "f1", 5.1, 1.4), _event(1, "f2", 6.0, 4.5), _event(3, "42", 6.0, 4.5)])
    batch_store = RedisOnlineStore.from_url(store_url)
    batch_store.write("widths", {"f1": {"sepal_width": 3.5}}, T0)  # a batch (table) feature
    batch_store.close()
    model = load("iris", registry=iris_registry)
    server = serve(iris_registry, grpc_enabled=True, grpc_port=0,
                   models={"iris": {"features": str(defs), "feature_store": store_url}})

    def direct(rows: list[list[float]]) -> dict[str, np.ndarray]:
        return model.predict(np.asarray(rows, dtype=np.float32))

    with httpx.Client(base_url=server.url) as http:
        # f2 has no sepal_width: the deployment's default 3.0 is used
        got = http.post("/v2/models/iris/infer", json=_v2(["f1", "f2"], [0.2, 1.5]))
        assert got.status_code == 200, got.text
        outs = {o["name"]: o for o in got.json()["outputs"]}
        want = direct([[5.1, 3.5, 1.4, 0.2], [6.0, 3.0, 4.5, 1.5]])
        assert outs["label"]["data"] == want["label"].tolist()
        np.testing.assert_allclose(np.reshape(outs["probabilities"]["data"], (2, 3)),
                                   want["probabilities"], atol=1e-6)
        int_keys = {"inputs": [
            {"name": "flower_id", "datatype": "INT64", "shape": [1], "data": [42]},
            {"name": "petal_width", "datatype": "FP32", "shape": [1], "data": [1.5]}]}
        got = http.post("/v2/models/iris/infer", json=int_keys)
        assert got.status_code == 200, got.text
        assert {o["name"]: o for o in got.json()["outputs"]}["label"]["data"] == \
            [int(want["label"][1])]
        plain = http.post("/v1/models/iris:predict",
                          json={"instances": [{"flower_id": "f1", "petal_width": 0.2}]})
        assert plain.status_code == 200, plain.text
        assert plain.json()["predictions"][0]["label"] == int(want["label"][0])
        before = int(want["label"][0])

        # new events change the streaming features, and so the prediction
        _stream(defs, redis_url, stream, store_url, [_event(2, "f1", 6.7, 5.6)])
        after = direct([[6.7, 3.5, 5.6, 2.3]])
        assert int(after["label"][0]) != before
        plain = http.post("/v1/models/iris:predict",
                          json={"instances": [{"flower_id": "f1", "petal_width": 2.3}]})
        assert plain.json()["predictions"][0]["label"] == int(after["label"][0])
        as_int = {"inputs": [
            {"name": "flower_id", "datatype": "BYTES", "shape": [1], "data": ["f1"]},
            {"name": "petal_width", "datatype": "FP32", "shape": [1, 1], "data": [2.3]}]}
        got = http.post("/v2/models/iris/infer", json=as_int).json()
        assert {o["name"]: o for o in got["outputs"]}["label"]["data"] == [int(after["label"][0])]

        # a required feature without a value: 422 naming view, feature and key
        missing = http.post("/v2/models/iris/infer", json=_v2(["f9"], [0.2]))
        assert missing.status_code == 422
        assert "sepals.sepal_length for flower_id='f9'" in missing.json()["error"]
        missing = http.post("/v1/models/iris:predict",
                            json={"instances": [{"flower_id": "f1"}]})
        assert missing.status_code == 422
        assert "request feature 'petal_width'" in missing.json()["error"]
        no_key = http.post("/v1/models/iris:predict",
                           json={"instances": [{"flower_id": None, "petal_width": 1.0}]})
        assert no_key.status_code == 400
        assert "flower_id" in no_key.json()["error"]
        ragged = {"inputs": [
            {"name": "flower_id", "datatype": "BYTES", "shape": [2], "data": ["f1", "f2"]},
            {"name": "petal_width", "datatype": "FP32", "shape": [1], "data": [2.3]}]}
        bad = http.post("/v2/models/iris/infer", json=ragged)
        assert bad.status_code == 400 and "one element per row" in bad.json()["error"]

        # the model's own inputs still work on a feature-bound model
        own = http.post("/v2/models/iris/infer", json={"inputs": [
            {"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]})
        assert own.status_code == 200, own.text

    # the gRPC transport calls the same data plane, so it gets the features too
    import tritonclient.grpc as triton
    from tritonclient.utils import InferenceServerException

    with triton.InferenceServerClient(f"127.0.0.1:{server.server.grpc_port}") as client:
        keys = triton.InferInput("flower_id", [1], "BYTES")
        keys.set_data_from_numpy(np.array([b"f1"], dtype=object))
        width = triton.InferInput("petal_width", [1], "FP32")
        width.set_data_from_numpy(np.array([2.3], dtype=np.float32))
        result = client.infer("iris", [keys, width])
        assert result.as_numpy("label").tolist() == after["label"].tolist()
        keys.set_data_from_numpy(np.array([b"f9"], dtype=object))
        with pytest.raises(InferenceServerException, match=r"sepals\.sepal_length"):
            client.infer("iris", [keys, width])


def test_a_bad_binding_is_a_config_error(tmp_path: Path, iris_registry: Registry,
                                         serve: Callable[..., BackgroundServer]) -> None:
    defs = tmp_path / "other.py"
    defs.write_text(DEFINITIONS.replace('Deployment("iris"', 'Deployment("b"'))
    server = serve(iris_registry, models={"iris": {"features": str(defs),
                                                   "feature_store": "memory://"}})
    got = httpx.post(f"{server.url}/v2/models/iris/infer", json=_v2(["f1"], [0.2]))
    assert got.status_code == 400
    assert "no Deployment of model 'iris'" in got.json()["error"]
