"""Kill a streaming feature worker mid-stream, restart it: no event lost, none counted twice.

The worker runs as a real subprocess (``augur features worker``) over real Redis
Streams and NATS JetStream, archiving what it consumes (Parquet, or a PostgreSQL
table). Events come out of order, some beyond the allowed lateness, some twice.
It is SIGKILLed once it has checkpointed part of the stream, more events are
published while it is dead, and a fresh worker finishes. Then:

* the online values and the engine's counters equal one uninterrupted in-process
  run over the same events;
* the archive holds every stream position exactly once, in stream order, with the
  outcome that run gave it;
* a training set read from the archive equals the streaming values at every bucket
  end (each minute end, for every shop), and the online values at the end.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pandas as pd
import pytest
import redis

from augur.cli.app import main
from augur.features import (
    BatchEngine,
    FeatureView,
    OnlineStore,
    RedisOnlineStore,
    SQLiteOnlineStore,
    StreamingEngine,
    open_archive,
)
from augur.features.repo import load_definitions
from augur.streaming import Message, NatsTransport, RedisStreamTransport, Transport

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEFINITIONS = '''
from datetime import timedelta
from augur.features import Aggregation, Entity, EventSource, FeatureView, Window

orders = EventSource("orders", {"amount": "float", "courier": "string"},
                     allowed_lateness=timedelta(seconds=5))
shop_orders = FeatureView("shop_orders", Entity("shop", "shop_id"), orders, (
    Aggregation("n_total", "count", Window.lifetime()),
    Aggregation("amount_total", "sum", Window.lifetime(), column="amount"),
    Aggregation("n_10m", "count", Window.sliding(timedelta(minutes=10))),
    Aggregation("amount_mean_10m", "mean", Window.sliding(timedelta(minutes=10)), column="amount"),
    Aggregation("couriers_1m", "distinct_count", Window.tumbling(timedelta(minutes=1)),
                column="courier"),
    Aggregation("last_amount", "last", Window.lifetime(), column="amount"),
))
'''


def _events(n: int, seed: int, start_ms: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    t = start_ms
    for i in range(n):
        if out and rng.random() < 0.05:
            out.append(dict(rng.choice(out)))  # redelivery by the producer
            continue
        t += rng.randint(0, 400)
        late = rng.choice([0, 0, 0, 2000, 9000])  # 9 s is beyond the 5 s allowed lateness
        out.append({"shop_id": f"s{rng.randint(0, 19)}", "event_time": t - late,
                    "event_id": f"{seed}-{i}", "amount": round(rng.uniform(1, 90), 2),
                    "courier": f"c{rng.randint(0, 6)}"})
    return out


def _worker(defs: Path, transport_url: str, stream: str, store_url: str,
            archive: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", "from augur.cli import main; raise SystemExit(main())",
           "features", "worker", "-d", str(defs), "--view", "shop_orders",
           "--transport", transport_url, "--stream", stream, "--store", store_url,
           "--checkpoint-interval", "0", "--batch-size", "25", "--idle-exit", "1.5",
           "--archive", archive]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _publish(make: Callable[[], Transport], events: list[dict[str, Any]]) -> None:
    async def go() -> None:
        transport = make()
        try:
            await transport.publish(events)
        finally:
            await transport.close()

    asyncio.run(go())


def _read_stream(make: Callable[[], Transport]) -> list[Message]:
    """Every message of the stream, in stream order, through a group of its own."""
    async def go() -> list[Message]:
        transport = make()
        out: list[Message] = []
        try:
            sub = await transport.subscribe(f"reference-{uuid.uuid4().hex[:8]}", None)
            while batch := await sub.fetch(1000, 1.0):
                out.extend(batch)
            await sub.close()
        finally:
            await transport.close()
        return out

    return asyncio.run(go())


def _same(a: Any, b: Any) -> bool:
    """Equal, where a missing value may be None or NaN and numbers may be numpy's."""
    missing_a = a is None or (isinstance(a, float) and a != a)
    missing_b = b is None or (isinstance(b, float) and b != b)
    if missing_a or missing_b:
        return missing_a and missing_b
    return bool(a == b)


