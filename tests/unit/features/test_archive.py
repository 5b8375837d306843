"""The Parquet event archive: the commit protocol, the worker writing it, training from it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archive_cases import CASES, VIEW, archived, messages, outcomes
from augur.errors import ConfigError, InvalidInput, InvalidName, StoreError
from augur.features import (
    BatchEngine,
    EventArchive,
    FeatureStreamHandler,
    ParquetArchive,
    SQLiteOnlineStore,
    StreamingEngine,
    open_archive,
    parse_since,
)
from augur.features.archive_rows import ArchiveLayout
from augur.streaming import InProcessTransport, StreamWorker


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_parquet_archive_conformance(case: Callable[[Callable[[], EventArchive]], None],
                                     tmp_path: Path) -> None:
    case(lambda: ParquetArchive(tmp_path / "archive"))


def test_a_torn_pending_file_is_discarded(tmp_path: Path) -> None:
    archive = ParquetArchive(tmp_path)
    writer = archive.writer(VIEW)
    writer.recover(None)
    msgs = messages(6)
    writer.add(msgs, outcomes(msgs, StreamingEngine(VIEW)), 1_767_225_600_000)
    writer.seal()
    writer.close()  # sealed, never committed; then the file loses its tail
    staged = tmp_path / "source=orders" / "_staging" / "shop_orders.arrows"
    staged.write_bytes(staged.read_bytes()[:-40])
    again = archive.writer(VIEW)
    again.recover(None)
    again.close()
    assert not staged.exists() and archive.history(VIEW) is None


def test_files_are_partitioned_by_source_and_date(tmp_path: Path) -> None:
    archive = ParquetArchive(tmp_path)
    writer = archive.writer(VIEW)
    writer.recover(None)
    day = 86_400_000
    for i, at in enumerate((1_767_225_600_000, 1_767_225_600_000 + day)):
        msgs = messages(4, start=1 + 4 * i)
        writer.add(msgs, ["accepted"] * 4, at)
        writer.seal()
        writer.commit()
    writer.close()
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert names == ["source=orders/date=2026-01-01/shop_orders.000000000001-000000000004.parquet",
                     "source=orders/date=2026-01-02/shop_orders.000000000005-000000000008.parquet"]
    counts = archive.counts("orders", since_ms=1_767_225_600_000 + day)
    assert [(c.writer, c.outcome, c.events) for c in counts] == [("shop_orders", "accepted", 4)]
    assert sum(c.events for c in archive.counts("orders")) == 8
    assert archive.counts("nothing_here") == []


def _published(tmp_path: Path, n: int) -> tuple[ParquetArchive, Path]:
    """An archive under ``tmp_path`` with events 1..n in one published file."""
    archive = ParquetArchive(tmp_path)
    writer = archive.writer(VIEW)
    writer.recover(None)
    writer.add(messages(n), ["accepted"] * n, 1_767_225_600_000)
    writer.seal()
    writer.commit()
    writer.close()
    [path] = tmp_path.rglob("*.parquet")
    return archive, path


def test_a_broken_committed_file_is_a_store_error(tmp_path: Path) -> None:
    archive, path = _published(tmp_path, 3)
    path.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(StoreError, match="cannot read"):
        archive.counts("orders")
    with pytest.raises(StoreError, match="cannot be read"):
        archive.writer(VIEW).recover("3")


def _stream(n: int) -> list[dict[str, Any]]:
    return [m.event for m in messages(n)]


def _work(transport: InProcessTransport, store: SQLiteOnlineStore, archive: EventArchive,
          n: int) -> None:
    async def go() -> None:
        handler = FeatureStreamHandler(VIEW, store, checkpoint_interval=0, archive=archive)
        try:
            await StreamWorker(transport, handler, group="g", batch_size=7).run(max_messages=n)
        finally:
            handler.close()

    asyncio.run(go())


def test_worker_archives_every_event_once_across_a_restart(tmp_path: Path) -> None:
    transport = InProcessTransport()
    transport.publish_sync(_stream(120))
    store = SQLiteOnlineStore(tmp_path / "online.db")
    archive = ParquetArchive(tmp_path / "archive")
    _work(transport, store, archive, 50)  # stops after 50: checkpointed and committed
    _work(transport, store, archive, 70)  # a new worker resumes after the checkpoint
    rows = archived(archive).to_pylist()
    assert [r["_position"] for r in rows] == [str(i) for i in range(1, 121)]
    reference = StreamingEngine(VIEW)
    assert [r["_outcome"] for r in rows] == outcomes(messages(120), reference)

    labels = pd.DataFrame({"shop_id": ["s0", "s1", "s2"], "event_time": [reference.max_time] * 3})
    table = BatchEngine(archive=archive).training_set(labels, [VIEW])
    online = store.read("shop_orders", ["s0", "s1", "s2"])
    for row, stored in zip(table.to_dict("records"), online, strict=True):
        assert stored is not None
        assert {"n": row["n"], "total": row["total"]} == stored.values


def test_training_set_reads_the_archive_by_default(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUGUR_HOME", str(tmp_path / "home"))
    events = _stream(40)
    labels = pd.DataFrame({"shop_id": ["s1"], "event_time": [20_000]})
    history = pd.DataFrame([e for e in events if "event_id" in e])
    with pytest.raises(InvalidInput, match="no offline history"):  # no archive yet: history
        BatchEngine().training_set(labels, [VIEW])
    transport = InProcessTransport()
    transport.publish_sync(events)
    _work(transport, SQLiteOnlineStore(tmp_path / "online.db"),
          open_archive("$AUGUR_HOME/archive"), 40)
    assert (tmp_path / "home" / "archive" / "source=orders").is_dir()
    engine = BatchEngine()
    archived_values = engine.training_set(labels, [VIEW])
    assert engine.read_from["shop_orders"].startswith("archive ")
    streamed = StreamingEngine(VIEW)
    streamed.process(events)
    assert archived_values[["n", "total"]].to_dict("records") == [streamed.value_at("s1", 20_000)]
    # The same events without their order: the late ones count, and the engine says so.
    with pytest.warns(UserWarning, match="no arrival order"):
        skewed = engine.training_set(labels, [VIEW], sources={"shop_orders": history})
    assert skewed["n"].item() > archived_values["n"].item()


def test_layout_refuses_reserved_column_names() -> None:
    from augur.features import Aggregation, Entity, EventSource, FeatureView, Window

    source = EventSource("orders", {"_seq": "int"})
    view = FeatureView("v", Entity("shop", "shop_id"), source,
                       (Aggregation("n", "count", Window.lifetime()),))
    with pytest.raises(ConfigError, match="reserves"):
        ArchiveLayout(view)


@pytest.mark.parametrize("value", [
    "../x", "a/b", "%2e%2e", "a\x00b", " orders", "orders\n", "x" * 10_000, "٣orders", ""])
def test_hostile_source_and_writer_names(tmp_path: Path, value: str) -> None:
    archive = ParquetArchive(tmp_path)
    with pytest.raises(InvalidName):
        archive.counts(value)
    with pytest.raises(ConfigError):
        archive.writer(VIEW, value).recover(None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("location", ["", "   ", "s3://bucket/x", "redis://127.0.0.1/0",
                                      "postgresql://u@h/db#bad-name", "postgresql://u@h/db#a.b.c"])
def test_bad_archive_locations(location: str) -> None:
    with pytest.raises(ConfigError):
        open_archive(location)


def test_since_forms() -> None:
    now = 1_767_225_600_000
    assert parse_since("1767225600000") == now
    assert parse_since("2026-01-01") == now
    assert parse_since("2026-01-01T00:00:00+00:00") == now
    assert parse_since("24h", now=now) == now - 86_400_000
    assert parse_since("7d", now=now) == now - 7 * 86_400_000
    for bad in ("yesterday", "", "-5h", "1e400", "NaN", "2026-13-45", "9" * 40):
        with pytest.raises(ConfigError):
            parse_since(bad)


def test_staged_events_already_published_are_dropped(tmp_path: Path) -> None:
    archive, published = _published(tmp_path, 4)
    staged = tmp_path / "source=orders" / "_staging" / "shop_orders.arrows"
    table = pq.read_table(published)  # the staging stream, back after a power loss
    with pa.OSFile(str(staged), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    again = archive.writer(VIEW)
    again.recover("4")
    again.close()
    assert not staged.exists()
    assert [r["_seq"] for r in archived(archive).to_pylist()] == [1, 2, 3, 4]
