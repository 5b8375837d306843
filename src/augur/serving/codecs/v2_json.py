"""Open Inference Protocol v2 over HTTP: JSON bodies and the binary tensor extension.

With the binary extension the body is a JSON header of
``Inference-Header-Content-Length`` bytes followed by raw tensors in input
order, each announced by its ``binary_data_size`` parameter; ``BYTES`` elements
are each a 4-byte little-endian length and the bytes.

Every element count a request declares is checked against the bytes it sent
before anything is allocated (an element takes at least one byte of a JSON or
binary body, and four of a binary ``BYTES`` tensor), so a 100-byte request cannot
make the server allocate for a billion elements. JSON data must be of its
declared datatype: no strings, nulls or booleans among numbers, no fractions in
integer tensors, nothing beyond the type's range.
"""

from __future__ import annotations

import functools
import struct
from typing import Any

import numpy as np
import orjson

from augur.errors import InvalidInput
from augur.serving.codecs import json_fields
from augur.serving.types import InferenceRequest, InferenceResponse, RequestInput, RequestOutput
from augur.signature import V2_TO_NUMPY, v2_datatype

_LEN = struct.Struct("<I")
_NO_BINARY = memoryview(b"")
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
#: Most input tensors one request may carry.
MAX_INPUTS = 4096
#: numpy kinds JSON data may arrive as, per target kind (ints are fine for floats).
_JSON_KINDS = {"f": "fiu", "i": "iu", "u": "iu", "b": "b"}
#: Python types a flat JSON list may hold, per target kind (the fast path).
_FLAT_TYPES = {"f": frozenset((float, int)), "i": frozenset((int,)), "u": frozenset((int,)),
               "b": frozenset((bool,))}


