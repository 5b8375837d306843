"""``augur batch ...`` and ``augur scheduler``: batch prediction jobs, runs and schedules."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any

from augur.batch import (
    BatchJob,
    Scheduler,
    ScheduleStore,
    fetch_prediction,
    list_runs,
    open_store,
    resume_batch,
    run_batch,
    run_errors,
)
from augur.batch.sources import FILE_SUFFIXES
from augur.cli.output import emit, one_of, print_json
from augur.config import parse_duration
from augur.registry import Registry, RunRecord

INPUT_HELP = (f"a {one_of(tuple(FILE_SUFFIXES))} file, or a folder of .parquet or .csv "
              "files; 'postgresql://user@host/db?query=SELECT ...'; "
              "or 'sqlite:///relative.db?query=SELECT ...' (sqlite:////abs/path.db for an "
              "absolute path). Everything after ?query= is the query; give it an ORDER BY so a "
              "resumed run sees the same order")
OUTPUT_HELP = ("sqlite:///file.db or a .db path (default: $AUGUR_HOME/predictions.db); "
               "postgresql://user@host/db; redis://host:6379/0 (rediss://, unix:///path.sock); "
               "parquet:///folder. "
               "SQL sinks take ?table=NAME (default predictions), Redis ?prefix=P "
               "(default augur:pred; keys P:MODEL:KEY)")


def _job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    p.add_argument("--input", "-i", required=True, help=INPUT_HELP)
    p.add_argument("--output", "-o", default=None, help=OUTPUT_HELP)
    p.add_argument("--key", "-k", required=True, help="the column holding each row's entity key")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local threads (default) or Ray Data")
    p.add_argument("--ray-address", default=None,
                   help="Ray cluster to join (default: start a local one)")
    p.add_argument("--ray-actors", type=int, default=1, help="model actors in the Ray pool")
    p.add_argument("--chunk-size", type=int, default=50_000,
                   help="rows per chunk and per sink transaction (default 50000)")
    p.add_argument("--workers", type=int, default=2, help="chunks predicted at once (local)")
    p.add_argument("--fail-fast", action="store_true",
                   help="stop at the first bad row instead of recording it")


def _job_of(args: argparse.Namespace) -> BatchJob:
    job = BatchJob(ref=args.ref, input=args.input, key=args.key, output=args.output,
                   chunk_size=args.chunk_size, engine=args.engine,
                   ray_address=args.ray_address, ray_actors=args.ray_actors,
                   fail_fast=args.fail_fast,
                   workers=args.workers)
    job.check()
    return job


def _summary(rec: RunRecord) -> str:
    s = rec.stats
    text = (f"run {rec.id} {rec.status}: {rec.model}:{rec.version}, {s.get('rows_in', 0):,} rows"
            f" in, {s.get('rows_out', 0):,} predicted, {s.get('rows_failed', 0):,} failed")
    if s.get("duration_s") is not None:
        text += f", {s['duration_s']:.1f}s end to end"
        if s.get("rows_per_s"):
            text += f" ({s['rows_per_s']:,.0f} rows/s with start-up)"
    if s.get("work_rows_per_s"):
        text += f", {s['work_rows_per_s']:,.0f} rows/s predict + store"
    text += f" -> {rec.params.get('output')}"
    if s.get("rows_failed"):
        text += f"; see its failed rows with 'augur batch errors {rec.id}'"
    return text


def _show(rec: RunRecord, as_json: bool) -> int:
    if as_json:
        print_json(rec.to_dict())
    else:
        print(_summary(rec))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    rec = run_batch(_job_of(args), Registry(), quiet=args.quiet)
    return _show(rec, args.json)


def cmd_resume(args: argparse.Namespace) -> int:
    rec = resume_batch(args.run_id, Registry(), quiet=args.quiet)
    return _show(rec, args.json)


def cmd_runs(args: argparse.Namespace) -> int:
    records = list_runs(Registry(), limit=args.limit)
    rows = [{"id": r.id, "status": r.status, "model": f"{r.model}:{r.version}",
             "rows_in": r.stats.get("rows_in"), "rows_out": r.stats.get("rows_out"),
             "failed": r.stats.get("rows_failed"), "seconds": r.stats.get("duration_s"),
             "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))}
            for r in records]
    emit([r.to_dict() for r in records], args.json, rows,
         ["id", "status", "model", "rows_in", "rows_out", "failed", "seconds", "started"])
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    sched = ScheduleStore(Registry()).add(_job_of(args), every=args.every, cron=args.cron)
    if args.json:
        print_json(sched.to_dict())
    else:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(sched.next_run_at))
        print(f"schedule {sched.id}: {sched.job.ref} {sched.timing()}, next run {when}; it "
              "runs while 'augur scheduler' or 'augur serve --scheduler' is running")
    return 0


def cmd_schedules(args: argparse.Namespace) -> int:
    items = ScheduleStore(Registry()).list()
    rows = [{**s.to_dict(), "timing": s.timing(),
             "next": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.next_run_at))}
            for s in items]
    emit([s.to_dict() for s in items], args.json, rows,
         ["id", "ref", "timing", "next", "last_run_id", "output"])
    return 0


def cmd_unschedule(args: argparse.Namespace) -> int:
    ScheduleStore(Registry()).remove(args.schedule_id)
    print(f"removed schedule {args.schedule_id}")
    return 0


def cmd_trigger(args: argparse.Namespace) -> int:
    scheduler = Scheduler(Registry())
    run_id = scheduler.trigger(args.schedule_id)
    try:
        rec = scheduler.wait(run_id)
    finally:
        scheduler.stop()
    return _show(rec, args.json)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def cmd_get(args: argparse.Namespace) -> int:
    reg = Registry()
    store = open_store(args.store, reg.home)
    try:
        pred = fetch_prediction(store, args.model, args.key)
        # A later run may have failed on this key: the stored prediction is then older.
        failed = store.failure(args.model, args.key)
    finally:
        store.close()
    newer = failed if failed is not None and failed.created_at > pred.created_at else None
    if args.json:
        print_json(pred.to_dict() | ({"failed_since": newer.to_dict()} if newer else {}))
        return 0
    emit(pred.to_dict() | {"created_at": _when(pred.created_at),
                           "age_seconds": round(pred.age(), 1)}, False)
    if newer is not None:
        print(f"note: a later run failed on this key ({_when(newer.created_at)}): "
              f"{newer.describe()}")
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    rows = run_errors(args.run_id, Registry())
    if args.limit is not None:
        rows = rows[:args.limit]
    emit(rows, args.json, rows, ["row", "key", "reason"])
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    poll = parse_duration(args.poll)
    scheduler = Scheduler(Registry(), poll_interval=poll, max_concurrent=args.concurrency)
    if args.once:
        run_ids = scheduler.run_pending()
        for run_id in run_ids:
            rec = scheduler.wait(run_id)
            print(_summary(rec))
        scheduler.stop()
        return 0
    done = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.start()
    print(f"augur scheduler: polling every {poll:g}s for due schedules (Ctrl-C to stop)",
          flush=True)
    done.wait()
    scheduler.stop()
    return 0


def register(subs: Any) -> None:
    batch = subs.add_parser("batch", help="batch predictions: run, resume, runs, errors, "
                                          "schedule",
                            description="Precompute predictions for every row of a table "
                                        "into SQLite, PostgreSQL, Redis or Parquet.")
    verbs = batch.add_subparsers(dest="batch_verb", metavar="ACTION")
    batch.set_defaults(func=lambda args: (batch.print_help(), 2)[1])

    p = verbs.add_parser("run", help="predict every row of an input into a prediction store",
                         description="Predict every row of an input in chunks and upsert the "
                                     "predictions by (key, model). Bad rows go to the errors "
                                     "table with the reason.")
    _job_args(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    p.set_defaults(func=cmd_run)

    p = verbs.add_parser("resume", help="continue a stopped run from its last committed chunk")
    p.add_argument("run_id")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    p.set_defaults(func=cmd_resume)

    p = verbs.add_parser("runs", help="list batch runs, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_runs)

    p = verbs.add_parser("schedule", help="run a batch job periodically",
                         description="Store a schedule; it runs when due while "
                                     "'augur scheduler' or 'augur serve --scheduler' runs.")
    _job_args(p)
    timing = p.add_mutually_exclusive_group(required=True)
    timing.add_argument("--every", help="period, e.g. 30m, 4h, 1d")
    timing.add_argument("--cron", help="cron expression in UTC, e.g. '0 3 * * *'")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_schedule)

    p = verbs.add_parser("schedules", help="list schedules")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_schedules)

    p = verbs.add_parser("unschedule", help="remove a schedule")
    p.add_argument("schedule_id")
    p.set_defaults(func=cmd_unschedule)

    p = verbs.add_parser("trigger", help="run a schedule's job now and wait for it")
    p.add_argument("schedule_id")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    p.set_defaults(func=cmd_trigger)

    p = verbs.add_parser("get", help="look up a stored prediction by model and key",
                         description="The stored prediction of a key; when there is none "
                                     "because a batch run's row for the key failed, says "
                                     "which run and row, and why.")
    p.add_argument("model")
    p.add_argument("key")
    p.add_argument("--store", default=None, help="prediction store URL (default: the SQLite "
                                                  "file in $AUGUR_HOME)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_get)

    p = verbs.add_parser("errors", help="list the rows of a batch run that failed, and why",
                         description="The rows a batch run could not predict (bad or "
                                     "missing values, a missing key), in source order, with "
                                     "the reason; read from the run's own store.")
    p.add_argument("run_id")
    p.add_argument("--limit", type=int, default=None, help="show at most this many rows")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_errors)

    p = subs.add_parser("scheduler", help="run due batch schedules until stopped",
                        description="A long-running process that starts batch schedules "
                                    "when they are due.")
    p.add_argument("--poll", default="5s", help="how often to look for due schedules")
    p.add_argument("--concurrency", type=int, default=1, help="runs at once")
    p.add_argument("--once", action="store_true",
                   help="run what is due now, wait for it, and exit")
    p.set_defaults(func=cmd_scheduler)
