"""A run killed with SIGKILL mid-way, then resumed: every key once, every prediction right."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import psycopg
import pytest
import redis

from augur.batch import list_runs, resume_batch
from augur.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_ROWS = 30_000
CHUNK = 100


def _sqlite_state(db: Path, full: bool) -> tuple[int, dict[str, tuple[str, float]]]:
    if not db.exists():
        return 0, {}
    with sqlite3.connect(db) as conn:
        try:
            row = conn.execute("SELECT max(chunks) FROM predictions_progress").fetchone()
        except sqlite3.OperationalError:
            return 0, {}
        rows = conn.execute("SELECT key, outputs, created_at FROM predictions").fetchall() \
            if full else []
    return int(row[0] or 0), {k: (o, t) for k, o, t in rows}


def _kill_after_some_chunks(argv: list[str], env: dict[str, str],
                            chunks_done: Callable[[], int]) -> tuple[int, float]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while (done := chunks_done()) < 5:
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before it was killed: "
                                     f"{proc.stderr.read().decode() if proc.stderr else ''}")
            assert time.time() < deadline, "the run made no progress"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return done, killed_at


@pytest.mark.parametrize("sink", ["sqlite", "postgres", "redis"])
def test_sigkill_then_resume(sink: str, batch_registry: Registry, tmp_path: Path, rows,
                             expected, close, request: pytest.FixtureRequest) -> None:
    frame = rows(N_ROWS)
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=20_000)
    name = f"t_kill_{uuid.uuid4().hex[:8]}"
    pg_url = redis_url = ""
    if sink == "sqlite":
        db = tmp_path / "p.db"
        output = str(db)

        def state(full: bool = True) -> tuple[int, dict[str, tuple[str, float]]]:
            return _sqlite_state(db, full)
    elif sink == "postgres":
        pg_url = request.getfixturevalue("postgres_url")
        output = f"{pg_url}?table={name}"

        def state(full: bool = True) -> tuple[int, dict[str, tuple[str, float]]]:
            with psycopg.connect(pg_url) as conn:
                try:
                    done = conn.execute(f"SELECT max(chunks) FROM {name}_progress").fetchone()
                except psycopg.errors.UndefinedTable:
                    return 0, {}
                if not full:
                    return int(done[0] or 0), {}
                rows_ = conn.execute(f"SELECT key, outputs::text, created_at FROM {name}")
                return int(done[0] or 0), {k: (o, t) for k, o, t in rows_.fetchall()}
    else:
        redis_url = request.getfixturevalue("redis_url")
        output = f"{redis_url}?prefix=test:{name}"

        def state(full: bool = True) -> tuple[int, dict[str, tuple[str, float]]]:
            client = redis.Redis.from_url(redis_url)
            try:
                keys = list(client.scan_iter(f"test:{name}:_progress:*", count=1000))
                progress = client.hgetall(keys[0]) if keys else {}
                found: dict[str, tuple[str, float]] = {}
                if not full:
                    return int(progress.get(b"chunks", 0)), found
                names = list(client.scan_iter(f"test:{name}:iris:*", count=5000))
                pipe = client.pipeline(transaction=False)
                for k in names:
                    pipe.hmget(k, "outputs", "created_at")
                for k, (o, t) in zip(names, pipe.execute(), strict=True):
                    found[k.decode().rsplit(":", 1)[1]] = (o.decode(), float(t))
                return int(progress.get(b"chunks", 0)), found
            finally:
                client.close()

    env = {**os.environ, "AUGUR_HOME": str(batch_registry.home)}
    argv = [sys.executable, "-c", "from augur.cli import main; raise SystemExit(main())",
            "batch", "run", "iris", "--input", str(tmp_path / "in.parquet"), "--key", "id",
            "--output", output, "--chunk-size", str(CHUNK), "--quiet"]
    try:
        _, killed_at = _kill_after_some_chunks(argv, env, lambda: state(False)[0])
        committed, before = state()
        assert 5 <= committed < N_ROWS // CHUNK, "killed in the middle"
        assert len(before) == committed * CHUNK  # nothing half-written
        rec = next(r for r in list_runs(batch_registry) if r.params.get("output") == output)
        assert rec.status == "killed"  # the process is gone: `augur batch runs` says so

        resumed = resume_batch(rec.id, batch_registry, quiet=True)
        assert resumed.status == "succeeded"
        assert resumed.stats["rows_in"] == resumed.stats["rows_out"] == N_ROWS
        assert resumed.stats["rows_failed"] == 0
        _, after = state()
        assert len(after) == N_ROWS  # one prediction per key, none lost
        assert all(after[k][1] < killed_at for k in before)  # committed chunks not redone
        close({k: orjson.loads(o) for k, (o, _) in after.items()},
              expected(batch_registry, frame))
    finally:
        if sink == "postgres":
            with psycopg.connect(pg_url, autocommit=True) as conn:
                for suffix in ("", "_errors", "_progress"):
                    conn.execute(f"DROP TABLE IF EXISTS {name}{suffix}")
        elif sink == "redis":
            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter(f"test:{name}:*", count=5000))
            for i in range(0, len(keys), 5000):
                client.delete(*keys[i:i + 5000])
            client.close()