def decode_request(body: bytes, header_length: int | None = None) -> InferenceRequest:
    """Decode a v2 inference request body.

    Args:
        body: the whole HTTP body.
        header_length: the ``Inference-Header-Content-Length`` header, if sent.

    Raises:
        InvalidInput: malformed JSON, a missing field, data of another datatype or
            that does not fill its shape, or sizes that disagree with the body.
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
    if type(doc) is not dict:
        raise InvalidInput('the request body must be a JSON object with "inputs"')
    raw_inputs = doc.get("inputs")
    if type(raw_inputs) is not list or not raw_inputs:
        hint = (' (this is a plain JSON body: POST it to /v1/models/{model}:predict)'
                if "instances" in doc else "")
        raise InvalidInput(f'"inputs" must be a non-empty list of tensors{hint}')
    if len(raw_inputs) > MAX_INPUTS:
        raise InvalidInput(f"the request has {len(raw_inputs)} inputs; at most {MAX_INPUTS}")
    inputs: list[RequestInput] = []
    offset = 0
    budget = len(body)
    check_bools = b"true" in header or b"false" in header
    for i, item in enumerate(raw_inputs):
        tensor, offset = _decode_input(item, i, binary, offset, budget, check_bools)
        inputs.append(tensor)
    if offset != len(binary):
        raise InvalidInput(f"the binary part of the body has {len(binary)} bytes but the "
                           f"inputs' binary_data_size values add up to {offset}")
    parameters = json_fields.parameters(doc.get("parameters"))
    return InferenceRequest(inputs, _decode_outputs(doc.get("outputs")),
                            id=json_fields.request_id(doc.get("id")),
                            parameters=parameters, timeout=timeout_seconds(parameters))


def timeout_seconds(parameters: dict[str, Any]) -> float | None:
    """The request parameter ``timeout`` (microseconds, as in Triton) in seconds.

    Raises:
        InvalidInput: it is not a positive number.
    """
    if not parameters or "timeout" not in parameters:
        return None
    value = parameters["timeout"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidInput(f'parameter "timeout" must be a positive number of microseconds, '
                           f"got {value!r}")
    return float(value) / 1e6


def _decode_input(item: Any, i: int, binary: memoryview, offset: int, budget: int,
                  check_bools: bool) -> tuple[RequestInput, int]:
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
    if count > budget:
        raise InvalidInput(f"input {name!r}: shape {shape} declares {count} elements, more "
                           f"than the {budget}-byte body can hold")
    params = item.get("parameters")
    if params is None:
        params, size = {}, None
    else:
        if type(params) is not dict:
            raise InvalidInput(f'input {name!r}: "parameters" must be an object')
        size = params.get("binary_data_size")
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
        arr = _from_json(name, datatype, data, count, check_bools)
    dims = tuple(shape)
    if arr.shape != dims:
        arr = arr.reshape(dims)
    return RequestInput(name, datatype, shape, arr, params), offset


_MISSING = object()
#: numeric dtypes orjson prints as they are (native byte order; float16 is not one)
_AS_IS = frozenset(np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64,
                                         np.uint8, np.uint16, np.uint32, np.uint64,
                                         np.float32, np.float64))


def _has_bool(data: Any) -> bool:
    if type(data) is list:
        return any(_has_bool(v) for v in data)
    return type(data) is bool


def _from_json(name: str, datatype: str, data: Any, count: int, check_bools: bool) -> np.ndarray:
    want = V2_TO_NUMPY[datatype]
    if datatype == "BYTES":
        try:
            arr = np.array(data, dtype=object).reshape(-1)
        except ValueError as exc:
            raise InvalidInput(f"input {name!r}: data is not BYTES: {exc}") from None
        if not all(type(v) is str for v in arr):
            raise InvalidInput(f"input {name!r}: BYTES data must be strings")
    elif type(data) is list and set(map(type, data)) <= _FLAT_TYPES[want.kind]:
        # the common case, a flat list of plain numbers: range-checked in C, one conversion
        if data and want.kind != "b" and want.itemsize < 8:
            _check_range(name, datatype, want, min(data), max(data))
        try:
            arr = np.array(data, dtype=want)
        except OverflowError as exc:  # uint64/int64 beyond their range
            raise InvalidInput(f"input {name!r}: a value is out of the range of {datatype}: "
                               f"{exc}") from None
    else:
        try:
            arr = np.array(data)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidInput(f"input {name!r}: data is not {datatype}: {exc}") from None
        if not arr.size:  # [] has no type of its own
            arr = arr.astype(want)
        elif arr.dtype.kind == "O" and want.kind == "f":
            arr = _nulls_as_nan(name, datatype, arr)
        if arr.dtype.kind not in _JSON_KINDS[want.kind]:
            raise InvalidInput(f"input {name!r}: data is not {datatype}: found "
                               f"{_kind_name(arr)} values")
        if want.kind != "b" and check_bools and _has_bool(data):
            raise InvalidInput(f"input {name!r}: data is not {datatype}: found booleans")
        if arr.dtype != want:
            arr = _narrow(name, datatype, arr, want)
    if arr.size != count:
        raise InvalidInput(f"input {name!r}: shape needs {count} values, data has {arr.size}")
    return arr


def _nulls_as_nan(name: str, datatype: str, arr: np.ndarray) -> np.ndarray:
    """JSON numbers with nulls (missing values, as JSON has no NaN) as float64 with NaN;
    the signature then decides whether NaN is allowed there."""
    flat = arr.reshape(-1)
    for value in flat:
        if value is not None and (type(value) is bool or not isinstance(value, int | float)):
            raise InvalidInput(f"input {name!r}: data is not {datatype}: found "
                               f"{type(value).__name__} values")
    return np.array([np.nan if v is None else v for v in flat],
                    dtype=np.float64).reshape(arr.shape)


def _kind_name(arr: np.ndarray) -> str:
    kind = arr.dtype.kind
    if kind == "O":
        return "null or mixed-type"
    return {"U": "string", "S": "string", "f": "fractional", "b": "boolean"}.get(kind, str(
        arr.dtype))


def _check_range(name: str, datatype: str, want: np.dtype[Any], low: float,
                 high: float) -> None:
    bounds = np.finfo(want) if want.kind == "f" else np.iinfo(want)
    if low < bounds.min or high > bounds.max:
        bad = low if low < bounds.min else high
        raise InvalidInput(f"input {name!r}: value {bad} is out of the range of {datatype}")


def _narrow(name: str, datatype: str, arr: np.ndarray, want: np.dtype[Any]) -> np.ndarray:
    """``arr`` (JSON numbers as int64/uint64/float64) as ``want``, refusing what does not fit."""
    if arr.size:
        if want.kind in "iu":
            info = np.iinfo(want)
            low, high = arr.min(), arr.max()
            if low < info.min or high > info.max:
                bad = low if low < info.min else high
                raise InvalidInput(f"input {name!r}: value {bad} is out of the range of "
                                   f"{datatype}")
        elif want.kind == "f" and want.itemsize < arr.dtype.itemsize:
            peak = float(np.abs(arr).max())
            if peak > float(np.finfo(want).max):
                raise InvalidInput(f"input {name!r}: value {peak:g} is out of the range of "
                                   f"{datatype}")
    return arr.astype(want)


def _from_binary(name: str, datatype: str, chunk: memoryview, count: int) -> np.ndarray:
    if datatype != "BYTES":
        dtype = V2_TO_NUMPY[datatype]
        if len(chunk) != count * dtype.itemsize:
            raise InvalidInput(f"input {name!r}: binary_data_size is {len(chunk)} bytes but "
                               f"shape x {datatype} needs {count * dtype.itemsize}")
        return np.frombuffer(chunk, dtype=dtype)
    if count * _LEN.size > len(chunk):  # before allocating: each element has a length prefix
        raise InvalidInput(f"input {name!r}: {count} BYTES elements need at least "
                           f"{count * _LEN.size} bytes, binary_data_size is {len(chunk)}")
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
    if type(raw) is not list:
        raise InvalidInput('"outputs" must be a list')
    if len(raw) > MAX_INPUTS:
        raise InvalidInput(f'"outputs" names {len(raw)} outputs; at most {MAX_INPUTS}')
    outputs = []
    for item in raw:
        if type(item) is not dict or type(item.get("name")) is not str:
            raise InvalidInput('each of "outputs" must be an object with a "name"')
        params = json_fields.parameters(item.get("parameters"),
                                        f'output {item["name"]!r}: "parameters"')
        outputs.append(RequestOutput(item["name"], params))
    return outputs or None


@functools.lru_cache(maxsize=64)
def datatype_of(dtype: np.dtype[Any]) -> str:
    """The v2 datatype of an output's dtype (remembered: a dict hit per output)."""
    return v2_datatype(dtype)


def _binary_outputs(request: InferenceRequest | None) -> bool | set[str]:
    """Which outputs go in the binary extension: all, some by name, or none."""
    if request is None:
        return False
    if request.parameters and request.parameters.get("binary_data_output") is True:
        return True
    if request.outputs:
        return {o.name for o in request.outputs if o.parameters.get("binary_data") is True}
    return False


def encode_response(response: InferenceResponse,
                    request: InferenceRequest | None = None) -> tuple[bytes, int | None]:
    """Encode a response; return the body and, with binary outputs, the JSON length.

    Args:
        response: what the data plane answered.
        request: the request it answers, whose ``binary_data_output`` parameter and
            per-output ``binary_data`` flags choose the binary extension.
    """
    binary = _binary_outputs(request)
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for out in response.outputs:
        arr = out.data
        entry: dict[str, Any] = {"name": out.name, "datatype": datatype_of(arr.dtype),
                                 "shape": list(arr.shape)}
        if binary is True or (binary and out.name in binary):
            raw = _to_binary(arr)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = _to_json_data(arr)
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
