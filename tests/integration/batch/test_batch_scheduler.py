"""``augur scheduler`` as a long-running process runs a due schedule, then stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from augur.batch import BatchJob, ScheduleStore
from augur.registry import Registry, RunStore

pytestmark = pytest.mark.integration


def test_scheduler_process_runs_due_schedule(batch_registry: Registry, parquet_input: Path,
                                             tmp_path: Path) -> None:
    store = ScheduleStore(batch_registry)
    job = BatchJob("iris", str(parquet_input), "id", output=str(tmp_path / "p.db"))
    sched = store.add(job, every="1h", start_at=time.time() - 1)
    env = {**os.environ, "AUGUR_HOME": str(batch_registry.home)}
    proc = subprocess.Popen([sys.executable, "-c",
                             "from augur.cli import main; raise SystemExit(main())",
                             "scheduler", "--poll", "200ms"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        run_id = None
        while time.time() < deadline:
            run_id = store.get(sched.id).last_run_id
            if run_id is not None:
                try:
                    if RunStore(batch_registry.db).get(run_id).status == "succeeded":
                        break
                except LookupError:
                    pass
            time.sleep(0.1)
        assert run_id is not None, "the scheduler did not start the due run"
        rec = RunStore(batch_registry.db).get(run_id)
        assert rec.status == "succeeded" and rec.stats["rows_out"] == 1000
        assert store.get(sched.id).next_run_at > time.time() + 3000  # next one in ~1h
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "polling every 0.2s" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        store.remove(sched.id)
