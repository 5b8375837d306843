"""What a hostile or careless client sends, against a real ``augur serve`` process.

Each test reproduces one finding of the conformance-and-safety issue and the other
members of its kind (HOSTILE.md): every answer is a bounded 4xx (or gRPC status) with
``{"error": ...}``, memory stays bounded, and the server keeps serving.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

from augur.registry import Registry
from augur.serving.proto import grpc_predict_v2_pb2 as pb
from augur.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc
from augur.signature import ColumnSpec, Signature
from server_process import MAIN, ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INF = {"Authorization": "Bearer inf"}
ADM = {"Authorization": "Bearer adm"}
ROW = [5.1, 3.5, 1.4, 0.2]
MB = 2**20


def _v2(data: Any = None, datatype: str = "FP32", shape: list[int] | None = None
        ) -> dict[str, Any]:
    return {"inputs": [{"name": "input", "datatype": datatype, "shape": shape or [1, 4],
                        "data": ROW if data is None else data}]}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory,
         iris_onnx: tuple[bytes, bytes, Signature]) -> Path:
    one, two, sig = iris_onnx
    root = tmp_path_factory.mktemp("hostile") / "home"
    reg = Registry(root)
    reg.register("iris", one, sig)
    reg.register("iris", two, sig)
    reg.set_alias("iris", "production", 1)
    renamed = tuple(ColumnSpec(f"f{i}", c.kind, c.tensor, c.index)
                    for i, c in enumerate(sig.columns))
    reg.register("fraud", one, replace(sig, columns=renamed))  # iris's bytes, its own columns
    reg.register("canary", one, sig)
    reg.register("canary", two, sig)
    reg.set_alias("canary", "production", 1)
    reg.register("shadow", one, sig)
    reg.register("bare", one, sig)
    reg.register("bare", one, Signature(sig.inputs, sig.outputs))  # no columns: tensors only
    reg.set_alias("bare", "production", 1)
    return root


@pytest.fixture(scope="module")
def server(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(home, tmp_path_factory.mktemp("serve"), inference_token="inf",
                       admin_token="adm", header_timeout_s=1.0, keepalive_timeout_s=2.0,
                       max_connections=64, max_body_bytes="4MB", preload=["iris"],
                       alias_poll_seconds=0.2) as proc:
        yield proc


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def stub(server: ServerProcess) -> Iterator[pb_grpc.GRPCInferenceServiceStub]:
    channel = grpc.insecure_channel(server.grpc)
    yield pb_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


def _still_serving(http: httpx.Client) -> None:
    r = http.post("/v2/models/iris/infer", json=_v2(), headers=INF)
    assert r.status_code == 200, r.text


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.request.url, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    message = r.json()["error"]
    assert isinstance(message, str) and message
    return message


def _code(call: Any) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def _raw_request(server: ServerProcess, head: bytes, body: bytes = b"",
                 timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=timeout) as sock:
        sock.sendall(head + body)
        return sock.recv(65536)


# -- conformance ----------------------------------------------------------------------------


def test_health_and_readiness_answer_with_bodies(http: httpx.Client) -> None:
    assert http.get("/v2/health/live").json() == {"live": True}
    assert http.get("/v2/health/ready").json() == {"ready": True}
    r = http.get("/v2/models/iris/ready", headers=INF)
    assert r.status_code == 200 and r.json() == {"name": "iris", "ready": True}
    assert http.get("/v1/models/iris", headers=INF).json() == {"name": "iris", "ready": True}


@pytest.mark.parametrize(("datatype", "data"), [
    ("FP64", ROW), ("INT8", [5, 3, 1, 0]), ("INT64", [5, 3, 1, 0]), ("FP16", ROW),
    ("UINT8", [5, 3, 1, 0]), ("BOOL", [True, False, True, False]),
])
def test_a_datatype_other_than_the_signatures_is_refused_naming_both(
        http: httpx.Client, stub: pb_grpc.GRPCInferenceServiceStub, datatype: str,
        data: list[Any]) -> None:
    message = _error(http.post("/v2/models/iris/infer", json=_v2(data, datatype), headers=INF),
                     400)
    assert "'input'" in message and "FP32" in message and datatype in message
    dtype = {"FP64": np.float64, "INT8": np.int8, "INT64": np.int64, "FP16": np.float16,
             "UINT8": np.uint8, "BOOL": np.bool_}[datatype]
    raw = np.asarray(data, dtype=dtype).tobytes()
    head = json.dumps({"inputs": [{"name": "input", "datatype": datatype, "shape": [1, 4],
                                   "parameters": {"binary_data_size": len(raw)}}]}).encode()
    binary = http.post("/v2/models/iris/infer", content=head + raw,
                       headers={**INF, "Inference-Header-Content-Length": str(len(head))})
    assert datatype in _error(binary, 400)
    msg = pb.ModelInferRequest(model_name="iris", raw_input_contents=[raw])
    msg.inputs.add(name="input", datatype=datatype, shape=[1, 4])
    try:
        stub.ModelInfer(msg, metadata=[("authorization", "Bearer inf")], timeout=30)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and datatype in exc.details()
    else:
        pytest.fail("gRPC accepted a mismatched datatype")
    _still_serving(http)


@pytest.mark.parametrize(("data", "what"), [
    (["5.1", "3.5", "1.4", "0.2"], "string"), ([5.1, True, 1.4, 0.2], "boolean"),
    ([5.1, "x", 1.4, 0.2], "string"), ([[5.1], 3.5, 1.4, 0.2], ""), ([1e39, 0, 0, 0], "range"),
    ([5.1, {"a": 1}, 1.4, 0.2], ""),
])
def test_json_data_must_be_of_its_declared_type(http: httpx.Client, data: list[Any],
                                                what: str) -> None:
    message = _error(http.post("/v2/models/iris/infer", json=_v2(data), headers=INF), 400)
    assert what in message


@pytest.mark.parametrize("body", [b'{"inputs": []}', b"{", b"", b"[]", b'{"instances": [1]}'])
def test_an_unknown_model_is_404_before_its_body_is_judged(
        http: httpx.Client, stub: pb_grpc.GRPCInferenceServiceStub, body: bytes) -> None:
    _error(http.post("/v2/models/nosuch/infer", content=body, headers=INF), 404)
    _error(http.post("/v2/models/nosuch/versions/3/infer", content=body, headers=INF), 404)
    _error(http.post("/v1/models/nosuch:predict", content=body, headers=INF), 404)
    assert _code(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name="nosuch"),
                                         metadata=[("authorization", "Bearer inf")])) \
        == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/v2/models/iris/infer", "POST"), ("PUT", "/v2/health/live", "GET"),
    ("DELETE", "/v2", "GET"), ("POST", "/v2/models/iris", "GET"),
    ("POST", "/v2/models/iris/ready", "GET"), ("GET", "/v1/models/iris:predict", "POST"),
    ("POST", "/v1/models", "GET"), ("PATCH", "/v2/models/iris/versions/1/infer", "POST"),
    ("GET", "/v2/repository/index", "POST"), ("DELETE", "/v2/admin/models", "GET"),
    ("GET", "/v2/admin/models/iris/aliases/production", "POST"), ("POST", "/metrics", "GET"),
    ("GET", "/v2/repository/models/iris/load", "POST"), ("POST", "/v2/openapi.json", "GET"),
])
def test_a_wrong_method_is_405_with_allow(http: httpx.Client, method: str, path: str,
                                          allow: str) -> None:
    r = http.request(method, path, headers=ADM)
    _error(r, 405)
    assert allow in r.headers["allow"]


@pytest.mark.parametrize("path", ["/v2/nothing", "/v2/models", "/v2/models/iris/nope",
                                  "/v2/models/iris/versions", "/v2/health/dead",
                                  "/v1/models/iris/extra", "/v2/models//infer", "/nothing"])
def test_an_unknown_route_is_404(http: httpx.Client, path: str) -> None:
    _error(http.get(path, headers=ADM), 404)


@pytest.mark.parametrize("ref", [
    "%10", "%00", "%2e%2e", "iris%0a", "%20iris", "iris%20", "iris%09", "ir%E2%80%8Bis",
    "iris:0001", "iris:01", "iris:%D9%A1", "iris:%EF%BC%91", "iris:%C2%B2", "iris:+1",
    "iris:99999999999999999999", "iris:9223372036854775808", "iris@prod%0a", "x" * 300,
    "%EF%BD%89ris",
])
def test_names_and_versions_are_canonical_or_400(http: httpx.Client, ref: str) -> None:
    for path in (f"/v2/models/{ref}/ready", f"/v2/models/{ref}", f"/v1/models/{ref}"):
        _error(http.get(path, headers=INF), 400)
    _error(http.post(f"/v2/models/{ref}/infer", json=_v2(), headers=INF), 400)
    _error(http.post(f"/v1/models/{ref}:predict", json={"instances": [ROW]}, headers=INF), 400)


def test_a_literal_dot_dot_segment_is_400_not_a_path(server: ServerProcess) -> None:
    # httpx normalises "..", a raw client does not
    answer = _raw_request(server, b"GET /v2/models/../ready HTTP/1.1\r\nHost: x\r\n"
                                  b"Authorization: Bearer inf\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


@pytest.mark.parametrize("version", ["0001", "01", "0", "-1", "%D9%A1", "%EF%BC%91", "%C2%B2",
                                     "99999999999999999999", "1%20", "1.0", "1e1"])
def test_version_segments_are_canonical_or_400(http: httpx.Client, version: str) -> None:
    _error(http.get(f"/v2/models/iris/versions/{version}", headers=INF), 400)
    _error(http.get(f"/v2/models/iris/versions/{version}/ready", headers=INF), 400)
    _error(http.post(f"/v2/models/iris/versions/{version}/infer", json=_v2(), headers=INF), 400)


@pytest.mark.parametrize(("name", "version"), [
    ("iris:0001", ""), ("iris:\u0661", ""), ("iris:\uff11", ""), (" iris", ""), ("iris\n", ""),
    ("iris", "0001"), ("iris", "99999999999999999999"), ("iris", "\u00b2"), ("..", ""),
    ("iris", " 1"),
])
def test_grpc_names_and_versions_are_canonical_or_invalid_argument(
        stub: pb_grpc.GRPCInferenceServiceStub, name: str, version: str) -> None:
    auth = [("authorization", "Bearer inf")]
    msg = pb.ModelInferRequest(model_name=name, model_version=version,
                               raw_input_contents=[np.array([ROW], np.float32).tobytes()])
    msg.inputs.add(name="input", datatype="FP32", shape=[1, 4])
    for call in (lambda: stub.ModelInfer(msg, metadata=auth),
                 lambda: stub.ModelReady(pb.ModelReadyRequest(name=name, version=version),
                                         metadata=auth),
                 lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name=name, version=version),
                                            metadata=auth)):
        assert _code(call) == grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name=""), metadata=auth)) \
        == grpc.StatusCode.INVALID_ARGUMENT


# -- memory -----------------------------------------------------------------------------------


def test_claimed_sizes_are_checked_before_anything_is_allocated(
        http: httpx.Client, stub: pb_grpc.GRPCInferenceServiceStub,
        server: ServerProcess) -> None:
    _still_serving(http)
    rss, peak = server.rss(), server.peak_rss()
    claims = [
        ({"name": "input", "datatype": "BYTES", "shape": [100_000_000, 4],
          "parameters": {"binary_data_size": 0}}, b""),
        ({"name": "input", "datatype": "FP32", "shape": [2**40, 2**40],
          "parameters": {"binary_data_size": 16}}, b"\0" * 16),
        ({"name": "input", "datatype": "BYTES", "shape": [2**62, 2**62], "data": ["a"]}, b""),
        ({"name": "input", "datatype": "FP32", "shape": [50_000_000, 4], "data": ROW}, b""),
    ]
    for tensor, payload in claims:
        head = json.dumps({"inputs": [tensor]}).encode()
        headers = {**INF, "Inference-Header-Content-Length": str(len(head))} if payload or \
            "parameters" in tensor else INF
        started = time.monotonic()
        r = http.post("/v2/models/iris/infer", content=head + payload, headers=headers)
        assert "declares" in _error(r, 400) or "need" in r.json()["error"]
        assert time.monotonic() - started < 5
    auth = [("authorization", "Bearer inf")]
    for shape, raw in (([25_000_000, 4], b""), ([25_000_000, 4], b"\x01\0\0\0a"),
                       ([2**31, 2], b"")):
        msg = pb.ModelInferRequest(model_name="iris", raw_input_contents=[raw])
        msg.inputs.add(name="input", datatype="BYTES", shape=shape)
        assert _code(lambda m=msg: stub.ModelInfer(m, metadata=auth)) \
            == grpc.StatusCode.INVALID_ARGUMENT
    _still_serving(http)
    assert server.rss() - rss < 50 * MB
    assert server.peak_rss() - peak < 50 * MB


def _stream_chunked(server: ServerProcess, path: str, headers: dict[str, str],
                    total: int, chunk: int = MB) -> int:
    """POST a chunked body of ``total`` bytes; return the status the server answers with
    (it may answer and close long before the body ends)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.http_port}",
             "Transfer-Encoding: chunked", "Content-Type: application/json",
             *(f"{k}: {v}" for k, v in headers.items())]
    piece = b"%x\r\n" % chunk + b"1," * (chunk // 2) + b"\r\n"
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"3\r\n[1,\r\n")
        sock.setblocking(False)
        sent, answer = 0, b""
        while sent < total:
            try:
                answer += sock.recv(65536)
                if answer:
                    break
            except BlockingIOError:
                pass
            try:
                sock.setblocking(True)
                sock.settimeout(10)
                sock.sendall(piece)
                sock.setblocking(False)
            except OSError:
                break
            sent += chunk
        sock.setblocking(True)
        sock.settimeout(10)
        while b"\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    assert sent < total, "the server read the whole body"
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/v2/repository/index", {}, 401),
    ("/v2/repository/index", INF, 413),
    ("/v2/admin/models/iris/aliases/production", ADM, 413),
    ("/v2/repository/models/iris/load", ADM, 413),
    ("/v1/batch/runs", ADM, 413),
    ("/v2/models/iris/infer", INF, 413),
    ("/v1/models/iris:predict", INF, 413),
])
def test_every_route_stops_reading_at_its_body_limit(server: ServerProcess, http: httpx.Client,
                                                     path: str, headers: dict[str, str],
                                                     status: int) -> None:
    rss = server.rss()
    declared = _raw_request(server, (f"POST {path} HTTP/1.1\r\nHost: x\r\n"
                                     f"Content-Length: {200 * MB}\r\n"
                                     + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                                     + "\r\n").encode(), b"[1,1,1,")
    assert declared.split(b" ", 2)[1] in (b"401", b"413")
    assert _stream_chunked(server, path, headers, 200 * MB) in (status, 401, 413)
    _still_serving(http)
    assert server.rss() - rss < 50 * MB


