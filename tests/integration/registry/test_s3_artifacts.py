"""Artifacts on S3-API object storage, against a real S3 server (moto's) that the test starts.

Register on one ``$AUGUR_HOME``, serve from a second, empty one that shares only
the PostgreSQL registry and the bucket; and every bad input: unreachable
endpoint, wrong credentials, missing bucket, an object altered in the store.
The server runs with IAM authentication on, so wrong credentials are refused
as a real S3 would refuse them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from augur.errors import AugurError, ConfigError, InvalidArtifact, ServiceUnavailable
from augur.registry import Registry
from augur.signature import Signature

pytestmark = pytest.mark.integration

REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    key_id: str
    secret: str
    bucket: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    try:
        import boto3
        import moto.server  # noqa: F401 - the server's code must be importable
    except ImportError as exc:
        if os.environ.get("AUGUR_REQUIRE_SERVICES") == "1":
            pytest.fail(f"moto[server] and boto3 are needed: {exc}")
        pytest.skip(f"moto[server] and boto3 are needed: {exc}")
    port = free_port()
    # IAM checks on from the 4th request: the first three create the user and its key.
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="augur")
        iam.put_user_policy(UserName="augur", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="augur")["AccessKey"]
        server = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], "augur-models")
        client(server).create_bucket(Bucket=server.bucket)
        yield server
    finally:
        proc.terminate()
        proc.wait(10)


def client(server: S3Server) -> object:
    import boto3

    return boto3.client("s3", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=server.key_id, aws_secret_access_key=server.secret)


@pytest.fixture
def aws_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> S3Server:
    """The standard AWS chain, pointed at the test server's user only."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    return s3_server


