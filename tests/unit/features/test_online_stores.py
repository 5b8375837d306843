"""The embedded online stores: upserts, freshness, TTL, checkpoints written with values."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from augur.features import (
    Checkpoint,
    MemoryOnlineStore,
    OnlineFeatureService,
    OnlineStore,
    SQLiteOnlineStore,
    open_online_store,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    s: OnlineStore = MemoryOnlineStore() if request.param == "memory" else \
        SQLiteOnlineStore(tmp_path / "online.db")
    yield s
    s.close()


def test_write_read_and_freshness(store: OnlineStore) -> None:
    before = int(time.time() * 1000)
    store.write("v", {"a": {"n": 1, "name": "x", "m": None}, "b": {"n": 2}}, 1234)
    store.write("v", {"a": {"n": 5}}, 2000)
    a, missing, b = store.read("v", ["a", "zzz", "b"])
    assert missing is None
    assert a is not None and a.values == {"n": 5} and a.event_time == 2000
    assert a.written_at >= before
    assert b is not None and b.values == {"n": 2}
    assert store.read_many([("v", ["b"]), ("other", ["a"])]) == [[b], [None]]
    assert OnlineFeatureService(store).get("v", ["a", "nope"]) == [{"n": 5}, None]


def test_ttl_expires_rows(store: OnlineStore) -> None:
    store.write("v", {"a": {"n": 1}}, 1, ttl_s=0.05)
    assert store.read("v", ["a"])[0] is not None
    time.sleep(0.1)
    assert store.read("v", ["a"]) == [None]


def test_checkpoint_is_written_with_values(store: OnlineStore) -> None:
    assert store.load_checkpoint("w") is None
    store.write("v", {"a": {"n": 1}}, 1, checkpoint=Checkpoint("w", "17", b"state"))
    assert store.load_checkpoint("w") == Checkpoint("w", "17", b"state")


def test_sqlite_store_survives_reopening(tmp_path: Path) -> None:
    s = open_online_store(f"sqlite:///{tmp_path / 'o.db'}")
    s.write("v", {"a": {"n": 1}}, 5, checkpoint=Checkpoint("w", "3", b"s"))
    s.close()
    again = open_online_store(str(tmp_path / "o.db"))
    assert again.read("v", ["a"])[0] is not None
    assert again.load_checkpoint("w") == Checkpoint("w", "3", b"s")
    again.close()
