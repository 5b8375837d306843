"""The KServe Python SDK's clients against an augur server, as a program of its own.

Run with the interpreter of ``.venv-kserve`` (the SDK pins pandas<3, so it cannot live in
augur's environment): it reads a JSON job on stdin (``rest``, ``grpc``, ``token``, the
``iris`` rows and the ``diabetes`` columns and rows), calls every client method augur
supports (REST v2, REST v1, gRPC) and prints one JSON object: each check's name ->
``{"ok": result}`` or ``{"status": <HTTP status or gRPC code>, "error": <message>}``.
test_conformance.py judges the results.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import httpx
import numpy as np
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput

Result = dict[str, Any]


async def attempt(call: Callable[[], Awaitable[Any]]) -> Result:
    try:
        return {"ok": _plain(await call())}
    except httpx.HTTPStatusError as exc:
        return {"status": exc.response.status_code, "error": str(exc),
                "allow": exc.response.headers.get("allow")}
    except grpc.RpcError as exc:
        return {"status": exc.code().name, "error": exc.details()}


def _plain(value: Any) -> Any:
    """A client's answer as JSON: responses become {output: {datatype, shape, data}}."""
    if hasattr(value, "outputs"):
        return {o.name: {"datatype": o.datatype, "shape": list(o.shape),
                         "data": np.asarray(o.as_numpy()).tolist()} for o in value.outputs}
    return value


def iris_inputs(rows: list[list[float]], binary: bool = False, datatype: str = "FP32",
                ) -> list[InferInput]:
    x = np.asarray(rows, dtype={"FP32": np.float32, "FP64": np.float64,
                                "INT8": np.int8}[datatype])
    tensor = InferInput("input", list(x.shape), datatype)
    tensor.set_data_from_numpy(x, binary_data=binary)
    return [tensor]


def diabetes_inputs(job: dict[str, Any], binary: bool = False) -> list[InferInput]:
    columns, rows = job["diabetes"]["columns"], job["diabetes"]["rows"]
    tensors = []
    for i, name in enumerate(columns):
        values = [row[i] for row in rows]
        if isinstance(values[0], str):
            x = np.asarray(values, dtype=object).reshape(-1, 1)
            tensor = InferInput(name, list(x.shape), "BYTES")
        else:
            x = np.asarray(values, dtype=np.float32).reshape(-1, 1)
            tensor = InferInput(name, list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=binary)
        tensors.append(tensor)
    return tensors


def binary_outputs(*names: str) -> list[RequestedOutput]:
    return [RequestedOutput(name, {"binary_data": True}) for name in names]


async def rest_v2(job: dict[str, Any], out: dict[str, Result]) -> None:
    base, auth = job["rest"], {"Authorization": f"Bearer {job['token']}"}

    def headers() -> dict[str, str]:
        return dict(auth)  # the SDK adds to the dict it is given

    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=60))
    iris = job["iris"]
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "live": lambda: client.is_server_live(base),
        "ready": lambda: client.is_server_ready(base),
        "model_ready": lambda: client.is_model_ready(base, "iris", headers=headers()),
        "model_ready_no_token": lambda: client.is_model_ready(base, "iris"),
        "model_ready_unknown": lambda: client.is_model_ready(base, "nosuch", headers=headers()),
        "infer_iris_json": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris)), model_name="iris", headers=headers()),
        "infer_iris_binary": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris, binary=True),
                               request_outputs=binary_outputs("label", "probabilities")),
            model_name="iris", headers=headers()),
        "infer_diabetes_json": lambda: client.infer(
            base, InferRequest("diabetes", diabetes_inputs(job)), model_name="diabetes",
            headers=headers()),
        "infer_diabetes_binary": lambda: client.infer(
            base, InferRequest("diabetes", diabetes_inputs(job, binary=True),
                               request_outputs=binary_outputs("variable")),
            model_name="diabetes", headers=headers()),
        "infer_lowercase_scheme": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris)), model_name="iris",
            headers={"authorization": f"bearer {job['token']}"}),
        "infer_unknown_model": lambda: client.infer(
            base, InferRequest("nosuch", []), model_name="nosuch", headers=headers()),
        "infer_fp64": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris, datatype="FP64")), model_name="iris",
            headers=headers()),
        "infer_int8_binary": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris, True, "INT8")), model_name="iris",
            headers=headers()),
        "infer_no_token": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris)), model_name="iris"),
        "infer_wrong_token": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris)), model_name="iris",
            headers={"Authorization": "Bearer wrong"}),
        "infer_leading_zero_version": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris)), model_name="iris:01",
            headers=headers()),
        "infer_arabic_indic_version": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris)), model_name="iris:\u0661",
            headers=headers()),
        "infer_control_character_name": lambda: client.infer(
            base, InferRequest("iris", iris_inputs(iris)), model_name="%10",
            headers=headers()),
        "infer_wrong_method": lambda: wrong_method(client, f"{base}/v2/models/iris/infer"),
    }
    for name, call in checks.items():
        out[f"rest_v2.{name}"] = await attempt(call)
    await client.close()


