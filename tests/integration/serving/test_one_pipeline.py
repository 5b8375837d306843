"""One request pipeline: canary, shadow, hybrid and feature enrichment apply the same way
to every protocol (v2 JSON, v2 binary, gRPC, plain JSON), on one real server."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

from augur.batch import open_store
from augur.features import open_online_store
from augur.registry import Registry
from augur.runtime import load
from augur.serving import BackgroundServer, ServerSettings
from augur.serving.proto import grpc_predict_v2_pb2 as pb
from augur.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc
from augur.signature import Signature

pytestmark = pytest.mark.integration

PROTOCOLS = ["v2-json", "v2-binary", "grpc", "plain-json"]
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]],
                dtype=np.float32)
STORED = {"label": 2, "probabilities": [0.0, 0.0, 1.0]}
DEFINITIONS = '''
from augur.features import (Aggregation, Deployment, Entity, EventSource, FeatureView,
                            RequestFeature, Window)

FLOWER = Entity("flower", "flower_id")
measurements = EventSource("measurements", {"sepal": "float", "petal": "float",
                                            "width": "float"})
sizes = FeatureView("sizes", FLOWER, measurements, (
    Aggregation("sepal_length", "last", Window.lifetime(), column="sepal"),
    Aggregation("petal_length", "last", Window.lifetime(), column="petal"),
    Aggregation("sepal_width", "last", Window.lifetime(), column="width"),
))
deployment = Deployment("f", views=(sizes,),
                        request_features=(RequestFeature("petal_width", "float"),))
'''


class Client:
    """Sends one logical request over one protocol; returns (version, outputs, params)."""

    def __init__(self, protocol: str, server: BackgroundServer) -> None:
        self.protocol = protocol
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{server.server.grpc_port}")
        self.stub = pb_grpc.GRPCInferenceServiceStub(self.channel)

    def close(self) -> None:
        self.http.close()
        self.channel.close()

    def send(self, model: str, fields: dict[str, np.ndarray], key: str | None = None
             ) -> tuple[str, dict[str, np.ndarray], dict[str, Any]]:
        """``fields``: name -> one value per row (tensors named so, or record fields)."""
        if self.protocol == "plain-json":
            n = len(next(iter(fields.values())))
            records = [{k: v[i].item() if hasattr(v[i], "item") else v[i]
                        for k, v in fields.items()} for i in range(n)]
            if key is not None:
                for record in records:
                    record["key"] = key
            r = self.http.post(f"/v1/models/{model}:predict", json={"instances": records})
            assert r.status_code == 200, r.text
            doc = r.json()
            assert r.headers["augur-model-version"] == doc["model_version"]
            preds = doc["predictions"]
            outs = {name: np.array([p[name] for p in preds]) for name in preds[0]} \
                if isinstance(preds[0], dict) else {"value": np.array(preds)}
            return doc["model_version"], outs, doc.get("parameters", {})
        if self.protocol == "grpc":
            msg = pb.ModelInferRequest(model_name=model)
            for name, arr in fields.items():
                tensor = msg.inputs.add(name=name, datatype=_datatype(arr), shape=list(arr.shape))
                del tensor
                msg.raw_input_contents.append(_raw(arr))
            if key is not None:
                msg.parameters["key"].string_param = key
            resp = self.stub.ModelInfer(msg, timeout=30)
            outs = {}
            for i, out in enumerate(resp.outputs):
                dtype = {"INT64": np.int64, "FP32": np.float32}[out.datatype]
                outs[out.name] = np.frombuffer(resp.raw_output_contents[i],
                                               dtype=dtype).reshape(list(out.shape))
            params = {k: getattr(v, v.WhichOneof("parameter_choice"))
                      for k, v in resp.parameters.items()}
            return resp.model_version, outs, params
        body: dict[str, Any] = {"inputs": []}
        binary = self.protocol == "v2-binary"
        chunks = []
        for name, arr in fields.items():
            spec: dict[str, Any] = {"name": name, "datatype": _datatype(arr),
                                    "shape": list(arr.shape)}
            if binary:
                raw = _raw(arr)
                spec["parameters"] = {"binary_data_size": len(raw)}
                chunks.append(raw)
            else:
                spec["data"] = arr.tolist()
            body["inputs"].append(spec)
        if key is not None:
            body["parameters"] = {"key": key}
        if binary:
            body.setdefault("parameters", {})["binary_data_output"] = True
            head = json.dumps(body).encode()
            r = self.http.post(f"/v2/models/{model}/infer", content=head + b"".join(chunks),
                               headers={"Inference-Header-Content-Length": str(len(head))})
        else:
            r = self.http.post(f"/v2/models/{model}/infer", json=body)
        assert r.status_code == 200, r.text
        length = int(r.headers.get("inference-header-content-length", len(r.content)))
        doc = json.loads(r.content[:length])
        outs, offset = {}, length
        for out in doc["outputs"]:
            dtype = {"INT64": np.int64, "FP32": np.float32}[out["datatype"]]
            if "data" in out:
                outs[out["name"]] = np.array(out["data"], dtype=dtype).reshape(out["shape"])
            else:
                size = out["parameters"]["binary_data_size"]
                outs[out["name"]] = np.frombuffer(r.content[offset:offset + size],
                                                  dtype=dtype).reshape(out["shape"])
                offset += size
        assert r.headers["augur-model-version"] == doc["model_version"]
        return doc["model_version"], outs, doc.get("parameters", {})


def _datatype(arr: np.ndarray) -> str:
    return {"f": "FP32", "O": "BYTES", "U": "BYTES"}[arr.dtype.kind]


def _raw(arr: np.ndarray) -> bytes:
    if arr.dtype.kind in "OU":
        return b"".join(len(s.encode()).to_bytes(4, "little") + s.encode() for s in arr.ravel())
    return np.ascontiguousarray(arr, dtype=np.float32).tobytes()


def _iris_fields(protocol: str) -> dict[str, np.ndarray]:
    """The rows as the model's own input: one tensor, or one record field per column."""
    if protocol == "plain-json":
        return {c: ROWS[:, i] for i, c in enumerate(COLUMNS)}
    return {"input": ROWS}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory,
          iris_onnx: tuple[bytes, bytes, Signature]) -> Iterator[dict[str, Any]]:
    one, two, sig = iris_onnx
    root = tmp_path_factory.mktemp("pipeline")
    reg = Registry(root / "home")
    reg.register("iris", one, sig)
    reg.register("iris", two, sig)
    reg.set_alias("iris", "production", 1)
    for name in ("a", "h", "f"):
        reg.register(name, one, sig)
    table = f"h_{uuid.uuid4().hex[:8]}"
    hybrid_url = f"sqlite:///{root / 'hybrid.db'}?table={table}"
    store = open_store(hybrid_url, reg.home)
    try:
        store.put("h", 1, "fresh", STORED, run_id="batch-1")
    finally:
        store.close()
    defs = root / "features.py"
    defs.write_text(DEFINITIONS)
    feature_url = f"sqlite:///{root / 'features.db'}"
    online = open_online_store(feature_url)
    try:
        online.write("sizes", {"f1": {"sepal_length": 5.1, "petal_length": 1.4,
                                      "sepal_width": 3.5},
                               "f2": {"sepal_length": 6.7, "petal_length": 5.2,
                                      "sepal_width": 3.0}}, int(time.time() * 1000))
    finally:
        online.close()
    settings = ServerSettings.from_dict({
        "http_port": 0, "grpc_port": 0, "access_log": "off", "alias_poll_seconds": 0.1,
        "models": {"h": {"hybrid": True, "hybrid_store": hybrid_url},
                   "f": {"features": str(defs), "feature_store": feature_url}}})
    with BackgroundServer(settings, reg) as server:
        yield {"server": server, "registry": reg}


