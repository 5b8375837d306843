"""The offline store: event histories and feature tables as DuckDB relations.

Parquet files (a path or a glob) are the default and are scanned in place by
DuckDB. A ``postgresql://...#table`` location is read through psycopg into Arrow
once per query. In-memory pandas DataFrames and Arrow tables are accepted too, and
a list of Parquet files (the event archive's) is read as one table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from augur.backends import connect_postgres, parse_url, translate_errors
from augur.errors import InvalidInput, StoreError

_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def register_source(con: duckdb.DuckDBPyConnection, name: str, location: Any) -> None:
    """Make ``location`` queryable as view ``name`` on ``con``.

    Args:
        con: the DuckDB connection.
        name: the name the SQL uses.
        location: a Parquet path/glob, a list of Parquet files (read in that order; a
            column missing from some files is null there), ``postgresql://...#table``,
            a DataFrame or an Arrow table.

    Raises:
        InvalidInput: the location is of an unknown kind or the files do not exist.
        ServiceUnavailable: PostgreSQL cannot be reached.
        StoreError: the table cannot be read.
    """
    if isinstance(location, Path):
        location = str(location)
    if isinstance(location, list | tuple) and location and \
            all(isinstance(p, str | Path) for p in location):
        files = ", ".join(_literal(str(p)) for p in location)
        _parquet(con, name, f"[{files}], union_by_name = true, hive_partitioning = false",
                 f"{location[0]} ...")
        return
    if isinstance(location, str):
        if location.startswith(("postgresql://", "postgres://")):
            location = read_postgres(location)
        else:
            if not any(ch in location for ch in "*?[") and not Path(location).exists():
                raise InvalidInput(f"offline source {location!r} does not exist")
            _parquet(con, name, _literal(location), repr(location))
            return
    if location is None:
        raise InvalidInput(f"no offline history given for {name!r}")
    try:
        con.register(f"{name}__data", location)
    except (duckdb.Error, TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot use {type(location).__name__} as a table: {exc}") from exc
    con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM "{name}__data"').fetchall()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet(con: duckdb.DuckDBPyConnection, name: str, arguments: str, what: str) -> None:
    try:
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS '
                    f"SELECT * FROM read_parquet({arguments})").fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"cannot read Parquet {what}: {exc}") from exc


def read_postgres(location: str) -> Any:
    """Read ``postgresql://...#table`` into an Arrow table.

    Raises:
        ConfigError: a malformed URL.
        InvalidInput: no ``#table`` or a malformed table name.
        ServiceUnavailable: the database cannot be reached.
        StoreError, ConfigError: the query failed.
    """
    import pyarrow as pa

    text, _, table = location.partition("#")
    url = parse_url(text, schemes=("postgresql",), what="offline source")
    if not table or not _TABLE.fullmatch(table):
        raise InvalidInput(f"PostgreSQL location {url.describe()!r} must end in #table "
                           "(letters, digits, _ and .)")
    conn = connect_postgres(url, service="offline source")
    try:
        with translate_errors(f"reading table {table!r}", url, service="offline source"), \
                conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {table}")
            names = [d.name for d in cur.description or []]
            rows = cur.fetchall()
    finally:
        conn.close()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table({n: list(c) for n, c in zip(names, columns, strict=True)})


def millis_expr(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> str:
    """SQL turning ``column`` of ``relation`` into epoch milliseconds (BIGINT).

    Raises:
        InvalidInput: the column is missing or is neither a timestamp nor an integer.
    """
    types = {r[0]: str(r[1]).upper() for r in con.execute(f'DESCRIBE "{relation}"').fetchall()}
    if column not in types:
        raise InvalidInput(f"{relation}: no column {column!r} (columns: {', '.join(types)})")
    kind = types[column]
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return f'epoch_ms(CAST("{column}" AS TIMESTAMP))'
    if kind in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "SMALLINT", "UINTEGER"):
        return f'CAST("{column}" AS BIGINT)'
    raise InvalidInput(f"{relation}: column {column!r} is {kind}, not a timestamp or "
                       "integer milliseconds")


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """Column names of ``relation``."""
    return [r[0] for r in con.execute(f'DESCRIBE "{relation}"').fetchall()]
