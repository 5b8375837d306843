"""The official clients of the Open Inference Protocol against a real ``augur serve``.

tritonclient (HTTP with JSON and binary tensors, gRPC with raw contents) and the KServe
SDK (REST v2, REST v1 and gRPC; run by ``kserve_client.py`` in ``.venv-kserve``, its
own environment) call health, server and model metadata, model readiness, inference
on FP32 tensors and on a model with a string (BYTES) column, and the repository
index/load/unload; their predictions equal ``augur.load(ref).predict`` on the same
rows. Each error of the conformance issue reaches the client with its status: an
unknown model is 404 / NOT_FOUND before the body is judged, a datatype other than the
signature's is 400 / INVALID_ARGUMENT naming input, expected and received, a wrong
method 405 with ``Allow``, an invalid name or a non-canonical version 400 /
INVALID_ARGUMENT; tokens are checked, with and without.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from tritonclient.http._utils import _raise_if_error
from tritonclient.utils import InferenceServerException

import augur
from augur.examples import diabetes_frame, iris_frame
from augur.registry import Registry
from server_process import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
KSERVE_CLIENT = Path(__file__).with_name("kserve_client.py")
# the gRPC spelling of each HTTP status the tests expect
GRPC_CODES = {400: "StatusCode.INVALID_ARGUMENT", 401: "StatusCode.UNAUTHENTICATED",
              403: "StatusCode.PERMISSION_DENIED", 404: "StatusCode.NOT_FOUND"}
# names and versions that are not canonical (issue items 4 and 5)
BAD_VERSIONS = ["01", "\u0661", "\uff11", "99999999999999999999", "0"]
BAD_NAMES = ["iris:\u00b2", " iris", "iris\n", "bad\x10", "iris:0001"]


def inf() -> dict[str, str]:
    return {"authorization": "Bearer inf"}  # a fresh dict: tritonclient adds to it


def adm() -> dict[str, str]:
    return {"authorization": "Bearer adm"}


@pytest.fixture(scope="module")
def server(examples_registry: Registry,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("conformance") / "home"
    shutil.copytree(examples_registry.home, home)  # loads and unloads happen here
    with ServerProcess(home, tmp_path_factory.mktemp("serve"), inference_token="inf",
                       admin_token="adm", preload=["iris"]) as proc:
        yield proc


@pytest.fixture(scope="module")
def iris_rows() -> np.ndarray:
    return iris_frame()[0].to_numpy(np.float32)[::37]  # five rows, every class


@pytest.fixture(scope="module")
def diabetes_rows() -> pd.DataFrame:
    return diabetes_frame()[0].iloc[:3]


@pytest.fixture(scope="module")
def expected(examples_registry: Registry, iris_rows: np.ndarray,
             diabetes_rows: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    return {"iris": augur.load("iris", registry=examples_registry).predict(iris_rows),
            "diabetes": augur.load("diabetes", registry=examples_registry)
            .predict(diabetes_rows)}


def _failure(call: Callable[[], Any]) -> tuple[str, str]:
    """The status and message a tritonclient call raised."""
    with pytest.raises(InferenceServerException) as info:
        call()
    return str(info.value.status()), info.value.message()


class Triton:
    """One of tritonclient's two clients and how it spells a status."""

    def __init__(self, kind: str, server: ServerProcess) -> None:
        self.kind = kind
        self.lib: Any = thttp if kind == "http" else tgrpc
        self.client: Any = (thttp.InferenceServerClient(server.url.removeprefix("http://"))
                            if kind == "http" else tgrpc.InferenceServerClient(server.grpc))

    def version(self, text: str) -> str:
        """``text`` as this client can carry it (the HTTP client puts the version into the
        URL as given, and sends only latin-1)."""
        return quote(text, safe="") if self.kind == "http" else text

    def status(self, http_status: int) -> str:
        return str(http_status) if self.kind == "http" else GRPC_CODES[http_status]

    def tensor(self, name: str, data: np.ndarray, datatype: str,
               binary: bool = False) -> Any:
        tensor = self.lib.InferInput(name, list(data.shape), datatype)
        if self.kind == "http":
            tensor.set_data_from_numpy(data, binary_data=binary)
        else:
            tensor.set_data_from_numpy(data)  # gRPC: raw contents
        return tensor

    def outputs(self, names: list[str], binary: bool) -> list[Any]:
        if self.kind == "http":
            return [thttp.InferRequestedOutput(n, binary_data=binary) for n in names]
        return [tgrpc.InferRequestedOutput(n) for n in names]

    @property
    def as_json(self) -> dict[str, bool]:
        """What makes a gRPC call answer JSON, as the HTTP client does."""
        return {} if self.kind == "http" else {"as_json": True}


