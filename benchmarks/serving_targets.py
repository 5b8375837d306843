"""How the serving benchmark starts each server and what it sends to it.

Every server runs in its own process group, pinned to one core, on a loopback
port; :class:`Target` knows how to start it, check that it answers correctly,
and stop it (and any worker processes it spawned).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
MLSERVER = ROOT / ".venv-mlserver" / "bin" / "mlserver"
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]  # a setosa: label 0 for every model here
V2_IRIS = json.dumps({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",
                                  "data": IRIS_ROW}]}).encode()
JSON = {"content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Endpoint:
    """One URL of a running target and the request the load generator repeats."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    http2: bool = False
    streams: int = 1  # HTTP/2: calls in flight per connection


@dataclass
class Target:
    """A server process to measure."""

    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    cpu: int | None = 0
    check: Callable[[], None] | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, log_dir: Path, timeout: float = 90.0) -> None:
        """Start the server pinned to ``cpu`` and wait until its health URL answers 200."""
        cmd = self.command
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        self.log_path = log_dir / f"{self.name.replace(' ', '_')}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env={**os.environ, **self.env},
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-1500:])
            try:
                if httpx.get(self.health_url, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"{self.name} did not become ready in {timeout:.0f}s")
        if self.check is not None:
            self.check()

    def stop(self) -> None:
        """Stop the server's whole process group (it may have spawned workers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group is ours alone
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(5)


def expect_label(url: str, body: bytes, find: Callable[[dict[str, object]], object],
                 want: object = 0) -> Callable[[], None]:
    """A check that POSTs ``body`` once and compares the label ``find`` extracts."""
    def check() -> None:
        response = httpx.post(url, content=body, headers=JSON, timeout=30)
        response.raise_for_status()
        got = find(response.json())
        if got != want:
            raise RuntimeError(f"{url} answered {got!r}, expected {want!r}")
    return check


def v2_label(doc: dict[str, object]) -> object:
    outputs = doc["outputs"]
    assert isinstance(outputs, list)
    first = next((o for o in outputs if o["name"] in ("label", "predict")), outputs[0])
    return first["data"][0]


def uvicorn_peer(name: str, factory: str, env: dict[str, str]) -> tuple[Target, int]:
    """A peer app of ``serving_peers`` on uvicorn (uvloop + httptools, no access log)."""
    port = free_port()
    cmd = [str(PYTHON), "-m", "uvicorn", "--app-dir", str(ROOT / "benchmarks"),
           f"serving_peers:{factory}", "--factory", "--port", str(port), "--host", "127.0.0.1",
           "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    # FastAPI serves GET /docs; the ceiling app answers any path.
    health = f"http://127.0.0.1:{port}/docs" if factory != "ceiling" else \
        f"http://127.0.0.1:{port}/"
    return Target(name, cmd, health, env=env), port


def augur_server(name: str, home: Path, config: Path, preload: list[str]) -> tuple[Target, int,
                                                                                   int]:
    """``augur serve`` over ``home`` with the settings file ``config``."""
    http, grpc_port = free_port(), free_port()
    cmd = [str(ROOT / ".venv" / "bin" / "augur"), "serve", "--host", "127.0.0.1",
           "--port", str(http), "--grpc-port", str(grpc_port), "--config", str(config),
           "--access-log", "off"]
    for ref in preload:
        cmd += ["--preload", ref]
    target = Target(name, cmd, f"http://127.0.0.1:{http}/v2/health/ready",
                    env={"AUGUR_HOME": str(home)})
    return target, http, grpc_port


def mlserver(name: str, model_dir: Path, workdir: Path, batching: bool) -> tuple[Target, int]:
    """MLServer with its scikit-learn runtime on the joblib file in ``model_dir``."""
    http, grpc_port, metrics = free_port(), free_port(), free_port()
    repo = workdir / name.replace(" ", "_")
    (repo / "iris").mkdir(parents=True, exist_ok=True)
    (repo / "settings.json").write_text(json.dumps({
        "host": "127.0.0.1", "http_port": http, "grpc_port": grpc_port,
        "metrics_port": metrics, "debug": False, "load_models_at_startup": True}))
    model: dict[str, object] = {"name": "iris", "implementation": "mlserver_sklearn.SKLearnModel",
                                "parameters": {"uri": str(model_dir / "model.joblib")}}
    if batching:
        model |= {"max_batch_size": 32, "max_batch_time": 0.005}
    (repo / "iris" / "model-settings.json").write_text(json.dumps(model))
    target = Target(name, [str(MLSERVER), "start", str(repo)],
                    f"http://127.0.0.1:{http}/v2/models/iris/ready", cwd=repo)
    return target, http


def mlserver_available() -> bool:
    return MLSERVER.exists()


def python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))
