"""Batch jobs as run records: start, resume, list.

A run is recorded in the registry's :class:`~augur.registry.RunStore` (kind
``batch``) with its parameters, so ``resume`` can rebuild the job from its id.
The sink holds the authoritative progress, committed with each chunk; the run
record mirrors it for ``augur batch runs``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, TextIO

from augur.batch.engine import EngineTask, LocalEngine
from augur.batch.inference import ChunkPredictor
from augur.batch.predictions import PredictionChunk, Progress
from augur.batch.progress import ProgressReporter
from augur.batch.sink import default_sink_url, open_sink
from augur.batch.sources import open_source
from augur.errors import ConfigError
from augur.registry import Registry, RunRecord, RunStore
from augur.runtime import load

RUN_KIND = "batch"
ENGINES = ("local", "ray")
# The field types of a job (exact types: a boolean is not a number here).
_TYPES: dict[str, type] = {"str": str, "int": int, "bool": bool, "None": type(None)}
_KIND_NAMES = {str: "text", int: "an integer", bool: "true or false", type(None): "null"}


@dataclass(frozen=True)
class BatchJob:
    """What to predict, from where, into where.

    Attributes:
        ref: model reference (``name``, ``name:3``, ``name@alias``).
        input: source (see :mod:`augur.batch.sources`).
        key: the column holding each row's entity key.
        output: sink (see :mod:`augur.batch.sink`); ``None`` for the SQLite default.
        chunk_size: rows per chunk (and per sink transaction).
        engine: ``local`` or ``ray``.
        ray_address: a Ray cluster to join (default: start a local one).
        fail_fast: stop at the first bad row instead of recording it.
        workers: chunks predicted at once by the local engine.
        ray_cpus: CPUs of a local Ray cluster (default: all).
        ray_actors: model actors in the Ray pool.
    """

    ref: str
    input: str
    key: str
    output: str | None = None
    chunk_size: int = 50_000
    engine: str = "local"
    ray_address: str | None = None
    fail_fast: bool = False
    workers: int = 2
    ray_cpus: int | None = None
    ray_actors: int = 1

    def check(self) -> None:
        """Reject bad settings before anything runs.

        Raises:
            ConfigError: a setting is of the wrong type (a job read from JSON may hold
                anything) or out of range.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            # the annotations are strings here: "int", "str | None", ...
            allowed = {_TYPES[t.strip()] for t in str(f.type).split("|")}
            if type(value) not in allowed:
                kinds = " or ".join(sorted(_KIND_NAMES[t] for t in allowed))
                raise ConfigError(f"batch job field {f.name!r} must be {kinds}, "
                                  f"got {_KIND_NAMES.get(type(value), type(value).__name__)}")
        if self.chunk_size < 1:
            raise ConfigError(f"--chunk-size must be at least 1, got {self.chunk_size}")
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}: use one of {', '.join(ENGINES)}")
        if not self.key.strip():
            raise ConfigError("--key must name a column")
        if self.workers < 1 or self.ray_actors < 1 or (self.ray_cpus is not None
                                                         and self.ray_cpus < 1):
            raise ConfigError("workers, Ray CPUs and Ray actors must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BatchJob:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def run_batch(job: BatchJob, registry: Registry | None = None, *, run_id: str | None = None,
              progress_stream: TextIO | None = None, tty: bool | None = None,
              quiet: bool = False) -> RunRecord:
    """Run a batch job to the end and return its run record.

    Args:
        job: the job.
        registry: where models and run records live (default ``$AUGUR_HOME``).
        run_id: the id to record the run under (default: a new one).
        progress_stream, tty, quiet: where and how to show progress.

    Returns:
        The finished record (status ``succeeded``; stats hold the row counts).

    Raises:
        ConfigError: bad input, output or key column.
        ModelNotFound: the reference matches no version.
        ServiceUnavailable, StoreError: a database could not be reached or written.
        BadRows: a row failed under ``fail_fast``.
    """
    reg = registry or Registry()
    job.check()
    version = reg.resolve(job.ref)
    output = job.output or default_sink_url(reg.home)
    open_source(job.input)  # parse errors before a run is recorded
    open_sink(output, reg.home)
    pinned = replace(job, ref=version.ref, output=output)
    runs = RunStore(reg.db)
    record = runs.create(RUN_KIND, model=version.name, version=version.version,
                         params={**pinned.to_dict(), "requested_ref": job.ref},
                         run_id=run_id or uuid.uuid4().hex[:12])
    return _execute(reg, runs, record, pinned, progress_stream, tty, quiet)


def resume_batch(run_id: str, registry: Registry | None = None, *,
                 progress_stream: TextIO | None = None, tty: bool | None = None,
                 quiet: bool = False) -> RunRecord:
    """Continue a run that stopped (killed, failed) from its last committed chunk.

    The same version, input, output and chunk size are used; a run that already
    succeeded is returned unchanged.

    Raises:
        ModelNotFound: no run has that id.
        ConfigError: the run is not a batch run, or its process is still alive.
    """
    reg = registry or Registry()
    runs = RunStore(reg.db)
    record = runs.get(run_id)
    if record.kind != RUN_KIND:
        raise ConfigError(f"run {run_id} is a {record.kind} run, not a batch run")
    if record.status == "succeeded":
        return record
    pid = record.stats.get("pid")
    if record.status == "running" and record.stats.get("host") == socket.gethostname() and \
            isinstance(pid, int) and pid != os.getpid() and _alive(pid):
        raise ConfigError(f"run {run_id} is still running in process {pid}; stop it first")
    job = BatchJob.from_dict(record.params)
    record = runs.update(run_id, status="running", stats={"resumed": True})
    return _execute(reg, runs, record, job, progress_stream, tty, quiet)