def scale_model(scale: float) -> tuple[bytes, Signature]:
    """y = x * scale, x: float[-1, 2]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    s = helper.make_tensor("s", TensorProto.FLOAT, [1], [scale])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "s"], ["y"])], "g", [x], [y], [s])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data = bytes(model.SerializeToString())
    return data, Signature.from_onnx(onnx.load_model_from_string(data))


def infer(url: str, model: str) -> httpx.Response:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2],
                        "data": [1.0, 2.0, 3.0, 4.0]}]}
    return httpx.post(f"{url}/v2/models/{model}/infer", json=body, timeout=30)


def messages(exc: BaseException) -> str:
    out, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(out)


def test_register_on_one_home_serve_from_another_empty_one(
        aws_env: S3Server, postgres_schema_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from augur.runtime import load
    from augur.serving import BackgroundServer, ServerSettings

    prefix = f"run-{uuid.uuid4().hex[:8]}"
    artifacts = f"s3://{aws_env.bucket}/{prefix}"
    builder = Registry(tmp_path / "builder", url=postgres_schema_url, artifacts_url=artifacts,
                       s3_endpoint_url=aws_env.endpoint)
    data, sig = scale_model(2.0)
    v = builder.register("double", data, sig)
    builder.set_alias("double", "production", v.version)
    keys = [o["Key"] for o in client(aws_env).list_objects_v2(  # type: ignore[attr-defined]
        Bucket=aws_env.bucket, Prefix=prefix)["Contents"]]
    assert keys == [f"{prefix}/sha256/{v.artifact[:2]}/{v.artifact}.onnx"]
    want = load("double", registry=builder).predict({"x": np.array([[1, 2], [3, 4]], "f4")})

    # The serving machine: its own empty home, everything else from the environment.
    home = tmp_path / "server"
    monkeypatch.setenv("AUGUR_HOME", str(home))
    monkeypatch.setenv("AUGUR_REGISTRY_URL", postgres_schema_url)
    monkeypatch.setenv("AUGUR_ARTIFACTS_URL", artifacts)
    monkeypatch.setenv("AUGUR_S3_ENDPOINT_URL", aws_env.endpoint)
    server_registry = Registry()
    assert not home.exists()
    settings = ServerSettings(http_port=0, grpc_enabled=False, access_log="off", warmup=False)
    with BackgroundServer(settings, server_registry) as server:
        reply = infer(server.url, "double")
    assert reply.status_code == 200, reply.text
    out = reply.json()["outputs"][0]
    assert np.array_equal(np.asarray(out["data"], "f4").reshape(out["shape"]), want["y"])
    cached = home / "artifacts" / "sha256" / v.artifact[:2] / f"{v.artifact}.onnx"
    assert cached.read_bytes() == data


def test_an_object_altered_in_the_store_is_refused_and_others_keep_serving(
        aws_env: S3Server, postgres_schema_url: str, tmp_path: Path) -> None:
    from augur.serving import BackgroundServer, ServerSettings

    artifacts = f"s3://{aws_env.bucket}/alter-{uuid.uuid4().hex[:8]}"

    def registry(home: str) -> Registry:
        return Registry(tmp_path / home, url=postgres_schema_url, artifacts_url=artifacts,
                        s3_endpoint_url=aws_env.endpoint)

    builder = registry("builder")
    double = builder.register("double", *scale_model(2.0))
    builder.register("triple", *scale_model(3.0))
    key = f"{artifacts.split('/', 3)[3]}/sha256/{double.artifact[:2]}/{double.artifact}.onnx"
    client(aws_env).put_object(Bucket=aws_env.bucket, Key=key,  # type: ignore[attr-defined]
                               Body=scale_model(5.0)[0])
    served = registry("server")
    with pytest.raises(InvalidArtifact, match="altered in the object store") as err:
        served.read_artifact(served.get("double", 1))
    assert aws_env.secret not in messages(err.value)
    assert not (tmp_path / "server" / "artifacts" / "sha256" / double.artifact[:2]).exists()
    settings = ServerSettings(http_port=0, grpc_enabled=False, access_log="off", warmup=False)
    with BackgroundServer(settings, served) as server:
        bad = infer(server.url, "double")
        good = infer(server.url, "triple")
        again = infer(server.url, "triple")
    assert bad.status_code == 503 and "altered" in bad.text, bad.text
    assert aws_env.secret not in bad.text
    assert good.status_code == 200 and again.status_code == 200, good.text
    assert good.json()["outputs"][0]["data"] == [3.0, 6.0, 9.0, 12.0]
    # A cached copy altered on disk is fetched again from the bucket, then repaired.
    triple = served.get("triple", 1)
    path = served.artifact_path(triple)
    os.chmod(path, 0o644)
    path.write_bytes(b"garbage")
    assert served.read_artifact(triple) == scale_model(3.0)[0]
    assert path.read_bytes() == scale_model(3.0)[0]


@pytest.mark.parametrize("case", ["unreachable endpoint", "wrong secret key",
                                  "unknown access key", "missing bucket"])
def test_bad_object_storage_is_one_clear_error_and_registers_nothing(
        aws_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    endpoint, bucket = aws_env.endpoint, aws_env.bucket
    secret = aws_env.secret
    if case == "unreachable endpoint":
        endpoint = f"http://127.0.0.1:{free_port()}"
    elif case == "wrong secret key":
        secret = "wrong-" + aws_env.secret[6:]
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    elif case == "unknown access key":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000")
    else:
        bucket = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    reg = Registry(tmp_path / "home", artifacts_url=f"s3://{bucket}/p",
                   s3_endpoint_url=endpoint)
    expected: dict[str, tuple[type[AugurError], str]] = {
        "unreachable endpoint": (ServiceUnavailable, "uploading"),
        "wrong secret key": (ConfigError, "the credentials were refused"),
        "unknown access key": (ConfigError, "the credentials were refused"),
        "missing bucket": (ConfigError, f"the bucket {bucket} does not exist"),
    }
    kind, text = expected[case]
    with pytest.raises(kind, match=text) as err:
        reg.register("double", *scale_model(2.0))
    assert f"s3://{bucket}/p" in str(err.value) and len(str(err.value).splitlines()) == 1
    for hidden in {secret, aws_env.secret}:
        assert hidden not in messages(err.value)
    assert reg.list_models() == []  # nothing registered half-way
    assert not list((tmp_path / "home" / "artifacts").rglob("*.onnx"))