# -- connections ---------------------------------------------------------------------------


def test_headers_that_never_finish_and_idle_sockets_are_closed(server: ServerProcess,
                                                               http: httpx.Client) -> None:
    partial = socket.create_connection(("127.0.0.1", server.http_port))
    partial.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    silent = socket.create_connection(("127.0.0.1", server.http_port))
    keepalive = socket.create_connection(("127.0.0.1", server.http_port))
    keepalive.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200" in keepalive.recv(4096)
    started = time.monotonic()
    for sock in (partial, silent, keepalive):  # header timeout 1 s, keep-alive timeout 2 s
        sock.settimeout(10)
        try:
            while sock.recv(4096):  # the rest of a response, then the close
                pass
        except ConnectionResetError:
            pass
        finally:
            sock.close()
    assert time.monotonic() - started < 8
    _still_serving(http)


def test_connections_beyond_the_cap_are_refused(server: ServerProcess,
                                                http: httpx.Client) -> None:
    fds = server.open_fds()
    socks = [socket.create_connection(("127.0.0.1", server.http_port)) for _ in range(300)]
    try:
        time.sleep(0.5)
        assert server.open_fds() - fds <= 64 + 8  # the cap (64), not 300
        closed = 0
        for sock in socks:
            sock.settimeout(0.01)
            try:
                if sock.recv(1) == b"":
                    closed += 1
            except (TimeoutError, ConnectionResetError) as exc:
                closed += isinstance(exc, ConnectionResetError)
        assert closed >= 300 - 64
    finally:
        for sock in socks:
            sock.close()
    time.sleep(1.5)  # the accepted ones time out (no headers)
    _still_serving(http)


