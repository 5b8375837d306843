"""``augur features ...``: training sets, materialization, streaming workers, lookups."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from augur.cli.output import one_of, print_json
from augur.errors import ConfigError
from augur.features import (
    BatchEngine,
    FeatureView,
    OnlineFeatureService,
    StreamMetrics,
    load_definitions,
    materialize,
    open_online_store,
    run_feature_worker,
)
from augur.features.clock import to_millis
from augur.streaming import open_transport

#: What ``features training-set --out`` writes.
TABLE_SUFFIXES = (".parquet", ".csv")


def cmd_training_set(args: argparse.Namespace) -> int:
    defs = load_definitions(args.definitions)
    views = [defs.view(v) for v in args.view] if args.view else list(defs.views.values())
    if not views:
        raise ConfigError(f"{args.definitions} defines no feature views")
    out = Path(args.out)
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"--out {out}: use a {one_of(TABLE_SUFFIXES)} file")
    table = BatchEngine().training_set(args.labels, views, timestamp=args.timestamp)
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
                metrics=metrics)
        finally:
            await transport.close()

    try:
        stats = asyncio.run(main())
    finally:
        store.close()
    print(f"{view.name}: {stats.messages} events in {stats.batches} batches, "
          f"committed up to {stats.committed}")
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
    w.set_defaults(func=cmd_worker)

    g = verbs.add_parser("get", help="read online feature values")
    g.add_argument("--store", default="sqlite:///.augur/online.db")
    g.add_argument("--view", required=True)
    g.add_argument("keys", nargs="+")
    g.set_defaults(func=cmd_get)

    def no_action(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_action)
