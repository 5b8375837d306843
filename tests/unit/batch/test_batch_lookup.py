from __future__ import annotations

import time
from pathlib import Path

import pytest

from augur.batch import BatchJob, HybridPredictor, fetch_prediction, open_store, run_batch
from augur.batch.sqlite_store import SqliteStore
from augur.errors import ConfigError, PredictionNotFound
from augur.registry import Registry
from augur.runtime import load


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "p.db")
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
    with pytest.raises(ConfigError, match="unknown prediction store"):
        open_store("parquet:///x", tmp_path)


def test_hybrid_hits_fresh_and_runs_model_on_miss(batch_registry: Registry,
                                                  store: SqliteStore) -> None:
    model = load("iris", registry=batch_registry)
    record = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    store.put("iris", 1, "u1", {"label": 2, "probabilities": [0.0, 0.0, 1.0]}, run_id="r1")
    hybrid = HybridPredictor(store, model, max_age=3600, write_back=True)
    hit = hybrid.predict("u1", record)
    assert (hit.source, hit.outputs["label"], hit.version) == ("store", 2, 1)
    miss = hybrid.predict("u2", record)
    assert miss.source == "model" and miss.outputs["label"] == 0
    assert store.get("iris", "u2").outputs == miss.outputs  # written back
    assert hybrid.predict("u2").source == "store"
    assert hybrid.stats() == {"hits": 2, "misses": 1, "hit_rate": pytest.approx(2 / 3)}


def test_hybrid_treats_stale_as_missing(batch_registry: Registry, store: SqliteStore) -> None:
    model = load("iris", registry=batch_registry)
    store.put("iris", 1, "old", {"label": 2, "probabilities": [0.0, 0.0, 1.0]})
    with store.conn:
        store.conn.execute("UPDATE predictions SET created_at = ?", (time.time() - 7200,))
    hybrid = HybridPredictor(store, model, max_age=3600)
    with pytest.raises(PredictionNotFound, match="younger than 3600s"):
        hybrid.predict("old")
    fresh = hybrid.predict("old", {"sepal_length": 6.7, "sepal_width": 3.0,
                                   "petal_length": 5.2, "petal_width": 2.3})
    assert fresh.source == "model" and store.get("iris", "old").outputs["label"] == 2
    assert hybrid.misses == 2 and hybrid.hit_rate == 0.0
    with pytest.raises(ConfigError, match="max_age"):
        HybridPredictor(store, model, max_age=-1)
