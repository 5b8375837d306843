"""The Ray engine stores the same predictions as the local engine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from augur.batch import BatchJob, run_batch
from augur.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _stored(db: Path) -> tuple[dict[str, dict[str, object]], list[tuple[int, str]]]:
    with sqlite3.connect(db) as conn:
        preds = {k: orjson.loads(o) for k, o in conn.execute("SELECT key, outputs FROM "
                                                             "predictions")}
        errors = conn.execute("SELECT row, reason FROM predictions_errors ORDER BY row")
        return preds, errors.fetchall()


def test_ray_engine_equals_local_engine(batch_registry: Registry, tmp_path: Path,
                                        rows) -> None:
    frame = rows(3000)
    frame.loc[1234, "petal_length"] = float("nan")
    folder = tmp_path / "in"
    folder.mkdir()
    frame.iloc[:1700].to_parquet(folder / "a.parquet")
    frame.iloc[1700:].to_parquet(folder / "b.parquet")
    local = run_batch(BatchJob("iris", str(folder), "id", output=str(tmp_path / "local.db"),
                               chunk_size=1000), batch_registry, quiet=True)
    # A small local cluster (two CPUs, no dashboard), shut down when the run ends.
    ray = run_batch(BatchJob("iris", str(folder), "id", output=str(tmp_path / "ray.db"),
                             chunk_size=1000, engine="ray", ray_cpus=2), batch_registry,
                    quiet=True)
    assert ray.status == local.status == "succeeded"
    for field in ("rows_in", "rows_out", "rows_failed"):
        assert ray.stats[field] == local.stats[field]
    local_preds, local_errors = _stored(tmp_path / "local.db")
    ray_preds, ray_errors = _stored(tmp_path / "ray.db")
    assert len(local_preds) == 2999
    assert ray_preds == local_preds  # identical JSON, not merely close
    assert ray_errors == local_errors == [(1234, local_errors[0][1])]
    assert "petal_length" in local_errors[0][1]
