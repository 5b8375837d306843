"""The OpenAPI 3 document of the REST API, served at ``GET /v2/openapi.json``.

It describes every route the server answers (the protocol routes of
:mod:`augur.serving.rest`, the cold routes of :mod:`augur.serving.admin` and
:mod:`augur.serving.batch_routes`, and the edge pages), the bodies they take and the
error body every failure shares (``{"error": "..."}``), so clients can be generated
from it and the test suite fuzzes the server from it (schemathesis). What the
document calls valid the server accepts as well formed (names, references and
versions follow :mod:`augur.registry.refs`, see :mod:`augur.serving.openapi_schemas`),
so a request the document allows never fails for its form, only for what it names
(404) or, for inference, the model's signature (400).
"""

from __future__ import annotations

from typing import Any

import augur
from augur.serving.openapi_schemas import (
    ALIAS_SCHEMA,
    ERROR,
    INFER_EXAMPLE,
    NAME_SCHEMA,
    REFERENCE_SCHEMA,
    SCHEMAS,
    VERSION,
    json_content,
    ref,
)

_MODEL = {"name": "model", "in": "path", "required": True, "example": "iris",
          "description": "model name or reference: `iris`, `iris:2`, `iris@staging`",
          "schema": REFERENCE_SCHEMA}
_VERSION = {"name": "version", "in": "path", "required": True, "example": "1",
            "description": "a version number in ASCII digits, no leading zeros",
            "schema": {"type": "string", "pattern": f"^{VERSION}$"}}
_NAME_ONLY = {**_MODEL, "schema": NAME_SCHEMA,
              "description": "model name (not a reference: a version or alias follows)"}
_ALIAS = {"name": "alias", "in": "path", "required": True, "example": "production",
          "description": "alias name: not all digits", "schema": ALIAS_SCHEMA}

_TEXT = {400: "malformed request", 401: "missing or unknown token",
         403: "token of another role", 404: "no such model, version, alias or endpoint",
         409: "incompatible signature", 413: "body too large",
         422: "feature unavailable", 429: "queue full, retry later",
         503: "not ready, or not configured on this server", 504: "deadline passed"}
_AUTH = (401, 403)
_INFER_ERRORS = (400, *_AUTH, 404, 413, 422, 429, 503, 504)
_FILE = {"description": "file", "content": {"*/*": {"schema": {"type": "string"}}}}
# the console's bound on a model search's text (augur.console.catalog)
MAX_CONSOLE_QUERY = 200


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": _TEXT.get(c, "error"), **json_content(ERROR)}
            for c in codes}


def _op(summary: str, ok: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, body_required: bool = True,
        errors: tuple[int, ...] = (400, *_AUTH, 404), secured: bool = True,
        ok_status: str = "200", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary,
                          "responses": {ok_status: ok, **_errors(*errors), **(extra or {})}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": body_required, **json_content(body)}
    if not secured:
        op["security"] = []
    return op


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, **json_content(schema)}


def _readiness(summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    # Not ready is a 503 whose body is the readiness answer, as KServe's clients expect.
    return _op(summary, _ok("ready", ref("ModelReady")), params=params,
               errors=(400, *_AUTH, 404),
               extra={"503": _ok("not ready", ref("ModelReady"))})


def _model_routes(prefix: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    infer = _op("Inference (Open Inference Protocol v2)",
                _ok("outputs", ref("InferResponse")), params=params,
                body=ref("InferRequest"), errors=_INFER_ERRORS)
    infer["requestBody"]["content"]["application/json"]["example"] = INFER_EXAMPLE
    return {
        prefix: {"get": _op("Model metadata", _ok("metadata", ref("ModelMetadata")),
                            params=params, errors=(400, *_AUTH, 404, 503))},
        f"{prefix}/ready": {"get": _readiness("Model readiness", params)},
        f"{prefix}/infer": {"post": infer},
    }


def _protocol_paths() -> dict[str, Any]:
    health = {"type": "object", "required": ["live"], "properties": {
        "live": {"type": "boolean"}}}
    ready = {"type": "object", "required": ["ready"], "properties": {
        "ready": {"type": "boolean"}}}
    return {
        "/": {"get": _op(
            "Server liveness for KServe v1 clients; the web console for a browser "
            "(Accept: text/html)",
            {"description": "alive, or the console's page", "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": ["alive"]}}}},
                "text/html": {"schema": {"type": "string"}}}},
            errors=(), secured=False)},
        "/v2/health/live": {"get": _op("Liveness", _ok("live", health), errors=(),
                                       secured=False,
                                       extra={"503": _ok("not live", health)})},
        "/v2/health/ready": {"get": _op("Readiness", _ok("ready", ready), errors=(),
                                        secured=False,
                                        extra={"503": _ok("not ready", ready)})},
        "/v2": {"get": _op("Server metadata", _ok("metadata", ref("ServerMetadata")),
                           errors=_AUTH)},
        "/v2/openapi.json": {"get": _op("This document", _ok("OpenAPI 3", {"type": "object"}),
                                        errors=(), secured=False)},
        **_model_routes("/v2/models/{model}", [_MODEL]),
        **_model_routes("/v2/models/{model}/versions/{version}", [_NAME_ONLY, _VERSION]),
        "/v1/models": {"get": _op("Model names (KServe v1)", _ok("names", ref("ModelList")),
                                  errors=_AUTH)},
        "/v1/models/{model}": {"get": _readiness("Model readiness (KServe v1)", [_MODEL])},
        "/v1/models/{model}:predict": {"post": _op(
            "Plain JSON prediction: rows or records in, one prediction per row out",
            _ok("predictions", ref("Predictions")), params=[_MODEL],
            body=ref("PredictRequest"), errors=_INFER_ERRORS)},
    }


