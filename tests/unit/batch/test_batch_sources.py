from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from augur.backends import parse_url
from augur.batch import open_source
from augur.batch.sources import CsvSource, ParquetSource, SqlSource
from augur.errors import ConfigError


def test_parquet_chunks_have_exact_sizes_and_stable_order(tmp_path: Path, rows) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    rows(250, start=0).to_parquet(folder / "a.parquet", row_group_size=70)
    rows(130, start=250).to_parquet(folder / "b.parquet", row_group_size=70)
    source = open_source(str(folder))
    assert isinstance(source, ParquetSource)
    assert source.total_rows() == 380
    chunks = list(source.chunks(100))
    assert [len(c) for c in chunks] == [100, 100, 100, 80]
    ids = pd.concat(chunks)["id"].tolist()
    assert ids == list(range(380))
    assert [c["id"].tolist() for c in source.chunks(100)] == [c["id"].tolist() for c in chunks]


def test_csv_folder_is_read_in_chunks(tmp_path: Path, rows) -> None:
    rows(120).to_csv(tmp_path / "x.csv", index=False)
    source = open_source(str(tmp_path / "x.csv"))
    assert isinstance(source, CsvSource)
    assert source.columns() == ["id", "sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert [len(c) for c in source.chunks(50)] == [50, 50, 20]


def test_sqlite_query_source(tmp_path: Path, rows) -> None:
    db = tmp_path / "in.db"
    with sqlite3.connect(db) as conn:
        rows(30).to_sql("t", conn, index=False)
    source = open_source(f"sqlite:///{db}?query=SELECT * FROM t WHERE id >= 10 ORDER BY id")
    assert isinstance(source, SqlSource)
    chunks = list(source.chunks(8))
    assert [len(c) for c in chunks] == [8, 8, 4]
    assert chunks[0]["id"].tolist()[0] == 10


def test_sqlite_url_forms() -> None:
    assert parse_url("sqlite:///rel/x.db?query=1").path == Path("rel/x.db")
    assert parse_url("sqlite:////abs/x.db").path == Path("/abs/x.db")
    with pytest.raises(ConfigError, match="reads as a host"):
        open_source("sqlite://x.db?query=SELECT 1")


@pytest.mark.parametrize("spec, message", [
    ("ftp://host/file.parquet", "unknown input scheme 'ftp'"),
    ("postgresql://127.0.0.1/test", "needs a query"),
    ("postgresql://h:port/test?query=SELECT 1", "bad --input"),
    ("sqlite:///x.db?query=", "empty SQL query"),
    ("/no/such/file.parquet", "does not exist"),
    ("", "empty --input"),
])
def test_bad_inputs_are_named(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_source(spec)


def test_unknown_file_type(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(ConfigError, match=r"must be \.parquet, \.pq or \.csv"):
        open_source(str(tmp_path / "x.json"))


def test_bad_sql_query_is_a_config_error(tmp_path: Path) -> None:
    db = tmp_path / "in.db"
    sqlite3.connect(db).close()
    source = open_source(f"sqlite:///{db}?query=SELECT * FROM missing")
    with pytest.raises(ConfigError, match="no such table"):
        list(source.chunks(10))
