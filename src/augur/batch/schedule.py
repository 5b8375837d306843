"""Schedules: batch jobs that run every N hours or on a cron expression.

Schedules live in the registry database (table ``batch_schedules``), so they
survive restarts and any process with the same ``$AUGUR_HOME`` sees them. A
:class:`Scheduler` claims due schedules inside a write transaction that also
moves their next run time forward, so two schedulers never start the same
occurrence twice.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from augur.batch.job import BatchJob, run_batch
from augur.config import parse_duration
from augur.errors import AugurError, ConfigError, ModelNotFound
from augur.registry import Registry, RunRecord

log = logging.getLogger("augur.batch.schedule")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_schedules (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    every_s REAL,
    cron TEXT,
    next_run_at REAL NOT NULL,
    last_run_id TEXT,
    last_run_at REAL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Schedule:
    """A job and when it runs.

    Attributes:
        id: schedule id.
        job: the batch job.
        every_s: period in seconds (or ``None`` with ``cron``).
        cron: a cron expression (or ``None`` with ``every_s``).
        next_run_at: Unix time of the next occurrence.
        last_run_id, last_run_at: the latest run started by this schedule.
        every: the period as the user wrote it (``4h``); ``None`` with ``cron``.
    """

    id: str
    job: BatchJob
    every_s: float | None
    cron: str | None
    next_run_at: float
    last_run_id: str | None
    last_run_at: float | None
    created_at: float
    every: str | None = None

    def timing(self) -> str:
        """When it runs, as the user wrote it: ``every 4h`` or ``cron '0 3 * * *'``."""
        if self.cron is not None:
            return f"cron {self.cron!r}"
        return f"every {self.every or _period_text(self.every_s or 0.0)}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ref": self.job.ref, "input": self.job.input,
                "output": self.job.output, "key": self.job.key, "every": self.every,
                "every_s": self.every_s,
                "cron": self.cron, "next_run_at": self.next_run_at,
                "last_run_id": self.last_run_id, "last_run_at": self.last_run_at,
                "created_at": self.created_at}


def _period_text(seconds: float) -> str:
    """``14400`` -> ``4h``: the largest unit that divides the period (for schedules stored
    before the period's own text was kept)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def next_occurrence(every_s: float | None, cron: str | None, after: float) -> float:
    """The first occurrence strictly after ``after`` (Unix seconds, cron in UTC)."""
    if cron is not None:
        from datetime import UTC, datetime

        from croniter import croniter

        nxt: datetime = croniter(cron, datetime.fromtimestamp(after, UTC)).get_next(datetime)
        return nxt.timestamp()
    if every_s is None:
        raise ConfigError("a schedule needs --every or --cron")
    return after + every_s


def parse_timing(every: str | None, cron: str | None) -> tuple[float | None, str | None]:
    """Check ``--every`` / ``--cron`` and return (seconds, expression).

    Raises:
        ConfigError: neither or both given, a bad duration, or a bad cron expression.
    """
    if (every is None) == (cron is None):
        raise ConfigError("give exactly one of --every (e.g. 4h) or --cron (e.g. '0 3 * * *')")
    if every is not None:
        seconds = parse_duration(every)
        if seconds < 1:
            raise ConfigError(f"--every must be at least 1s, got {every!r}")
        return seconds, None
    from croniter import croniter

    if not croniter.is_valid(cron or ""):
        raise ConfigError(f"not a cron expression: {cron!r} (expected e.g. '0 3 * * *')")
    return None, cron


class ScheduleStore:
    """Schedules in the registry database."""

    def __init__(self, registry: Registry) -> None:
        self.db = registry.db
        self._ready = False

    def _init(self) -> None:
        if not self._ready:
            with self.db.write() as conn:
                conn.execute(_SCHEMA)
            self._ready = True

    def add(self, job: BatchJob, *, every: str | None = None, cron: str | None = None,
            start_at: float | None = None) -> Schedule:
        """Store a schedule; its first run is one period from now (or ``start_at``).

        Raises:
            ConfigError: bad timing or job settings.
        """
        job.check()
        every_s, expr = parse_timing(every, cron)
        self._init()
        now = time.time()
        first = start_at if start_at is not None else next_occurrence(every_s, expr, now)
        sid = uuid.uuid4().hex[:10]
        with self.db.write() as conn:
            conn.execute("INSERT INTO batch_schedules (id, job, every_s, cron, next_run_at,"
                         " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                         # The period's text rides in the job's JSON: no schema change.
                         (sid, json.dumps({**job.to_dict(), "every": every.strip()}
                                          if every is not None else job.to_dict()),
                          every_s, expr, first, now))
        return self.get(sid)

    def get(self, schedule_id: str) -> Schedule:
        """One schedule.

        Raises:
            ModelNotFound: no schedule has that id.
        """
        self._init()
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM batch_schedules WHERE id = ? AND enabled = 1",
                               (schedule_id,)).fetchone()
        if row is None:
            raise ModelNotFound(f"no schedule with id {schedule_id!r}")
        return _schedule_of(row)

    def list(self) -> list[Schedule]:
        """Every schedule, soonest first."""
        self._init()
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM batch_schedules WHERE enabled = 1"
                                " ORDER BY next_run_at").fetchall()
        return [_schedule_of(r) for r in rows]

    def remove(self, schedule_id: str) -> None:
        """Delete a schedule.

        Raises:
            ModelNotFound: no schedule has that id.
        """
        self.get(schedule_id)
        with self.db.write() as conn:
            conn.execute("DELETE FROM batch_schedules WHERE id = ?", (schedule_id,))

    def claim_due(self, now: float | None = None) -> builtins.list[tuple[Schedule, str]]:
        """Take every due schedule, move it to its next occurrence, assign run ids."""
        self._init()
        now = time.time() if now is None else now
        claimed = []
        with self.db.write() as conn:
            rows = conn.execute("SELECT * FROM batch_schedules WHERE enabled = 1 AND"
                                " next_run_at <= ?", (now,)).fetchall()
            for row in rows:
                sched = _schedule_of(row)
                run_id = uuid.uuid4().hex[:12]
                conn.execute("UPDATE batch_schedules SET next_run_at = ?, last_run_id = ?,"
                             " last_run_at = ? WHERE id = ?",
                             (next_occurrence(sched.every_s, sched.cron, now), run_id, now,
                              sched.id))
                claimed.append((sched, run_id))
        return claimed

    def mark_triggered(self, schedule_id: str, run_id: str) -> None:
        """Record a run started by hand for this schedule."""
        with self.db.write() as conn:
            conn.execute("UPDATE batch_schedules SET last_run_id = ?, last_run_at = ?"
                         " WHERE id = ?", (run_id, time.time(), schedule_id))