def _control_paths() -> dict[str, Any]:
    empty = {"type": "object"}
    return {
        "/v2/repository/index": {"post": _op(
            "Every model and its state", _ok("index", ref("RepositoryIndex")),
            body={"type": "object", "properties": {"ready": {"type": "boolean"}}},
            body_required=False, errors=(400, *_AUTH, 413))},
        "/v2/repository/models/{model}/load": {"post": _op(
            "Load and warm a model", _ok("loaded", empty), params=[_MODEL], body=empty,
            body_required=False, errors=(400, *_AUTH, 404, 413, 429, 503))},
        "/v2/repository/models/{model}/unload": {"post": _op(
            "Unload every version of a model", _ok("unloaded", empty), params=[_MODEL],
            body=empty, body_required=False, errors=(400, *_AUTH, 404, 413))},
        "/v2/admin/models": {"get": _op("Loaded versions, memory, failures, traffic",
                                        _ok("state", ref("AdminModels")), errors=_AUTH)},
        "/v2/admin/models/{model}/aliases/{alias}": {"post": _op(
            "Move an alias (loaded and warmed first)", _ok("moved", ref("AliasMove")),
            params=[_NAME_ONLY, _ALIAS], body=ref("AliasMoveRequest"),
            errors=(400, *_AUTH, 404, 409, 413, 503))},
        "/v2/admin/models/{model}/aliases/{alias}/rollback": {"post": _op(
            "Move an alias one step back through its history", _ok("moved", ref("AliasMove")),
            params=[_NAME_ONLY, _ALIAS], body=empty, body_required=False,
            errors=(400, *_AUTH, 404, 413, 503))},
        "/v2/admin/models/{model}/traffic": {
            "get": _op("Canary and shadow of a model", _ok("policy", ref("Traffic")),
                       params=[_MODEL]),
            "put": _op("Set canary and shadow (an empty body clears both)",
                       _ok("policy", ref("Traffic")), params=[_MODEL],
                       body=ref("TrafficRequest"), body_required=False,
                       errors=(400, *_AUTH, 404, 413, 503))},
        "/v1/predictions/{model}/{key}": {"get": _op(
            "A stored batch prediction", _ok("prediction", {"type": "object"}),
            params=[_MODEL, {"name": "key", "in": "path", "required": True,
                             "schema": {"type": "string", "minLength": 1}}],
            errors=(400, *_AUTH, 404, 503))},
        "/v1/batch/schedules": {"get": _op("Batch schedules", _ok("schedules", empty),
                                           errors=(*_AUTH, 503))},
        "/v1/batch/schedules/{schedule}/run": {"post": _op(
            "Run a schedule's job now", _ok("started", empty),
            params=[{"name": "schedule", "in": "path", "required": True,
                     "schema": {"type": "string", "minLength": 1}}],
            errors=(400, *_AUTH, 404, 503), ok_status="202")},
        "/v1/batch/runs": {"post": _op("Start a batch job", _ok("started", empty),
                                       body=ref("BatchJob"),
                                       errors=(400, *_AUTH, 404, 413, 503),
                                       ok_status="202")},
        "/v1/batch/runs/{run}": {"get": _op(
            "A batch run's record", _ok("run", empty),
            params=[{"name": "run", "in": "path", "required": True,
                     "schema": {"type": "string", "minLength": 1}}],
            errors=(*_AUTH, 404, 503))},
        "/metrics": {"get": {
            "summary": "Prometheus metrics (open unless a metrics token is set)",
            "security": [{}, {"bearer": []}],
            "responses": {"200": {"description": "text format", "content": {
                "text/plain": {"schema": {"type": "string"}}}}, **_errors(*_AUTH)}}},
    }


def _file_param(example: str, **schema: Any) -> dict[str, Any]:
    return {"name": "file", "in": "path", "required": True, "example": example,
            "schema": {"type": "string", "minLength": 1, **schema}}


