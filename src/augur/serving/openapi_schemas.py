"""The bodies of the OpenAPI document (:mod:`augur.serving.openapi`): requests and
answers of every route, as JSON Schema (the OpenAPI 3.0 dialect)."""

from __future__ import annotations

from typing import Any

from augur.registry import MAX_VERSION

DATATYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32",
             "INT64", "FP16", "FP32", "FP64", "BYTES"]


def ref(name: str) -> dict[str, str]:
    """A reference to the schema ``name`` of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI ``content`` map of one ``application/json`` body."""
    return {"content": {"application/json": {"schema": schema}}}


ERROR = ref("Error")

# The rules of :mod:`augur.registry.refs` as schemas: a name is a letter or digit, then
# letters, digits, '_', '.', '-', with no '..', at most 128 characters; an alias is a name
# that is not all digits; a version a canonical decimal. Where a schema cannot say "at
# most 2^63-1" it says at most 18 digits, and a reference is at most 128 characters in
# all: narrower than the server, never wider, so what the document allows is well formed.
_NAME_CHARS = "[A-Za-z0-9][A-Za-z0-9_.-]*"
VERSION = "[1-9][0-9]{0,17}"
NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 128,
               "pattern": f"^{_NAME_CHARS}$", "not": {"pattern": r"\.\."}}
ALIAS_SCHEMA = {**NAME_SCHEMA, "not": {"anyOf": [{"pattern": r"\.\."},
                                                 {"pattern": "^[0-9]+$"}]}}
REFERENCE_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 128,
                    "pattern": f"^{_NAME_CHARS}(:{VERSION}|@{_NAME_CHARS})?$",
                    "not": {"anyOf": [{"pattern": r"\.\."}, {"pattern": "@[0-9]+$"}]}}

#: A request the example iris model answers (the document's example of an inference).
INFER_EXAMPLE = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4],
                             "data": [5.1, 3.5, 1.4, 0.2]}]}

_OBJ: dict[str, Any] = {"type": "object"}
_TEXT: dict[str, Any] = {"type": "string"}
# The protocol's parameters hold text, numbers and booleans; augur reads the ones it
# knows (binary_data, binary_data_size, timeout, ...) and ignores the rest.
_PARAMETERS: dict[str, Any] = {"type": "object", "nullable": True}
_ID: dict[str, Any] = {"type": "string", "nullable": True}
_SHAPE = {"type": "array", "maxItems": 8, "items": {"type": "integer", "minimum": 0}}
_MODEL_REF = REFERENCE_SCHEMA
# a JSON integer beyond 64 bits is read as a float, which is not a count
_COUNT = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}