# -- identity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v2/repository/index"), ("GET", "/v2/admin/models"),
    ("GET", "/v2/admin/models/iris/traffic"), ("GET", "/v2"), ("GET", "/v2/models/iris"),
    ("GET", "/v2/models/iris/ready"), ("GET", "/v1/models"), ("GET", "/v1/models/iris"),
    ("POST", "/v2/models/iris/infer"), ("POST", "/v1/models/iris:predict"),
    ("GET", "/v1/predictions/iris/1"), ("GET", "/v1/batch/schedules"),
    ("POST", "/v2/repository/models/iris/load"),
    ("GET", "/edge/iris/bundle/manifest.json"), ("GET", "/edge/iris/bundle/model.onnx"),
])
def test_nothing_but_health_answers_without_a_token(http: httpx.Client, method: str,
                                                    path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic aW5m"},
                    {"Authorization": "inf"}):
        r = http.request(method, path, headers=headers, json={})
        assert "inf" not in _error(r, 401).replace("inference", "")
    for query in ("token=inf", "access_token=inf", "authorization=Bearer%20inf"):
        _error(http.request(method, f"{path}?{query}", json={}), 401)


def test_the_edge_index_lists_nothing_without_a_token(http: httpx.Client) -> None:
    page = http.get("/edge", headers={"Accept": "text/html,*/*;q=0.8"})  # a browser
    assert page.status_code == 401 and "sign in" in page.text
    assert "iris" not in _error(http.get("/edge"), 401)  # a program: the error body
    assert "iris" not in page.text and "fraud" not in page.text
    assert "iris" in http.get("/edge", headers=INF).text