def _edge_paths() -> dict[str, Any]:
    html = {"description": "page", "content": {"text/html": {"schema": {"type": "string"}}}}
    bundle = {"description": "file", "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    ref_param = {**_MODEL, "name": "ref"}
    bundle_file = _file_param("manifest.json", enum=["manifest.json", "model.onnx"])
    return {
        "/edge": {"get": _op("Models to run in the browser (without a token, a browser "
                             "gets a 401 page pointing to the console)", html,
                             errors=_AUTH)},
        "/edge/{ref}": {"get": _op("The page that runs a version in the browser", html,
                                   params=[ref_param], errors=(400, 404, 503),
                                   secured=False)},
        "/edge/{ref}/bundle/{file}": {"get": _op(
            "A web bundle file (manifest.json or model.onnx)", bundle,
            params=[ref_param, bundle_file], errors=(400, *_AUTH, 404, 503))},
        "/edge/_/static/{file}": {"get": _op("The edge page's scripts and styles", _FILE,
                                             params=[_file_param("edge.css")],
                                             errors=(404,), secured=False)},
        "/edge/_/ort/{file}": {"get": _op("onnxruntime-web", _FILE,
                                          params=[_file_param("ort.wasm.min.mjs")],
                                          errors=(404, 503), secured=False)},
    }


def _console_paths() -> dict[str, Any]:
    """The web console's files and the JSON its pages read (see :mod:`augur.console`)."""
    obj = {"type": "object"}
    name = {**_NAME_ONLY, "name": "name"}
    run = {"name": "run", "in": "path", "required": True,
           "schema": {"type": "string", "minLength": 1}}
    api = "/console/api"
    return {
        "/console/static/{file}": {"get": _op(
            "The console's scripts and styles", _FILE, errors=(404,), secured=False,
            params=[_file_param("app.mjs")])},
        "/console/vendor/{file}": {"get": _op(
            "The npm files the console uses", _FILE, errors=(404,), secured=False,
            params=[_file_param("uPlot.esm.js")])},
        f"{api}/info": {"get": _op("What this server and token allow",
                                   _ok("info", obj), errors=(), secured=False)},
        f"{api}/models": {"get": _op(
            "Models, searched and paginated", _ok("models", obj), errors=(400, *_AUTH),
            params=[_query("q", {"type": "string", "maxLength": MAX_CONSOLE_QUERY,
                                 "pattern": r"^\s*[^\x00-\x1f\x7f]*\s*$"}),
                    # whole numbers, empty meaning the default (1 and 50)
                    _query("page", {"type": "string",
                                    "pattern": "^([1-9][0-9]{0,5}|1000000)?$"}),
                    _query("per_page", {"type": "string",
                                        "pattern": "^([1-9][0-9]?|1[0-9][0-9]|200)?$"})])},
        f"{api}/models/{{name}}": {"get": _op("One model, its versions and aliases",
                                              _ok("model", obj), params=[name])},
        f"{api}/models/{{name}}/aliases/{{alias}}": {"post": _op(
            "Move an alias in the registry", _ok("moved", ref("AliasMove")),
            params=[name, _ALIAS], body=ref("AliasMoveRequest"),
            errors=(400, *_AUTH, 404, 409, 413))},
        f"{api}/models/{{name}}/aliases/{{alias}}/rollback": {"post": _op(
            "Move an alias one step back", _ok("moved", ref("AliasMove")),
            params=[name, _ALIAS], errors=(400, *_AUTH, 404, 413))},
        f"{api}/batch/runs": {
            "get": _op("Batch runs", _ok("runs", obj), errors=_AUTH),
            "post": _op("Start a batch run", _ok("started", obj), ok_status="202",
                        body=ref("ConsoleBatchJob"), errors=(400, *_AUTH, 404, 413))},
        f"{api}/batch/runs/{{run}}": {"get": _op("A batch run", _ok("run", obj),
                                                 params=[run], errors=(*_AUTH, 404))},
        f"{api}/batch/runs/{{run}}/resume": {"post": _op(
            "Resume a stopped run", _ok("resumed", obj), ok_status="202", params=[run],
            errors=(400, *_AUTH, 404, 413))},
        f"{api}/batch/schedules": {"get": _op("Batch schedules", _ok("schedules", obj),
                                              errors=_AUTH)},
        f"{api}/features": {"get": _op("Feature views and their freshness",
                                       _ok("features", obj), errors=(*_AUTH, 503))},
    }


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of augur's REST API."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "augur", "version": augur.__version__,
                 "description": "Open Inference Protocol v2, KServe v1 and augur's own "
                                "routes. Errors are always {\"error\": \"...\"} (readiness "
                                "probes answer 503 with their usual body)."},
        "paths": {**_protocol_paths(), **_control_paths(), **_edge_paths(),
                  **_console_paths()},
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": SCHEMAS},
    }
