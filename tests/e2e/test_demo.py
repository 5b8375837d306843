"""The README's first command, demo part, on a fresh $AUGUR_HOME; then every command the
demo prints, exactly as printed, each exiting 0."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest
from readme_blocks import augur_executable, blocks, interrupt

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_command() -> list[str]:
    """The demo part of the README's first command (``.venv/bin/augur demo --serve``)."""
    first = blocks()[0].commands()[0].split("#", 1)[0]
    part = next(p.strip() for p in first.split("&&") if " demo" in p)
    argv = shlex.split(part)
    assert argv[0] == ".venv/bin/augur" and argv[1] == "demo", part
    return [augur_executable(), *argv[1:]]


def printed_commands(output: str) -> list[str]:
    """The commands under each ``Try...`` line: the indented lines that follow it."""
    commands, under_try = [], False
    for line in output.splitlines():
        if line.startswith("  ") and under_try:
            commands.append(line.strip())
        else:
            under_try = re.search(r"\bTry\b.*:$", line.rstrip()) is not None
    return commands


def test_the_readme_demo_then_every_command_it_prints(tmp_path: Path) -> None:
    argv = demo_command()
    env = {k: v for k, v in os.environ.items() if k != "AUGUR_HOME"}  # ./.augur: fresh
    env.update(AUGUR_HTTP_PORT=str(_free_port()), AUGUR_GRPC_PORT=str(_free_port()))
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        serving = "--serve" in argv
        deadline = time.monotonic() + 240
        # Until the demo is done (or, with --serve, the server's banner is out).
        while not (serving and "/metrics" in log.read_text()):
            if demo.poll() is not None:
                assert not serving and demo.returncode == 0, log.read_text()
                break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        output = log.read_text()
        commands = printed_commands(output)
        assert any(" predict iris --input " in c for c in commands), output
        if serving:
            assert sum(c.startswith("curl") for c in commands) >= 2, output
        for command in commands:
            done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            if command.startswith("curl"):
                body = json.loads(done.stdout)
                assert "error" not in body, (command, body)
    finally:
        interrupt(demo)
