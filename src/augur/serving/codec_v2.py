"""Open Inference Protocol v2 over HTTP: JSON bodies and the binary tensor extension.

With the binary extension the body is a JSON header of
``Inference-Header-Content-Length`` bytes followed by raw tensors in input
order, each announced by its ``binary_data_size`` parameter; ``BYTES`` elements
are each a 4-byte little-endian length and the bytes.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

from augur.errors import InvalidInput
from augur.serving.types import InferenceRequest, InferenceResponse, RequestInput, RequestOutput
from augur.signature import V2_TO_NUMPY

_LEN = struct.Struct("<I")
_NO_BINARY = memoryview(b"")
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def decode_request(body: bytes, header_length: int | None = None) -> InferenceRequest:
    """Decode a v2 inference request body.

    Args:
        body: the whole HTTP body.
        header_length: the ``Inference-Header-Content-Length`` header, if sent.

    Raises:
        InvalidInput: malformed JSON, a missing field, data that does not fill
            its shape, or binary sizes that disagree with the body.
    """
    if header_length is None:
        header, binary = body, _NO_BINARY
    else:
        if not 0 < header_length <= len(body):
            raise InvalidInput(f"Inference-Header-Content-Length is {header_length} but the "
                               f"body has {len(body)} bytes")
        header, binary = body[:header_length], memoryview(body)[header_length:]
    try:
        doc = orjson.loads(header)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON in the request body: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("the request body must be a JSON object with \"inputs\"")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidInput('"inputs" must be a non-empty list of tensors')
    inputs: list[RequestInput] = []
    offset = 0
    for i, item in enumerate(raw_inputs):
        tensor, offset = _decode_input(item, i, binary, offset)
        inputs.append(tensor)
    if offset != len(binary):
        raise InvalidInput(f"the binary part of the body has {len(binary)} bytes but the "
                           f"inputs' binary_data_size values add up to {offset}")
    parameters = doc.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput('"parameters" must be an object')
    request_id = doc.get("id")
    return InferenceRequest(inputs, _decode_outputs(doc.get("outputs")),
                            id=str(request_id) if request_id is not None else None,
                            parameters=parameters)


def _decode_input(item: Any, i: int, binary: memoryview, offset: int) -> tuple[RequestInput, int]:
    # Hot path: exact type checks and one pass over the shape.
    if type(item) is not dict:
        raise InvalidInput(f"input {i} must be an object with name, datatype, shape and data")
    name = item.get("name")
    datatype = item.get("datatype")
    shape = item.get("shape")
    if type(name) is not str or not name:
        raise InvalidInput(f'input {i} has no "name"')
    if type(datatype) is not str or datatype not in V2_TO_NUMPY:
        raise InvalidInput(f"input {name!r}: unknown datatype {datatype!r}; expected one of "
                           f"{', '.join(V2_TO_NUMPY)}")
    if type(shape) is not list:
        raise InvalidInput(f'input {name!r}: "shape" must be a list of non-negative integers, '
                           f"got {shape!r}")
    count = 1
    for dim in shape:
        if type(dim) is not int or dim < 0:
            raise InvalidInput(f'input {name!r}: "shape" must be a list of non-negative '
                               f"integers, got {shape!r}")
        count *= dim
    params = item.get("parameters")
    if params:
        if type(params) is not dict:
            raise InvalidInput(f'input {name!r}: "parameters" must be an object')
        size = params.get("binary_data_size")
    else:
        params, size = {}, None
    if size is not None:
        if type(size) is not int or size < 0:
            raise InvalidInput(f"input {name!r}: binary_data_size must be a byte count")
        if offset + size > len(binary):
            raise InvalidInput(f"input {name!r}: binary_data_size {size} runs past the end of "
                               f"the body ({len(binary) - offset} bytes left)")
        arr = _from_binary(name, datatype, binary[offset:offset + size], count)
        offset += size
    else:
        data = item.get("data", _MISSING)
        if data is _MISSING:
            raise InvalidInput(f'input {name!r} has neither "data" nor binary_data_size')
        arr = _from_json(name, datatype, data, count)
    dims = tuple(shape)
    if arr.shape != dims:
        arr = arr.reshape(dims)
    return RequestInput(name, datatype, shape, arr, params), offset


_MISSING = object()
#: numeric dtypes orjson prints as they are (native byte order; float16 is not one)
_AS_IS = frozenset(np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64,
                                         np.uint8, np.uint16, np.uint32, np.uint64,
                                         np.float32, np.float64))


def _from_json(name: str, datatype: str, data: Any, count: int) -> np.ndarray:
    try:
        if datatype == "BYTES":
            arr = np.array(data, dtype=object).reshape(-1)
            if not all(isinstance(v, str | bytes) for v in arr):
                raise InvalidInput(f"input {name!r}: BYTES data must be strings")
        else:
            arr = np.array(data, dtype=V2_TO_NUMPY[datatype])
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput(f"input {name!r}: data is not {datatype}: {exc}") from None
    if arr.size != count:
        raise InvalidInput(f"input {name!r}: shape needs {count} values, data has {arr.size}")
    return arr


def _from_binary(name: str, datatype: str, chunk: memoryview, count: int) -> np.ndarray:
    if datatype != "BYTES":
        dtype = V2_TO_NUMPY[datatype]
        if len(chunk) != count * dtype.itemsize:
            raise InvalidInput(f"input {name!r}: binary_data_size is {len(chunk)} bytes but "
                               f"shape x {datatype} needs {count * dtype.itemsize}")
        return np.frombuffer(chunk, dtype=dtype)
    out = np.empty(count, dtype=object)
    pos = 0
    for k in range(count):
        if pos + 4 > len(chunk):
            raise InvalidInput(f"input {name!r}: binary BYTES data ends after {k} of "
                               f"{count} elements")
        (n,) = _LEN.unpack_from(chunk, pos)
        pos += 4
        if pos + n > len(chunk):
            raise InvalidInput(f"input {name!r}: element {k} of the binary BYTES data runs "
                               "past its binary_data_size")
        out[k] = bytes(chunk[pos:pos + n]).decode("utf-8", errors="replace")
        pos += n
    if pos != len(chunk):
        raise InvalidInput(f"input {name!r}: {len(chunk) - pos} bytes left over after "
                           f"{count} BYTES elements")
    return out


def _decode_outputs(raw: Any) -> list[RequestOutput] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidInput('"outputs" must be a list')
    outputs = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInput('each of "outputs" must be an object with a "name"')
        params = item.get("parameters") or {}
        if not isinstance(params, dict):
            raise InvalidInput(f'output {item["name"]!r}: "parameters" must be an object')
        outputs.append(RequestOutput(item["name"], bool(params.get("binary_data")), params))
    return outputs or None


def encode_response(response: InferenceResponse) -> tuple[bytes, int | None]:
    """Encode a response; return the body and, with binary outputs, the JSON length."""
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for out in response.outputs:
        entry: dict[str, Any] = {"name": out.name, "datatype": out.datatype, "shape": out.shape}
        if out.binary_data:
            raw = _to_binary(out.data)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = _to_json_data(out.data)
        outputs.append(entry)
    doc: dict[str, Any] = {"model_name": response.model_name,
                           "model_version": response.model_version, "outputs": outputs}
    if response.id is not None:
        doc["id"] = response.id
    if response.parameters:
        doc["parameters"] = response.parameters
    header = orjson.dumps(doc, option=_JSON_OPTIONS)
    if chunks:
        return header + b"".join(chunks), len(header)
    return header, None


def _to_json_data(arr: np.ndarray) -> Any:
    if arr.dtype in _AS_IS:  # the common case: orjson prints a flat view as it is
        return arr.reshape(-1)
    if arr.dtype.kind in "OUS":
        return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
                for v in arr.reshape(-1)]
    flat = arr.reshape(-1)
    if (flat.dtype.kind == "f" and flat.dtype.itemsize == 2) or not flat.dtype.isnative:
        return flat.astype(np.float64 if flat.dtype.kind == "f" else flat.dtype.newbyteorder(
            "=")).tolist()
    return np.ascontiguousarray(flat)


def _to_binary(arr: np.ndarray) -> bytes:
    if arr.dtype.kind not in "OUS":
        return np.ascontiguousarray(arr).tobytes()
    parts = []
    for v in arr.reshape(-1):
        raw = v if isinstance(v, bytes) else str(v).encode()
        parts.append(_LEN.pack(len(raw)))
        parts.append(raw)
    return b"".join(parts)