_TENSOR_META = {"type": "object", "required": ["name", "datatype", "shape"], "properties": {
    "name": _TEXT, "datatype": {"type": "string", "enum": DATATYPES},
    "shape": {"type": "array", "items": {"type": "integer"}}}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": _TEXT}},
    "InferRequest": {"type": "object", "required": ["inputs"], "properties": {
        "id": _ID, "parameters": _PARAMETERS,
        "inputs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "datatype", "shape"], "properties": {
                "name": {"type": "string", "minLength": 1},
                "datatype": {"type": "string", "enum": DATATYPES},
                "shape": _SHAPE, "parameters": _PARAMETERS, "data": {"type": "array"}}}},
        "outputs": {"type": "array", "nullable": True, "items": {
            "type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 1}, "parameters": _PARAMETERS}}}}},
    "InferResponse": {"type": "object", "required": ["model_name", "outputs"], "properties": {
        "model_name": _TEXT, "model_version": _TEXT, "id": _TEXT, "parameters": _OBJ,
        "outputs": {"type": "array", "items": {
            "type": "object", "required": ["name", "datatype", "shape"], "properties": {
                "name": _TEXT, "datatype": {"type": "string", "enum": DATATYPES},
                "shape": _SHAPE, "parameters": _OBJ, "data": {"type": "array"}}}}}},
    "PredictRequest": {"type": "object", "required": ["instances"], "properties": {
        "instances": {"type": "array", "minItems": 1,
                      "items": {"oneOf": [{"type": "array"}, {"type": "object"}]}},
        "id": _ID, "parameters": _PARAMETERS}},
    "Predictions": {"type": "object", "required": ["predictions"], "properties": {
        "predictions": {"type": "array"}, "model_name": _TEXT, "model_version": _TEXT}},
    "ServerMetadata": {"type": "object", "required": ["name", "version", "extensions"],
                       "properties": {"name": _TEXT, "version": _TEXT,
                                      "extensions": {"type": "array", "items": _TEXT}}},
    "ModelMetadata": {"type": "object", "required": ["name", "versions", "platform",
                                                     "inputs", "outputs"], "properties": {
        "name": _TEXT, "versions": {"type": "array", "items": _TEXT}, "platform": _TEXT,
        "inputs": {"type": "array", "items": _TENSOR_META},
        "outputs": {"type": "array", "items": _TENSOR_META}, "parameters": _OBJ}},
    "ModelReady": {"type": "object", "required": ["name", "ready"], "properties": {
        "name": _TEXT, "ready": {"type": "boolean"}}},
    "ModelList": {"type": "object", "required": ["models"], "properties": {
        "models": {"type": "array", "items": _TEXT}}},
    "RepositoryIndex": {"type": "array", "items": {
        "type": "object", "required": ["name", "version", "state"], "properties": {
            "name": _TEXT, "version": _TEXT,
            "state": {"type": "string", "enum": ["READY", "UNAVAILABLE"]},
            "reason": _TEXT}}},
    "AdminModels": {"type": "object", "required": ["loaded", "failures", "traffic"],
                    "properties": {"loaded": {"type": "array", "items": _OBJ},
                                   "failures": {"type": "array", "items": _OBJ},
                                   "traffic": _OBJ, "memory_bytes": {"type": "integer"}}},
    "AliasMoveRequest": {"type": "object", "required": ["version"], "properties": {
        "version": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
        "force": {"type": "boolean"}}},
    "AliasMove": {"type": "object", "required": ["model", "alias", "version"], "properties": {
        "model": _TEXT, "alias": _TEXT, "version": {"type": "integer"},
        "previous": {"type": "integer", "nullable": True}}},
    "TrafficRequest": {"type": "object", "additionalProperties": False, "properties": {
        "canary": {**_MODEL_REF, "nullable": True},
        "canary_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "shadow": {**_MODEL_REF, "nullable": True}}},
    "Traffic": {"type": "object", "required": ["canary", "canary_percent", "shadow"],
                "properties": {"canary": {"type": "string", "nullable": True},
                               "canary_percent": {"type": "number"},
                               "shadow": {"type": "string", "nullable": True}}},
    "ConsoleBatchJob": {"type": "object", "required": ["ref", "input", "key"],
                        "additionalProperties": False, "properties": {
        "ref": _MODEL_REF, "input": {"type": "string", "pattern": r"\S"},
        "key": {"type": "string", "pattern": r"\S"},
        "output": {"type": "string", "nullable": True}, "chunk_size": _COUNT}},
    "BatchJob": {"type": "object", "required": ["ref", "input", "key"],
                 "additionalProperties": False, "properties": {
        "ref": _MODEL_REF, "input": {"type": "string", "minLength": 1},
        "key": {"type": "string", "pattern": r"\S"},
        "output": {"type": "string", "nullable": True},
        "chunk_size": _COUNT, "engine": {"type": "string", "enum": ["local", "ray"]},
        "ray_address": {"type": "string", "nullable": True},
        "fail_fast": {"type": "boolean"}, "workers": _COUNT,
        "ray_cpus": {**_COUNT, "nullable": True}, "ray_actors": _COUNT}},
}