def _execute(reg: Registry, runs: RunStore, record: RunRecord, job: BatchJob,
             stream: TextIO | None, tty: bool | None, quiet: bool) -> RunRecord:
    started = time.perf_counter()
    previous = float(record.stats.get("duration_s", 0.0))
    runs.update(record.id, stats={"pid": os.getpid(), "host": socket.gethostname()})
    sink = open_sink(job.output, reg.home)
    reporter: ProgressReporter | None = None
    ok = False
    work_rate: float | None = None
    try:
        source = open_source(job.input)
        version = reg.resolve(job.ref)
        sink.open()
        start = sink.committed(record.id)
        if job.engine == "ray":
            start = Progress()  # the Ray engine reruns from the start; upserts make it idempotent
        columns = source.columns()
        model = load(version, registry=reg)
        predictor = ChunkPredictor(model, job.key, fail_fast=job.fail_fast)
        if columns is not None:
            predictor.check_columns(columns)
        total = source.total_rows()
        if not quiet:
            reporter = ProgressReporter(total, f"batch {record.id}", stream=stream, tty=tty,
                                        initial=start.rows_in)
        last_mirror = [0.0]

        def on_commit(progress: Progress, chunk: PredictionChunk) -> None:
            if reporter is not None:
                reporter.update(chunk.rows_in)
            now = time.perf_counter()
            if now - last_mirror[0] > 1.0:  # the record mirrors the sink, at most once a second
                last_mirror[0] = now
                runs.update(record.id, stats=progress.to_dict())

        task = EngineTask(run_id=record.id, model=version.name, version=version.version,
                          chunk_size=job.chunk_size, start=start, on_commit=on_commit)
        rows_from = time.perf_counter()
        if job.engine == "ray":
            from augur.batch.ray_engine import RayEngine

            final = RayEngine(job.ray_address, actors=job.ray_actors,
                              num_cpus=job.ray_cpus).run(source, sink, predictor, task, reg, version)
        else:
            final = LocalEngine(job.workers).run(source, sink, predictor, task)
        sink.finish(record.id, version.name)
        work_s = time.perf_counter() - rows_from
        work_rate = (final.rows_in - start.rows_in) / work_s if work_s > 0 else None
        ok = True
    except BaseException as exc:
        status = "killed" if isinstance(exc, KeyboardInterrupt | SystemExit) else "failed"
        done = _safe_committed(sink, record.id)
        runs.update(record.id, status=status, error=str(exc) or type(exc).__name__,
                    stats={**done.to_dict(), "duration_s": previous + time.perf_counter()
                           - started})
        raise
    finally:
        if reporter is not None:
            reporter.close(final_line=ok, rate=work_rate)
        sink.close()
    duration = previous + time.perf_counter() - started
    return runs.update(record.id, status="succeeded", stats={
        **final.to_dict(), "duration_s": round(duration, 3),
        "rows_per_s": round(final.rows_in / duration, 1) if duration > 0 else None,
        "work_rows_per_s": work_rate,  # unrounded: the last progress line shows the same
        "errors_at": sink.errors_location() if final.rows_failed else None})


def _safe_committed(sink: Any, run_id: str) -> Progress:
    try:
        progress: Progress = sink.committed(run_id)
        return progress
    except Exception:  # the sink itself may be what failed
        return Progress()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_errors(run_id: str, registry: Registry | None = None) -> list[dict[str, Any]]:
    """The rows of a batch run that failed, with the reason, in source order.

    Raises:
        ModelNotFound: no run has that id.
        ConfigError: the run is not a batch run.
        StoreError, ServiceUnavailable: its store cannot be read (or no longer holds them).
    """
    reg = registry or Registry()
    record = RunStore(reg.db).get(run_id)
    if record.kind != RUN_KIND:
        raise ConfigError(f"run {run_id} is a {record.kind} run, not a batch run")
    sink = open_sink(record.params.get("output"), reg.home)
    try:
        sink.open()
        return sink.errors(run_id)
    finally:
        sink.close()


def list_runs(registry: Registry | None = None, limit: int = 50) -> list[RunRecord]:
    """Batch runs, newest first; a ``running`` run whose process is gone becomes ``killed``."""
    reg = registry or Registry()
    runs = RunStore(reg.db)
    out = []
    host = socket.gethostname()
    for rec in runs.list(RUN_KIND, limit=limit):
        pid = rec.stats.get("pid")
        if rec.status == "running" and rec.stats.get("host") == host and \
                isinstance(pid, int) and not _alive(pid):
            rec = runs.update(rec.id, status="killed",
                              error="the process ended without finishing the run")
        out.append(rec)
    return out


def default_output(registry: Registry) -> Path:
    """The SQLite file batch runs write to when no ``--output`` is given."""
    return registry.home / "predictions.db"
