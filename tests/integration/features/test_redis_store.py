"""The Redis online store against the real server: hashes, TTL, atomic checkpoints."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from augur.features import Checkpoint, OnlineFeatureService, RedisOnlineStore, open_online_store

pytestmark = pytest.mark.integration


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisOnlineStore]:
    s = RedisOnlineStore(redis.Redis.from_url(redis_url), namespace=f"t{uuid.uuid4().hex[:10]}")
    yield s
    s.drop_namespace()
    s.close()


def test_rows_are_hashes_with_freshness(store: RedisOnlineStore, redis_url: str) -> None:
    store.write("v", {"a": {"n": 3, "mean": 0.1, "city": "Oslo", "none": None}}, 1234)
    raw = redis.Redis.from_url(redis_url).hgetall(f"{store.namespace}:v:a")
    assert raw[b"n"] == b"3" and raw[b"city"] == b'"Oslo"' and raw[b"__et"] == b"1234"
    row = store.read("v", ["a"])[0]
    assert row is not None and row.values == {"n": 3, "mean": 0.1, "city": "Oslo", "none": None}
    assert row.event_time == 1234 and row.written_at > 0
    service = OnlineFeatureService(store)
    assert service.get_many([("v", ["a", "b"]), ("w", ["a"])]) == [[row.values, None], [None]]


def test_ttl_and_checkpoint(store: RedisOnlineStore) -> None:
    store.write("v", {"a": {"n": 1}}, 1, ttl_s=0.05, checkpoint=Checkpoint("w", "5-0", b"\x00s"))
    assert store.read("v", ["a"])[0] is not None
    time.sleep(0.15)
    assert store.read("v", ["a"]) == [None]
    assert store.load_checkpoint("w") == Checkpoint("w", "5-0", b"\x00s")


def test_url_namespace(redis_url: str) -> None:
    ns = f"t{uuid.uuid4().hex[:10]}"
    s = open_online_store(f"{redis_url}?namespace={ns}")
    assert isinstance(s, RedisOnlineStore) and s.namespace == ns
    s.write("v", {"k": {"x": 1}}, 1)
    assert s.read("v", ["k", "j"])[1] is None
    s.drop_namespace()
    s.close()
