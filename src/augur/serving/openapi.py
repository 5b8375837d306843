"""The OpenAPI 3 document of the REST API, served at ``GET /v2/openapi.json``.

It describes every route the server answers, the bodies they take and the error
body every failure shares (``{"error": "..."}``), so clients can be generated from
it and the test suite can fuzz the server from it (schemathesis).
"""

from __future__ import annotations

from typing import Any

import augur

_ERROR = {"$ref": "#/components/schemas/Error"}
_REF = {"name": "model", "in": "path", "required": True,
        "description": "model name or reference: `iris`, `iris:2`, `iris@staging`",
        "schema": {"type": "string", "minLength": 1, "maxLength": 300}}
_VERSION = {"name": "version", "in": "path", "required": True,
            "description": "a version number in ASCII digits, no leading zeros",
            "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,18}$"}}
_ALIAS = {"name": "alias", "in": "path", "required": True,
          "schema": {"type": "string", "minLength": 1, "maxLength": 128}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "malformed request", 401: "missing or unknown token",
            403: "token of another role", 404: "no such model or endpoint",
            405: "wrong method", 409: "incompatible signature", 413: "body too large",
            422: "feature unavailable", 429: "queue full, retry later",
            503: "not ready", 504: "deadline passed"}
    return {str(c): {"description": text.get(c, "error"), **_json(_ERROR)} for c in codes}


def _op(summary: str, ok: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, errors: tuple[int, ...] = (400, 401, 403, 404),
        secured: bool = True, ok_status: str = "200") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok_status: ok, **_errors(*errors)}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if not secured:
        op["security"] = []
    return op


