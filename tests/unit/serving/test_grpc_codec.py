"""The gRPC codec: typed and raw tensors both ways, and every malformed message refused."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from augur.errors import InvalidInput
from augur.serving.codecs import v2_grpc as codec_grpc
from augur.serving.proto import grpc_predict_v2_pb2 as pb
from augur.serving.types import InferenceResponse, ResponseOutput

NUMERIC = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
           "FP32", "FP64"]


def _request(*tensors: pb.ModelInferRequest.InferInputTensor,
             raw: list[bytes] | None = None) -> pb.ModelInferRequest:
    msg = pb.ModelInferRequest(model_name="m", inputs=list(tensors))
    if raw is not None:
        msg.raw_input_contents.extend(raw)
    return msg


def _typed(name: str, datatype: str, arr: np.ndarray) -> pb.ModelInferRequest.InferInputTensor:
    tensor = pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype,
                                                   shape=list(arr.shape))
    values = arr.ravel().tolist()
    getattr(tensor.contents, codec_grpc.CONTENTS_FIELD[datatype]).extend(values)
    return tensor


@pytest.mark.parametrize("datatype", NUMERIC)
def test_typed_contents_decode_to_the_declared_dtype(datatype: str) -> None:
    arr = np.arange(6).reshape(2, 3).astype(codec_grpc.V2_TO_NUMPY[datatype])
    req = codec_grpc.decode_request(_request(_typed("x", datatype, arr)))
    (inp,) = req.inputs
    assert inp.data.dtype == arr.dtype
    np.testing.assert_array_equal(inp.data, arr)
    assert inp.shape == [2, 3]


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.int16,
                                         np.float16, np.bool_]),
                  shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
def test_raw_round_trip(arr: np.ndarray) -> None:
    from augur.signature import v2_datatype

    datatype = v2_datatype(arr.dtype)
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype=datatype,
                                                   shape=list(arr.shape))
    req = codec_grpc.decode_request(_request(tensor, raw=[arr.astype(arr.dtype.newbyteorder("<"))
                                                          .tobytes()]))
    np.testing.assert_array_equal(req.inputs[0].data, arr)
    resp = codec_grpc.encode_response(
        InferenceResponse("m", "1", [ResponseOutput("y", arr)]),
        raw=True)
    back = np.frombuffer(resp.raw_output_contents[0], dtype=arr.dtype).reshape(arr.shape)
    np.testing.assert_array_equal(back, arr)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=1, max_size=6))
def test_raw_bytes_round_trip(items: list[str]) -> None:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    raw = codec_grpc.encode_raw_bytes(arr)
    decoded = codec_grpc.decode_raw_bytes("s", raw, len(items))
    assert list(decoded) == items


def test_raw_bytes_tensor_decodes_and_strings_encode_as_utf8() -> None:
    raw = b"".join(struct.pack("<I", len(s)) + s for s in (b"male", b"", "é".encode()))
    tensor = pb.ModelInferRequest.InferInputTensor(name="sex", datatype="BYTES", shape=[3, 1])
    req = codec_grpc.decode_request(_request(tensor, raw=[raw]))
    assert req.inputs[0].data.shape == (3, 1)
    assert req.inputs[0].data[2, 0] == "é"
    out = np.array([["a"], ["é"]], dtype=object)
    resp = codec_grpc.encode_response(
        InferenceResponse("m", "1", [ResponseOutput("y", out)]), raw=True)
    assert resp.raw_output_contents[0] == b"\x01\x00\x00\x00a\x02\x00\x00\x00" + "é".encode()


def test_typed_response_when_the_request_was_typed() -> None:
    probs = np.array([[0.25, 0.75]], dtype=np.float32)
    labels = np.array([1], dtype=np.int64)
    resp = codec_grpc.encode_response(InferenceResponse(
        "iris", "2", [ResponseOutput("probabilities", probs),
                      ResponseOutput("label", labels)],
        id="r1", parameters={"batched": True, "n": 3, "took": 0.5, "who": "x"}), raw=False)
    assert list(resp.outputs[0].contents.fp32_contents) == [0.25, 0.75]
    assert list(resp.outputs[1].contents.int64_contents) == [1]
    assert not resp.raw_output_contents
    assert resp.id == "r1" and resp.model_version == "2"
    assert codec_grpc.parameters_to_dict(resp.parameters) == {
        "batched": True, "n": 3, "took": 0.5, "who": "x"}


def test_requested_outputs_and_parameters_are_kept() -> None:
    msg = _request(_typed("x", "FP32", np.zeros((1, 4), np.float32)))
    msg.id = "abc"
    msg.parameters["timeout"].int64_param = 5000
    msg.outputs.add(name="label")
    req = codec_grpc.decode_request(msg)
    assert req.id == "abc"
    assert req.parameters == {"timeout": 5000}
    assert req.outputs is not None and [o.name for o in req.outputs] == ["label"]


BAD_REQUESTS = {
    "no inputs": (pb.ModelInferRequest(model_name="m"), "no inputs"),
    "unknown datatype": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FLOAT", shape=[1])), "unknown datatype 'FLOAT'"),
    "negative dim": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP32", shape=[-1, 4])), "negative dimension"),
    "huge shape": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP32", shape=[1 << 20, 1 << 20]), raw=[b""]), "too many elements"),
    "typed count": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP32", shape=[4],
        contents=pb.InferTensorContents(fp32_contents=[1, 2, 3]))),
        "3 value(s) in fp32_contents, shape [4] needs 4"),
    "wrong contents field": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP32", shape=[2],
        contents=pb.InferTensorContents(int64_contents=[1, 2]))), "goes in fp32_contents"),
    "FP16 typed": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP16", shape=[1])), "no typed contents"),
    "raw size": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP32", shape=[1, 4]), raw=[b"\x00" * 12]), "12 bytes"),
    "raw count": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP32", shape=[1]), pb.ModelInferRequest.InferInputTensor(
        name="y", datatype="FP32", shape=[1]), raw=[b"\x00" * 4]), "2 input(s)"),
    "raw and typed": (_request(_typed("x", "FP32", np.zeros(1, np.float32)),
                               raw=[b"\x00" * 4]), "both contents"),
    "duplicate name": (_request(_typed("x", "FP32", np.zeros(1, np.float32)),
                                _typed("x", "FP32", np.zeros(1, np.float32))), "more than once"),
    "bytes truncated prefix": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[1]), raw=[b"\x01\x00"]), "need at least 4 bytes"),
    "bytes overrun": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[1]), raw=[b"\xff\x00\x00\x00ab"]), "claims 255"),
    "bytes too many": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[1]),
        raw=[b"\x01\x00\x00\x00a\x01\x00\x00\x00b"]), "more than the 1"),
    "bytes too few": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[2]), raw=[b"\x01\x00\x00\x00a"]), "need at least 8"),
    "bytes too few, counted": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[2]), raw=[b"\x01\x00\x00\x00a\x00\x00\x00"]),
        "ends inside a length prefix"),
    "huge claim, tiny raw": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[100_000_000, 4]), raw=[b""]), "need at least"),
    "bytes not utf-8": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[1]), raw=[b"\x02\x00\x00\x00\xff\xfe"]),
        "element 0 is not UTF-8"),
    "typed bytes not utf-8": (_request(pb.ModelInferRequest.InferInputTensor(
        name="s", datatype="BYTES", shape=[1],
        contents=pb.InferTensorContents(bytes_contents=[b"\xc3"]))), "element 0 is not UTF-8"),
    "int8 overflow": (_request(pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="INT8", shape=[1],
        contents=pb.InferTensorContents(int_contents=[300]))), "does not fit INT8"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_malformed_requests_are_refused_with_a_reason(case: str) -> None:
    msg, fragment = BAD_REQUESTS[case]
    with pytest.raises(InvalidInput) as info:
        codec_grpc.decode_request(msg)
    assert fragment in str(info.value)


def test_metadata_encoding() -> None:
    meta = {"name": "iris", "versions": ["1", "2"], "platform": "onnxruntime_onnx",
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
            "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]}]}
    msg = codec_grpc.encode_model_metadata(meta)
    assert list(msg.versions) == ["1", "2"]
    assert list(msg.inputs[0].shape) == [-1, 4]
    assert msg.outputs[0].datatype == "INT64"
    server = codec_grpc.encode_server_metadata({"name": "augur", "version": "0.1.0",
                                                "extensions": ["binary_tensor_data"]})
    assert list(server.extensions) == ["binary_tensor_data"]
