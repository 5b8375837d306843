from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

from augur.batch import BadRows, BatchJob, list_runs, resume_batch, run_batch, run_errors
from augur.batch.sqlite_predictions import SqlitePredictionStore
from augur.errors import ConfigError, ModelNotFound
from augur.registry import Registry


def stored(db: Path, table: str = "predictions") -> dict[str, dict[str, object]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"SELECT key, outputs FROM {table} WHERE model = 'iris'").fetchall()
    return {k: orjson.loads(o) for k, o in rows}


def count(db: Path, table: str = "predictions") -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_parquet_to_sqlite_with_run_record(batch_registry: Registry, parquet_input: Path,
                                           tmp_path: Path, expected, close, rows) -> None:
    out = tmp_path / "preds.db"
    log = io.StringIO()
    rec = run_batch(BatchJob("iris", str(parquet_input), "id", output=str(out), chunk_size=128),
                    batch_registry, progress_stream=log, tty=False)
    assert rec.status == "succeeded" and rec.version == 1
    assert rec.stats["rows_in"] == rec.stats["rows_out"] == 1000
    assert rec.stats["chunks"] == 8 and rec.stats["rows_failed"] == 0
    assert rec.params["ref"] == "iris:1" and rec.params["requested_ref"] == "iris"
    close(stored(out), expected(batch_registry, rows(1000)))
    assert "1,000 rows of 1,000 (100%)" in log.getvalue() and "rows/s" in log.getvalue()
    with sqlite3.connect(out) as conn:
        model, version, run_id, created = conn.execute(
            "SELECT model, version, run_id, created_at FROM predictions LIMIT 1").fetchone()
    assert (model, version, run_id) == ("iris", 1, rec.id) and created > 0
    assert rec.id in [r.id for r in list_runs(batch_registry)]


def test_rerun_replaces_instead_of_duplicating(batch_registry: Registry, parquet_input: Path,
                                               tmp_path: Path) -> None:
    out = f"sqlite:///{tmp_path / 'p.db'}?table=scores"
    first = run_batch(BatchJob("iris", str(parquet_input), "id", output=out), batch_registry,
                      quiet=True)
    second = run_batch(BatchJob("iris", str(parquet_input), "id", output=out), batch_registry,
                       quiet=True)
    assert count(tmp_path / "p.db", "scores") == 1000
    with sqlite3.connect(tmp_path / "p.db") as conn:
        assert conn.execute("SELECT DISTINCT run_id FROM scores").fetchall() == [(second.id,)]
    assert first.id != second.id


def test_bad_rows_go_to_the_errors_table(batch_registry: Registry, tmp_path: Path,
                                         rows) -> None:
    frame = rows(300)
    frame["petal_width"] = frame["petal_width"].astype(object)
    frame.loc[7, "petal_width"] = "tall"
    frame.loc[250, "sepal_length"] = float("nan")
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "p.db"
    rec = run_batch(BatchJob("iris", str(tmp_path / "in.csv"), "id", output=str(out),
                             chunk_size=100), batch_registry, quiet=True)
    assert rec.status == "succeeded"
    assert (rec.stats["rows_out"], rec.stats["rows_failed"]) == (298, 2)
    errors = SqlitePredictionStore(out).errors(rec.id)
    assert [(e["row"], e["key"]) for e in errors] == [(7, "7"), (250, "250")]
    assert "petal_width" in errors[0]["reason"] and "'tall'" in errors[0]["reason"]
    assert "sepal_length" in errors[1]["reason"]
    assert "7" not in stored(out) and len(stored(out)) == 298


@pytest.mark.parametrize("output", ["p.db", "parquet_out.parquet"])
def test_run_errors_reads_the_failed_rows_back(batch_registry: Registry, tmp_path: Path, rows,
                                              output: str) -> None:
    frame = rows(40)
    frame["petal_width"] = frame["petal_width"].astype(object)
    frame.loc[[5, 30], "petal_width"] = "tall"
    frame.to_csv(tmp_path / "in.csv", index=False)
    rec = run_batch(BatchJob("iris", str(tmp_path / "in.csv"), "id",
                             output=str(tmp_path / output), chunk_size=16), batch_registry,
                    quiet=True)
    errors = run_errors(rec.id, batch_registry)
    assert [(e["row"], e["key"]) for e in errors] == [(5, "5"), (30, "30")]
    assert all("petal_width" in e["reason"] for e in errors)
    with pytest.raises(ModelNotFound):
        run_errors("no-such-run", batch_registry)


