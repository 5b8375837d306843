"""The official Triton gRPC client, and raw stubs, against a real augur gRPC server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

from augur.registry import Registry
from augur.runtime import load
from augur.serving import BackgroundServer
from augur.serving.proto import grpc_predict_v2_pb2 as pb
from augur.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc

pytestmark = pytest.mark.integration

ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


@pytest.fixture
def server(examples_registry: Registry,
           serve: Callable[..., BackgroundServer]) -> BackgroundServer:
    return serve(examples_registry, grpc_enabled=True, grpc_port=0)


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[triton.InferenceServerClient]:
    with triton.InferenceServerClient(f"127.0.0.1:{server.server.grpc_port}") as c:
        yield c


@pytest.fixture
def stub(server: BackgroundServer) -> Iterator[pb_grpc.GRPCInferenceServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.server.grpc_port}") as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)


def _iris_input(x: np.ndarray = ROWS, datatype: str = "FP32") -> triton.InferInput:
    inp = triton.InferInput("input", list(x.shape), datatype)
    inp.set_data_from_numpy(x)
    return inp


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata(as_json=True)
    assert meta["name"] == "augur" and "binary_tensor_data" in meta["extensions"]
    model = client.get_model_metadata("iris", as_json=True)
    assert model["name"] == "iris" and model["versions"] == ["1"]
    assert model["inputs"] == [{"name": "input", "datatype": "FP32", "shape": ["-1", "4"]}]
    assert {o["name"] for o in model["outputs"]} == {"label", "probabilities"}
    assert client.is_model_ready("iris") and client.is_model_ready("iris", "1")
    assert client.is_model_ready("iris@production")


def test_raw_inference_matches_the_runtime(client: triton.InferenceServerClient,
                                           examples_registry: Registry) -> None:
    outputs = [triton.InferRequestedOutput("probabilities"), triton.InferRequestedOutput("label")]
    result = client.infer("iris", [_iris_input()], outputs=outputs, request_id="r-1")
    expected = load("iris", registry=examples_registry).predict({"input": ROWS})
    np.testing.assert_array_equal(result.as_numpy("label"), expected["label"])
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected["probabilities"],
                               rtol=1e-6)
    response = result.get_response()
    assert response.model_name == "iris" and response.model_version == "1"
    assert response.id == "r-1" and len(response.raw_output_contents) == 2
    only_label = client.infer("iris", [_iris_input()], model_version="1",
                              outputs=[triton.InferRequestedOutput("label")])
    assert [o.name for o in only_label.get_response().outputs] == ["label"]


def test_bytes_inputs_travel_raw(client: triton.InferenceServerClient,
                                 examples_registry: Registry) -> None:
    model = load("diabetes", registry=examples_registry)
    rows = [{s.name: 0.01 * (i + 1) for s in model.signature.inputs if s.name != "sex"}
            | {"sex": sex} for i, sex in enumerate(["male", "female", "male"])]
    inputs = []
    for spec in model.signature.inputs:
        column = np.array([[r[spec.name]] for r in rows],
                          dtype=object if spec.datatype == "BYTES" else np.float32)
        inp = triton.InferInput(spec.name, list(column.shape), spec.datatype)
        inp.set_data_from_numpy(column)
        inputs.append(inp)
    result = client.infer("diabetes", inputs)
    expected = model.predict(rows)
    (name,) = expected
    np.testing.assert_allclose(result.as_numpy(name), expected[name], rtol=1e-5)


def test_typed_contents_get_a_typed_answer(stub: pb_grpc.GRPCInferenceServiceStub,
                                           examples_registry: Registry) -> None:
    request = pb.ModelInferRequest(model_name="iris", id="typed")
    tensor = request.inputs.add(name="input", datatype="FP32", shape=[2, 4])
    tensor.contents.fp32_contents.extend(ROWS.ravel().tolist())
    request.outputs.add(name="label")
    response = stub.ModelInfer(request, timeout=30)
    expected = load("iris", registry=examples_registry).predict({"input": ROWS})
    assert not response.raw_output_contents
    assert list(response.outputs[0].contents.int64_contents) == expected["label"].tolist()
    assert response.id == "typed"


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()  # type: ignore[no-any-return,attr-defined]


def test_bad_input_gets_the_right_status_and_the_server_keeps_serving(
        client: triton.InferenceServerClient, stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    def infer(request: pb.ModelInferRequest) -> Callable[[], object]:
        return lambda: stub.ModelInfer(request, timeout=30)

    wrong_dtype = pb.ModelInferRequest(model_name="iris", raw_input_contents=[b"\x01"] * 1)
    wrong_dtype.inputs.add(name="input", datatype="BYTES", shape=[1])
    wrong_shape = pb.ModelInferRequest(model_name="iris",
                                       raw_input_contents=[ROWS[:, :3].tobytes()])
    wrong_shape.inputs.add(name="input", datatype="FP32", shape=[2, 3])
    size_mismatch = pb.ModelInferRequest(model_name="iris", raw_input_contents=[b"\x00" * 15])
    size_mismatch.inputs.add(name="input", datatype="FP32", shape=[1, 4])
    unknown_input = pb.ModelInferRequest(model_name="iris", raw_input_contents=[ROWS.tobytes()])
    unknown_input.inputs.add(name="nope", datatype="FP32", shape=[2, 4])
    unknown_model = pb.ModelInferRequest(model_name="nope", raw_input_contents=[ROWS.tobytes()])
    unknown_model.inputs.add(name="input", datatype="FP32", shape=[2, 4])
    unknown_version = pb.ModelInferRequest(model_name="iris", model_version="99",
                                           raw_input_contents=[ROWS.tobytes()])
    unknown_version.inputs.add(name="input", datatype="FP32", shape=[2, 4])
    bad_ref = pb.ModelInferRequest(model_name="iris@@x", raw_input_contents=[ROWS.tobytes()])
    bad_ref.inputs.add(name="input", datatype="FP32", shape=[2, 4])

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    for request, code in [(wrong_dtype, invalid), (wrong_shape, invalid),
                          (size_mismatch, invalid), (unknown_input, invalid),
                          (pb.ModelInferRequest(model_name="iris"), invalid),
                          (pb.ModelInferRequest(), invalid), (bad_ref, invalid),
                          (unknown_model, grpc.StatusCode.NOT_FOUND),
                          (unknown_version, grpc.StatusCode.NOT_FOUND)]:
        assert _code(infer(request)) == code, request
        assert client.infer("iris", [_iris_input()]).as_numpy("label").shape == (2,)

    assert _code(lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"))) \
        == grpc.StatusCode.NOT_FOUND
    assert _code(lambda: stub.ModelReady(pb.ModelReadyRequest(name="nope"))) \
        == grpc.StatusCode.NOT_FOUND
    for version in ("x", "01", "\u0661", "99999999999999999999"):  # not canonical: refused
        assert _code(lambda v=version: stub.ModelReady(pb.ModelReadyRequest(
            name="iris", version=v))) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(InferenceServerException, match="INVALID_ARGUMENT"):
        client.infer("iris", [_iris_input(ROWS[:, :3])])
    assert client.is_server_ready()


def test_bearer_token(examples_registry: Registry,
                      serve: Callable[..., BackgroundServer]) -> None:
    server = serve(examples_registry, grpc_enabled=True, grpc_port=0,
                   inference_token="infer-secret", admin_token="admin-secret")
    with triton.InferenceServerClient(f"127.0.0.1:{server.server.grpc_port}") as client:
        assert client.is_server_live()  # probes stay open
        for headers in (None, {"authorization": "Bearer wrong"},
                        {"authorization": "infer-secret"}):
            with pytest.raises(InferenceServerException, match="UNAUTHENTICATED"):
                client.infer("iris", [_iris_input()], headers=headers)
        with pytest.raises(InferenceServerException, match="UNAUTHENTICATED"):
            client.get_model_metadata("iris")
        for token in ("infer-secret", "admin-secret"):
            result = client.infer("iris", [_iris_input()],
                                  headers={"authorization": f"Bearer {token}"})
            assert result.as_numpy("label").shape == (2,)


def test_oversized_message_is_refused_and_the_server_keeps_serving(
        examples_registry: Registry, serve: Callable[..., BackgroundServer]) -> None:
    server = serve(examples_registry, grpc_enabled=True, grpc_port=0, max_body_bytes=4096)
    with grpc.insecure_channel(f"127.0.0.1:{server.server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        big = np.zeros((512, 4), np.float32)  # 8 KB of raw contents
        request = pb.ModelInferRequest(model_name="iris", raw_input_contents=[big.tobytes()])
        request.inputs.add(name="input", datatype="FP32", shape=[512, 4])
        assert _code(lambda: stub.ModelInfer(request, timeout=30)) \
            == grpc.StatusCode.RESOURCE_EXHAUSTED
        small = pb.ModelInferRequest(model_name="iris", raw_input_contents=[ROWS.tobytes()])
        small.inputs.add(name="input", datatype="FP32", shape=[2, 4])
        assert len(stub.ModelInfer(small, timeout=30).raw_output_contents) == 2


def test_a_bad_timeout_parameter_is_refused(examples_registry: Registry,
                                              serve: Callable[..., BackgroundServer]) -> None:
    server = serve(examples_registry, grpc_enabled=True, grpc_port=0)
    with grpc.insecure_channel(f"127.0.0.1:{server.server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        request = pb.ModelInferRequest(model_name="iris", raw_input_contents=[ROWS.tobytes()])
        request.inputs.add(name="input", datatype="FP32", shape=[2, 4])
        # An explicit timeout parameter that is not a positive number is the caller's mistake.
        request.parameters["timeout"].string_param = "soon"
        assert _code(lambda: stub.ModelInfer(request, timeout=30)) \
            == grpc.StatusCode.INVALID_ARGUMENT
        del request.parameters["timeout"]
        assert len(stub.ModelInfer(request, timeout=30).raw_output_contents) == 2


async def test_start_grpc_server_records_each_call(examples_registry: Registry,
                                                   tmp_path: Path) -> None:
    from augur.serving import ServerSettings, create_dataplane
    from augur.serving.accesslog import AccessLog
    from augur.serving.grpc_server import start_grpc_server
    from augur.serving.server import free_port

    settings = ServerSettings(http_port=0, grpc_port=free_port(), access_log="off")
    dataplane = create_dataplane(examples_registry, settings)
    await dataplane.start()
    access = AccessLog(str(tmp_path / "access.jsonl"))
    access.open()
    server = await start_grpc_server(dataplane, settings, access_log=access)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{settings.grpc_port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            good = pb.ModelInferRequest(model_name="iris", raw_input_contents=[ROWS.tobytes()])
            good.inputs.add(name="input", datatype="FP32", shape=[2, 4])
            assert len((await stub.ModelInfer(good)).raw_output_contents) == 2
            missing = pb.ModelInferRequest(model_name="nope", raw_input_contents=[b""])
            missing.inputs.add(name="input", datatype="FP32", shape=[0, 4])
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ModelInfer(missing)
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await server.stop(None)
        access.close()
        await dataplane.stop()
    lines = [json.loads(line) for line in (tmp_path / "access.jsonl").read_text().splitlines()]
    assert [(r["method"], r["status"], r.get("model"), r.get("error")) for r in lines] == [
        ("GRPC", 0, "iris", None), ("GRPC", 5, "nope", "ModelNotFound")]
    assert lines[0]["path"] == "/inference.GRPCInferenceService/ModelInfer"
    assert lines[0]["client"].startswith("127.0.0.1:")


async def test_a_port_in_use_is_a_config_error(examples_registry: Registry) -> None:
    import socket

    from augur.errors import ConfigError
    from augur.serving import ServerSettings, create_dataplane
    from augur.serving.grpc_server import start_grpc_server

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        settings = ServerSettings(grpc_port=taken.getsockname()[1], access_log="off")
        dataplane = create_dataplane(examples_registry, settings)
        with pytest.raises(ConfigError, match=r"cannot bind the gRPC server to 127\.0\.0\.1:"):
            await start_grpc_server(dataplane, settings)
