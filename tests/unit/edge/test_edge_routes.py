"""The edge routes in-process: the page, bundle files, assets, headers and errors."""

from __future__ import annotations

import json
import re

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from augur.edge import find_web_runtime, routes
from augur.edge.routes import ISOLATION_HEADERS
from augur.http import exception_handlers
from augur.registry import Registry


@pytest.fixture(scope="module")
def client(examples_registry: Registry) -> TestClient:
    return TestClient(Starlette(routes=routes(examples_registry), exception_handlers=exception_handlers()))


def assert_isolated(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in ISOLATION_HEADERS.items():
        assert headers[name] == value, name


def page_config(text: str) -> dict[str, str]:
    match = re.search(r'id="augur-edge-config">(.*?)</script>', text)
    assert match
    return dict(json.loads(match.group(1)))


def test_page_points_at_the_exact_version(client: TestClient) -> None:
    r = client.get("/edge/iris@production")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_isolated(r)
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert page_config(r.text) == {"bundle": "./iris%3A1/bundle/", "ref": "iris:1"}
    assert './_/static/edge-page.mjs' in r.text


def test_bundle_files(client: TestClient, examples_registry: Registry) -> None:
    version = examples_registry.resolve("diabetes")
    exact = client.get("/edge/diabetes%3A1/bundle/manifest.json")
    assert exact.status_code == 200 and "immutable" in exact.headers["cache-control"]
    assert_isolated(exact)
    manifest = exact.json()
    assert manifest["model"]["ref"] == "diabetes:1" and manifest["model_file"] == "model.onnx"
    assert manifest["runtime"]["base"] == "../../_/ort/"
    model = client.get("/edge/diabetes:1/bundle/model.onnx")
    assert model.content == examples_registry.read_artifact(version)
    assert manifest["checksums"]["model.onnx"]["size"] == len(model.content)
    moving = client.get("/edge/diabetes@production/bundle/manifest.json")
    assert moving.headers["cache-control"] == "no-cache"
    missing = client.get("/edge/diabetes:1/bundle/secrets.txt")
    assert missing.status_code == 404 and "manifest.json" in missing.json()["error"]


def test_static_and_runtime_files(client: TestClient) -> None:
    js = client.get("/edge/_/static/augur-edge.mjs")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "export async function load" in js.text
    assert_isolated(js)
    wasm = client.get("/edge/_/ort/ort-wasm-simd-threaded.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"
    assert wasm.content[:4] == b"\0asm"
    assert_isolated(wasm)
    version = find_web_runtime().version
    assert client.get("/edge/_/ort/ort.wasm.min.mjs").status_code == 200, version


@pytest.mark.parametrize("path", [
    "/edge/_/ort/ort.min.js.map", "/edge/_/ort/ort.all.min.mjs", "/edge/_/static/edge.html",
    "/edge/_/static/__init__.py", "/edge/_/ort/package.json",
])
def test_only_known_files_are_served(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "error" in r.json()  # answered by the shared error handler, like every route
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", [
    "/edge/_/ort/..%2Fpackage.json", "/edge/_/static/..%2Froutes.py",
    "/edge/_/ort/%2Fetc%2Fpasswd", "/edge/_/static/../../registry/db.py",
])
def test_paths_out_of_the_folders_match_nothing(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert b"onnxruntime" not in r.content and b"import" not in r.content


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/edge/nosuchmodel", 404, "nosuchmodel"),
    ("/edge/iris:99", 404, "99"),
    ("/edge/iris@nosuchalias", 404, "nosuchalias"),
    ("/edge/iris:abc", 400, "iris:abc"),
    ("/edge/-bad", 400, "-bad"),
    ("/edge/nosuchmodel/bundle/model.onnx", 404, "nosuchmodel"),
])
def test_bad_references(client: TestClient, path: str, status: int, words: str) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_index_lists_models(client: TestClient) -> None:
    r = client.get("/edge")
    assert r.status_code == 200
    assert {"./edge/iris", "./edge/diabetes"} <= set(re.findall(r'href="([^"]+)"', r.text))


def test_page_without_runtime_says_how_to_set_up(examples_registry: Registry,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: object) -> None:
    monkeypatch.setenv("AUGUR_ONNXRUNTIME_WEB", "/nonexistent/dist")
    client = TestClient(Starlette(routes=routes(examples_registry), exception_handlers=exception_handlers()))
    r = client.get("/edge/iris")
    assert r.status_code == 503 and "setup.sh" in r.json()["error"]