def test_health_probes_and_metrics_stay_open(http: httpx.Client,
                                             stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    for path in ("/v2/health/live", "/v2/health/ready", "/metrics"):
        assert http.get(path).status_code == 200
    assert stub.ServerLive(pb.ServerLiveRequest()).live
    assert stub.ServerReady(pb.ServerReadyRequest()).ready
    for call in (lambda: stub.ServerMetadata(pb.ServerMetadataRequest()),
                 lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="iris")),
                 lambda: stub.ModelReady(pb.ModelReadyRequest(name="iris")),
                 lambda: stub.RepositoryIndex(pb.RepositoryIndexRequest())):
        assert _code(call) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_one_check_everywhere_the_scheme_in_any_case(
        http: httpx.Client, stub: pb_grpc.GRPCInferenceServiceStub, scheme: str) -> None:
    inf, adm = {"Authorization": f"{scheme} inf"}, {"Authorization": f"{scheme} adm"}
    assert http.post("/v2/models/iris/infer", json=_v2(), headers=inf).status_code == 200
    assert http.post("/v2/repository/index", headers=inf).status_code == 200
    assert http.get("/v2/admin/models", headers=adm).status_code == 200
    assert http.get("/v1/batch/schedules", headers=adm).status_code == 200
    assert http.get("/edge/iris:1/bundle/manifest.json", headers=inf).status_code == 200
    assert http.get("/v2/admin/models", headers=inf).status_code == 403
    assert stub.ModelReady(pb.ModelReadyRequest(name="iris"),
                           metadata=[("authorization", f"{scheme} inf")]).ready
    assert _code(lambda: stub.RepositoryModelLoad(
        pb.RepositoryModelLoadRequest(model_name="iris"),
        metadata=[("authorization", f"{scheme} inf")])) == grpc.StatusCode.PERMISSION_DENIED