async def wrong_method(client: InferenceRESTClient, url: str) -> Any:
    """A GET where the protocol wants a POST, surfaced as the SDK surfaces any error."""
    response = await client._client.get(url)  # the SDK's own transport
    if not response.is_success:
        raise client._construct_http_status_error(response)
    return response.json()


async def rest_v1(job: dict[str, Any], out: dict[str, Result]) -> None:
    base, token = job["rest"], job["token"]
    client = InferenceRESTClient(RESTConfig(protocol="v1", retries=0, timeout=60))
    columns = job["diabetes"]["columns"]
    records = [dict(zip(columns, row, strict=True)) for row in job["diabetes"]["rows"]]

    def headers() -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "live": lambda: client.is_server_live(base),
        "model_ready": lambda: client.is_model_ready(base, "iris", headers=headers()),
        "model_ready_unknown": lambda: client.is_model_ready(base, "nosuch", headers=headers()),
        "predict_iris": lambda: client.infer(base, {"instances": job["iris"]},
                                             model_name="iris", headers=headers()),
        "predict_diabetes_records": lambda: client.infer(base, {"instances": records},
                                                         model_name="diabetes",
                                                         headers=headers()),
        "predict_unknown_model": lambda: client.infer(base, {"instances": job["iris"]},
                                                      model_name="nosuch", headers=headers()),
        "predict_no_token": lambda: client.infer(base, {"instances": job["iris"]},
                                                 model_name="iris"),
        "predict_leading_zero_version": lambda: client.infer(
            base, {"instances": job["iris"]}, model_name="iris:01", headers=headers()),
    }
    for name, call in checks.items():
        out[f"rest_v1.{name}"] = await attempt(call)
    await client.close()


async def grpc_v2(job: dict[str, Any], out: dict[str, Result]) -> None:
    client = InferenceGRPCClient(job["grpc"], retries=0, timeout=60)
    md = [("authorization", f"Bearer {job['token']}")]
    iris = job["iris"]
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "live": lambda: client.is_server_live(),
        "ready": lambda: client.is_server_ready(),
        "model_ready": lambda: client.is_model_ready("iris", headers=md),
        "model_ready_no_token": lambda: client.is_model_ready("iris"),
        "model_ready_unknown": lambda: client.is_model_ready("nosuch", headers=md),
        "infer_iris": lambda: client.infer(InferRequest("iris", iris_inputs(iris)), headers=md),
        "infer_iris_version": lambda: client.infer(
            InferRequest("iris", iris_inputs(iris), model_version="1"), headers=md),
        "infer_diabetes": lambda: client.infer(InferRequest("diabetes", diabetes_inputs(job)),
                                               headers=md),
        "infer_unknown_model": lambda: client.infer(InferRequest("nosuch", iris_inputs(iris)),
                                                    headers=md),
        "infer_fp64": lambda: client.infer(
            InferRequest("iris", iris_inputs(iris, datatype="FP64")), headers=md),
        "infer_no_token": lambda: client.infer(InferRequest("iris", iris_inputs(iris))),
        "infer_leading_zero_version": lambda: client.infer(
            InferRequest("iris", iris_inputs(iris), model_version="01"), headers=md),
        "infer_huge_version": lambda: client.infer(
            InferRequest("iris", iris_inputs(iris), model_version="99999999999999999999"),
            headers=md),
        "infer_control_character_name": lambda: client.infer(
            InferRequest("bad\x10", iris_inputs(iris)), headers=md),
    }
    for name, call in checks.items():
        out[f"grpc.{name}"] = await attempt(call)
    await client.close()


async def main() -> None:
    job = json.load(sys.stdin)
    out: dict[str, Result] = {}
    await rest_v2(job, out)
    await rest_v1(job, out)
    await grpc_v2(job, out)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
