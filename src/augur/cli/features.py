"""``augur features ...``: training sets, materialization, streaming workers, lookups,
and what the workers archived."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from augur.cli.output import emit, one_of, print_json
from augur.errors import ConfigError
from augur.features import (
    DEFAULT_ARCHIVE,
    ArrivalOrderWarning,
    BatchEngine,
    FeatureView,
    OnlineFeatureService,
    StreamMetrics,
    load_definitions,
    materialize,
    open_archive,
    open_online_store,
    parse_since,
    run_feature_worker,
)
from augur.features.clock import from_millis, to_millis
from augur.features.streaming import OUTCOMES
from augur.streaming import open_transport

#: What ``features training-set --out`` writes.
TABLE_SUFFIXES = (".parquet", ".csv")
ARCHIVE_HELP = ("the workers' event archive: a folder of Parquet files or "
                "postgresql://...#table (default $AUGUR_HOME/archive)")


@contextmanager
def arrival_warnings() -> Iterator[None]:
    """Print the batch engine's arrival-order warnings as one ``augur: warning:`` line each."""
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", ArrivalOrderWarning)
        yield
    for warning in said:  # the engine says each once; anything else is passed on as is
        if issubclass(warning.category, ArrivalOrderWarning):
            print(f"augur: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)


def cmd_training_set(args: argparse.Namespace) -> int:
    defs = load_definitions(args.definitions)
    views = [defs.view(v) for v in args.view] if args.view else list(defs.views.values())
    if not views:
        raise ConfigError(f"{args.definitions} defines no feature views")
    out = Path(args.out)
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"--out {out}: use a {one_of(TABLE_SUFFIXES)} file")
    engine = BatchEngine(archive=None if args.from_history else open_archive(args.archive))
    with arrival_warnings():
        table = engine.training_set(args.labels, views, timestamp=args.timestamp)
    for name, where in engine.read_from.items():
        print(f"{name}: events from {where}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    print(f"wrote {len(table)} rows x {len(table.columns)} columns to {out}")
    return 0


def cmd_materialize(args: argparse.Namespace) -> int:
    defs = load_definitions(args.definitions)
    views = [defs.view(v) for v in args.view] if args.view else list(defs.views.values())
    store = open_online_store(args.store)
    try:
        at = None if args.at is None else to_millis(
            int(args.at) if args.at.isdigit() else args.at, what="--at")
        with arrival_warnings():
            written = materialize(views, store, at=at)
    finally:
        store.close()
    for name, n in written.items():
        print(f"{name}: {n} entities written")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    defs = load_definitions(args.definitions)
    view: FeatureView = defs.stream_view(args.view)
    stream = args.stream or view.source.name
    transport = open_transport(args.transport, stream)
    archive = None if args.no_archive else open_archive(args.archive)
    store = open_online_store(args.store)

    metrics = None
    if args.metrics_port:
        from prometheus_client import start_http_server

        metrics = StreamMetrics()
        start_http_server(args.metrics_port, registry=metrics.registry)

    async def main() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await run_feature_worker(
                view, transport, store, group=args.group,
                checkpoint_interval=args.checkpoint_interval, batch_size=args.batch_size,
                stop=stop, idle_exit=args.idle_exit, max_messages=args.max_events,
                metrics=metrics, archive=archive)
        finally:
            await transport.close()

    try:
        stats = asyncio.run(main())
    finally:
        store.close()
    print(f"{view.name}: {stats.messages} events in {stats.batches} batches, "
          f"committed up to {stats.committed}")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    archive = open_archive(args.archive)
    since = None if args.since is None else parse_since(args.since)
    try:
        counts = archive.counts(args.source, since)
    finally:
        archive.close()
    rows: dict[str, dict[str, Any]] = {}
    for c in counts:
        row = rows.setdefault(c.writer, {"view": c.writer, **dict.fromkeys(OUTCOMES, 0),
                                         "total": 0, "first": c.first_at, "last": c.last_at})
        row[c.outcome] = row.get(c.outcome, 0) + c.events
        row["total"] += c.events
        row["first"] = min(x for x in (row["first"], c.first_at) if x is not None)
        row["last"] = max(x for x in (row["last"], c.last_at) if x is not None)
    for row in rows.values():
        row["first"], row["last"] = (from_millis(row[k]).isoformat(timespec="milliseconds")
                                     for k in ("first", "last"))
    since_text = "" if since is None else f" since {from_millis(since).isoformat()}"
    if not rows and not args.json:
        print(f"nothing archived for {args.source!r} in {archive.describe()}{since_text}")
        return 0
    if not args.json:
        print(f"{args.source}: archived in {archive.describe()}{since_text}")
    emit(list(rows.values()), args.json, list(rows.values()),
         ["view", *OUTCOMES, "total", "first", "last"])
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    store = open_online_store(args.store)
    try:
        values = OnlineFeatureService(store).get(args.view, args.keys)
    finally:
        store.close()
    print_json({k: v for k, v in zip(args.keys, values, strict=True)})
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser("features", help="feature training sets, materialization, workers",
                        description="Compute features from one definition in batch and on "
                                    "streams.")
    verbs = p.add_subparsers(dest="features_verb", metavar="ACTION")

    t = verbs.add_parser("training-set", help="point-in-time-correct features for labels")
    t.add_argument("--definitions", "-d", required=True, help="Python file defining the views")
    t.add_argument("--labels", "-l", required=True, help="Parquet file of (entity, timestamp)")
    t.add_argument("--view", action="append", help="feature view (repeatable; default: all)")
    t.add_argument("--timestamp", default="event_time", help="labels' timestamp column")
    t.add_argument("--out", "-o", required=True, help=f"output {one_of(TABLE_SUFFIXES)} file")
    t.add_argument("--archive", default=DEFAULT_ARCHIVE,
                   help=ARCHIVE_HELP + "; a streaming view with archived events is trained "
                        "from them, the others from their history")
    t.add_argument("--from-history", action="store_true",
                   help="read every view's history, not the archive")
    t.set_defaults(func=cmd_training_set)

    m = verbs.add_parser("materialize", help="backfill the online store from history")
    m.add_argument("--definitions", "-d", required=True)
    m.add_argument("--view", action="append", help="feature view (repeatable; default: all)")
    m.add_argument("--store", default="sqlite:///.augur/online.db",
                   help="online store URL: memory://, sqlite:///relative.db, sqlite:////abs.db, "
                        "redis://...?namespace=NAME")
    m.add_argument("--at", help="instant: ISO-8601 or epoch ms (default: latest in history)")
    m.set_defaults(func=cmd_materialize)

    w = verbs.add_parser("worker", help="run the streaming engine of one view")
    w.add_argument("--definitions", "-d", required=True)
    w.add_argument("--view", required=True)
    w.add_argument("--transport", required=True, help="redis://... or nats://...")
    w.add_argument("--stream", help="stream name (default: the event source's name)")
    w.add_argument("--store", default="sqlite:///.augur/online.db", help="online store URL")
    w.add_argument("--group", help="consumer group (default augur-VIEW)")
    w.add_argument("--checkpoint-interval", type=float, default=1.0, help="seconds")
    w.add_argument("--batch-size", type=int, default=1000)
    w.add_argument("--idle-exit", type=float, help="stop after this many idle seconds")
    w.add_argument("--max-events", type=int, help="stop after this many events")
    w.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    w.add_argument("--archive", default=DEFAULT_ARCHIVE,
                   help=ARCHIVE_HELP + "; every consumed event goes there with its position "
                        "and outcome, committed with each checkpoint")
    w.add_argument("--no-archive", action="store_true", help="archive nothing")
    w.set_defaults(func=cmd_worker)

    a = verbs.add_parser("archive", help="what the stream workers archived, per outcome",
                         description="Count the events the stream workers archived for one "
                                     "event source, per view and outcome (accepted, duplicate, "
                                     "late: beyond the allowed lateness, invalid).")
    a.add_argument("--source", "-s", required=True, help="event source name")
    a.add_argument("--since", help="count events consumed since then: ISO-8601 date or "
                                   "time, epoch ms, or a duration ago (24h, 7d); default: "
                                   "everything")
    a.add_argument("--archive", default=DEFAULT_ARCHIVE, help=ARCHIVE_HELP)
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(func=cmd_archive)

    g = verbs.add_parser("get", help="read online feature values")
    g.add_argument("--store", default="sqlite:///.augur/online.db")
    g.add_argument("--view", required=True)
    g.add_argument("keys", nargs="+")
    g.set_defaults(func=cmd_get)

    def no_action(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_action)