def test_errors_never_show_server_paths_or_passwords(home: Path, tmp_path: Path,
                                                     iris_onnx: tuple[bytes, bytes, Signature]
                                                     ) -> None:
    one, _, sig = iris_onnx
    reg = Registry(tmp_path / "home")
    bad = reg.register("bad", one, sig)
    path = reg.artifact_path(bad)
    path.chmod(0o644)
    path.write_bytes(one[:100])  # altered on disk
    secret = "postgresql://augur:s3cret-pw@127.0.0.1:1/nope"
    with ServerProcess(reg.home, tmp_path, inference_token="inf", admin_token="adm",
                       prediction_store=secret) as proc, \
            httpx.Client(base_url=proc.url, timeout=30, headers=ADM) as client:
        texts = [client.post("/v2/models/bad/infer", json=_v2()).text,
                 client.post("/v2/repository/index").text,
                 client.get("/v2/admin/models").text,
                 client.get("/v1/predictions/bad/1").text,
                 client.post("/v2/repository/models/bad/load").text]
    for text in texts:
        assert str(tmp_path) not in text and "/tmp/" not in text, text
        assert "s3cret-pw" not in text, text


# -- names, edge, traffic --------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["production%0a", "production%20", "%20production",
                                   "prod%00", "%2e%2e", "12", "a%5Cb"])
