"""Codec between Open Inference Protocol gRPC messages and augur's inference types.

Decoding turns a ``ModelInferRequest`` (typed ``contents`` or ``raw_input_contents``)
into an :class:`~augur.serving.types.InferenceRequest` of numpy arrays, checking
every size against the declared datatype and shape before anything is allocated
(an element takes at least one byte of raw contents, four of a raw ``BYTES``
tensor), so that no malformed message reaches a model or the server's memory.
Encoding turns an :class:`~augur.serving.types.InferenceResponse` back into a
``ModelInferResponse``, raw when the request came raw. The caller's deadline and
Triton's ``timeout`` parameter (microseconds) become the request's ``timeout``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from augur.errors import InvalidInput
from augur.serving.codecs.v2_json import MAX_INPUTS, datatype_of, timeout_seconds
from augur.serving.proto import grpc_predict_v2_pb2 as pb
from augur.serving.types import InferenceRequest, InferenceResponse, RequestInput, RequestOutput
from augur.signature import V2_TO_NUMPY

# v2 datatype -> the InferTensorContents field that carries it (FP16 travels raw only).
CONTENTS_FIELD: dict[str, str] = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
# Little-endian wire dtypes for raw contents.
_RAW_DTYPE: dict[str, np.dtype[Any]] = {
    name: dtype.newbyteorder("<") for name, dtype in V2_TO_NUMPY.items() if name != "BYTES"
}
_LENGTH = struct.Struct("<I")
# More elements than this in one tensor is refused before anything is allocated.
MAX_ELEMENTS = 1 << 31


def _shape(name: str, dims: Iterable[int]) -> list[int]:
    shape = list(dims)
    if min(shape, default=0) < 0:
        raise InvalidInput(f"input {name!r}: shape {shape} has a negative dimension")
    if math.prod(shape) > MAX_ELEMENTS:
        raise InvalidInput(f"input {name!r}: shape {shape} has too many elements")
    return shape


def _datatype(name: str, datatype: str) -> str:
    if datatype not in V2_TO_NUMPY:
        known = ", ".join(V2_TO_NUMPY)
        raise InvalidInput(f"input {name!r}: unknown datatype {datatype!r}; expected one of {known}")
    return datatype


def _text(name: str, index: int, data: bytes) -> str:
    # ONNX Runtime takes string tensors as Python str: BYTES elements must be UTF-8.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"input {name!r}: BYTES element {index} is not UTF-8 text "
                           f"({exc.reason} at byte {exc.start})") from None


def decode_raw_bytes(name: str, raw: bytes, count: int) -> np.ndarray:
    """Split a raw BYTES tensor (4-byte little-endian length, then the bytes) into str elements.

    Raises:
        InvalidInput: a length runs past the end, the element count differs from
            ``count``, or an element is not UTF-8.
    """
    if count * _LENGTH.size > len(raw):  # before allocating: each element has a length prefix
        raise InvalidInput(f"input {name!r}: {count} BYTES elements need at least "
                           f"{count * _LENGTH.size} bytes, raw contents hold {len(raw)}")
    out = np.empty(count, dtype=object)
    view = memoryview(raw)
    pos, i, end = 0, 0, len(raw)
    while pos < end:
        if pos + 4 > end:
            raise InvalidInput(f"input {name!r}: raw BYTES data ends inside a length prefix")
        (length,) = _LENGTH.unpack_from(view, pos)
        pos += 4
        if pos + length > end:
            raise InvalidInput(f"input {name!r}: raw BYTES element {i} claims {length} bytes, "
                               f"only {end - pos} left")
        if i >= count:
            raise InvalidInput(f"input {name!r}: raw BYTES data holds more than the {count} "
                               "element(s) its shape declares")
        out[i] = _text(name, i, bytes(view[pos:pos + length]))
        pos += length
        i += 1
    if i != count:
        raise InvalidInput(f"input {name!r}: raw BYTES data holds {i} element(s), "
                           f"its shape declares {count}")
    return out


def encode_raw_bytes(array: np.ndarray) -> bytes:
    """Serialize a BYTES tensor as length-prefixed elements (str is sent as UTF-8)."""
    parts: list[bytes] = []
    for item in array.ravel():
        data = item.encode() if isinstance(item, str) else bytes(item)
        parts.append(_LENGTH.pack(len(data)))
        parts.append(data)
    return b"".join(parts)


def _from_raw(name: str, datatype: str, shape: list[int], raw: bytes) -> np.ndarray:
    count = math.prod(shape)
    if datatype == "BYTES":
        return decode_raw_bytes(name, raw, count).reshape(shape)
    dtype = _RAW_DTYPE[datatype]
    expected = count * dtype.itemsize
    if len(raw) != expected:
        raise InvalidInput(f"input {name!r}: raw contents hold {len(raw)} bytes, shape {shape} "
                           f"of {datatype} needs {expected}")
    arr = np.frombuffer(raw, dtype=dtype)
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr.reshape(shape)


def _from_contents(name: str, datatype: str, shape: list[int],
                   contents: pb.InferTensorContents) -> np.ndarray:
    field = CONTENTS_FIELD.get(datatype)
    if field is None:
        raise InvalidInput(f"input {name!r}: {datatype} has no typed contents field; "
                           "send it in raw_input_contents")
    for other in set(CONTENTS_FIELD.values()) - {field}:
        if len(getattr(contents, other)):
            raise InvalidInput(f"input {name!r}: datatype {datatype} goes in {field}, "
                               f"got data in {other}")
    values = getattr(contents, field)
    count = math.prod(shape)
    if len(values) != count:
        raise InvalidInput(f"input {name!r}: {len(values)} value(s) in {field}, "
                           f"shape {shape} needs {count}")
    if datatype == "BYTES":
        arr = np.empty(count, dtype=object)
        arr[:] = [_text(name, i, v) for i, v in enumerate(values)]
        return arr.reshape(shape)
    try:
        return np.array(values, dtype=V2_TO_NUMPY[datatype]).reshape(shape)
    except OverflowError as exc:  # e.g. 300 in int_contents for INT8
        raise InvalidInput(f"input {name!r}: a value does not fit {datatype}") from exc


def parameters_to_dict(params: Mapping[str, pb.InferParameter]) -> dict[str, Any]:
    """Turn a protobuf parameter map into plain Python values."""
    out: dict[str, Any] = {}
    if not params:
        return out
    for key, param in params.items():
        choice = param.WhichOneof("parameter_choice")
        out[key] = getattr(param, choice) if choice else None
    return out


def set_parameters(target: Any, params: Mapping[str, Any]) -> None:
    """Write plain Python values into a protobuf parameter map (others are sent as text)."""
    for key, value in params.items():
        param = target[key]
        if isinstance(value, bool | np.bool_):
            param.bool_param = bool(value)
        elif isinstance(value, int | np.integer):
            param.int64_param = int(value)
        elif isinstance(value, float | np.floating):
            param.double_param = float(value)
        else:
            param.string_param = str(value)


def decode_request(msg: pb.ModelInferRequest,
                   deadline: float | None = None) -> InferenceRequest:
    """Decode a gRPC inference request into numpy inputs.

    Args:
        msg: the request message.
        deadline: seconds left before the caller's deadline, if it set one; it bounds
            the wait unless the request's ``timeout`` parameter says otherwise.

    Raises:
        InvalidInput: an unknown datatype, a negative or huge shape, data whose size
            disagrees with the shape, typed and raw data mixed, or a repeated name.
    """
    # Each protobuf field access costs about a microsecond: read every field once.
    tensors = msg.inputs
    raw = msg.raw_input_contents
    count = len(tensors)
    if raw and len(raw) != count:
        raise InvalidInput(f"raw_input_contents has {len(raw)} entries for "
                           f"{count} input(s); send one per input, in order")
    if not count:
        raise InvalidInput("the request has no inputs")
    if count > MAX_INPUTS:
        raise InvalidInput(f"the request has {count} inputs; at most {MAX_INPUTS}")
    inputs: list[RequestInput] = []
    for i, tensor in enumerate(tensors):
        name = tensor.name
        datatype = _datatype(name, tensor.datatype)
        shape = _shape(name, tensor.shape)
        if raw:
            if tensor.HasField("contents"):
                raise InvalidInput(f"input {name!r}: data in both contents and "
                                   "raw_input_contents; use one")
            data = _from_raw(name, datatype, shape, raw[i])
        else:
            data = _from_contents(name, datatype, shape, tensor.contents)
        params = tensor.parameters
        inputs.append(RequestInput(name, datatype, shape, data,
                                   parameters_to_dict(params) if params else {}))
    if count > 1 and len({t.name for t in inputs}) != count:
        names = [t.name for t in inputs]
        twice = next(n for n in names if names.count(n) > 1)
        raise InvalidInput(f"input {twice!r} appears more than once")
    wanted = msg.outputs
    outputs = [RequestOutput(name=o.name, parameters=parameters_to_dict(o.parameters))
               for o in wanted] if wanted else None
    params = parameters_to_dict(msg.parameters) if msg.parameters else {}
    timeout = timeout_seconds(params) if params else None
    if timeout is None and deadline is not None:
        timeout = max(deadline, 1e-6)
    return InferenceRequest(inputs=inputs, outputs=outputs, id=msg.id or None,
                            parameters=params, timeout=timeout)


def encode_response(response: InferenceResponse, *, raw: bool) -> pb.ModelInferResponse:
    """Encode an inference response; ``raw`` puts the data in ``raw_output_contents``."""
    tensors: list[pb.ModelInferResponse.InferOutputTensor] = []
    contents: list[bytes] = []
    for out in response.outputs:
        data = out.data
        datatype = datatype_of(data.dtype)
        tensor = pb.ModelInferResponse.InferOutputTensor(name=out.name, datatype=datatype,
                                                         shape=list(data.shape))
        if raw or datatype not in CONTENTS_FIELD:
            if datatype == "BYTES":
                contents.append(encode_raw_bytes(data))
            else:
                contents.append(np.ascontiguousarray(data, dtype=_RAW_DTYPE[datatype]).tobytes())
        elif datatype == "BYTES":
            tensor.contents.bytes_contents.extend(
                v.encode() if isinstance(v, str) else bytes(v) for v in data.ravel())
        else:
            getattr(tensor.contents, CONTENTS_FIELD[datatype]).extend(data.ravel().tolist())
        tensors.append(tensor)
    msg = pb.ModelInferResponse(model_name=response.model_name,
                                model_version=str(response.model_version),
                                id=response.id or "", outputs=tensors,
                                raw_output_contents=contents)
    if response.parameters:
        set_parameters(msg.parameters, response.parameters)
    return msg


def encode_model_metadata(meta: Mapping[str, Any]) -> pb.ModelMetadataResponse:
    """Encode the data plane's v2 model metadata dict."""
    msg = pb.ModelMetadataResponse(name=str(meta["name"]),
                                   versions=[str(v) for v in meta.get("versions", [])],
                                   platform=str(meta.get("platform", "")))
    for key, target in (("inputs", msg.inputs), ("outputs", msg.outputs)):
        for spec in meta.get(key, []):
            target.add(name=spec["name"], datatype=spec["datatype"],
                       shape=[int(d) for d in spec["shape"]])
    return msg


def encode_server_metadata(meta: Mapping[str, Any]) -> pb.ServerMetadataResponse:
    """Encode the data plane's v2 server metadata dict."""
    return pb.ServerMetadataResponse(name=str(meta.get("name", "")),
                                     version=str(meta.get("version", "")),
                                     extensions=[str(e) for e in meta.get("extensions", [])])
