"""Every command and Python snippet of the README runs, on the demo's models.

The README's ``bash`` and ``python`` blocks run in order in a fresh working folder whose
``./.augur`` the demo prepared (services as in CI: PostgreSQL, Redis, NATS at their
test URLs). Rules, so the README stays what a user can paste:

- each bash command (continuation lines joined) runs with ``bash -c`` and must exit 0;
  each python block runs as one script;
- ``augur``, ``python`` and ``.venv/bin/...`` are the venv's (as after ``source
  .venv/bin/activate``);
- a command that serves until stopped (``augur serve``, ``augur ui``, ``augur scheduler``
  without ``--once``, ``augur edge serve``) starts in the background and stays up for the
  blocks after it; it serves on free ports, and ``:8080`` / ``:8081`` / ``:8090`` in later
  commands are replaced by them; a later server replaces an earlier one on the same
  ports, which must have stopped cleanly;
- the placeholders ``RUN_ID`` and ``SCHEDULE_ID`` are filled with the newest batch run
  and schedule;
- a block preceded by ``<!-- readme-test: skip (WHY) -->`` is not run; the test prints
  how many were skipped and why.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from readme_blocks import Block, augur_executable, blocks, interrupt

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LONG_RUNNING = (re.compile(r"(^|&&|;)\s*augur serve\b"),
                re.compile(r"(^|&&|;)\s*augur scheduler\b(?!.*--once)"),
                re.compile(r"(^|&&|;)\s*augur edge serve\b"),
                re.compile(r"(^|&&|;)\s*augur ui\b"),
                re.compile(r"(^|&&|;)\s*augur demo\b.*--serve"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Readme:
    """Runs README blocks in one working folder, keeping background servers."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        bindir = str(Path(augur_executable()).parent)
        self.http, self.grpc, self.ui = _free_port(), _free_port(), _free_port()
        self.env = {k: v for k, v in os.environ.items() if k != "AUGUR_HOME"}
        self.env.update(PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
                        AUGUR_HTTP_PORT=str(self.http), AUGUR_GRPC_PORT=str(self.grpc))
        self.background: list[tuple[str, subprocess.Popen[bytes]]] = []
        (cwd / ".venv").mkdir()
        (cwd / ".venv" / "bin").symlink_to(bindir)  # `.venv/bin/...` as the README says

    def _fill(self, command: str) -> str:
        command = command.replace(":8080", f":{self.http}").replace(":8081", f":{self.grpc}")
        command = command.replace(":8090", f":{self.ui}")
        if re.search(r"(^|&&|;)\s*augur ui\b", command) and "--port" not in command:
            command = re.sub(r"(augur ui\b)", rf"\1 --port {self.ui}", command, count=1)
        if "RUN_ID" in command or "SCHEDULE_ID" in command:
            ids = json.loads(self._out("augur batch runs --json --limit 1") or "[]")
            schedules = json.loads(self._out("augur batch schedules --json") or "[]")
            command = command.replace("RUN_ID", ids[0]["id"] if ids else "none")
            command = command.replace("SCHEDULE_ID",
                                      schedules[-1]["id"] if schedules else "none")
        return command

    def _out(self, command: str) -> str:
        return subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=120).stdout

    def bash(self, block: Block) -> None:
        for raw in block.commands():
            command = self._fill(raw)
            if any(p.search(command) for p in LONG_RUNNING):
                self._start(command)
                continue
            done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=self.cwd,
                                  env=self.env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (f"README line {block.line}: {raw}",
                                          done.stdout[-2000:], done.stderr[-2000:])
            if command.startswith("curl"):
                assert '"error"' not in done.stdout, (raw, done.stdout)

    def _start(self, command: str) -> None:
        if " serve" in command:
            # one server on the README's ports at a time: a later `augur serve` replaces the
            # one before (its port is the same), which must have stopped cleanly
            for old, proc in self.background:
                if " serve" in old and proc.poll() is None:
                    interrupt(proc)
                    assert proc.returncode in (0, -signal.SIGINT, 130), old
        log = (self.cwd / f"background-{len(self.background)}.log").open("wb")
        proc = subprocess.Popen(["bash", "-c", f"exec {command}" if "&&" not in command
                                 else command], cwd=self.cwd, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.background.append((command, proc))
        deadline = time.monotonic() + 120
        serving = " serve" in command
        ui = re.search(r"augur ui\b", command) is not None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (command, self.log_of(len(self.background) - 1))
            if ui:
                try:
                    if httpx.get(f"http://127.0.0.1:{self.ui}/", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            elif not serving:
                if time.monotonic() > deadline - 118:
                    return  # a scheduler: up once it has not failed at start
            else:
                try:
                    if httpx.get(f"http://127.0.0.1:{self.http}/v2/health/ready",
                                 timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        raise AssertionError(f"{command} did not come up: {self.log_of(-1)}")

    def log_of(self, i: int) -> str:
        return (self.cwd / f"background-{i % len(self.background)}.log").read_text()

    def python(self, block: Block) -> None:
        done = subprocess.run([str(Path(augur_executable()).parent / "python"), "-"],
                              input=block.code, cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (f"README line {block.line}", done.stderr[-3000:])

    def stop(self) -> None:
        for command, proc in self.background:
            if proc.returncode is None:
                interrupt(proc)
            assert proc.returncode in (0, -signal.SIGINT, 130), command


def test_every_readme_block_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = Readme(tmp_path)
    demo = subprocess.run([augur_executable(), "demo"], cwd=tmp_path, env=readme.env,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    skipped, ran = [], 0
    try:
        for block in blocks():
            if block.skip is not None:
                skipped.append(f"line {block.line}: {block.skip}")
                continue
            getattr(readme, block.language)(block)
            ran += 1
    finally:
        readme.stop()
    with capsys.disabled():
        print(f"\nREADME: {ran} blocks ran, {len(skipped)} skipped", file=sys.stderr)
        for line in skipped:
            print(f"  skipped {line}", file=sys.stderr)
    assert ran >= 4