@pytest.fixture(scope="module")
def tritons(server: ServerProcess) -> Iterator[dict[str, Triton]]:
    clients = {kind: Triton(kind, server) for kind in ("http", "grpc")}
    yield clients
    for client in clients.values():
        client.client.close()


@pytest.fixture(params=["http", "grpc"])
def triton(request: pytest.FixtureRequest, tritons: dict[str, Triton]) -> Triton:
    return tritons[request.param]


# the encodings of each client: HTTP with JSON or binary tensors, gRPC raw contents
ENCODINGS = [("http", False), ("http", True), ("grpc", True)]


# -- tritonclient ------------------------------------------------------------------------


def test_triton_health_and_server_metadata(triton: Triton) -> None:
    c = triton.client
    assert c.is_server_live() and c.is_server_ready()  # probes are open
    for headers in (inf(), adm(), {"authorization": "bearer inf"}):
        meta = c.get_server_metadata(headers=headers, **triton.as_json)
        assert meta["name"] == "augur" and meta["version"] == augur.__version__
        assert {"model_repository", "binary_tensor_data"} <= set(meta["extensions"])
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "inf"}):
        assert _failure(lambda h=headers: c.get_server_metadata(headers=h))[0] \
            == triton.status(401)


def test_triton_model_metadata_and_readiness(triton: Triton) -> None:
    c = triton.client
    meta = c.get_model_metadata("iris", headers=inf(), **triton.as_json)
    assert meta["name"] == "iris" and meta["versions"] == ["1"]
    assert [(t["name"], t["datatype"], [int(d) for d in t["shape"]])
            for t in meta["inputs"]] == [("input", "FP32", [-1, 4])]
    columns = c.get_model_metadata("diabetes", "1", headers=inf(), **triton.as_json)["inputs"]
    assert {t["name"]: t["datatype"] for t in columns}["sex"] == "BYTES"
    assert c.is_model_ready("iris", headers=inf())
    assert c.is_model_ready("iris", "1", headers=inf())
    assert c.is_model_ready("iris@production", headers=inf())
    assert _failure(lambda: c.get_model_metadata("nosuch", headers=inf()))[0] \
        == triton.status(404)
    assert _failure(lambda: c.get_model_metadata("iris", "9", headers=inf()))[0] \
        == triton.status(404)
    assert _failure(lambda: c.get_model_metadata("iris"))[0] == triton.status(401)
    assert _failure(lambda: c.get_model_metadata("iris", headers={"authorization": "x"})
                    )[0] == triton.status(401)


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_triton_non_canonical_versions_are_400(triton: Triton, version: str) -> None:
    c = triton.client
    version = triton.version(version)
    status, message = _failure(lambda: c.get_model_metadata("iris", version, headers=inf()))
    assert status == triton.status(400) and "version" in message
    if triton.kind == "http":  # the HTTP client reads readiness from the status alone
        assert not c.is_model_ready("iris", version, headers=inf())
    else:
        assert _failure(lambda: c.is_model_ready("iris", version, headers=inf()))[0] \
            == triton.status(400)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_triton_invalid_names_and_references_are_400(triton: Triton, name: str) -> None:
    status, _ = _failure(lambda: triton.client.get_model_metadata(name, headers=inf()))
    assert status == triton.status(400)


