"""Batch prediction: source -> chunks -> runtime -> prediction store, resumable and scheduled.

Running jobs::

    from augur.batch import BatchJob, run_batch, resume_batch, list_runs
    rec = run_batch(BatchJob("churn@production", "users.parquet", key="user_id",
                             output="postgresql://app@db/prod?table=churn_scores"))
    rec.status, rec.stats["rows_out"], rec.stats["rows_failed"]
    resume_batch(rec.id)        # after a crash: continues from the last committed chunk

Inputs (``BatchJob.input``): Parquet/CSV files or folders,
``postgresql://...?query=SELECT ...``, ``sqlite:///file.db?query=SELECT ...``
(see :mod:`augur.batch.sources`). Outputs (``BatchJob.output``): SQLite (default
``$AUGUR_HOME/predictions.db``), PostgreSQL, Redis, Parquet (see
:mod:`augur.batch.sink`). Each prediction row holds key, outputs (JSON), model,
version, run id and time, upserted by ``(key, model)``; bad rows go to the
errors table with the reason.

Schedules::

    ScheduleStore(registry).add(job, every="4h")          # or cron="0 3 * * *"
    sched = Scheduler(registry).start()                  # polls and runs due schedules
    run_id = sched.trigger(schedule_id)                  # for POST /v1/batch/schedules/{id}/run
    sched.stop()

Lookups (the online server's ``GET /v1/predictions/...`` and its hybrid mode,
``augur.serving.hybrid``, read these stores)::

    store = open_store("redis://cache:6379/0", registry.home)      # or sqlite/postgresql URL
    pred = fetch_prediction(store, "churn", "user-42")               # GET /v1/predictions/...
    pred.outputs, pred.version, pred.age()                           # raises PredictionNotFound

``PredictionStore.get`` returns ``None`` when nothing is stored; ``fetch_prediction``
raises :class:`~augur.errors.PredictionNotFound` (a 404), and its subclass :class:`~augur.errors.PredictionFailed`
when a batch run's row for the key failed (``run_errors(run_id)`` lists a run's
failed rows). All store methods are blocking; call them from a thread pool in async
code. Store URLs follow :mod:`augur.backends.urls`.
"""

from __future__ import annotations

from augur.batch.engine import LocalEngine
from augur.batch.inference import BadRows, ChunkPredictor
from augur.batch.job import BatchJob, list_runs, resume_batch, run_batch, run_errors
from augur.batch.predictions import Prediction, PredictionChunk, Progress, RowError, RowFailure
from augur.batch.ray_engine import RayCluster, RayEngine
from augur.batch.schedule import Schedule, Scheduler, ScheduleStore
from augur.batch.sink import (
    PredictionStore,
    Sink,
    default_sink_url,
    fetch_prediction,
    open_sink,
    open_store,
)
from augur.batch.sources import Source, open_source

__all__ = [
    "BadRows",
    "BatchJob",
    "ChunkPredictor",
    "LocalEngine",
    "Prediction",
    "PredictionChunk",
    "PredictionStore",
    "Progress",
    "RayCluster",
    "RayEngine",
    "RowError",
    "RowFailure",
    "Schedule",
    "ScheduleStore",
    "Scheduler",
    "Sink",
    "Source",
    "default_sink_url",
    "fetch_prediction",
    "list_runs",
    "open_sink",
    "open_source",
    "open_store",
    "resume_batch",
    "run_batch",
    "run_errors",
]