def test_fail_fast_stops_and_records_failure(batch_registry: Registry, tmp_path: Path,
                                             rows) -> None:
    frame = rows(300)
    frame.loc[150, "sepal_length"] = float("nan")
    frame.to_parquet(tmp_path / "in.parquet")
    job = BatchJob("iris", str(tmp_path / "in.parquet"), "id", output=str(tmp_path / "p.db"),
                   chunk_size=100, fail_fast=True, workers=1)
    with pytest.raises(BadRows, match="row 150"):
        run_batch(job, batch_registry, quiet=True)
    rec = next(r for r in list_runs(batch_registry) if r.params["output"] == job.output)
    assert rec.status == "failed" and "row 150" in (rec.error or "")
    assert rec.stats["chunks"] == 1  # the first chunk was committed before the bad one


def test_failed_run_resumes_from_last_committed_chunk(batch_registry: Registry,
                                                      tmp_path: Path, rows, expected,
                                                      close) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rows(200, start=0).to_csv(folder / "a.csv", index=False)
    (folder / "b.csv").write_text('id,sepal_length\n1,"unterminated\n')
    out = tmp_path / "p.db"
    with pytest.raises(ConfigError, match="cannot read CSV"):
        run_batch(BatchJob("iris", str(folder), "id", output=str(out), chunk_size=50),
                  batch_registry, quiet=True)
    failed = next(r for r in list_runs(batch_registry) if r.params["output"] == str(out))
    assert failed.status == "failed" and failed.stats["chunks"] == 4
    rows(100, start=200).to_csv(folder / "b.csv", index=False)
    with sqlite3.connect(out) as conn:  # mark the committed rows to prove they are not redone
        conn.execute("UPDATE predictions SET run_id = 'before'")
    done = resume_batch(failed.id, batch_registry, quiet=True)
    assert done.status == "succeeded" and done.id == failed.id
    assert done.stats["rows_in"] == 300 and done.stats["chunks"] == 6
    with sqlite3.connect(out) as conn:
        by_run = dict(conn.execute("SELECT run_id, count(*) FROM predictions GROUP BY run_id"))
    assert by_run == {"before": 200, failed.id: 100}
    both = pd.concat([rows(200, start=0), rows(100, start=200)])
    close(stored(out), expected(batch_registry, both))


def test_parquet_sink_replaces_on_rerun(batch_registry: Registry, tmp_path: Path,
                                        rows) -> None:
    rows(250).to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    for _ in range(2):
        rec = run_batch(BatchJob("iris", str(tmp_path / "in.parquet"), "id", output=str(out),
                                 chunk_size=100), batch_registry, quiet=True)
    table = pq.read_table(out / "iris")
    assert table.num_rows == 250
    assert set(table.column("run_id").to_pylist()) == {rec.id}
    assert sorted(table.column("key").to_pylist(), key=int) == [str(i) for i in range(250)]
    assert not (out / "_staging" / rec.id).exists()


def test_missing_key_column_fails_before_running(batch_registry: Registry,
                                                 parquet_input: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="key column 'user_id' is not in the input"):
        run_batch(BatchJob("iris", str(parquet_input), "user_id",
                           output=str(tmp_path / "p.db")), batch_registry, quiet=True)


@pytest.mark.parametrize("output, message", [
    ("mongodb://x/y", "unsupported scheme 'mongodb'"),
    ("sqlite:///p.db?table=drop table", "bad table name"),
    ("postgresql://h:port/x", "bad --output"),
    ("sqlite://p.db", "reads as a host"),
])
def test_bad_outputs_are_rejected(batch_registry: Registry, parquet_input: Path,
                                  output: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_batch(BatchJob("iris", str(parquet_input), "id", output=output), batch_registry,
                  quiet=True)


def test_bad_settings(batch_registry: Registry, parquet_input: Path) -> None:
    with pytest.raises(ConfigError, match="chunk-size"):
        run_batch(BatchJob("iris", str(parquet_input), "id", chunk_size=0), batch_registry)
    with pytest.raises(ConfigError, match="unknown engine"):
        run_batch(BatchJob("iris", str(parquet_input), "id", engine="spark"), batch_registry)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("chunk_size", "x", "'chunk_size' must be an integer, got text"),
    ("workers", None, "'workers' must be an integer, got null"),
    ("workers", True, "'workers' must be an integer, got true or false"),
    ("fail_fast", 1, "'fail_fast' must be true or false, got an integer"),
    ("output", 5, "'output' must be null or text, got an integer"),
    ("ray_cpus", 1.5, "'ray_cpus' must be an integer or null, got float"),
    ("ref", ["iris"], "'ref' must be text, got list"),
    ("ray_cpus", 0, "at least 1"),
])
def test_a_job_read_from_json_is_held_to_its_field_types(field: str, value: object,
                                                         message: str) -> None:
    # a job from an HTTP body or a stored schedule may hold anything (a string chunk
    # size once reached a comparison and answered 500)
    job = BatchJob(**{"ref": "iris", "input": "in.parquet", "key": "id", field: value})
    with pytest.raises(ConfigError, match=message):
        job.check()
