"""What the Batch page shows and does: runs, their failed rows, schedules; start and resume.

Reads go through the batch part's public API (:func:`~augur.batch.list_runs`,
:func:`~augur.batch.run_errors`, :class:`~augur.batch.ScheduleStore`). Runs started
from the console execute on one background thread of the process serving it, one at
a time, exactly as ``augur batch run`` / ``augur batch resume`` would run them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from augur.batch import (
    BatchJob,
    ScheduleStore,
    list_runs,
    open_sink,
    open_source,
    resume_batch,
    run_batch,
    run_errors,
)
from augur.console.secrets import masked_url
from augur.errors import AugurError, ConfigError, InvalidInput
from augur.registry import Registry, RunRecord, RunStore

log = logging.getLogger("augur.console")

#: Failed rows returned with one run (the page says when there are more).
MAX_ERROR_ROWS = 500
#: The fields of a batch job the Start form may set.
JOB_FIELDS = ("ref", "input", "key", "output", "chunk_size")


def _run_doc(record: RunRecord) -> dict[str, Any]:
    doc = record.to_dict()
    stats = record.stats
    doc["rows_in"] = stats.get("rows_in", 0)
    doc["rows_out"] = stats.get("rows_out", 0)
    doc["rows_failed"] = stats.get("rows_failed", 0)
    doc["ref"] = record.params.get("requested_ref") or record.params.get("ref")
    doc["input"] = masked_url(record.params.get("input"))
    doc["output"] = masked_url(record.params.get("output"))
    doc["params"] = {k: masked_url(v) if isinstance(v, str) else v
                     for k, v in record.params.items()}
    doc["error"] = masked_url(record.error)
    return doc


def current_record(registry: Registry, run_id: str) -> RunRecord:
    """A run's record, ``killed`` if it claims to run in a process that is gone.

    Raises:
        ModelNotFound: no run has that id.
    """
    found = next((r for r in list_runs(registry, limit=1000) if r.id == run_id), None)
    return found if found is not None else RunStore(registry.db).get(run_id)


def runs_doc(registry: Registry, limit: int = 100) -> dict[str, Any]:
    """The most recent batch runs, newest first (a run whose process died shows ``killed``)."""
    return {"runs": [_run_doc(r) for r in list_runs(registry, limit=limit)]}


def run_doc(registry: Registry, run_id: str) -> dict[str, Any]:
    """One run with its failed rows (at most :data:`MAX_ERROR_ROWS`) and their reasons.

    Raises:
        ModelNotFound: no run has that id.
    """
    doc = _run_doc(current_record(registry, run_id))
    try:
        errors = run_errors(run_id, registry)
        doc["errors"] = [{"row": e["row"], "key": e["key"], "reason": masked_url(e["reason"])}
                         for e in errors[:MAX_ERROR_ROWS]]
        doc["errors_truncated"] = len(errors) > MAX_ERROR_ROWS
        doc["errors_unavailable"] = None
    except AugurError as exc:  # the sink is gone or unreachable: say so, show the rest
        doc["errors"], doc["errors_truncated"] = [], False
        doc["errors_unavailable"] = str(exc)
    return doc


def schedules_doc(registry: Registry) -> dict[str, Any]:
    """Every stored schedule with its next and last run."""
    docs = []
    for schedule in ScheduleStore(registry).list():
        doc = schedule.to_dict()
        doc["input"], doc["output"] = masked_url(doc["input"]), masked_url(doc["output"])
        docs.append(doc)
    return {"schedules": docs, "now": time.time()}


def job_of(spec: Any) -> BatchJob:
    """The batch job a Start form describes.

    Raises:
        InvalidInput: not an object, unknown or missing fields, or values of the wrong type.
        ConfigError: values out of range (from :meth:`BatchJob.check`).
    """
    if not isinstance(spec, dict):
        raise InvalidInput('the body must be {"ref", "input", "key", "output"?, "chunk_size"?}')
    unknown = sorted(set(spec) - set(JOB_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; the console sets {list(JOB_FIELDS)}")
    for name in ("ref", "input", "key"):
        if not isinstance(spec.get(name), str) or not spec[name].strip():
            raise InvalidInput(f"{name!r} must be non-empty text")
    output = spec.get("output")
    if output is not None and not isinstance(output, str):
        raise InvalidInput("'output' must be text")
    chunk = spec.get("chunk_size", 50_000)
    if isinstance(chunk, bool) or not isinstance(chunk, int):
        raise InvalidInput("'chunk_size' must be a whole number")
    job = BatchJob(ref=spec["ref"].strip(), input=spec["input"].strip(), key=spec["key"],
                   output=(output or "").strip() or None, chunk_size=chunk)
    job.check()
    return job


class BatchLauncher:
    """Starts and resumes batch runs on one background thread.

    Args:
        registry: where models and run records live.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._pool: ThreadPoolExecutor | None = None
        self._runs: dict[str, Future[RunRecord]] = {}
        self._lock = threading.Lock()

    def _submit(self, key: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        def logged() -> RunRecord:
            try:
                record: RunRecord = fn(*args, **kwargs)
                return record
            except AugurError as exc:  # recorded in the run record; the page shows it
                log.warning("batch run %s failed: %s", key, exc)
                raise

        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="augur-console-batch")
            self._runs = {k: f for k, f in self._runs.items() if not f.done()}
            self._runs[key] = self._pool.submit(logged)

    def start(self, job: BatchJob) -> str:
        """Check ``job`` now (model, input, output), then run it; return the run id.

        Raises:
            ModelNotFound: the reference matches no version.
            ConfigError: the input or output cannot be used.
        """
        self.registry.resolve(job.ref)
        open_source(job.input)
        open_sink(job.output, self.registry.home)
        run_id = uuid.uuid4().hex[:12]
        self._submit(run_id, run_batch, job, self.registry, run_id=run_id, quiet=True)
        return run_id

    def resume(self, run_id: str) -> str:
        """Continue a stopped run from its last committed chunk; return its id.

        Raises:
            ModelNotFound: no run has that id.
            ConfigError: it already succeeded, or it is running.
        """
        record = current_record(self.registry, run_id)
        if record.status == "succeeded":
            raise ConfigError(f"run {run_id} already succeeded; nothing to resume")
        if record.status == "running":
            raise ConfigError(f"run {run_id} is still running; resume it once it has stopped")
        self._submit(run_id, resume_batch, run_id, self.registry, quiet=True)
        return run_id

    def queued(self, run_id: str) -> bool:
        """Whether ``run_id`` was started here and has no run record yet."""
        with self._lock:
            future = self._runs.get(run_id)
        return future is not None and not future.done()

    def close(self) -> None:
        """Wait for started runs to end."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