@pytest.mark.parametrize(("kind", "binary"), ENCODINGS)
def test_triton_fp32_inference_matches_the_runtime(
        tritons: dict[str, Triton], kind: str, binary: bool, iris_rows: np.ndarray,
        expected: dict[str, dict[str, np.ndarray]]) -> None:
    triton = tritons[kind]
    for version in ("", "1"):
        result = triton.client.infer(
            "iris", [triton.tensor("input", iris_rows, "FP32", binary)], model_version=version,
            outputs=triton.outputs(["label", "probabilities"], binary), request_id="r-7",
            headers=inf())
        np.testing.assert_array_equal(result.as_numpy("label"), expected["iris"]["label"])
        np.testing.assert_allclose(result.as_numpy("probabilities"),
                                   expected["iris"]["probabilities"], rtol=1e-6)
        assert result.get_response(**triton.as_json)["id"] == "r-7"


@pytest.mark.parametrize(("kind", "binary"), ENCODINGS)
def test_triton_string_column_inference_matches_the_runtime(
        tritons: dict[str, Triton], kind: str, binary: bool, diabetes_rows: pd.DataFrame,
        expected: dict[str, dict[str, np.ndarray]]) -> None:
    triton = tritons[kind]
    inputs = []
    for name in diabetes_rows.columns:
        column = diabetes_rows[name].to_numpy().reshape(-1, 1)
        if name == "sex":
            inputs.append(triton.tensor(name, column.astype(object), "BYTES", binary))
        else:
            inputs.append(triton.tensor(name, column.astype(np.float32), "FP32", binary))
    result = triton.client.infer("diabetes", inputs, headers=inf(),
                                 outputs=triton.outputs(["variable"], binary))
    np.testing.assert_allclose(result.as_numpy("variable"), expected["diabetes"]["variable"],
                               rtol=1e-5)


@pytest.mark.parametrize(("kind", "binary"), ENCODINGS)
@pytest.mark.parametrize("datatype", ["FP64", "INT8", "INT64", "FP16"])
def test_triton_a_datatype_other_than_the_signatures_is_400(
        tritons: dict[str, Triton], kind: str, binary: bool, datatype: str,
        iris_rows: np.ndarray) -> None:
    triton = tritons[kind]
    if datatype == "FP16" and not binary:
        binary = True  # FP16 has no JSON form in tritonclient; it travels in binary
    data = iris_rows.astype({"FP64": np.float64, "INT8": np.int8, "INT64": np.int64,
                             "FP16": np.float16}[datatype])
    status, message = _failure(lambda: triton.client.infer(
        "iris", [triton.tensor("input", data, datatype, binary)], headers=inf()))
    assert status == triton.status(400)
    assert "'input'" in message and "FP32" in message and datatype in message


def test_triton_inference_errors(triton: Triton, iris_rows: np.ndarray) -> None:
    c = triton.client

    def infer(name: str, version: str = "", headers: dict[str, str] | None = None) -> Any:
        return c.infer(name, [triton.tensor("input", iris_rows, "FP32")],
                       model_version=version, headers=inf() if headers is None else headers)

    # the model is resolved before the body is judged: no inputs at all is still a 404
    assert _failure(lambda: c.infer("nosuch", [], headers=inf()))[0] == triton.status(404)
    assert _failure(lambda: infer("iris", "9"))[0] == triton.status(404)
    for version in map(triton.version, BAD_VERSIONS):
        assert _failure(lambda v=version: infer("iris", v))[0] == triton.status(400)
    for name in BAD_NAMES:
        assert _failure(lambda n=name: infer(n))[0] == triton.status(400)
    assert _failure(lambda: infer("iris", headers={}))[0] == triton.status(401)
    assert _failure(lambda: infer("iris", headers={"authorization": "Basic adm"}))[0] \
        == triton.status(401)
    assert infer("iris", headers=adm()).as_numpy("label").shape == (len(iris_rows),)


