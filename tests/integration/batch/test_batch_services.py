"""Batch jobs against the real PostgreSQL and Redis: sources, sinks, errors, lookups."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pandas as pd
import psycopg
import pytest
import redis

from augur.batch import BatchJob, fetch_prediction, open_store, run_batch
from augur.batch.postgres_predictions import PostgresPredictionStore
from augur.batch.redis_predictions import RedisPredictionStore
from augur.registry import Registry

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_table(postgres_url: str) -> Iterator[str]:
    """A unique table name; the tables it names are dropped afterwards."""
    name = f"t_batch_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for suffix in ("", "_errors", "_progress", "_input"):
            conn.execute(f"DROP TABLE IF EXISTS {name}{suffix}")


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"test:batch:{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _bad_frame(rows, n: int) -> pd.DataFrame:
    frame = rows(n)
    frame.loc[3, "sepal_length"] = float("nan")
    return frame


def test_parquet_to_postgres_with_errors_and_rerun(batch_registry: Registry, tmp_path: Path,
                                                   postgres_url: str, pg_table: str, rows,
                                                   expected, close) -> None:
    frame = _bad_frame(rows, 700)
    frame.to_parquet(tmp_path / "in.parquet")
    out = f"{postgres_url}?table={pg_table}"
    job = BatchJob("iris", str(tmp_path / "in.parquet"), "id", output=out, chunk_size=200)
    first = run_batch(job, batch_registry, quiet=True)
    second = run_batch(job, batch_registry, quiet=True)
    assert (second.stats["rows_out"], second.stats["rows_failed"]) == (699, 1)
    with psycopg.connect(postgres_url) as conn:
        got = dict(conn.execute(f"SELECT key, outputs FROM {pg_table}").fetchall())
        runs = conn.execute(f"SELECT DISTINCT run_id, model, version FROM {pg_table}").fetchall()
        errors = conn.execute(f"SELECT run_id, row, key, reason FROM {pg_table}_errors"
                              " ORDER BY run_id").fetchall()
    assert len(got) == 699 and runs == [(second.id, "iris", 1)]
    close(got, expected(batch_registry, frame.drop(index=[3])))
    assert sorted(e[:3] for e in errors) == sorted([(first.id, 3, "3"), (second.id, 3, "3")])
    assert "sepal_length" in errors[0][3]
    store = open_store(out, batch_registry.home)
    pred = fetch_prediction(store, "iris", "10")
    assert pred.version == 1 and pred.run_id == second.id and pred.age() < 120
    store.close()


def test_postgres_query_source_to_sqlite(batch_registry: Registry, tmp_path: Path,
                                         postgres_url: str, pg_table: str, rows, expected,
                                         close) -> None:
    frame = rows(450)
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"CREATE TABLE {pg_table}_input (id BIGINT PRIMARY KEY, sepal_length REAL,"
                     " sepal_width NUMERIC, petal_length DOUBLE PRECISION, petal_width REAL)")
        with conn.cursor().copy(f"COPY {pg_table}_input FROM STDIN") as copy:
            for rec in frame.itertuples(index=False):
                copy.write_row(tuple(rec))
    query = f"SELECT * FROM {pg_table}_input ORDER BY id"
    out = tmp_path / "p.db"
    rec = run_batch(BatchJob("iris", f"{postgres_url}?query={query}", "id", output=str(out),
                             chunk_size=100), batch_registry, quiet=True)
    assert rec.stats["rows_in"] == 450 and rec.stats["chunks"] == 5
    store = open_store(str(out), batch_registry.home)
    got = {str(i): store.get("iris", str(i)).outputs for i in range(450)}
    store.close()
    close(got, expected(batch_registry, frame))


def test_csv_to_redis_with_errors_and_lookup(batch_registry: Registry, tmp_path: Path,
                                             redis_url: str, redis_prefix: str, rows,
                                             expected, close) -> None:
    frame = _bad_frame(rows, 500)
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = f"{redis_url}?prefix={redis_prefix}"
    rec = run_batch(BatchJob("iris", str(tmp_path / "in.csv"), "id", output=out,
                             chunk_size=128), batch_registry, quiet=True)
    assert (rec.stats["rows_out"], rec.stats["rows_failed"]) == (499, 1)
    client = redis.Redis.from_url(redis_url)
    raw = client.hgetall(f"{redis_prefix}:iris:42")
    assert raw[b"run_id"].decode() == rec.id and raw[b"version"] == b"1"
    keys = {k.decode() for k in client.scan_iter(f"{redis_prefix}:iris:*", count=1000)}
    assert len(keys) == 499
    got = {k.rsplit(":", 1)[1]: orjson.loads(client.hget(k, "outputs")) for k in keys}
    client.close()
    close(got, expected(batch_registry, frame.drop(index=[3])))
    store = RedisPredictionStore(redis_url, redis_prefix)
    assert [(e["row"], e["key"]) for e in store.errors(rec.id)] == [(3, "3")]
    assert store.committed(rec.id).chunks == 4
    pred = fetch_prediction(store, "iris", "42")
    assert pred.run_id == rec.id and pred.outputs == got["42"]
    store.put("iris", 1, "online-1", {"label": 1})
    assert store.get("iris", "online-1").outputs == {"label": 1}
    store.close()


def test_sqlite_query_source_to_postgres_sink_lookup(batch_registry: Registry, tmp_path: Path,
                                                     postgres_url: str, pg_table: str,
                                                     rows) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "in.db") as conn:
        rows(50).to_sql("users", conn, index=False)
    source = f"sqlite:///{tmp_path / 'in.db'}?query=SELECT * FROM users ORDER BY id"
    run_batch(BatchJob("iris", source, "id", output=f"{postgres_url}?table={pg_table}"),
              batch_registry, quiet=True)
    store = PostgresPredictionStore(postgres_url, pg_table)
    assert store.get("iris", "49") is not None and store.get("iris", "50") is None
    store.put("iris", 1, "49", {"label": 7})
    assert store.get("iris", "49").outputs == {"label": 7}
    store.close()
