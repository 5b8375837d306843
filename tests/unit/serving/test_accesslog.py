"""The access log writes one JSON object per request, buffered."""

from __future__ import annotations

import json
from pathlib import Path

from augur.serving.accesslog import FLUSH_LINES, AccessLog


def test_lines_are_json_and_flushed_when_full_or_closed(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    log = AccessLog(str(path))
    log.open()
    for i in range(FLUSH_LINES):
        log.write("POST", "/v2/models/m/infer", 200, 0.00025, ("127.0.0.1", 5000 + i), "m", "3")
    assert len(path.read_text(encoding="utf-8").splitlines()) == FLUSH_LINES
    log.write("GET", "/v2/models/x", 404, 0.001, None, error="ModelNotFound")
    log.close()
    last = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert last["status"] == 404 and last["error"] == "ModelNotFound" and "model" not in last
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["ms"] == 0.25 and first["client"] == "127.0.0.1:5000" and first["version"] == "3"


def test_off_writes_nothing(tmp_path: Path) -> None:
    log = AccessLog("off")
    log.open()
    assert not log.enabled
    log.close()
