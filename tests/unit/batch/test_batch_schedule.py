from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from augur.batch import BatchJob, Scheduler, ScheduleStore
from augur.batch.schedule import next_occurrence
from augur.errors import ConfigError, ModelNotFound
from augur.registry import Registry, RunStore


@pytest.fixture
def job(parquet_input: Path, tmp_path: Path) -> BatchJob:
    return BatchJob("iris", str(parquet_input), "id", output=str(tmp_path / "p.db"))


def test_every_and_cron_timing() -> None:
    t = datetime(2026, 1, 1, 10, 30, tzinfo=UTC).timestamp()
    assert next_occurrence(4 * 3600, None, t) == t + 4 * 3600
    nxt = next_occurrence(None, "0 3 * * *", t)
    assert datetime.fromtimestamp(nxt, UTC) == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("every, cron, message", [
    (None, None, "exactly one"), ("4h", "0 3 * * *", "exactly one"),
    ("soon", None, "not a duration"), (None, "every day", "not a cron"), ("0s", None, "at least"),
])
def test_bad_timing(registry: Registry, job: BatchJob, every, cron, message) -> None:
    with pytest.raises(ConfigError, match=message):
        ScheduleStore(registry).add(job, every=every, cron=cron)


def test_schedules_are_durable_and_claimed_once(registry: Registry, job: BatchJob) -> None:
    sched = ScheduleStore(registry).add(job, every="4h")
    assert sched.next_run_at == pytest.approx(time.time() + 4 * 3600, abs=5)
    again = ScheduleStore(Registry(registry.home))  # another process, same AUGUR_HOME
    assert [s.id for s in again.list()] == [sched.id]
    later = sched.next_run_at + 1
    claimed = again.claim_due(now=later)
    assert [s.id for s, _ in claimed] == [sched.id]
    assert ScheduleStore(registry).claim_due(now=later) == []  # not twice
    assert again.get(sched.id).next_run_at == pytest.approx(later + 4 * 3600)
    again.remove(sched.id)
    with pytest.raises(ModelNotFound):
        again.get(sched.id)


def test_scheduler_runs_due_jobs_and_trigger(batch_registry: Registry, job: BatchJob) -> None:
    store = ScheduleStore(batch_registry)
    due = store.add(job, every="1h", start_at=time.time() - 1)
    scheduler = Scheduler(batch_registry, poll_interval=0.05).start()
    try:
        deadline = time.time() + 30
        while store.get(due.id).last_run_id is None and time.time() < deadline:
            time.sleep(0.05)
        run_id = store.get(due.id).last_run_id
        assert run_id is not None
        assert scheduler.wait(run_id, timeout=60).status == "succeeded"
        manual = scheduler.trigger(due.id)
        rec = scheduler.wait(manual, timeout=60)
        assert rec.status == "succeeded" and rec.stats["rows_out"] == 1000
        assert store.get(due.id).last_run_id == manual
        assert RunStore(batch_registry.db).get(manual).params["ref"] == "iris:1"
        with pytest.raises(ModelNotFound):
            scheduler.trigger("nope")
    finally:
        scheduler.stop()
        store.remove(due.id)