def test_alias_names_are_refused_whole(http: httpx.Client, alias: str) -> None:
    before = http.get("/v2/admin/models", headers=ADM).status_code
    assert before == 200
    _error(http.post(f"/v2/admin/models/iris/aliases/{alias}", json={"version": 2},
                     headers=ADM), 400)


def test_the_cli_refuses_names_with_newlines_and_padding(home: Path, tmp_path: Path,
                                                         iris_onnx: tuple[bytes, bytes,
                                                                          Signature]) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(iris_onnx[0])
    env = {"AUGUR_HOME": str(tmp_path / "cli-home")}
    for args in (["models", "register", "trail\n", str(model)],
                 ["models", "register", " lead", str(model)],
                 ["alias", "set", "iris", "prod\n", "1"],
                 ["alias", "set", "iris", "production", "0001"],
                 ["alias", "set", "iris", "production", "\u0661"],
                 ["models", "show", "iris:0001"]):
        run = subprocess.run([sys.executable, "-c", MAIN, *args], capture_output=True,
                             text=True, env={**__import__("os").environ, **env}, timeout=120)
        assert run.returncode == 2, (args, run.stderr)
        assert run.stderr.startswith("augur: error:") and "Traceback" not in run.stderr


def test_an_edge_page_never_shows_another_models_name_or_columns(http: httpx.Client) -> None:
    page = http.get("/edge/iris:2", headers=INF)
    assert page.status_code == 200 and '"ref": "iris:2"' in page.text
    manifests = {ref: http.get(f"/edge/{ref}/bundle/manifest.json", headers=INF).json()
                 for ref in ("iris:1", "iris:2", "fraud")}
    assert manifests["iris:2"]["model"]["ref"] == "iris:2"
    assert manifests["fraud"]["model"]["ref"] == "fraud:1"  # iris:1's bytes, not iris
    assert [c["name"] for c in manifests["fraud"]["columns"]] == ["f0", "f1", "f2", "f3"]
    assert manifests["iris:1"]["columns"][0]["name"] == "sepal_length"


def test_plain_json_takes_the_canary_and_shadow_like_v2(http: httpx.Client) -> None:
    policy = {"canary": "canary:2", "canary_percent": 25, "shadow": "shadow:1"}
    assert http.put("/v2/admin/models/canary/traffic", json=policy,
                    headers=ADM).status_code == 200
    record = dict(zip(["sepal_length", "sepal_width", "petal_length", "petal_width"], ROW,
                      strict=True))
    seen: Counter[str] = Counter()
    for _ in range(200):
        r = http.post("/v1/models/canary:predict", json={"instances": [record]}, headers=INF)
        assert r.status_code == 200 and r.json()["model_version"] == \
            r.headers["augur-model-version"]
        seen[r.headers["augur-model-version"]] += 1
    assert seen == {"1": 150, "2": 50}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report = http.get("/v2/admin/models/canary/traffic", headers=ADM).json()
        if report["shadow_comparisons"]["agree"] + report["shadow_comparisons"]["disagree"] \
                >= 200:
            break
        time.sleep(0.1)
    assert report["canary_requests"] == 50 and report["requests"] == 200
    metrics = http.get("/metrics").text
    assert 'augur_canary_requests_total{model="canary",version="2"} 50.0' in metrics
    http.put("/v2/admin/models/canary/traffic", json={}, headers=ADM)


def test_an_incompatible_alias_move_is_409_unless_forced(http: httpx.Client) -> None:
    move = "/v2/admin/models/bare/aliases/production"
    assert "tensors, not records" in _error(http.post(move, json={"version": 2}, headers=ADM),
                                            409)
    assert http.post("/v1/models/bare:predict", headers=INF, json={"instances": [dict(zip(
        ["sepal_length", "sepal_width", "petal_length", "petal_width"], ROW, strict=True))]}
                     ).status_code == 200  # record clients still served by version 1
    _error(http.post(move, json={"version": 2, "force": "yes"}, headers=ADM), 400)
    forced = http.post(move, json={"version": 2, "force": True}, headers=ADM)
    assert forced.status_code == 200 and forced.json()["previous"] == 1
    back = http.post(move + "/rollback", headers=ADM)
    assert back.status_code == 200 and back.json()["version"] == 1
    _error(http.post(move + "/rollback", headers=ADM), 404)  # nothing earlier
