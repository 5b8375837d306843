"""The official Triton HTTP client runs against augur unchanged."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from augur.registry import Registry
from augur.runtime import load
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration


@pytest.fixture
def client(examples_registry: Registry,
           serve: Callable[..., BackgroundServer]) -> triton.InferenceServerClient:
    server = serve(examples_registry)
    return triton.InferenceServerClient(server.url.removeprefix("http://"))


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata()
    assert meta["name"] == "augur" and "binary_tensor_data" in meta["extensions"]
    model = client.get_model_metadata("iris")
    assert model["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert {o["name"] for o in model["outputs"]} == {"label", "probabilities"}
    assert client.is_model_ready("iris") and client.is_model_ready("iris", "1")
    assert client.is_model_ready("iris@production")
    with pytest.raises(InferenceServerException, match="no model named"):
        client.get_model_metadata("nope")


@pytest.mark.parametrize("binary", [False, True])
def test_inference_matches_the_runtime(client: triton.InferenceServerClient,
                                       examples_registry: Registry, binary: bool) -> None:
    x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
    inp = triton.InferInput("input", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary)
    outputs = [triton.InferRequestedOutput("probabilities", binary_data=binary),
               triton.InferRequestedOutput("label", binary_data=binary)]
    result = client.infer("iris", [inp], outputs=outputs, request_id="r-1")
    expected = load("iris", registry=examples_registry).predict({"input": x})
    np.testing.assert_array_equal(result.as_numpy("label"), expected["label"])
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected["probabilities"],
                               rtol=1e-6)
    response = result.get_response()
    assert response["model_name"] == "iris" and response["id"] == "r-1"


@pytest.mark.parametrize("binary", [False, True])
def test_string_inputs_over_json_and_binary(client: triton.InferenceServerClient,
                                            examples_registry: Registry, binary: bool) -> None:
    model = load("diabetes", registry=examples_registry)
    rows = 3
    inputs, feeds = [], {}
    for spec in model.signature.inputs:
        if spec.datatype == "BYTES":
            arr = np.array([["male"], ["female"], ["male"]], dtype=object)
        else:
            arr = np.full((rows, 1), 0.01, dtype=np.float32)
        feeds[spec.name] = arr
        tensor = triton.InferInput(spec.name, [rows, 1], spec.datatype)
        tensor.set_data_from_numpy(arr, binary_data=binary)
        inputs.append(tensor)
    result = client.infer("diabetes", inputs,
                          outputs=[triton.InferRequestedOutput("variable", binary_data=binary)])
    np.testing.assert_allclose(result.as_numpy("variable"), model.run(feeds)["variable"],
                               rtol=1e-6)


def test_bad_inputs_raise_client_errors(client: triton.InferenceServerClient) -> None:
    x = np.zeros((1, 3), dtype=np.float32)
    inp = triton.InferInput("input", [1, 3], "FP32")
    inp.set_data_from_numpy(x)
    with pytest.raises(InferenceServerException, match="dimension 1 must be 4"):
        client.infer("iris", [inp])
    with pytest.raises(InferenceServerException, match="no version 9"):
        client.infer("iris", [inp], model_version="9")
