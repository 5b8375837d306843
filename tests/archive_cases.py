"""Conformance cases every event archive backend must pass (Parquet in the unit tests,
PostgreSQL in the integration tests): each simulates a worker stopped at one point
of the seal -> checkpoint -> commit protocol and checks what the next start sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from augur.errors import StoreError
from augur.features import Aggregation, Entity, EventArchive, EventSource, FeatureView, Window
from augur.features.streaming import StreamingEngine
from augur.streaming import Message

VIEW = FeatureView(
    "shop_orders", Entity("shop", "shop_id"),
    EventSource("orders", {"amount": "float", "courier": "string", "items": "int",
                           "rush": "bool"}, allowed_lateness=1000),
    (Aggregation("n", "count", Window.lifetime()),
     Aggregation("total", "sum", Window.sliding(60_000), column="amount")))

Make = Callable[[], EventArchive]


def messages(n: int, start: int = 1) -> list[Message]:
    """Stream positions ``start..`` with a late, a duplicate and an invalid event among them."""
    out = []
    for i in range(start, start + n):
        event: dict[str, Any] = {"shop_id": f"s{i % 3}", "event_time": 10_000 + 100 * i,
                                 "event_id": f"e{i}", "amount": i / 4, "courier": f"c{i % 2}",
                                 "items": i, "rush": i % 2 == 0}
        if i % 7 == 0:
            event["event_time"] -= 5_000  # beyond the allowed lateness
        if i % 11 == 0:
            event["event_id"] = f"e{i - 1}"  # a redelivery
        if i % 13 == 0:
            del event["event_id"]
        out.append(Message(str(i), (i, 0), event))
    return out


def outcomes(msgs: list[Message], engine: StreamingEngine) -> list[str]:
    verdicts: list[str] = []
    engine.process([m.event for m in msgs], verdicts)
    return verdicts


def archived(archive: EventArchive) -> pa.Table:
    """The committed rows of VIEW, read the way the batch engine reads them."""
    import duckdb

    found = archive.history(VIEW)
    if found is None:
        return pa.table({"_seq": pa.array([], pa.int64()), "_position": pa.array([], pa.string())})
    if isinstance(found, list):
        return duckdb.connect().sql(
            "SELECT * FROM read_parquet(?, union_by_name = true, hive_partitioning = false) "
            "ORDER BY _seq", params=[found]).to_arrow_table()
    return found


def _batch(make: Make, engine: StreamingEngine, msgs: list[Message], *,
           recover_at: str | None, commit: bool) -> Any:
    writer = make().writer(VIEW)
    writer.recover(recover_at)
    writer.add(msgs, outcomes(msgs, engine), 1_767_225_600_000)
    writer.seal()
    if commit:
        writer.commit()
    return writer


def case_round_trip(make: Make) -> None:
    """Each consumed event once, in order, typed, with its position, outcome and raw."""
    engine = StreamingEngine(VIEW)
    msgs = messages(30)
    verdicts = outcomes(msgs, StreamingEngine(VIEW))
    _batch(make, engine, msgs[:20], recover_at=None, commit=True).close()
    _batch(make, engine, msgs[20:], recover_at="20", commit=True).close()
    rows = archived(make()).to_pylist()
    assert [r["_seq"] for r in rows] == list(range(1, 31))
    assert [r["_position"] for r in rows] == [str(i) for i in range(1, 31)]
    assert [r["_outcome"] for r in rows] == verdicts
    assert {"accepted", "late", "duplicate", "invalid"} <= set(verdicts)
    first = rows[0]
    assert (first["shop_id"], first["event_time"], first["event_id"], first["amount"],
            first["courier"], first["items"], first["rush"], first["_raw"]) == (
        "s1", 10_100, "e1", 0.25, "c1", 1, False, None)
    invalid = rows[12]
    assert invalid["_outcome"] == "invalid" and '"shop_id":"s1"' in invalid["_raw"]


def case_sealed_but_no_checkpoint(make: Make) -> None:
    """Killed after sealing, before the checkpoint: the batch is dropped, then redone once."""
    msgs = messages(20)
    engine = StreamingEngine(VIEW)
    _batch(make, engine, msgs[:10], recover_at=None, commit=True).close()
    _batch(make, engine, msgs[10:], recover_at="10", commit=False).close()
    assert [r["_seq"] for r in archived(make()).to_pylist()] == list(range(1, 11))
    _batch(make, engine, msgs[10:], recover_at="10", commit=True).close()  # restart at "10"
    assert [r["_position"] for r in archived(make()).to_pylist()] == [str(i) for i in range(1, 21)]


def case_checkpoint_but_no_commit(make: Make) -> None:
    """Killed after the checkpoint, before the commit: the next start commits the batch."""
    msgs = messages(20)
    engine = StreamingEngine(VIEW)
    _batch(make, engine, msgs[:10], recover_at=None, commit=True).close()
    _batch(make, engine, msgs[10:], recover_at="10", commit=False).close()
    writer = make().writer(VIEW)
    writer.recover("20")
    assert [r["_seq"] for r in archived(make()).to_pylist()] == list(range(1, 21))
    writer.add(messages(3, start=21), ["accepted"] * 3, 1_767_225_600_000)
    writer.seal()
    writer.commit()
    writer.close()
    assert [r["_seq"] for r in archived(make()).to_pylist()] == list(range(1, 24))


def case_killed_while_appending(make: Make) -> None:
    """Killed while the pending batch was being written: it is discarded."""
    engine = StreamingEngine(VIEW)
    msgs = messages(10)
    _batch(make, engine, msgs[:5], recover_at=None, commit=True).close()
    writer = make().writer(VIEW)
    writer.recover("5")
    writer.add(msgs[5:], outcomes(msgs[5:], engine), 1_767_225_600_000)
    writer._flush()  # type: ignore[attr-defined]  # rows written, never sealed
    writer.close()
    again = make().writer(VIEW)
    again.recover("5")
    again.close()
    assert [r["_seq"] for r in archived(make()).to_pylist()] == [1, 2, 3, 4, 5]


def case_archive_ahead_of_checkpoint(make: Make) -> None:
    """An online store that lost its checkpoint would archive events twice: refused."""
    _batch(make, StreamingEngine(VIEW), messages(5), recover_at=None, commit=True).close()
    for position in (None, "3"):
        writer = make().writer(VIEW)
        with pytest.raises(StoreError, match="would archive them again"):
            writer.recover(position)
        writer.close()


def case_one_writer_at_a_time(make: Make) -> None:
    """A second worker under the same name is refused while the first runs."""
    first = make().writer(VIEW)
    first.recover(None)
    second = make().writer(VIEW)
    with pytest.raises(StoreError, match="another worker"):
        second.recover(None)
    second.close()
    first.close()
    third = make().writer(VIEW)
    third.recover(None)
    third.close()


def case_hostile_values(make: Make) -> None:
    """Values of the wrong kind, huge, nested or with NUL are archived, not fatal."""
    odd: list[dict[str, Any]] = [
        {"shop_id": "a\x00b", "event_time": 1000, "event_id": "n1", "courier": "x\x00y"},
        {"shop_id": "k" * 10_000, "event_time": 1001, "event_id": "n2", "items": 2**70},
        {"shop_id": 7, "event_time": 1002.0, "event_id": 8, "amount": "lots", "rush": 1},
        {"shop_id": "s", "event_time": "1970-01-01T00:00:01.003", "event_id": "n4",
         "courier": {"nested": [1, 2]}, "items": 3.0, "amount": True},
        {"shop_id": "s", "event_time": 2**80, "event_id": "n5"},
        {"__invalid__": "not json"},
    ]
    msgs = [Message(str(i + 1), (i + 1, 0), e) for i, e in enumerate(odd)]
    verdicts = outcomes(msgs, StreamingEngine(VIEW))
    _batch(make, StreamingEngine(VIEW), msgs, recover_at=None, commit=True).close()
    rows = archived(make()).to_pylist()
    assert [r["_outcome"] for r in rows] == verdicts
    assert rows[0]["shop_id"].replace("\ufffd", "\x00") == "a\x00b"  # PostgreSQL has no NUL
    assert rows[1]["shop_id"] == "k" * 10_000 and rows[1]["items"] is None and rows[1]["_raw"]
    assert (rows[2]["shop_id"], rows[2]["event_time"], rows[2]["event_id"]) == ("7", 1002, "8")
    assert rows[2]["amount"] is None and rows[2]["rush"] is None and "lots" in rows[2]["_raw"]
    assert (rows[3]["event_time"], rows[3]["items"], rows[3]["amount"]) == (1003, 3, 1.0)
    assert rows[3]["courier"] is None and "nested" in rows[3]["_raw"]
    assert rows[4]["event_time"] is None and rows[4]["_outcome"] == "invalid"
    assert rows[5]["_outcome"] == "invalid" and "not json" in rows[5]["_raw"]


CASES = [case_round_trip, case_hostile_values, case_sealed_but_no_checkpoint, case_checkpoint_but_no_commit,
         case_killed_while_appending, case_archive_ahead_of_checkpoint,
         case_one_writer_at_a_time]
