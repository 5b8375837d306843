"""The console's JSON endpoints in-process (``augur ui``'s app): answers, auth, hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from augur.console import build_app
from augur.console.catalog import MAX_PER_PAGE
from augur.http import BearerAuth
from augur.registry import Registry
from augur.signature import Signature

ADMIN, READ = "adm-token", "read-token"


def tiny_onnx() -> tuple[bytes, Signature]:
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString(), Signature.from_onnx(model)


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    registry = Registry(tmp_path_factory.mktemp("console") / "home")
    data, sig = tiny_onnx()
    for i in range(30):
        registry.register(f"model-{i:03d}", data, sig, description="fraud" if i % 10 == 0 else "")
    registry.register("model-000", data, sig)
    registry.set_alias("model-000", "production", 1)
    registry.set_alias("model-000", "production", 2)
    return registry


@pytest.fixture(scope="module")
def client(reg: Registry) -> Iterator[TestClient]:
    app = build_app(reg, BearerAuth(READ, ADMIN))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_models_are_paginated_and_searched_on_the_server(client: TestClient) -> None:
    page = client.get("/console/api/models?page=2&per_page=7", headers=auth(READ)).json()
    assert (page["total"], page["pages"], page["page"]) == (30, 5, 2)
    assert [m["name"] for m in page["models"]] == [f"model-{i:03d}" for i in range(7, 14)]
    found = client.get("/console/api/models?q=FRAUD", headers=auth(READ)).json()
    assert [m["name"] for m in found["models"]] == ["model-000", "model-010", "model-020"]
    assert client.get("/console/api/models?q=model-02", headers=auth(READ)).json()["total"] == 10
    beyond = client.get("/console/api/models?page=9", headers=auth(READ)).json()
    assert beyond["models"] == [] and beyond["total"] == 30


def test_model_detail_has_versions_aliases_and_history(client: TestClient) -> None:
    doc = client.get("/console/api/models/model-000", headers=auth(READ)).json()
    assert [v["ref"] for v in doc["versions"]] == ["model-000:2", "model-000:1"]
    alias = doc["aliases"]["production"]
    assert alias["version"] == 2
    assert [(m["version"], m["previous"]) for m in alias["history"]] == [(1, None), (2, 1)]


def test_alias_move_and_rollback_change_the_registry(client: TestClient, reg: Registry) -> None:
    reg.register("model-001", *tiny_onnx())
    for version, previous in ((1, None), (2, 1)):
        r = client.post("/console/api/models/model-001/aliases/staging", headers=auth(ADMIN),
                        json={"version": version})
        assert r.status_code == 200 and r.json()["previous"] == previous
        assert reg.aliases("model-001")["staging"] == version
    r = client.post("/console/api/models/model-001/aliases/staging/rollback",
                    headers=auth(ADMIN))
    assert r.json()["version"] == 1 and reg.aliases("model-001")["staging"] == 1


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), (auth("wrong"), 401), (auth(READ), 403), ({"Authorization": ADMIN}, 401),
    ({"Authorization": f"Basic {ADMIN}"}, 401), ({"Authorization": f"Bearer {ADMIN}x"}, 401)])
@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/console/api/models/model-000/aliases/production", {"version": 1}),
    ("POST", "/console/api/models/model-000/aliases/production/rollback", None),
    ("GET", "/console/api/batch/runs", None),
    ("POST", "/console/api/batch/runs", {"ref": "model-000", "input": "x.csv", "key": "id"}),
    ("POST", "/console/api/batch/runs/abc/resume", None),
    ("GET", "/console/api/batch/schedules", None)])
def test_admin_routes_refuse_anything_but_the_admin_token(
        client: TestClient, reg: Registry, headers: dict[str, str], status: int, method: str,
        path: str, body: Any) -> None:
    before = reg.aliases("model-000")
    r = client.request(method, path, headers=headers, json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"] and ADMIN not in r.text and READ not in r.text
    assert reg.aliases("model-000") == before


def test_the_scheme_is_case_insensitive(client: TestClient) -> None:
    r = client.get("/console/api/batch/runs", headers={"Authorization": f"bearer {ADMIN}"})
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/console/api/models", "/console/api/models/model-000",
                                  "/console/api/features"])
def test_reads_need_a_token_when_one_is_set(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(f"{path}?token={READ}").status_code == 401  # never from the query
    assert client.get(path, headers=auth(READ)).status_code == 200
    assert client.get(path, headers=auth(ADMIN)).status_code == 200


def test_info_tells_the_role_of_the_token(client: TestClient) -> None:
    assert client.get("/console/api/info").json()["role"] == "none"
    assert client.get("/console/api/info", headers=auth(READ)).json()["role"] == "inference"
    info = client.get("/console/api/info", headers=auth(ADMIN)).json()
    assert info == {"served": False, "role": "admin", "features": False}


@pytest.mark.parametrize("query", [
    "page=0", "page=-1", "page=%D9%A3", "page=+3", "page=3.0", "page=99999999999999",
    "per_page=0", f"per_page={MAX_PER_PAGE + 1}", "per_page=abc", "q=" + "a" * 201,
    "q=a%00b", "q=a%0ab", "q=%1b%5b31m"])
def test_bad_listing_parameters_are_a_400(client: TestClient, query: str) -> None:
    r = client.get(f"/console/api/models?{query}", headers=auth(READ))
    assert r.status_code == 400, (query, r.text)
    assert r.json()["error"]


@pytest.mark.parametrize("name", ["..", "%2e%2e", "a%00b", " model-000", "model-000%0a",
                                  "x" * 10_000, "\uff4dodel-000", "nope"])  # a fullwidth m
def test_bad_or_unknown_model_names_are_4xx(client: TestClient, name: str) -> None:
    r = client.get(f"/console/api/models/{name}", headers=auth(READ))
    assert r.status_code in (400, 404), (name, r.status_code)
    assert "Traceback" not in r.text and "/home" not in r.text.split('"error"')[0]


@pytest.mark.parametrize("body", [
    b"{", b"[1]", b'{"version": "2"}', b'{"version": true}', b'{"version": 0}',
    b'{"version": 1e400}', b'{"version": 99}', b'{"version": -1}',
    b"[" * 100_000, b'{"version": 1, "force": "yes"}',
    b'{"version": 1, "pad": "' + b"x" * 2_000_000 + b'"}'])
def test_bad_alias_bodies_change_nothing(client: TestClient, reg: Registry, body: bytes) -> None:
    before = reg.aliases("model-000")
    r = client.post("/console/api/models/model-000/aliases/production", content=body,
                    headers={**auth(ADMIN), "Content-Type": "application/json"})
    assert r.status_code in (400, 404, 413), (body[:30], r.text)
    assert reg.aliases("model-000") == before


@pytest.mark.parametrize("alias", ["..", "a%2Fb", "%00", " production", "x" * 5000])
def test_bad_alias_names_are_refused(client: TestClient, reg: Registry, alias: str) -> None:
    r = client.post(f"/console/api/models/model-000/aliases/{alias}", headers=auth(ADMIN),
                    json={"version": 1})
    assert r.status_code in (400, 404, 405), (alias, r.text)  # ".." is resolved by the client
    assert set(reg.aliases("model-000")) == {"production"}


@pytest.mark.parametrize("spec", [
    [], "x", {"ref": "model-000"}, {"ref": "model-000", "input": "a.csv", "key": 3},
    {"ref": "model-000", "input": "a.csv", "key": "id", "engine": "ray"},
    {"ref": "model-000", "input": "a.csv", "key": "id", "chunk_size": 0},
    {"ref": "model-000", "input": "a.csv", "key": "id", "chunk_size": True},
    {"ref": "nope", "input": "a.csv", "key": "id"},
    {"ref": "model-000", "input": "missing.csv", "key": "id"},
    {"ref": "model-000", "input": "a.csv", "key": "id", "output": "ftp://x"}])
def test_bad_batch_jobs_are_refused_before_running(client: TestClient, reg: Registry,
                                                   spec: Any) -> None:
    r = client.post("/console/api/batch/runs", headers=auth(ADMIN), json=spec)
    assert r.status_code in (400, 404), (spec, r.text)
    assert client.get("/console/api/batch/runs", headers=auth(ADMIN)).json()["runs"] == []


def test_resume_refuses_unknown_runs(client: TestClient) -> None:
    r = client.post("/console/api/batch/runs/nope/resume", headers=auth(ADMIN))
    assert r.status_code == 404 and "nope" in r.json()["error"]


def test_unknown_routes_and_methods(client: TestClient) -> None:
    assert client.get("/console/api/nothing").status_code == 404
    assert client.get("/console/static/../site.py").status_code == 404
    assert client.get("/console/static/%2e%2e%2fsite.py").status_code == 404
    assert client.get("/console/vendor/..%2f..%2fetc%2fpasswd").status_code == 404
    r = client.delete("/console/api/models")
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_the_page_and_its_files_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<main" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/console/static/app.mjs").headers["content-type"].startswith(
        "text/javascript")
    assert "/edge/model-000" in client.get("/edge", headers=auth(READ)).text
