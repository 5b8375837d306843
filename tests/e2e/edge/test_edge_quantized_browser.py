"""``export-edge --quantize`` in real headless Chromium: the quantized bundle predicts
what the server predicts for the SAME quantized version, never its float parent.

The int8 model is a registered child version (lineage to its parent), so the
augur server can serve it: these tests compare the browser with the server's
own v2 endpoint for that child, and show the comparison would fail against the
parent (quantization moves the probabilities by far more than 1e-5).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from augur.convert import export
from augur.edge import EdgeBrowser, export_bundle, quantized_version
from augur.edge.parity import DEFAULT_TOLERANCE, check_parity, compare_outputs, records_of
from augur.examples import breast_cancer_frame
from augur.registry import ModelVersion, Registry
from e2e.edge_support import require_chromium, static_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def browser() -> Iterator[EdgeBrowser]:
    # Per test: check_parity drives its own Chromium, and one thread runs one Playwright.
    require_chromium()
    with EdgeBrowser() as b:
        yield b


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, ModelVersion]:
    """A float MLP (scaler + two dense layers), the kind int8 quantization is for."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    registry = Registry(tmp_path_factory.mktemp("quantized") / "home")
    X, y = breast_cancer_frame()
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64, 32),
                                                          max_iter=300, random_state=0))
    return registry, export(model.fit(X, y), "mlp", sample=X, registry=registry)


def rows() -> list[dict[str, Any]]:
    return records_of(breast_cancer_frame()[0])


def served_outputs(url: str, ref: str, records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The augur server's v2 answer for ``ref``, one tensor per output."""
    name, version = ref.split(":")
    cols = list(records[0])
    body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [len(records), len(cols)],
                        "data": [[r[c] for c in cols] for r in records]}]}
    reply = httpx.post(f"{url}/v2/models/{name}/versions/{version}/infer", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    return {o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in reply.json()["outputs"]}


def test_quantized_bundle_in_chromium_equals_the_server_on_the_quantized_version(
        browser: EdgeBrowser, mlp: tuple[Registry, ModelVersion], tmp_path: Path) -> None:
    from augur.serving import BackgroundServer, ServerSettings

    registry, parent = mlp
    bundle = export_bundle(parent.ref, target="web", quantize=True, out=tmp_path / "site",
                           registry=registry, validation=rows()[:120])
    child = registry.resolve(bundle.manifest["model"]["ref"])
    # The bundle runs a registered child of the float version, byte for byte.
    assert child.ref != parent.ref and str(child.parent) == parent.ref
    assert child.derivation is not None and child.derivation["method"] == "quantize-dynamic"
    assert bundle.manifest["quantization"]["quantized_ops"] > 0
    assert bundle.manifest["quantization"]["parent"] == parent.ref
    assert bundle.manifest["checksums"]["model.onnx"]["sha256"] == child.artifact
    # Exporting again reuses that child instead of registering another version.
    again = export_bundle(parent.ref, target="web", quantize=True, out=tmp_path / "again",
                          backends=(), registry=registry)
    assert again.manifest["model"]["ref"] == child.ref
    assert [v.version for v in registry.versions("mlp")] == [parent.version, child.version]

    records = rows()
    origin, host, thread = static_host(bundle.path)
    try:
        page = browser.open(origin + "/index.html")
        page.wait_ready()
        result = page.predict(records)
        assert page.foreign_requests() == [], page.foreign_requests()
    finally:
        host.should_exit = True
        thread.join(10)
    edge = {name: out["data"] for name, out in result["outputs"].items()}

    settings = ServerSettings(http_port=0, grpc_enabled=False, access_log="off", warmup=False)
    with BackgroundServer(settings, registry) as server:
        served = served_outputs(server.url, child.ref, records)
        float_served = served_outputs(server.url, parent.ref, records)
    same = compare_outputs(served, edge, child.signature.label_output)
    assert same.max_diff <= DEFAULT_TOLERANCE, same
    assert same.label_agreement == 1.0
    np.testing.assert_array_equal(np.asarray(edge["label"]), served["label"])
    # Against the float parent the same check fails: it can tell the two models apart.
    other = compare_outputs(float_served, edge, parent.signature.label_output)
    assert other.max_diff > DEFAULT_TOLERANCE, other


def test_parity_with_quantize_compares_the_quantized_child(
        mlp: tuple[Registry, ModelVersion]) -> None:
    require_chromium()
    registry, parent = mlp
    child = quantized_version(parent, registry, validation=rows()[:120])
    report = check_parity(parent.ref, rows()[:120], target="web", quantize=True,
                          registry=registry)
    assert report.ref == child.ref and report.passed, report.to_dict()
    assert report.comparison.label_agreement == 1.0
    device = check_parity(parent.ref, rows()[:120], target="device", quantize=True,
                          registry=registry)
    assert device.ref == child.ref and device.passed, device.to_dict()
    # The child's page is served by augur like any version; quantizing it again is a no-op.
    assert quantized_version(child, registry) == child