def _model_routes(prefix: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        prefix: {"get": _op("Model metadata", {"description": "metadata",
                                               **_json({"$ref": "#/components/schemas/"
                                                                "ModelMetadata"})},
                             params=params)},
        f"{prefix}/ready": {"get": _op("Model readiness", {"description": "ready",
                                                           **_json({"type": "object"})},
                                       params=params, errors=(400, 401, 403, 404, 503))},
        f"{prefix}/infer": {"post": _op(
            "Inference (Open Inference Protocol v2)",
            {"description": "outputs", **_json({"$ref": "#/components/schemas/InferResponse"})},
            params=params, body={"$ref": "#/components/schemas/InferRequest"},
            errors=(400, 401, 403, 404, 413, 422, 429, 503, 504))},
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of augur's REST API."""
    tensor = {"type": "object", "required": ["name", "datatype", "shape"],
              "properties": {"name": {"type": "string"},
                             "datatype": {"type": "string",
                                          "enum": ["BOOL", "UINT8", "UINT16", "UINT32",
                                                   "UINT64", "INT8", "INT16", "INT32",
                                                   "INT64", "FP16", "FP32", "FP64", "BYTES"]},
                             "shape": {"type": "array", "items": {"type": "integer",
                                                                  "minimum": 0}},
                             "parameters": {"type": "object"},
                             "data": {"type": "array"}}}
    obj = {"type": "object"}
    paths: dict[str, Any] = {
        "/v2/health/live": {"get": _op("Liveness", {"description": "live",
                                                    **_json({"type": "object", "properties": {
                                                        "live": {"type": "boolean"}}})},
                                       errors=(), secured=False)},
        "/v2/health/ready": {"get": _op("Readiness", {"description": "ready",
                                                      **_json({"type": "object", "properties": {
                                                          "ready": {"type": "boolean"}}})},
                                        errors=(503,), secured=False)},
        "/v2": {"get": _op("Server metadata", {"description": "metadata", **_json(obj)},
                           errors=(401, 403))},
        "/v2/openapi.json": {"get": _op("This document", {"description": "OpenAPI 3",
                                                          **_json(obj)}, errors=(),
                                        secured=False)},
        **_model_routes("/v2/models/{model}", [_REF]),
        **_model_routes("/v2/models/{model}/versions/{version}", [_REF, _VERSION]),
        "/v1/models": {"get": _op("Model names (KServe v1)", {"description": "names",
                                                               **_json(obj)},
                                  errors=(401, 403))},
        "/v1/models/{model}": {"get": _op("Model readiness (KServe v1)",
                                          {"description": "ready", **_json(obj)},
                                          params=[_REF], errors=(400, 401, 403, 404, 503))},
        "/v1/models/{model}:predict": {"post": _op(
            "Plain JSON prediction: rows or records in, one prediction per row out",
            {"description": "predictions", **_json({"type": "object", "properties": {
                "predictions": {"type": "array"}, "model_name": {"type": "string"},
                "model_version": {"type": "string"}}})},
            params=[_REF], body={"type": "object", "required": ["instances"], "properties": {
                "instances": {"type": "array", "minItems": 1}}},
            errors=(400, 401, 403, 404, 413, 422, 429, 503, 504))},
        "/v2/repository/index": {"post": _op(
            "Every model and its state", {"description": "index", **_json(
                {"type": "array", "items": obj})},
            body={"type": "object", "properties": {"ready": {"type": "boolean"}}},
            errors=(400, 401, 403, 413))},
        "/v2/repository/models/{model}/load": {"post": _op(
            "Load and warm a model", {"description": "loaded", **_json(obj)}, params=[_REF],
            body=obj, errors=(400, 401, 403, 404, 413, 429, 503))},
        "/v2/repository/models/{model}/unload": {"post": _op(
            "Unload every version of a model", {"description": "unloaded", **_json(obj)},
            params=[_REF], body=obj, errors=(400, 401, 403, 413))},
        "/v2/admin/models": {"get": _op("Loaded versions, memory, failures, traffic",
                                        {"description": "state", **_json(obj)},
                                        errors=(401, 403))},
        "/v2/admin/models/{model}/aliases/{alias}": {"post": _op(
            "Move an alias (loaded and warmed first)", {"description": "moved", **_json(obj)},
            params=[_REF, _ALIAS],
            body={"type": "object", "required": ["version"], "properties": {
                "version": {"type": "integer", "minimum": 1},
                "force": {"type": "boolean"}}},
            errors=(400, 401, 403, 404, 409, 413, 503))},
        "/v2/admin/models/{model}/aliases/{alias}/rollback": {"post": _op(
            "Move an alias one step back through its history",
            {"description": "moved", **_json(obj)}, params=[_REF, _ALIAS],
            errors=(400, 401, 403, 404, 413, 503))},
        "/v2/admin/models/{model}/traffic": {
            "get": _op("Canary and shadow of a model", {"description": "policy",
                                                         **_json(obj)}, params=[_REF]),
            "put": _op("Set canary and shadow", {"description": "policy", **_json(obj)},
                       params=[_REF], body={"type": "object", "properties": {
                           "canary": {"type": "string", "nullable": True},
                           "canary_percent": {"type": "number", "minimum": 0,
                                              "maximum": 100},
                           "shadow": {"type": "string", "nullable": True}}},
                       errors=(400, 401, 403, 404, 413, 503))},
        "/v1/predictions/{model}/{key}": {"get": _op(
            "A stored batch prediction", {"description": "prediction", **_json(obj)},
            params=[_REF, {"name": "key", "in": "path", "required": True,
                           "schema": {"type": "string", "minLength": 1}}],
            errors=(400, 401, 403, 404, 503))},
        "/v1/batch/schedules": {"get": _op("Batch schedules", {"description": "schedules",
                                                                **_json(obj)},
                                           errors=(401, 403, 503))},
        "/v1/batch/runs": {"post": _op("Start a batch job", {"description": "started",
                                                              **_json(obj)}, body=obj,
                                       errors=(400, 401, 403, 404, 413, 503),
                                       ok_status="202")},
        "/v1/batch/runs/{run}": {"get": _op("A batch run's record",
                                            {"description": "run", **_json(obj)},
                                            params=[{"name": "run", "in": "path",
                                                     "required": True,
                                                     "schema": {"type": "string"}}],
                                            errors=(401, 403, 404, 503))},
        "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                             "responses": {"200": {"description": "text format",
                                                   "content": {"text/plain": {
                                                       "schema": {"type": "string"}}}},
                                           **_errors(401, 403)}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "augur", "version": augur.__version__,
                 "description": "Open Inference Protocol v2 and augur's own routes. Errors "
                                "are always {\"error\": \"...\"}."},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": {"type": "string"}}},
                "InferRequest": {"type": "object", "required": ["inputs"], "properties": {
                    "id": {"type": "string"}, "parameters": obj,
                    "inputs": {"type": "array", "minItems": 1, "items": tensor},
                    "outputs": {"type": "array", "items": {
                        "type": "object", "required": ["name"], "properties": {
                            "name": {"type": "string"}, "parameters": obj}}}}},
                "InferResponse": {"type": "object", "properties": {
                    "model_name": {"type": "string"}, "model_version": {"type": "string"},
                    "id": {"type": "string"}, "parameters": obj,
                    "outputs": {"type": "array", "items": tensor}}},
                "ModelMetadata": {"type": "object", "properties": {
                    "name": {"type": "string"}, "versions": {"type": "array"},
                    "platform": {"type": "string"}, "inputs": {"type": "array"},
                    "outputs": {"type": "array"}}},
            },
        },
    }
