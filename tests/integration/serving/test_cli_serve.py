"""``augur demo --serve`` serves the example models and prints a request that works."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from augur.serving.server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAIN = "from augur.cli import main; raise SystemExit(main())"


def test_demo_serve_prints_a_curl_request_that_answers(tmp_path: Path) -> None:
    env = {**os.environ, "AUGUR_HOME": str(tmp_path / "home"),
           "AUGUR_HTTP_PORT": str(free_port()), "AUGUR_GRPC_PORT": str(free_port()),
           "AUGUR_ACCESS_LOG": str(tmp_path / "access.log")}
    proc = subprocess.Popen([sys.executable, "-c", MAIN,
                             "demo", "--serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        curl = ""
        lines = []
        while time.monotonic() < deadline and not curl:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("curl -s -X POST"):
                curl = line.strip()
        assert curl, "".join(lines)
        words = shlex.split(curl)
        url = next(w for w in words if w.startswith("http://"))
        body = json.loads(words[words.index("-d") + 1])
        response = httpx.post(url, json=body, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"][0]["label"] == 0
        assert re.search(r"/v1/models/iris:predict$", url)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0
    log_lines = (tmp_path / "access.log").read_text(encoding="utf-8").splitlines()
    record = json.loads(log_lines[-1])
    assert record["path"] == "/v1/models/iris:predict" and record["status"] == 200
    assert record["model"] == "iris"
