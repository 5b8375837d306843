"""A real ``augur serve`` in its own process, for tests that need its memory, its sockets
or a client that is a separate program."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from augur.serving.server import free_port

MAIN = "from augur.cli import main; raise SystemExit(main())"


class ServerProcess:
    """``augur serve`` over ``home`` with ``settings`` (a config file is written).

    Attributes:
        url: the HTTP base URL.
        grpc: the gRPC ``host:port``.
    """

    def __init__(self, home: Path, tmp: Path, **settings: Any) -> None:
        self.http_port, self.grpc_port = free_port(), free_port()
        config = {"http_port": self.http_port, "grpc_port": self.grpc_port,
                  "access_log": "off", **settings}
        self.config = tmp / f"serve-{self.http_port}.json"
        self.config.write_text(json.dumps(config))
        self.env = {**os.environ, "AUGUR_HOME": str(home)}
        self.log = tmp / f"serve-{self.http_port}.log"
        self.cwd = tmp  # whatever the server writes by a relative path lands here
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.grpc = f"127.0.0.1:{self.grpc_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", MAIN, "serve", "--config",
                                          str(self.config)], env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"augur serve exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/v2/health/live", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"augur serve did not start: {self.log.read_text()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def peak_rss(self) -> int:
        """Peak resident memory (VmHWM) of the server process, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
