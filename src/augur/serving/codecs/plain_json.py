"""The plain JSON endpoint's codec: ``{"instances": [...]}`` in, ``{"predictions": [...]}`` out.

Each instance is a record (``{"sepal_length": 5.1, ...}``, by the model's column
names) or a positional row (``[5.1, 3.5, 1.4, 0.2]``) for a single-input model; the
data plane converts them by the version's signature (JSON numbers become the
column's type; a record may carry extra fields such as a hybrid ``key`` or entity
keys of a feature-bound model). The answer holds one prediction per row: the value
of a one-output model, else an object of output name to value; float32 outputs
are printed at float32 precision.
"""

from __future__ import annotations

from typing import Any

import orjson

from augur.errors import InvalidInput
from augur.serving.codecs import json_fields
from augur.serving.types import InferenceRequest, InferenceResponse

#: Most rows one request may carry (a row takes at least two bytes of JSON anyway).
MAX_INSTANCES = 1 << 20


def decode_request(body: bytes) -> InferenceRequest:
    """Decode ``{"instances": [...]}`` (and an optional ``"id"`` and ``"parameters"``).

    Raises:
        InvalidInput: malformed JSON, or no non-empty list of instances.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON in the request body: {exc}") from None
    if type(doc) is not dict or "instances" not in doc:
        hint = (" (this is an Open Inference Protocol v2 body: POST it to "
                "/v2/models/{model}/infer)") if type(doc) is dict and "inputs" in doc else ""
        raise InvalidInput(f'the body must be {{"instances": [...]}} (rows or records){hint}')
    instances = doc["instances"]
    if type(instances) is not list or not instances:
        raise InvalidInput('"instances" must be a non-empty list of rows or records')
    if len(instances) > MAX_INSTANCES:
        raise InvalidInput(f'"instances" has {len(instances)} rows; at most {MAX_INSTANCES}')
    return InferenceRequest([], id=json_fields.request_id(doc.get("id")),
                            parameters=json_fields.parameters(doc.get("parameters")),
                            instances=instances)


def encode_response(response: InferenceResponse) -> bytes:
    """``{"predictions": [...], "model_name", "model_version"}`` (plus ``id`` and
    ``parameters`` when set)."""
    columns: dict[str, Any] = {}
    for out in response.outputs:
        arr = out.data
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        # float32 stays numpy so orjson prints it at float32 precision
        columns[out.name] = arr if arr.dtype.kind == "f" else arr.tolist()
    predictions: list[Any]
    if len(columns) == 1:
        predictions = list(next(iter(columns.values())))
    else:
        n = len(next(iter(columns.values()))) if columns else 0
        predictions = [{k: v[i] for k, v in columns.items()} for i in range(n)]
    doc: dict[str, Any] = {"predictions": predictions, "model_name": response.model_name,
                           "model_version": response.model_version}
    if response.id is not None:
        doc["id"] = response.id
    if response.parameters:
        doc["parameters"] = response.parameters
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)

