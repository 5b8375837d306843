"""Where batch input comes from: Parquet and CSV files or folders, and SQL queries.

Every source yields pandas DataFrames of at most ``chunk_size`` rows, in the
same order on every read, so that a resumed run can skip the chunks it already
committed. Memory stays bounded: Parquet is read batch by batch through a
pyarrow dataset, CSV with a chunked reader, SQL through a server-side cursor.

Source forms (``--input``):

- ``data.parquet``, ``data.csv``, or a folder of either (files read in name order);
- ``postgresql://user@host:5432/db?query=SELECT id, a, b FROM t ORDER BY id``;
- ``sqlite:///relative/path.db?query=SELECT ...`` (``sqlite:////abs/path.db``
  for an absolute path, as in SQLAlchemy; ``path.db?query=...`` too).

The URLs follow :mod:`augur.backends.urls`. Everything after ``query=`` is the
query (percent-escapes are decoded). Give SQL queries an ``ORDER BY`` so that a
resumed run sees the rows in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from augur.backends import (
    SQLITE_SUFFIXES,
    BackendURL,
    connect_postgres,
    connect_sqlite,
    one_line,
    parse_url,
    translate_errors,
)
from augur.errors import ConfigError

_SQL_SCHEMES = ("postgresql", "postgres", "sqlite")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters at least: not C:\\


class Source(Protocol):
    """A readable batch input."""

    def describe(self) -> str:
        """A short text naming the input (no passwords)."""

    def columns(self) -> list[str] | None:
        """Column names when known before reading, else ``None``."""

    def total_rows(self) -> int | None:
        """Row count when cheap to know, else ``None``."""

    def chunks(self, chunk_size: int) -> Iterator[Any]:
        """Yield DataFrames of at most ``chunk_size`` rows, in a stable order."""


def _files(path: Path, suffix: str) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())
        if not files:
            raise ConfigError(f"input folder {path} holds no {suffix} files")
        return files
    return [path]


@dataclass(frozen=True)
class ParquetSource:
    """Parquet files, read batch by batch with ``ParquetFile.iter_batches``."""

    path: Path

    def files(self) -> list[Path]:
        return _files(self.path, ".parquet")

    def describe(self) -> str:
        return str(self.path)

    def _open(self, path: Path) -> Any:
        import pyarrow.parquet as pq

        try:
            # pre_buffer would keep every row group read so far until the file is done.
            return pq.ParquetFile(path, pre_buffer=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read Parquet input {path}: {one_line(exc)}") from exc

    def columns(self) -> list[str] | None:
        return list(self._open(self.files()[0]).schema_arrow.names)

    def total_rows(self) -> int | None:
        return sum(int(self._open(f).metadata.num_rows) for f in self.files())

    def chunks(self, chunk_size: int) -> Iterator[Any]:
        import pyarrow as pa

        pending: list[Any] = []
        size = 0
        # Pulled batch by batch on the caller's thread: no background read-ahead that
        # could run away from a slow consumer. Rebatched to exactly chunk_size rows so
        # that chunk numbers do not depend on row groups or file boundaries.
        for path in self.files():
            reader = self._open(path)
            try:
                for batch in reader.iter_batches(batch_size=chunk_size):
                    pending.append(batch)
                    size += batch.num_rows
                    while size >= chunk_size:
                        table = pa.Table.from_batches(pending)
                        yield table.slice(0, chunk_size).to_pandas()
                        rest = table.slice(chunk_size)
                        pending, size = rest.to_batches(), rest.num_rows
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read Parquet input {path}: "
                                  f"{one_line(exc)}") from exc
            finally:
                reader.close()
        if size:
            yield pa.Table.from_batches(pending).to_pandas()


@dataclass(frozen=True)
class CsvSource:
    """CSV files (with a header row), read with pandas' chunked reader."""

    path: Path

    def describe(self) -> str:
        return str(self.path)

    def columns(self) -> list[str] | None:
        import pandas as pd

        try:
            return [str(c) for c in pd.read_csv(_files(self.path, ".csv")[0], nrows=0).columns]
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read CSV input {self.path}: {one_line(exc)}") from exc

    def total_rows(self) -> int | None:
        return None

    def chunks(self, chunk_size: int) -> Iterator[Any]:
        import pandas as pd

        for f in _files(self.path, ".csv"):
            try:
                with pd.read_csv(f, chunksize=chunk_size) as reader:
                    yield from reader
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read CSV input {f}: {one_line(exc)}") from exc


