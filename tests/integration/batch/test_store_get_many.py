"""``get_many`` on the real SQLite, PostgreSQL and Redis stores: one round trip, the
order of the keys, ``None`` for missing ones, duplicates, chunking, corrupt values."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from augur.batch import open_store
from augur.batch.postgres_predictions import PostgresPredictionStore
from augur.batch.predictions import PredictionChunk, Progress
from augur.batch.redis_predictions import RedisPredictionStore
from augur.errors import ServiceUnavailable, StoreError

pytestmark = pytest.mark.integration

MODEL = "m"


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An opened store of each kind under a unique table or prefix, removed afterwards."""
    tag = f"t_many_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'p.db'}?table={tag}"
    elif request.param == "postgresql":
        url = f"{request.getfixturevalue('postgres_url')}?table={tag}"
    else:
        url = f"{request.getfixturevalue('redis_url')}?prefix=test:{tag}"
    s = open_store(url, tmp_path)
    yield s
    if request.param == "postgresql":
        for suffix in ("", "_errors", "_progress"):
            s.conn.execute(f"DROP TABLE IF EXISTS {tag}{suffix}")
    elif request.param == "redis":
        keys = list(s.client.scan_iter(f"test:{tag}:*", count=1000))
        for start in range(0, len(keys), 1000):
            s.client.delete(*keys[start:start + 1000])
    s.close()


def _write(store: Any, keys: list[str], model: str = MODEL) -> None:
    outputs = [json.dumps({"label": i, "key": k}) for i, k in enumerate(keys)]
    store.write("r1", model, 3, PredictionChunk(0, len(keys), keys, outputs),
                Progress(1, len(keys), len(keys), 0))


def _corrupt(store: Any, key: str) -> None:
    """Damage one stored value behind the store's back, as a foreign writer could."""
    if isinstance(store, RedisPredictionStore):
        store.client.hset(store.key_of(MODEL, key), "outputs", b"{not json")
    elif isinstance(store, PostgresPredictionStore):  # JSONB is always valid JSON, but maybe no object
        store.conn.execute(f"UPDATE {store.table} SET outputs = '[1, 2]'::jsonb"
                           " WHERE key = %s", (key,))
    else:
        store.conn.execute(f"UPDATE {store.table} SET outputs = '{{not json' WHERE key = ?",
                           (key,))


def test_order_missing_and_duplicate_keys(store: Any) -> None:
    _write(store, ["a", "b", "c", "d"])
    _write(store, ["a", "zz"], model="other")  # another model's rows never leak in
    asked = ["c", "nope", "a", "c", "zz", "d", "a"]
    got = store.get_many(MODEL, asked)
    assert [p.key if p else None for p in got] == ["c", None, "a", "c", None, "d", "a"]
    assert got == [store.get(MODEL, k) for k in asked]
    first = got[0]
    assert first is not None
    assert (first.model, first.outputs, first.version, first.run_id) == \
        (MODEL, {"label": 2, "key": "c"}, 3, "r1")
    assert store.get_many(MODEL, []) == []
    assert store.get_many(MODEL, ["nope", "nope"]) == [None, None]


def test_many_keys_are_read_in_chunks(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stored = [f"k{i}" for i in range(2500)]
    _write(store, stored)
    asked = stored + [f"missing{i}" for i in range(40)] + stored[:300]
    random.Random(7).shuffle(asked)
    got = store.get_many(MODEL, asked)
    assert [p.key if p else None for p in got] == \
        [k if k.startswith("k") else None for k in asked]
    assert all(p.outputs["key"] == p.key for p in got if p)
    # chunk boundaries falling between duplicates of one key (the PostgreSQL chunk is big)
    module = __import__(type(store).__module__, fromlist=["_"])
    if hasattr(module, "_KEYS_PER_SELECT"):
        monkeypatch.setattr(module, "_KEYS_PER_SELECT", 3)
        assert store.get_many(MODEL, asked[:200]) == got[:200]


def test_a_corrupt_value_names_model_key_and_store(store: Any) -> None:
    _write(store, ["ok", "bad"])
    _corrupt(store, "bad")
    for read in (lambda: store.get(MODEL, "bad"), lambda: store.get_many(MODEL, ["ok", "bad"])):
        with pytest.raises(StoreError, match=r"prediction of 'm' for key 'bad' in .* is corrupt"):
            read()
    assert store.get_many(MODEL, ["ok"])[0].outputs == {"label": 0, "key": "ok"}


def test_a_redis_hash_missing_a_field_is_corrupt(redis_url: str, tmp_path: Path) -> None:
    prefix = f"test:t_many_{uuid.uuid4().hex[:10]}"
    store = open_store(f"{redis_url}?prefix={prefix}", tmp_path)
    try:
        store.client.hset(f"{prefix}:{MODEL}:half", mapping={"outputs": b"{}"})
        with pytest.raises(StoreError,
                           match=r"key 'half'.*missing field version, run_id, created_at"):
            store.get_many(MODEL, ["half"])
    finally:
        store.client.delete(f"{prefix}:{MODEL}:half")
        store.close()


def test_a_postgres_connection_lost_mid_life_is_unavailable_then_reconnects(
        postgres_url: str, tmp_path: Path) -> None:
    import psycopg

    tag = f"t_lost_{uuid.uuid4().hex[:10]}"
    s = open_store(f"{postgres_url}?table={tag}", tmp_path)
    assert isinstance(s, PostgresPredictionStore)
    try:
        s.put(MODEL, 1, "k", {"y": [1.0]})
        pid = s.conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(ServiceUnavailable, match=r"prediction store postgresql://.*"
                                                     r"reading predictions failed"):
            s.get_many(MODEL, ["k"])
        found = s.get_many(MODEL, ["k"])  # the broken connection was dropped: a new one
        assert found[0] is not None and found[0].outputs == {"y": [1.0]}
    finally:
        for suffix in ("", "_errors", "_progress"):
            s.conn.execute(f"DROP TABLE IF EXISTS {tag}{suffix}")
        s.close()


def test_a_redis_server_gone_is_unavailable(redis_url: str, tmp_path: Path) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    s = open_store(f"{redis_url}?prefix=test:lost{uuid.uuid4().hex[:8]}", tmp_path)
    assert isinstance(s, RedisPredictionStore)
    s.close()
    # nothing listens on port 1; no retries, so the test does not wait out a backoff
    s._client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5,
                            retry=Retry(NoBackoff(), 0))
    for call in (lambda: s.get(MODEL, "k"), lambda: s.get_many(MODEL, ["k", "j"]),
                 lambda: s.put(MODEL, 1, "k", {"y": 1})):
        with pytest.raises(ServiceUnavailable, match=r"prediction store redis://.* failed"):
            call()