def _schedule_of(row: Any) -> Schedule:
    job = json.loads(row["job"])
    every = job.get("every") if row["every_s"] is not None else None
    return Schedule(id=row["id"], job=BatchJob.from_dict(job),
                    every_s=row["every_s"], cron=row["cron"], next_run_at=row["next_run_at"],
                    last_run_id=row["last_run_id"], last_run_at=row["last_run_at"],
                    created_at=row["created_at"], every=every if isinstance(every, str) else None)


Runner = Callable[[BatchJob, Registry, str], RunRecord]


def _run_quietly(job: BatchJob, registry: Registry, run_id: str) -> RunRecord:
    return run_batch(job, registry, run_id=run_id, quiet=True)


class Scheduler:
    """Runs due schedules in background threads of a long-running process.

    Args:
        registry: where schedules, models and run records live.
        poll_interval: seconds between looks for due schedules.
        max_concurrent: runs at once.
        runner: how to run one job (default :func:`~augur.batch.run_batch`, quiet).

    Example:
        >>> sched = Scheduler(Registry()).start()      # doctest: +SKIP
        >>> run_id = sched.trigger("3f2a9c01de")        # doctest: +SKIP
        >>> sched.stop()                                # doctest: +SKIP
    """

    def __init__(self, registry: Registry, *, poll_interval: float = 5.0,
                 max_concurrent: int = 1, runner: Runner | None = None) -> None:
        self.registry = registry
        self.store = ScheduleStore(registry)
        self.poll_interval = poll_interval
        self.max_concurrent = max_concurrent
        self.runner = runner or _run_quietly
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._runs: dict[str, Future[RunRecord]] = {}

    def start(self) -> Scheduler:
        """Start polling in a background thread; returns ``self``."""
        if self._thread is None:
            self._stop.clear()
            self._pool = ThreadPoolExecutor(self.max_concurrent,
                                            thread_name_prefix="augur-scheduled-run")
            self._thread = threading.Thread(target=self._loop, name="augur-scheduler",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, wait: bool = True) -> None:
        """Stop polling; with ``wait``, let started runs finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None

    def run_pending(self, now: float | None = None) -> builtins.list[str]:
        """Start every due schedule now; return the new run ids."""
        return [self._submit(sched.job, run_id) for sched, run_id in
                self.store.claim_due(now)]

    def trigger(self, schedule_id: str) -> str:
        """Run a schedule's job now, whatever its timing; return the run id.

        Raises:
            ModelNotFound: no schedule has that id.
        """
        sched = self.store.get(schedule_id)
        run_id = uuid.uuid4().hex[:12]
        self.store.mark_triggered(schedule_id, run_id)
        return self._submit(sched.job, run_id)

    def wait(self, run_id: str, timeout: float | None = None) -> RunRecord:
        """Block until a run started here ends; return its record (re-raising its error)."""
        return self._runs[run_id].result(timeout)

    def _submit(self, job: BatchJob, run_id: str) -> str:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_concurrent,
                                            thread_name_prefix="augur-scheduled-run")
        if len(self._runs) > 256:  # a long-running scheduler forgets finished runs
            self._runs = {k: f for k, f in self._runs.items() if not f.done()}
        self._runs[run_id] = self._pool.submit(self._run, job, run_id)
        return run_id

    def _run(self, job: BatchJob, run_id: str) -> RunRecord:
        try:
            return self.runner(job, self.registry, run_id)
        except AugurError as exc:
            log.warning("scheduled run %s of %s failed: %s", run_id, job.ref, exc)
            raise

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except AugurError as exc:  # a broken database must not end the loop
                log.warning("scheduler: %s", exc)
            self._stop.wait(self.poll_interval)
