"""``augur serve`` (the real command, in its own process) answers the Triton gRPC client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tritonclient.grpc as triton

from augur.registry import Registry
from augur.runtime import load
from augur.serving.server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAIN = "from augur.cli import main; raise SystemExit(main())"


def test_augur_serve_answers_tritonclient_grpc(iris_registry: Registry) -> None:
    grpc_port = free_port()
    env = {**os.environ, "AUGUR_HOME": str(iris_registry.home)}
    proc = subprocess.Popen([sys.executable, "-c", MAIN, "serve", "--port", str(free_port()),
                             "--grpc-port", str(grpc_port), "--access-log", "off"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("augur serving"):
                break
        assert f"gRPC on port {grpc_port}" in "".join(lines), "".join(lines)
        x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
        with triton.InferenceServerClient(f"127.0.0.1:{grpc_port}") as client:
            assert client.is_server_live() and client.is_server_ready()
            assert client.is_model_ready("iris@production")
            inp = triton.InferInput("input", list(x.shape), "FP32")
            inp.set_data_from_numpy(x)
            result = client.infer("iris@production", [inp])
        expected = load("iris:1", registry=iris_registry).predict({"input": x})
        np.testing.assert_array_equal(result.as_numpy("label"), expected["label"])
        assert result.get_response().model_version == "1"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0
