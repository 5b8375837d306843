"""The edge page in real headless Chromium: predictions equal the server's, offline too.

Every test records all requests the page makes and fails if one leaves the
server's origin (no CDN, no telemetry).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from edge_support import register_tensor_model, require_chromium, static_host

from augur.edge import EdgeBrowser, EdgeHost, EdgePage, export_bundle
from augur.edge.parity import compare_outputs, records_of
from augur.errors import InvalidInput, ModelNotReady
from augur.examples import diabetes_frame, iris_frame
from augur.registry import Registry
from augur.runtime import load

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[EdgeBrowser]:
    require_chromium()
    with EdgeBrowser() as b:
        yield b


@pytest.fixture(scope="module")
def host(examples_registry: Registry) -> Iterator[EdgeHost]:
    with EdgeHost(examples_registry) as h:
        yield h


def records_for(model: str) -> list[dict[str, Any]]:
    if model == "iris":
        return records_of(iris_frame()[0])
    rows = records_of(diabetes_frame()[0])
    for row in rows[::50]:
        row["bmi"] = None  # nullable float columns: missing values become NaN on both sides
    return rows


def assert_same_origin(page: EdgePage) -> None:
    assert page.requests, "the page made no requests at all"
    assert page.foreign_requests() == [], page.foreign_requests()
    assert all(url.startswith(page.origin + "/") for url in page.requests)


def assert_matches_server(registry: Registry, ref: str, records: list[dict[str, Any]],
                          result: dict[str, Any]) -> None:
    model = load(ref, registry=registry)
    want = model.predict(records)
    got = {name: out["data"] for name, out in result["outputs"].items()}
    c = compare_outputs(want, got, model.signature.label_output)
    # Within 1e-5: absolutely for values in [-1, 1], relatively beyond (float32 resolution).
    assert c.max_diff <= 1e-5, c
    assert c.label_agreement in (None, 1.0)
    if model.signature.label_output:
        np.testing.assert_array_equal(np.asarray(got["label"]), want["label"])


@pytest.mark.parametrize("model", ["iris", "diabetes"])
def test_page_predicts_what_the_server_predicts(browser: EdgeBrowser, host: EdgeHost,
                                                examples_registry: Registry, model: str) -> None:
    page = browser.open(host.page_url(f"{model}@production"))
    info = page.wait_ready()
    assert info["backend"] == "wasm" and info["verified"] is True
    assert info["crossOriginIsolated"] is True  # COOP/COEP served: WASM threads allowed
    records = records_for(model)
    result = page.predict(records)
    assert result["seconds"] > 0
    assert_matches_server(examples_registry, f"{model}:1", records, result)
    paths = {url.removeprefix(page.origin) for url in page.requests}
    assert {f"/edge/{model}%3A1/bundle/model.onnx", "/edge/_/ort/ort-wasm-simd-threaded.wasm",
            f"/edge/{model}%3A1/bundle/manifest.json"} <= paths
    assert_same_origin(page)


def test_form_and_pasted_csv(browser: EdgeBrowser, host: EdgeHost,
                             examples_registry: Registry) -> None:
    page = browser.open(host.page_url("iris"))
    page.wait_ready()
    p = page.page
    row = records_for("iris")[100]
    for name, value in row.items():
        p.fill(f"#col-{name}", str(value))
    p.click("#predict-one")
    p.wait_for_selector("#one-result table")
    want = load("iris", registry=examples_registry).predict([row])
    cells = p.locator("#one-result tbody tr td").all_inner_texts()
    assert cells[1] == str(int(want["label"][0]))
    assert "in-browser latency" in p.inner_text("#one-result .latency")

    frame = diabetes_frame()[0].head(25)
    page2 = browser.open(host.page_url("diabetes:1"))
    page2.wait_ready()
    page2.page.fill("#csv", frame.to_csv(index=False))
    page2.page.click("#predict-csv")
    page2.page.wait_for_selector("#csv-result table")
    shown = page2.page.locator("#csv-result tbody tr td:nth-child(2)").all_inner_texts()
    want2 = load("diabetes", registry=examples_registry).predict(frame)["variable"][:, 0]
    np.testing.assert_allclose([float(v) for v in shown], want2, rtol=1e-5)
    latency = page2.page.locator("#csv-result .latency")
    assert float(latency.get_attribute("data-seconds") or 0) > 0
    assert "rows/s" in latency.inner_text()
    assert_same_origin(page)
    assert_same_origin(page2)


def test_bad_input_is_reported_not_predicted(browser: EdgeBrowser, host: EdgeHost) -> None:
    page = browser.open(host.page_url("diabetes"))
    page.wait_ready()
    record = records_for("diabetes")[1]
    del record["s3"]
    with pytest.raises(InvalidInput, match="record 0 is missing column 's3'"):
        page.predict([record])
    with pytest.raises(InvalidInput, match="column 'sex': expected a string"):
        page.predict([{**records_for("diabetes")[1], "sex": 1}])
    page.page.fill("#csv", "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6\n0.1,male,abc,0,0,0,0,0,0,0\n")
    page.page.click("#predict-csv")
    error = page.page.locator("#csv-result .error")
    error.wait_for()
    assert "'bmi'" in error.inner_text() and "not a number" in error.inner_text()


def test_concurrent_predictions_take_turns(browser: EdgeBrowser, host: EdgeHost,
                                           examples_registry: Registry) -> None:
    page = browser.open(host.page_url("iris"))
    page.wait_ready()
    records = records_for("iris")
    labels = page.page.evaluate(
        "async (records) => (await Promise.all(records.map((r) => window.augurEdge.predict([r]))))"
        ".map((res) => res.outputs.label.data[0])", records[:60])
    want = load("iris", registry=examples_registry).predict(records[:60])["label"]
    assert labels == want.tolist()


def test_keeps_predicting_after_the_server_goes_away(browser: EdgeBrowser,
                                                     examples_registry: Registry) -> None:
    own = EdgeHost(examples_registry).start()
    try:
        page = browser.open(own.page_url("iris@production"))
        page.wait_ready()
    finally:
        own.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(own.origin + "/edge", timeout=2)
    records = records_for("iris")[:40]
    result = page.predict(records)
    assert_matches_server(examples_registry, "iris:1", records, result)
    assert_same_origin(page)


def test_exported_web_bundle_runs_from_any_static_host(browser: EdgeBrowser, tmp_path: Path,
                                                       examples_registry: Registry) -> None:
    bundle = export_bundle("diabetes", target="web", out=tmp_path / "site",
                           registry=examples_registry)
    origin, server, thread = static_host(bundle.path)
    try:
        page = browser.open(origin + "/index.html")
        info = page.wait_ready()
        # A plain static host sends no isolation headers: one WASM thread, same answers.
        assert info["crossOriginIsolated"] is False and info["threads"] == 1
        records = records_for("diabetes")[:60]
        assert_matches_server(examples_registry, "diabetes:1", records, page.predict(records))
        # The bundle's module on its own: predict(records), no load() call needed.
        direct = page.page.evaluate(
            "async (records) => { const m = await import('./augur-edge.mjs');"
            " const r = await m.predict(records); return {outputs: r.outputs}; }", records)
        assert_matches_server(examples_registry, "diabetes:1", records, direct)
        assert_same_origin(page)
    finally:
        server.should_exit = True
        thread.join(10)


def test_damaged_bundle_is_refused_by_the_page(browser: EdgeBrowser, tmp_path: Path,
                                                examples_registry: Registry) -> None:
    bundle = export_bundle("iris", target="web", out=tmp_path / "site",
                           registry=examples_registry)
    model = bundle.path / "model.onnx"
    data = bytearray(model.read_bytes())
    data[-5] ^= 0xFF
    model.write_bytes(bytes(data))
    origin, server, thread = static_host(bundle.path)
    try:
        page = browser.open(origin + "/index.html")
        with pytest.raises(ModelNotReady, match="does not match its checksum"):
            page.wait_ready()
        assert "does not match its checksum" in page.page.inner_text("#status")
    finally:
        server.should_exit = True
        thread.join(10)


def test_page_through_augur_serve(browser: EdgeBrowser, examples_registry: Registry) -> None:
    from augur.serving import BackgroundServer, ServerSettings

    settings = ServerSettings(http_port=0, grpc_enabled=False, access_log="off", warmup=False)
    with BackgroundServer(settings, examples_registry) as server:
        page = browser.open(server.url + "/edge/iris@production")
        assert page.wait_ready()["crossOriginIsolated"] is True
        records = records_for("iris")
        edge = page.predict(records)
        matrix = [[r[c] for c in ("sepal_length", "sepal_width", "petal_length", "petal_width")]
                  for r in records]
        body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [len(matrix), 4],
                            "data": matrix}]}
        reply = httpx.post(server.url + "/v2/models/iris/versions/1/infer", json=body,
                           timeout=30)
        assert reply.status_code == 200, reply.text
        served = {o["name"]: o["data"] for o in reply.json()["outputs"]}
        # The string-column pipeline through the plain JSON endpoint, records in.
        page2 = browser.open(server.url + "/edge/diabetes@production")
        page2.wait_ready()
        rows = records_for("diabetes")
        edge2 = page2.predict(rows)
        reply2 = httpx.post(server.url + "/v1/models/diabetes@production:predict",
                            json={"instances": rows}, timeout=30)
        assert reply2.status_code == 200, reply2.text
    got = np.asarray(edge["outputs"]["probabilities"]["data"])
    assert np.abs(got - np.asarray(served["probabilities"])).max() <= 1e-5
    assert edge["outputs"]["label"]["data"] == served["label"]
    want2 = np.asarray(reply2.json()["predictions"], dtype=np.float32)
    got2 = np.asarray(edge2["outputs"]["variable"]["data"], dtype=np.float32)
    assert got2.shape == want2.shape == (len(rows),)
    assert (np.abs(got2 - want2) / np.maximum(1.0, np.abs(want2))).max() <= 1e-5
    assert_same_origin(page)
    assert_same_origin(page2)


def test_tensor_model_page(browser: EdgeBrowser, registry: Registry) -> None:
    version = register_tensor_model(registry)
    arrays = {"x": [[0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [-3.0, 0.25, 9.5]], "k": [[1], [2], [-4]]}
    with EdgeHost(registry) as own:
        page = browser.open(own.page_url(version.ref))
        page.wait_ready()
        result = page.predict_tensors(arrays)
        want = load(version.ref, registry=registry).predict(
            {k: np.asarray(v) for k, v in arrays.items()})
        assert compare_outputs(want, {"y": result["outputs"]["y"]["data"]}, None).max_diff <= 1e-5
        assert result["outputs"]["y"]["dims"] == [3, 4]
        with pytest.raises(InvalidInput, match=r"input 'x': dimension 1 must be 3"):
            page.predict_tensors({"x": [[1.0, 2.0]], "k": [[1]]})
        with pytest.raises(InvalidInput, match="ragged"):
            page.predict_tensors({"x": [[1.0, 2.0, 3.0], [1.0]], "k": [[1], [2]]})
        with pytest.raises(InvalidInput, match="missing input 'k'"):
            page.predict_tensors({"x": arrays["x"]})
        p = page.page
        assert p.inner_text("#csv-title") == "Tensors (JSON)"
        assert not p.is_visible("#record-form")
        p.fill("#csv", json.dumps(arrays))
        p.click("#predict-csv")
        p.wait_for_selector("#csv-result table")
        assert p.locator("#csv-result tbody tr").count() == 3
        assert_same_origin(page)