def test_triton_http_wrong_method_is_405_with_allow(server: ServerProcess) -> None:
    client = thttp.InferenceServerClient(server.url.removeprefix("http://"))
    for path, allow in (("v2/models/iris/infer", "POST"),
                        ("v2/repository/models/iris/load", "POST")):
        response = client._get(path, inf(), None)  # the client's own transport
        with pytest.raises(InferenceServerException) as info:
            _raise_if_error(response)
        assert info.value.status() == "405" and response.get("allow") == allow
    client.close()


def _index(triton: Triton) -> dict[str, str]:
    index = triton.client.get_model_repository_index(headers=inf(), **triton.as_json)
    models = index if triton.kind == "http" else index["models"]
    return {m["name"]: m.get("state", "") for m in models}


def test_triton_repository_index_load_and_unload(triton: Triton) -> None:
    c = triton.client
    assert set(_index(triton)) == {"iris", "diabetes", "cancer"}
    assert _index(triton)["iris"] == "READY"  # preloaded
    c.load_model("cancer", headers=adm())
    assert _index(triton)["cancer"] == "READY"
    assert c.is_model_ready("cancer", headers=inf())
    c.unload_model("cancer", headers=adm())
    assert _index(triton)["cancer"] == "UNAVAILABLE"
    c.unload_model("cancer", headers=adm())  # not loaded: nothing to do, not an error
    for call, status in ((lambda: c.get_model_repository_index(), 401),
                         (lambda: c.load_model("cancer"), 401),
                         (lambda: c.load_model("cancer", headers=inf()), 403),
                         (lambda: c.unload_model("cancer", headers=inf()), 403),
                         (lambda: c.load_model("nosuch", headers=adm()), 404),
                         (lambda: c.unload_model("nosuch", headers=adm()), 404),
                         (lambda: c.load_model("iris:01", headers=adm()), 400),
                         (lambda: c.load_model("bad\x10", headers=adm()), 400)):
        assert _failure(call)[0] == triton.status(status)
    assert _index(triton)["cancer"] == "UNAVAILABLE"


# -- the KServe SDK ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def kserve(server: ServerProcess, iris_rows: np.ndarray,
           diabetes_rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """What kserve_client.py's checks returned, by name."""
    python = REPO / ".venv-kserve" / "bin" / "python"
    if not python.exists():  # under AUGUR_REQUIRE_SERVICES=1 the suite fails this skip
        pytest.skip(f"the KServe SDK is not installed in {python.parent.parent}: run "
                    "scripts/setup.d/50-kserve-client.sh")
    job = {"rest": server.url, "grpc": server.grpc, "token": "inf",
           "iris": iris_rows.tolist(),
           "diabetes": {"columns": list(diabetes_rows.columns),
                        "rows": diabetes_rows.to_numpy().tolist()}}
    run = subprocess.run([str(python), str(KSERVE_CLIENT)], input=json.dumps(job),
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-5000:]
    results: dict[str, dict[str, Any]] = json.loads(run.stdout)
    return results


def _ok(kserve: dict[str, dict[str, Any]], check: str) -> Any:
    assert "ok" in kserve[check], (check, kserve[check])
    return kserve[check]["ok"]


def test_kserve_health_and_readiness(kserve: dict[str, dict[str, Any]]) -> None:
    for check in ("rest_v2.live", "rest_v2.ready", "rest_v2.model_ready", "rest_v1.live",
                  "rest_v1.model_ready", "grpc.live", "grpc.ready", "grpc.model_ready"):
        assert _ok(kserve, check) is True, check
    # the v2 REST client reads readiness from the status alone
    assert _ok(kserve, "rest_v2.model_ready_no_token") is False
    assert _ok(kserve, "rest_v2.model_ready_unknown") is False


