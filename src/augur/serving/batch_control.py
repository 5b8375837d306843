"""Batch jobs started by the server: due schedules, and runs triggered over HTTP.

With ``augur serve --scheduler`` (``scheduler = true`` in the settings) the server
runs the batch part's :class:`~augur.batch.Scheduler` in its process: due
schedules start on its threads, as with ``augur scheduler``. Without it,
schedules only run when triggered over HTTP (``POST /v1/batch/schedules/{id}/run``),
so two servers over one ``$AUGUR_HOME`` never both poll unless asked to. The
scheduler's claims are transactional, so even then no occurrence runs twice.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from augur.batch import BatchJob, Schedule, Scheduler, run_batch
from augur.errors import AugurError, ConfigError, ModelNotFound
from augur.registry import Registry, RunRecord, RunStore

_JOB_FIELDS = frozenset(BatchJob.__dataclass_fields__)


class BatchControl:
    """Schedules and ad-hoc batch runs of one server.

    Args:
        registry: where models, schedules and run records live.
        poll_seconds: how often due schedules are looked for (with :meth:`start`).
        max_concurrent: batch runs at once.
    """

    def __init__(self, registry: Registry, *, poll_seconds: float = 5.0,
                 max_concurrent: int = 1) -> None:
        self.registry = registry
        self.scheduler = Scheduler(registry, poll_interval=poll_seconds,
                                   max_concurrent=max_concurrent)
        self._pool: ThreadPoolExecutor | None = None
        self._runs: dict[str, Future[RunRecord]] = {}
        self._triggered: set[str] = set()
        self._lock = threading.Lock()
        self.polling = False

    def start(self) -> None:
        """Run due schedules in this process from now on."""
        self.scheduler.start()
        self.polling = True

    def stop(self) -> None:
        """Stop polling and wait for started runs."""
        self.scheduler.stop(wait=True)
        self.polling = False
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def schedules(self) -> list[Schedule]:
        """Every stored schedule."""
        return self.scheduler.store.list()

    def trigger(self, schedule_id: str) -> str:
        """Run a stored schedule's job now; return the run id.

        Raises:
            ModelNotFound: no schedule has that id.
        """
        run_id = self.scheduler.trigger(schedule_id)
        with self._lock:
            self._triggered.add(run_id)
        return run_id

    def submit(self, spec: dict[str, Any]) -> str:
        """Start a batch job described by ``spec`` (the fields of :class:`~augur.batch.BatchJob`).

        Raises:
            ConfigError: unknown fields, missing ``ref``/``input``/``key``, bad values.
            ModelNotFound: the reference matches no version.
        """
        unknown = sorted(set(spec) - _JOB_FIELDS)
        if unknown:
            raise ConfigError(f"unknown batch job field(s) {unknown}; known: "
                              f"{sorted(_JOB_FIELDS)}")
        missing = [f for f in ("ref", "input", "key") if not isinstance(spec.get(f), str)]
        if missing:
            raise ConfigError(f"a batch job needs the text field(s) {missing}")
        try:
            job = BatchJob(**spec)
        except TypeError as exc:
            raise ConfigError(f"invalid batch job: {exc}") from None
        job.check()
        self.registry.resolve(job.ref)
        run_id = uuid.uuid4().hex[:12]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="augur-batch-run")
            self._runs[run_id] = self._pool.submit(run_batch, job, self.registry,
                                                   run_id=run_id, quiet=True)
        return run_id

    def status(self, run_id: str) -> dict[str, Any]:
        """The run record of a run (``queued`` while it has none yet).

        Raises:
            ModelNotFound: no run has that id.
        """
        try:
            return RunStore(self.registry.db).get(run_id).to_dict()
        except ModelNotFound:
            pass
        except AugurError:
            raise
        future = self._runs.get(run_id)
        if future is None:
            if run_id in self._triggered:
                return {"id": run_id, "status": "queued"}
            raise ModelNotFound(f"no batch run with id {run_id!r}")
        if future.done() and future.exception() is not None:
            return {"id": run_id, "status": "failed", "error": str(future.exception())}
        return {"id": run_id, "status": "queued"}