def _check_archive(view: FeatureView, stream: list[Message], archive_url: str,
                   store: OnlineStore) -> None:
    """Archive = the stream, once each, with the outcomes; training from it = streaming."""
    reference, outcomes = StreamingEngine(view), []
    ends: list[int] = []  # minute ends: a bucket end of every window of the view
    answers: list[tuple[str, int, dict[str, Any]]] = []
    keys = sorted({str(m.event["shop_id"]) for m in stream})

    def answer_until(limit: float) -> None:
        while ends and ends[0] < limit:
            t = ends.pop(0)
            answers.extend((k, t, reference.value_at(k, t)) for k in keys)

    first = min(int(m.event["event_time"]) for m in stream)
    last = max(int(m.event["event_time"]) for m in stream)
    ends.extend(range((first // 60_000 + 1) * 60_000 - 1, last + 60_000, 60_000))
    lateness = view.source.lateness_ms
    for m in stream:
        t = int(m.event["event_time"])
        if reference.max_time is None or t > reference.max_time:
            answer_until(t - lateness)  # the watermark is about to pass these ends
        reference.process([m.event], outcomes)
    answer_until(float(reference.max_time or 0) + 1)

    archive = open_archive(archive_url)
    found = archive.history(view)
    assert found is not None
    table = (duckdb.connect().sql("SELECT _seq, _position, _outcome FROM read_parquet(?, hive_partitioning "
                     "= false) ORDER BY _seq", params=[found]).to_arrow_table()
             if isinstance(found, list) else found.select(["_seq", "_position", "_outcome"]))
    rows = table.to_pylist()
    assert [r["_seq"] for r in rows] == list(range(1, len(stream) + 1))
    assert [r["_position"] for r in rows] == [m.position for m in stream]  # once each, in order
    assert [r["_outcome"] for r in rows] == outcomes

    labels = pd.DataFrame({"shop_id": [a[0] for a in answers],
                           "event_time": [a[1] for a in answers]})
    engine = BatchEngine(archive=archive)
    trained = engine.training_set(labels, [view])
    assert engine.read_from["shop_orders"].startswith("archive")
    assert len(answers) > 20 * len(keys)
    for row, (key, t, streamed) in zip(trained.to_dict("records"), answers, strict=True):
        for name, value in streamed.items():
            assert _same(row[name], value), f"{name} of {key} at {t}: {row[name]!r} != {value!r}"

    m = reference.max_time
    assert m is not None
    at_end = engine.training_set(pd.DataFrame({"shop_id": keys, "event_time": [m] * len(keys)}),
                                 [view])
    for row, online in zip(at_end.to_dict("records"), store.read("shop_orders", keys),
                           strict=True):
        assert online is not None
        assert all(_same(row[n], v) for n, v in online.values.items()), (row, online.values)


def _run_kill_restart(tmp_path: Path, make: Callable[[], Transport], transport_url: str,
                      stream: str, store: OnlineStore, store_url: str, archive_url: str) -> None:
    defs = tmp_path / "defs.py"
    defs.write_text(DEFINITIONS)
    view = load_definitions(defs).stream_view("shop_orders")
    first, second = _events(6000, 1, 1_700_000_000_000), _events(1500, 2, 1_700_002_500_000)
    _publish(make, first)

    proc = _worker(defs, transport_url, stream, store_url, archive_url)
    deadline = time.monotonic() + 60
    cp = None
    while time.monotonic() < deadline:
        cp = store.load_checkpoint("shop_orders")
        if cp is not None and orjson.loads(cp.state)["stats"]["accepted"] > 500:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert cp is not None, proc.stderr.read().decode() if proc.stderr else ""
    killed_at = orjson.loads(store.load_checkpoint("shop_orders").state)["stats"]  # type: ignore[union-attr]
    total_first = 6000
    assert killed_at["accepted"] + killed_at["duplicates"] + killed_at["late"] < total_first, \
        "the worker finished before it was killed: nothing was tested"

    _publish(make, second)
    proc = _worker(defs, transport_url, stream, store_url, archive_url)
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err.decode()

    reference = StreamingEngine(view)
    reference.process(first + second)
    final = store.load_checkpoint("shop_orders")
    assert final is not None
    stats = orjson.loads(final.state)["stats"]
    assert stats == asdict(reference.stats)
    assert stats["late"] > 0 and stats["duplicates"] > 0 and stats["out_of_order"] > 0
    keys = sorted({e["shop_id"] for e in first + second})
    rows = store.read("shop_orders", keys)
    m = reference.max_time
    assert m is not None
    for key, row in zip(keys, rows, strict=True):
        assert row is not None, key
        assert row.event_time <= m  # rewritten only when its values changed
        assert row.values == reference.value_at(key, m), key
    _check_archive(view, _read_stream(make), archive_url, store)
    assert main(["features", "archive", "--source", "orders", "--archive", archive_url,
                 "--json"]) == 0


def test_redis_streams_worker_killed_and_restarted(tmp_path: Path, redis_url: str) -> None:
    name = f"augur-test-{uuid.uuid4().hex[:10]}"
    store = RedisOnlineStore(redis.Redis.from_url(redis_url), namespace=name)
    try:
        _run_kill_restart(tmp_path, lambda: RedisStreamTransport(redis_url, name), redis_url,
                          name, store, f"{redis_url}?namespace={name}", str(tmp_path / "archive"))
    finally:
        redis.Redis.from_url(redis_url).delete(name)
        store.drop_namespace()
        store.close()


def test_nats_jetstream_worker_killed_and_restarted(tmp_path: Path, nats_url: str,
                                                    postgres_schema_url: str) -> None:
    name = f"augur-test-{uuid.uuid4().hex[:10]}"
    db = tmp_path / "online.db"
    store = SQLiteOnlineStore(db)

    async def cleanup() -> None:
        t = NatsTransport(nats_url, name)
        await t.delete()
        await t.close()

    try:
        _run_kill_restart(tmp_path, lambda: NatsTransport(nats_url, name), nats_url, name, store,
                          f"sqlite:///{db}", f"{postgres_schema_url}#events")
    finally:
        asyncio.run(cleanup())
        store.close()