@dataclass(frozen=True)
class SqlSource:
    """A SQL query against PostgreSQL (server-side cursor) or SQLite.

    Attributes:
        url: the database (``sqlite`` or ``postgresql``).
        query: the SQL that yields the rows.
    """

    url: BackendURL
    query: str

    @property
    def is_sqlite(self) -> bool:
        return self.url.scheme == "sqlite"

    def describe(self) -> str:
        return f"{self.url.describe()} ({self.query[:60]})"

    def columns(self) -> list[str] | None:
        return None

    def total_rows(self) -> int | None:
        return None

    def chunks(self, chunk_size: int) -> Iterator[Any]:
        yield from (self._sqlite_chunks(chunk_size) if self.is_sqlite
                    else self._postgres_chunks(chunk_size))

    def _sqlite_chunks(self, chunk_size: int) -> Iterator[Any]:
        import pandas as pd

        conn = connect_sqlite(self.url.file(), read_only=True)
        try:
            with translate_errors("the SQLite query", self.url, users_sql=True):
                cur = conn.execute(self.query)
                names = [d[0] for d in cur.description or ()]
                while rows := cur.fetchmany(chunk_size):
                    yield pd.DataFrame.from_records(rows, columns=names)
        finally:
            conn.close()

    def _postgres_chunks(self, chunk_size: int) -> Iterator[Any]:
        import pandas as pd

        conn = connect_postgres(self.url, service="input")
        try:
            with translate_errors("reading rows", self.url, service="input"), \
                    conn.transaction(), conn.cursor(name="augur_batch_source") as cur:
                with translate_errors("the PostgreSQL query", self.url, users_sql=True):
                    cur.execute(self.query)
                names: list[str] | None = None
                while rows := cur.fetchmany(chunk_size):
                    names = names or [d.name for d in cur.description or ()]
                    yield pd.DataFrame.from_records(rows, columns=names)
        finally:
            conn.close()


def open_source(spec: str) -> Source:
    """Parse an ``--input`` value into a source (see the module docstring for the forms).

    Raises:
        ConfigError: unknown scheme, missing query, missing file, or unknown file type.
    """
    text = spec.strip()
    if not text:
        raise ConfigError("empty --input")
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else ""
    if not scheme and "?" in text and text.split("?", 1)[0].lower().endswith(SQLITE_SUFFIXES):
        scheme = "sqlite"  # a bare SQLite file with a query
    if scheme in _SQL_SCHEMES:
        url = parse_url(text, schemes=("sqlite", "postgresql"), what="--input")
        if "query" not in url.options:
            raise ConfigError(f"SQL input {url.describe()!r} needs a query: "
                              f"{url.describe()}?query=SELECT ... FROM ...")
        query = url.options["query"]
        if not query:
            raise ConfigError("empty SQL query after ?query=")
        return SqlSource(url, query)
    if scheme in ("parquet", "csv"):
        text, forced = text[len(scheme) + 1:].removeprefix("//"), scheme
    elif scheme:
        raise ConfigError(f"unknown input scheme {scheme!r}: use a .parquet or .csv file or "
                          "folder, postgresql://...?query=..., or sqlite:///...?query=...")
    else:
        forced = ""
    path = Path(text).expanduser()
    if not path.exists():
        raise ConfigError(f"input {path} does not exist")
    kind = forced or _kind_of(path)
    return ParquetSource(path) if kind == "parquet" else CsvSource(path)


#: Input files by suffix (a folder holds ``*.parquet`` or ``*.csv`` files).
FILE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def _kind_of(path: Path) -> str:
    if path.is_file():
        kind = FILE_SUFFIXES.get(path.suffix.lower())
        if kind is None:
            *rest, last = FILE_SUFFIXES
            raise ConfigError(f"input file {path} must be {', '.join(rest)} or {last}")
        return kind
    if any(path.rglob("*.parquet")):
        return "parquet"
    if any(path.rglob("*.csv")):
        return "csv"
    raise ConfigError(f"input folder {path} holds no .parquet or .csv files")