def test_kserve_predictions_match_the_runtime(kserve: dict[str, dict[str, Any]],
                                              expected: dict[str, dict[str, np.ndarray]]
                                              ) -> None:
    iris, diabetes = expected["iris"], expected["diabetes"]
    for check in ("rest_v2.infer_iris_json", "rest_v2.infer_iris_binary",
                  "rest_v2.infer_lowercase_scheme", "grpc.infer_iris", "grpc.infer_iris_version"):
        outputs = _ok(kserve, check)
        assert outputs["label"]["datatype"] == "INT64", check
        np.testing.assert_array_equal(outputs["label"]["data"], iris["label"])
        np.testing.assert_allclose(outputs["probabilities"]["data"], iris["probabilities"],
                                   rtol=1e-6)
    for check in ("rest_v2.infer_diabetes_json", "rest_v2.infer_diabetes_binary",
                  "grpc.infer_diabetes"):
        np.testing.assert_allclose(_ok(kserve, check)["variable"]["data"],
                                   diabetes["variable"], rtol=1e-5)
    v1 = _ok(kserve, "rest_v1.predict_iris")
    assert [p["label"] for p in v1["predictions"]] == iris["label"].tolist()
    np.testing.assert_allclose([p["probabilities"] for p in v1["predictions"]],
                               iris["probabilities"], rtol=1e-6)
    records = _ok(kserve, "rest_v1.predict_diabetes_records")
    assert records["model_name"] == "diabetes" and records["model_version"] == "1"
    np.testing.assert_allclose(records["predictions"], diabetes["variable"].ravel(), rtol=1e-5)


@pytest.mark.parametrize(("check", "status", "words"), [
    ("rest_v2.infer_unknown_model", 404, ["nosuch"]),
    ("rest_v2.infer_fp64", 400, ["'input'", "FP32", "FP64"]),
    ("rest_v2.infer_int8_binary", 400, ["'input'", "FP32", "INT8"]),
    ("rest_v2.infer_no_token", 401, ["Bearer"]),
    ("rest_v2.infer_wrong_token", 401, ["token"]),
    ("rest_v2.infer_leading_zero_version", 400, ["'01'"]),
    ("rest_v2.infer_arabic_indic_version", 400, ["version"]),
    ("rest_v2.infer_control_character_name", 400, ["model name"]),
    ("rest_v2.infer_wrong_method", 405, ["POST"]),
    ("rest_v1.model_ready_unknown", 404, ["nosuch"]),
    ("rest_v1.predict_unknown_model", 404, ["nosuch"]),
    ("rest_v1.predict_no_token", 401, ["Bearer"]),
    ("rest_v1.predict_leading_zero_version", 400, ["'01'"]),
    ("grpc.model_ready_no_token", "UNAUTHENTICATED", ["Bearer"]),
    ("grpc.model_ready_unknown", "NOT_FOUND", ["nosuch"]),
    ("grpc.infer_unknown_model", "NOT_FOUND", ["nosuch"]),
    ("grpc.infer_fp64", "INVALID_ARGUMENT", ["'input'", "FP32", "FP64"]),
    ("grpc.infer_no_token", "UNAUTHENTICATED", ["Bearer"]),
    ("grpc.infer_leading_zero_version", "INVALID_ARGUMENT", ["'01'"]),
    ("grpc.infer_huge_version", "INVALID_ARGUMENT", ["99999999999999999999"]),
    ("grpc.infer_control_character_name", "INVALID_ARGUMENT", ["model name"]),
])
def test_kserve_errors_carry_their_status(kserve: dict[str, dict[str, Any]], check: str,
                                          status: int | str, words: list[str]) -> None:
    got = kserve[check]
    assert got.get("status") == status, (check, got)
    assert all(w in got["error"] for w in words), (check, got)
    if status == 405:
        assert got["allow"] == "POST"
