"""The README's code blocks, as the README tests read them.

A fenced block is ```` ```bash ```` or ```` ```python ````; an HTML comment right before
it, ``<!-- readme-test: skip (WHY) -->``, marks one that cannot run in a test (a
Kubernetes cluster, the whole set-up), and the test counts and prints those.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"<!--\s*readme-test:\s*skip\s*\((.+?)\)\s*-->\s*$", re.S)


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    language: str
    code: str
    line: int
    skip: str | None

    def commands(self) -> list[str]:
        """The block's shell commands: continuation lines joined, comments and blank
        lines dropped (a trailing ``# comment`` stays: the shell ignores it)."""
        joined = re.sub(r"\\\n\s*", " ", self.code)
        return [ln.strip() for ln in joined.splitlines()
                if ln.strip() and not ln.strip().startswith("#")]


def blocks(text: str | None = None) -> list[Block]:
    """Every bash and python block of the README, in order."""
    text = README.read_text(encoding="utf-8") if text is None else text
    out = []
    for m in _FENCE.finditer(text):
        language = m.group(1).lower()
        if language not in ("bash", "sh", "shell", "python"):
            continue
        before = text[:m.start()].rstrip()
        marker = _MARKER.search(before[-300:])
        out.append(Block("python" if language == "python" else "bash", m.group(2),
                         text.count("\n", 0, m.start()) + 1,
                         marker.group(1).strip() if marker else None))
    return out


def interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C for a process started in its own session (and its children), as a user
    stops a server; SIGKILL if it does not stop."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def augur_executable() -> str:
    """The ``.venv/bin/augur`` the README names: the repository's own, else the one
    installed beside this interpreter (the same venv, elsewhere)."""
    own = ROOT / ".venv" / "bin" / "augur"
    return str(own if own.exists() else Path(sys.executable).parent / "augur")
