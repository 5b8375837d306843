"""The OpenAPI document describes every route the server answers, and only those."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from augur.registry import Registry
from augur.serving import ServerSettings, build_app, create_dataplane, rest
from augur.serving.openapi import openapi_document

METHODS = {"get", "put", "post", "delete", "patch"}


def _documented() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in openapi_document()["paths"].items()
            for method in item if method in METHODS}


def _protocol_routes() -> set[tuple[str, str]]:
    """The hand-routed table of :mod:`augur.serving.rest`'s docstring, spelled as the
    document spells paths."""
    found = set()
    for method, path in re.findall(r"^(GET|POST)\s+(/\S+)", rest.__doc__ or "", re.M):
        path = path.replace("{m}", "{model}").replace("{v}", "{version}")
        if "[/versions/{version}]" in path:
            found.add((method, path.replace("[/versions/{version}]", "")))
            path = path.replace("[/versions/{version}]", "/versions/{version}")
        found.add((method, path))
    return found


def _starlette_routes(tmp_path: Path) -> set[tuple[str, str]]:
    settings = ServerSettings()
    app = build_app(create_dataplane(Registry(tmp_path / "home"), settings), settings)
    found = set()
    for route in app.fallback.app.routes:  # type: ignore[attr-defined]
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {key:path} -> {key}
        found.update((m, path) for m in route.methods or () if m != "HEAD")
    return found


def test_every_route_the_server_answers_is_documented(tmp_path: Path) -> None:
    served = _protocol_routes() | _starlette_routes(tmp_path)
    assert len(_protocol_routes()) == 13  # the table parsed whole
    assert served == _documented()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in openapi_document()["paths"].items()
            for method, op in item.items()]


@pytest.mark.parametrize(("path", "method", "op"), _operations(),
                         ids=[f"{m.upper()} {p}" for p, m, _ in _operations()])
def test_each_operation_documents_its_errors_as_the_v2_error_body(
        path: str, method: str, op: dict[str, Any]) -> None:
    params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
    assert params == set(re.findall(r"\{(\w+)\}", path))
    for status, response in op["responses"].items():
        if int(status) < 400 or (status == "503" and "ModelReady" in str(response)) \
                or path.startswith("/v2/health"):
            continue
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, (status, response)
    if op.get("security") == []:  # open: the probes, this document, pages and their files
        assert path in {"/", "/v2/health/live", "/v2/health/ready", "/v2/openapi.json",
                        "/edge/{ref}", "/edge/_/static/{file}", "/edge/_/ort/{file}",
                        "/console/static/{file}", "/console/vendor/{file}",
                        "/console/api/info"}


def test_the_console_search_bounds_are_the_consoles() -> None:
    from augur.console import catalog

    params = {p["name"]: p["schema"] for p in
              openapi_document()["paths"]["/console/api/models"]["get"]["parameters"]}
    assert params["q"]["maxLength"] == catalog.MAX_QUERY
    per_page = params["per_page"]["pattern"]
    assert re.fullmatch(per_page, str(catalog.MAX_PER_PAGE)) and re.fullmatch(per_page, "")
    assert not re.fullmatch(per_page, str(catalog.MAX_PER_PAGE + 1))
