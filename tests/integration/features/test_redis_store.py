"""The Redis online store against the real server: packed rows, TTL, atomic checkpoints."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from augur.errors import StoreError
from augur.features import Checkpoint, OnlineFeatureService, RedisOnlineStore, open_online_store

pytestmark = pytest.mark.integration


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisOnlineStore]:
    s = RedisOnlineStore(redis.Redis.from_url(redis_url), namespace=f"t{uuid.uuid4().hex[:10]}")
    yield s
    s.drop_namespace()
    s.close()


def test_rows_are_packed_values_with_freshness(store: RedisOnlineStore, redis_url: str) -> None:
    store.write("v", {"a": {"n": 3, "mean": 0.1, "city": "Oslo", "none": None}}, 1234)
    raw = redis.Redis.from_url(redis_url).get(f"{store.namespace}:v:a")
    assert raw is not None and raw.startswith(b"[1234,")
    assert raw.endswith(b',{"n":3,"mean":0.1,"city":"Oslo","none":null}]')
    row = store.read("v", ["a"])[0]
    assert row is not None and row.values == {"n": 3, "mean": 0.1, "city": "Oslo", "none": None}
    assert row.event_time == 1234 and row.written_at > 0
    service = OnlineFeatureService(store)
    assert service.get_many([("v", ["a", "b"]), ("w", ["a"])]) == [[row.values, None], [None]]
    store.write("v", {"a": {"n": 4}}, 1300)  # a row is replaced whole, as in the other stores
    again = store.read("v", ["a", "a"])[1]
    assert again is not None and again.values == {"n": 4} and again.event_time == 1300


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


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'[1, 2, [3]]', b'["1", 2, {}]', b"7"])
def test_corrupt_value_names_the_key(store: RedisOnlineStore, redis_url: str, raw: bytes) -> None:
    store.write("v", {"a": {"n": 1}}, 1)
    redis.Redis.from_url(redis_url).set(f"{store.namespace}:v:b", raw)
    with pytest.raises(StoreError, match=f"corrupt value at '{store.namespace}:v:b'"):
        store.read("v", ["a", "b"])
    with pytest.raises(StoreError, match="corrupt value"):
        store.read_many([("v", ["b"])])
    assert store.read("v", []) == [] and store.read_many([]) == []
