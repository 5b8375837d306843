"""How a v2 request carries the keys of the hybrid mode (parameter or input tensor)."""

from __future__ import annotations

import numpy as np
import pytest

from augur.errors import InvalidInput
from augur.serving.hybrid import _keys_of_request
from augur.serving.types import InferenceRequest, RequestInput


def _request(parameters: dict[str, object] | None = None,
             key: RequestInput | None = None) -> InferenceRequest:
    inputs = [RequestInput("input", "FP32", [2, 4], np.zeros((2, 4), np.float32))]
    if key is not None:
        inputs.append(key)
    return InferenceRequest(inputs, parameters=dict(parameters or {}))


def test_keys_from_a_parameter() -> None:
    assert _keys_of_request(_request()) is None
    assert _keys_of_request(_request({"key": "u1"})) == ["u1"]
    assert _keys_of_request(_request({"key": 42})) == ["42"]
    assert _keys_of_request(_request({"key": ["a", 7]})) == ["a", "7"]


def test_keys_from_an_input_tensor_which_is_taken_out() -> None:
    as_bytes = RequestInput("key", "BYTES", [2], np.array([b"a", b"b"], dtype=object))
    request = _request(key=as_bytes)
    assert _keys_of_request(request) == ["a", "b"]
    assert [t.name for t in request.inputs] == ["input"]
    as_int = RequestInput("key", "INT64", [2, 1], np.array([[3], [4]], dtype=np.int64))
    assert _keys_of_request(_request(key=as_int)) == ["3", "4"]


@pytest.mark.parametrize("parameters, message", [
    ({"key": []}, "empty list"),
    ({"key": {"a": 1}}, "string or an integer"),
    ({"key": True}, "string or an integer"),
    ({"key": [1.5]}, "string or an integer"),
])
def test_bad_keys_are_invalid_input(parameters: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _keys_of_request(_request(parameters))


def test_a_float_key_tensor_is_refused() -> None:
    floats = RequestInput("key", "FP32", [1], np.array([1.0], dtype=np.float32))
    with pytest.raises(InvalidInput, match='input "key" must be BYTES or INT64'):
        _keys_of_request(_request(key=floats))
