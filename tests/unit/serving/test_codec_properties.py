"""Property: a tensor sent as JSON and as binary decodes to the same array."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from augur.serving.codecs.v2_json import decode_request, encode_response
from augur.serving.types import InferenceRequest, InferenceResponse, ResponseOutput

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32,
          "UINT8": np.uint8, "BOOL": np.bool_}
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3)


@st.composite
def tensors(draw: st.DrawFn) -> tuple[str, np.ndarray]:
    datatype = draw(st.sampled_from(sorted(DTYPES)))
    dtype = DTYPES[datatype]
    elements = st.floats(-1e6, 1e6, width=32) if datatype.startswith("FP") else None
    arr = draw(arrays(dtype, draw(shapes), elements=elements))
    return datatype, arr


@settings(max_examples=60, deadline=None)
@given(tensors())
def test_json_and_binary_decode_alike_and_responses_round_trip(
        tensor: tuple[str, np.ndarray]) -> None:
    datatype, arr = tensor
    spec = {"name": "x", "datatype": datatype, "shape": list(arr.shape)}
    from_json = decode_request(orjson.dumps({"inputs": [{**spec, "data": arr.ravel().tolist()}]}))
    head = orjson.dumps({"inputs": [{**spec, "parameters": {"binary_data_size": arr.nbytes}}]})
    from_binary = decode_request(head + arr.tobytes(), len(head))
    for decoded in (from_json.inputs[0].data, from_binary.inputs[0].data):
        assert decoded.dtype == arr.dtype and decoded.shape == arr.shape
        np.testing.assert_array_equal(decoded, arr)
    out = ResponseOutput("y", arr)
    wants_binary = InferenceRequest([], parameters={"binary_data_output": True})
    body, n = encode_response(InferenceResponse("m", "1", [out]), wants_binary)
    assert orjson.loads(body[:n])["outputs"][0]["datatype"] == datatype
    assert n is not None
    size = orjson.loads(body[:n])["outputs"][0]["parameters"]["binary_data_size"]
    back = np.frombuffer(body[n:n + size], dtype=arr.dtype).reshape(arr.shape)
    np.testing.assert_array_equal(back, arr)
