from __future__ import annotations

from pathlib import Path

import pytest

from augur.batch import BatchJob, fetch_prediction, open_store, run_batch
from augur.batch.sqlite_predictions import SqlitePredictionStore
from augur.errors import ConfigError, PredictionNotFound
from augur.registry import Registry


@pytest.fixture
def store(tmp_path: Path) -> SqlitePredictionStore:
    s = SqlitePredictionStore(tmp_path / "p.db")
    s.open()
    yield s
    s.close()


def test_lookup_after_a_batch_run(batch_registry: Registry, parquet_input: Path,
                                  tmp_path: Path, rows, expected, close) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    rec = run_batch(BatchJob("iris", str(parquet_input), "id", output=url), batch_registry,
                    quiet=True)
    store = open_store(url, batch_registry.home)
    pred = fetch_prediction(store, "iris", "42")
    assert (pred.version, pred.run_id) == (1, rec.id)
    assert 0 <= pred.age() < 60
    close({"42": pred.outputs}, {"42": expected(batch_registry, rows(1000))["42"]})
    with pytest.raises(PredictionNotFound, match="key '100000'"):
        fetch_prediction(store, "iris", "100000")
    with pytest.raises(PredictionNotFound, match="old"):
        fetch_prediction(store, "iris", "42", max_age=-1)
    store.close()


def test_open_store_rejects_parquet_and_unknown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported scheme 'parquet'"):
        open_store("parquet:///x", tmp_path)


def test_put_then_get_and_get_many(store: SqlitePredictionStore) -> None:
    store.put("iris", 1, "u1", {"label": 2, "probabilities": [0.0, 0.0, 1.0]}, run_id="r1")
    got = store.get("iris", "u1")
    assert got is not None and (got.outputs["label"], got.version, got.run_id) == (2, 1, "r1")
    assert store.get("iris", "nope") is None
    many = store.get_many("iris", ["nope", "u1", "u1"])
    assert many[0] is None and many[1] == many[2] == got
