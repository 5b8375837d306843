"""The v2 JSON codec and the binary tensor extension."""

from __future__ import annotations

import struct

import numpy as np
import orjson
import pytest

from augur.errors import InvalidInput
from augur.serving.codecs import plain_json
from augur.serving.codecs.v2_json import decode_request, encode_response
from augur.serving.types import InferenceRequest, InferenceResponse, RequestOutput, ResponseOutput


def _binary_body(header: dict[str, object], *chunks: bytes) -> tuple[bytes, int]:
    head = orjson.dumps(header)
    return head + b"".join(chunks), len(head)


def test_json_request_decodes_to_shaped_arrays() -> None:
    body = orjson.dumps({"id": "r1", "inputs": [
        {"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2], [3, 4]]},
        {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}],
        "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
        "parameters": {"timeout": 5000}})
    req = decode_request(body)
    assert req.id == "r1" and req.parameters == {"timeout": 5000}
    assert req.inputs[0].data.dtype == np.float32 and req.inputs[0].data.shape == (2, 2)
    assert req.inputs[1].data.tolist() == ["a", "b"]
    assert req.outputs is not None and req.outputs[0].parameters["binary_data"] is True


def test_binary_inputs_decode_numbers_and_strings() -> None:
    x = np.arange(6, dtype=np.float32)
    strings = b"".join(struct.pack("<I", len(s)) + s for s in (b"hi", b"there"))
    body, n = _binary_body({"inputs": [
        {"name": "x", "datatype": "FP32", "shape": [2, 3],
         "parameters": {"binary_data_size": x.nbytes}},
        {"name": "s", "datatype": "BYTES", "shape": [2],
         "parameters": {"binary_data_size": len(strings)}}]}, x.tobytes(), strings)
    req = decode_request(body, n)
    np.testing.assert_array_equal(req.inputs[0].data, x.reshape(2, 3))
    assert req.inputs[1].data.tolist() == ["hi", "there"]


@pytest.mark.parametrize(("body", "header", "message"), [
    (b"{not json", None, "malformed JSON"),
    (b"[1, 2]", None, "JSON object"),
    (b'{"inputs": []}', None, "non-empty list"),
    (b'{"inputs": [{"name": "x", "datatype": "FP99", "shape": [1], "data": [1]}]}', None,
     "unknown datatype"),
    (b'{"inputs": [{"name": "x", "datatype": {"a": 1}, "shape": [1], "data": [1]}]}', None,
     "unknown datatype"),
    (b'{"inputs": [{"name": "x", "datatype": [], "shape": [1], "data": [1]}]}', None,
     "unknown datatype"),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3]}]}',
     None, "needs 4 values"),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1], "data": [1]}]}', None,
     "non-negative"),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ["a"]}]}', None,
     "not FP32"),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}]}', None, "neither"),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]}', 500,
     "Inference-Header-Content-Length"),
    # optional fields are absent, null or of their type; nothing falsy slips through
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], '
     b'"parameters": false}', None, '"parameters" must be an object'),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], '
     b'"parameters": []}', None, '"parameters" must be an object'),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1], '
     b'"parameters": 0}]}', None, '"parameters" must be an object'),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], '
     b'"outputs": [{"name": "y", "parameters": ""}]}', None, '"parameters" must be an object'),
    (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "id": 5}',
     None, '"id" must be text'),
])
def test_bad_requests_name_the_problem(body: bytes, header: int | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_request(body, header)


def test_optional_fields_may_be_null() -> None:
    req = decode_request(b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], '
                         b'"data": [1], "parameters": null}], "id": null, "parameters": null, '
                         b'"outputs": null}')
    assert req.id is None and req.parameters == {} and req.outputs is None
    assert req.inputs[0].data.tolist() == [1.0]


def test_binary_sizes_that_disagree_with_the_body_are_rejected() -> None:
    x = np.zeros(4, dtype=np.float32).tobytes()
    header = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [4],
                          "parameters": {"binary_data_size": 16}}]}
    body, n = _binary_body(header, x[:12])
    with pytest.raises(InvalidInput, match="runs past the end"):
        decode_request(body, n)
    body, n = _binary_body(header, x + b"\0\0\0\0")
    with pytest.raises(InvalidInput, match="add up to 16"):
        decode_request(body, n)
    header["inputs"][0]["shape"] = [3]  # type: ignore[index]
    body, n = _binary_body(header, x)
    with pytest.raises(InvalidInput, match="needs 12"):
        decode_request(body, n)
    bad_strings = struct.pack("<I", 10) + b"abc"
    body, n = _binary_body({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1],
                                        "parameters": {"binary_data_size": 7}}]}, bad_strings)
    with pytest.raises(InvalidInput, match="runs past"):
        decode_request(body, n)


def test_response_encodes_json_and_binary_outputs() -> None:
    probs = np.array([[0.25, 0.75]], dtype=np.float32)
    labels = np.array(["yes"], dtype=object)
    resp = InferenceResponse("m", "2", [ResponseOutput("p", probs),
                                        ResponseOutput("label", labels)], id="7")
    asked = InferenceRequest([], outputs=[RequestOutput("p", {"binary_data": True}),
                                          RequestOutput("label")])
    body, n = encode_response(resp, asked)
    assert n is not None
    head = orjson.loads(body[:n])
    assert head["model_version"] == "2" and head["id"] == "7"
    assert head["outputs"][1]["data"] == ["yes"]
    assert head["outputs"][0]["parameters"]["binary_data_size"] == 8
    np.testing.assert_array_equal(np.frombuffer(body[n:], dtype=np.float32), probs.ravel())
    body, n = encode_response(InferenceResponse("m", "1", [ResponseOutput("p", probs)]))
    assert n is None and orjson.loads(body)["outputs"][0]["data"] == [0.25, 0.75]


@pytest.mark.parametrize(("body", "message"), [
    (b'{"instances": [[1]], "parameters": false}', '"parameters" must be an object'),
    (b'{"instances": [[1]], "id": {"a": 1}}', '"id" must be text'),
])
def test_plain_json_holds_optional_fields_to_their_types(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        plain_json.decode_request(body)
    req = plain_json.decode_request(b'{"instances": [[1]], "id": "r", "parameters": null}')
    assert req.id == "r" and req.parameters == {}
