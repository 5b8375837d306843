"""MiniLM over the Open Inference Protocol v2: text in (BYTES), embeddings out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from augur.registry import Registry
from augur.runtime import load
from augur.serving import BackgroundServer, ServerSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_v2_bytes_request_returns_embeddings(tmp_path: Path,
                                             minilm_artifact: tuple[bytes, Any]) -> None:
    data, signature = minilm_artifact
    reg = Registry(tmp_path / "home")
    reg.register("minilm", data, signature, framework="sentence-transformers")
    sentences = ["Where is the train station?", "The weather is lovely today."]
    want = load("minilm", registry=reg).predict(sentences)["embeddings"]
    settings = ServerSettings.from_dict({"http_port": 0, "grpc_enabled": False,
                                         "access_log": "off"})
    server = BackgroundServer(settings, reg).start()
    try:
        body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2],
                            "data": sentences}]}
        resp = httpx.post(f"{server.url}/v2/models/minilm/infer", json=body, timeout=60)
        assert resp.status_code == 200, resp.text
        out = resp.json()["outputs"][0]
        assert out["name"] == "embeddings" and out["datatype"] == "FP32"
        assert out["shape"] == [2, 384]
        got = np.array(out["data"], dtype=np.float32).reshape(2, 384)
        assert np.allclose(got, want, atol=1e-5)
        bad = {"inputs": [{"name": "text", "datatype": "FP32", "shape": [1], "data": [1.0]}]}
        resp = httpx.post(f"{server.url}/v2/models/minilm/infer", json=bad, timeout=60)
        assert resp.status_code == 400 and "text" in resp.json()["error"]
        meta = httpx.get(f"{server.url}/v2/models/minilm", timeout=60).json()
        assert meta["inputs"][0]["datatype"] == "BYTES"
    finally:
        server.stop()