@pytest.fixture(params=PROTOCOLS)
def client(request: pytest.FixtureRequest, setup: dict[str, Any]) -> Iterator[Client]:
    c = Client(request.param, setup["server"])
    yield c
    c.close()


def _traffic(setup: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    r = httpx.put(setup["server"].url + "/v2/admin/models/iris/traffic", json=policy, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_canary_split_is_the_same_on_every_protocol(client: Client,
                                                    setup: dict[str, Any]) -> None:
    _traffic(setup, {"canary": "iris:2", "canary_percent": 25})
    try:
        versions = Counter(client.send("iris", _iris_fields(client.protocol))[0]
                           for _ in range(40))
    finally:
        _traffic(setup, {})
    assert versions == {"1": 30, "2": 10}


def test_shadow_comparison_is_the_same_on_every_protocol(client: Client,
                                                         setup: dict[str, Any]) -> None:
    _traffic(setup, {"shadow": "a:1"})  # a:1 is iris:1 under another name: always agrees
    try:
        for _ in range(12):
            assert client.send("iris", _iris_fields(client.protocol))[0] == "1"
        deadline = time.monotonic() + 20
        url = setup["server"].url + "/v2/admin/models/iris/traffic"
        report = httpx.get(url).json()
        while report["shadow_comparisons"]["agree"] < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
            report = httpx.get(url).json()
    finally:
        _traffic(setup, {})
    assert report["shadow_comparisons"]["agree"] == 12
    assert report["shadow_comparisons"]["disagree"] == 0


def test_hybrid_answers_from_the_store_on_every_protocol(client: Client,
                                                         setup: dict[str, Any]) -> None:
    one = {k: v[:1] for k, v in _iris_fields(client.protocol).items()}
    _, outs, params = client.send("h", one, key="fresh")
    assert outs["label"].ravel().tolist() == [STORED["label"]]  # not the forest's 0
    assert params["source"] == "store"
    np.testing.assert_allclose(np.asarray(outs["probabilities"], dtype=np.float32).reshape(1, 3),
                               [STORED["probabilities"]])
    _version, outs, _ = client.send("h", one, key="missing")  # a miss: the model answers
    assert outs["label"].ravel().tolist() == [0]


def test_feature_enrichment_is_the_same_on_every_protocol(client: Client,
                                                          setup: dict[str, Any]) -> None:
    fields = {"flower_id": np.array(["f1", "f2"], dtype=object),
              "petal_width": np.array([0.2, 2.3], dtype=np.float32)}
    _version, outs, _ = client.send("f", fields)
    want = load("f", registry=setup["registry"]).predict(ROWS[:2])
    assert outs["label"].ravel().tolist() == want["label"].tolist()
    np.testing.assert_allclose(outs["probabilities"].reshape(2, 3), want["probabilities"],
                               atol=1e-6)
    metrics = httpx.get(setup["server"].url + "/metrics").text
    assert 'augur_feature_lookups_total{model="f",result="hit",view="sizes"}' in metrics
