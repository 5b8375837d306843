"""The event archive in PostgreSQL: one table of archived events, one of commits.

``postgresql://user@host/db#table`` (default table ``augur_event_archive``; a
``schema.table`` works) holds a row per consumed event::

    source, writer, seq, position, outcome, archived_at, entity_key, event_time,
    event_id, fields (JSONB: the schema columns, typed by kind), raw

and ``<table>_commits`` one row per (source, writer): the last committed ``seq``
and stream position, and the sealed, not yet committed, batch. Rows are appended
with COPY as they come; readers only see ``seq <= committed_seq``. Sealing records
the pending batch's last position, committing moves ``committed_seq``: each one
small UPDATE, so the rows are written once. A worker holds a session advisory lock
on its (source, writer) for as long as it runs.
"""

from __future__ import annotations

import io
import re
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from augur.backends import BackendURL, connect_postgres, parse_url, translate_errors
from augur.errors import ConfigError, StoreError
from augur.features.archive import ArchiveCount, BufferedWriter, check_source, check_writer
from augur.features.archive_rows import ARCHIVED_AT, OUTCOME, POSITION, RAW, SEQ, ArchiveLayout
from augur.features.definitions import FeatureView
from augur.streaming.transport import position_order

SERVICE = "event archive"  # how error messages name the database
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,50}(\.[A-Za-z_][A-Za-z0-9_]{0,50})?$")
_PG_TYPES = {"float": "double precision", "int": "bigint", "string": "text", "bool": "boolean"}
_MS = "(extract(epoch FROM {0}) * 1000)::bigint"


def _q(name: str) -> str:
    return ".".join('"' + part + '"' for part in name.split("."))


class PostgresArchive:
    """Archived events in a PostgreSQL table (see the module docstring).

    Args:
        url: ``postgresql://...[#table]`` (the syntax of :mod:`augur.backends.urls`).

    Raises:
        ConfigError: a malformed URL, or a table name that is not ``name`` or
            ``schema.name``.
    """

    def __init__(self, url: str) -> None:
        base, _, table = url.strip().partition("#")
        self.url: BackendURL = parse_url(base, schemes=("postgresql",), what="archive URL")
        table = table or "augur_event_archive"
        if not _TABLE.fullmatch(table):
            raise ConfigError(f"archive table {table!r}: use letters, digits and _ "
                              "(optionally schema.table)")
        self.table = table
        self.events, self.commits = _q(table), _q(table + "_commits")
        self._ready = False

    def describe(self) -> str:
        """The URL (password hidden) and table."""
        return f"{self.url.describe()}#{self.table}"

    def translated(self, what: str) -> AbstractContextManager[None]:
        """The error boundary for a block that talks to this archive's database."""
        return translate_errors(f"{what} ({self.table})", self.url, service=SERVICE)

    def connect(self) -> Any:
        """An autocommit connection with the tables created.

        Raises:
            ServiceUnavailable: PostgreSQL cannot be reached.
            StoreError, ConfigError: it refuses the tables.
        """
        conn = connect_postgres(self.url, service=SERVICE)
        if not self._ready:
            try:
                with self.translated("creating the tables"), conn.transaction():
                    # Concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL.
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
                    conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.events} (
                        source TEXT NOT NULL, writer TEXT NOT NULL, seq BIGINT NOT NULL,
                        position TEXT NOT NULL, outcome TEXT NOT NULL,
                        archived_at TIMESTAMPTZ NOT NULL, entity_key TEXT,
                        event_time BIGINT, event_id TEXT, fields JSONB NOT NULL, raw TEXT,
                        PRIMARY KEY (source, writer, seq))""")
                    conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.commits} (
                        source TEXT NOT NULL, writer TEXT NOT NULL,
                        committed_seq BIGINT NOT NULL DEFAULT 0, committed_position TEXT,
                        pending_seq BIGINT, pending_position TEXT,
                        PRIMARY KEY (source, writer))""")
            except BaseException:
                conn.close()
                raise
            self._ready = True
        return conn

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            with self.translated("reading"):
                rows: list[tuple[Any, ...]] = conn.execute(sql, params).fetchall()
            return rows
        finally:
            conn.close()

    def writer(self, view: FeatureView, name: str | None = None) -> PostgresArchiveWriter:
        """The writer of ``view``'s worker called ``name`` (default: the view's name)."""
        return PostgresArchiveWriter(self, view, view.name if name is None else name)

    def history(self, view: FeatureView, name: str | None = None) -> pa.Table | None:
        """The committed events archived for ``view``, in order, as an Arrow table, or None."""
        layout = ArchiveLayout(view)
        writer = check_writer(view.name if name is None else name)
        record = ", ".join(f'"{c}" {_PG_TYPES[k]}' for c, k in layout.columns)
        cols = ", ".join(f'f."{c}"' for c, _ in layout.columns)
        sql = (f"SELECT e.seq, e.position, e.outcome, {_MS.format('e.archived_at')}, "
               "e.entity_key, e.event_time, e.event_id"
               f"{', ' + cols if cols else ''}, e.raw FROM {self.events} e "
               f"JOIN {self.commits} c USING (source, writer)"
               f"{' CROSS JOIN LATERAL jsonb_to_record(e.fields) AS f(' + record + ')' if record else ''}"
               " WHERE e.source = %s AND e.writer = %s AND e.seq <= c.committed_seq ORDER BY e.seq")
        rows = self._query(sql, (view.source.name, writer))
        if not rows:
            return None
        columns = list(zip(*rows, strict=True))
        arrays = []
        for field, values in zip(layout.schema, columns, strict=True):
            if pa.types.is_timestamp(field.type):
                arrays.append(pa.array(values, pa.int64()).cast(field.type))
            else:
                arrays.append(pa.array(values, field.type))
        return pa.Table.from_arrays(arrays, schema=layout.schema)

    def counts(self, source: str, since_ms: int | None = None) -> list[ArchiveCount]:
        """Events archived for ``source`` since ``since_ms``, per writer and outcome."""
        rows = self._query(
            f"SELECT e.writer, e.outcome, count(*), {_MS.format('min(e.archived_at)')}, "
            f"{_MS.format('max(e.archived_at)')} FROM {self.events} e "
            f"JOIN {self.commits} c USING (source, writer) WHERE e.source = %s "
            "AND e.seq <= c.committed_seq AND e.archived_at >= to_timestamp(%s / 1000.0) "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            (check_source(source), since_ms if since_ms is not None else -2**40))
        return [ArchiveCount(source, r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def close(self) -> None:
        """Nothing held between calls."""


class PostgresArchiveWriter(BufferedWriter):
    """The running worker's side of a :class:`PostgresArchive`.

    Rows go out in COPYs of ``flush_rows`` on a thread of their own, so the server's
    work overlaps the worker's; sealing waits for them.
    """

    flush_rows = 8192

    def __init__(self, archive: PostgresArchive, view: FeatureView, name: str) -> None:
        super().__init__(view, name)
        self.archive = archive
        self._conn: Any = None
        self._key = (self.source, self.name)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="augur-archive")
        self._copies: list[Future[None]] = []

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.archive.translated("writing"):
            cur = self._conn.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def _recover(self, position: str | None) -> int:
        self._conn = self.archive.connect()
        lock = f"augur-archive:{self.archive.table}:{self.source}:{self.name}"
        if not self._run("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (lock,))[0][0]:
            raise StoreError(f"archive {self.archive.describe()}: another worker is archiving "
                             f"{self.source!r} as {self.name!r}")
        self._run(f"INSERT INTO {self.archive.commits} (source, writer) VALUES (%s, %s) "
                  "ON CONFLICT DO NOTHING", self._key)
        seq, last, pending, pending_at = self._run(
            f"SELECT committed_seq, committed_position, pending_seq, pending_position FROM "
            f"{self.archive.commits} WHERE source = %s AND writer = %s", self._key)[0]
        if seq and (position is None or position_order(last) > position_order(position)):
            raise StoreError(
                f"archive {self.archive.describe()} holds events 1..{seq} of {self.source!r} "
                f"as {self.name!r} up to stream position {last}, but the online store's "
                f"checkpoint is at {position}: the worker would archive them again. Restore "
                "the online store's checkpoint, or archive to another table.")
        if pending is not None and position is not None and \
                position_order(pending_at) <= position_order(position):
            self._commit()
            return int(pending) + 1
        self._run(f"DELETE FROM {self.archive.events} WHERE source = %s AND writer = %s "
                  "AND seq > %s", (*self._key, seq))
        self._run(f"UPDATE {self.archive.commits} SET pending_seq = NULL, pending_position = "
                  "NULL WHERE source = %s AND writer = %s", self._key)
        return int(seq) + 1

    def _append(self, table: pa.Table) -> None:
        """COPY the rows in as CSV written by Arrow; only ``fields`` is built per row."""
        layout, n, batch = self.layout, table.num_rows, table
        names = [c for c, _ in layout.columns]
        values = [_no_nul(batch.column(c)).to_pylist() for c in names]
        dumps = orjson.dumps
        fields = [dumps(dict(zip(names, row, strict=True))).decode() for row in zip(*values, strict=True)] \
            if names else ["{}"] * n
        table = pa.table({
            "source": pa.array([self.source] * n), "writer": pa.array([self.name] * n),
            "seq": batch.column(SEQ), "position": _no_nul(batch.column(POSITION)),
            "outcome": batch.column(OUTCOME), "archived_at": batch.column(ARCHIVED_AT),
            "entity_key": _no_nul(batch.column(layout.key)),
            "event_time": batch.column(layout.time), "event_id": _no_nul(batch.column(layout.id)),
            "fields": pa.array(fields, pa.string()), "raw": _no_nul(batch.column(RAW))})
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
        self._wait(done_only=True)
        # The server's side of COPY runs while the worker goes on: sealing waits for it.
        self._copies.append(self._thread.submit(self._copy, table.column_names, buffer))

    def _copy(self, columns: list[str], buffer: io.BytesIO) -> None:
        with self.archive.translated("writing events"), self._conn.transaction(), \
                self._conn.cursor() as cur, cur.copy(
                    f"COPY {self.archive.events} ({', '.join(columns)}) "
                    "FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())

    def _wait(self, done_only: bool = False) -> None:
        """Wait for the COPYs in flight (or collect the finished ones); raise their error."""
        pending = []
        for future in self._copies:
            if done_only and not future.done():
                pending.append(future)
            else:
                future.result()
        self._copies = pending

    def _seal(self, last_seq: int, last_position: str) -> None:
        self._wait()
        self._run(f"UPDATE {self.archive.commits} SET pending_seq = %s, pending_position = %s "
                  "WHERE source = %s AND writer = %s", (last_seq, last_position, *self._key))

    def _commit(self) -> None:
        self._run(f"UPDATE {self.archive.commits} SET committed_seq = pending_seq, "
                  "committed_position = pending_position, pending_seq = NULL, "
                  "pending_position = NULL WHERE source = %s AND writer = %s "
                  "AND pending_seq IS NOT NULL", self._key)

    def close(self) -> None:
        """Close the connection (which releases the advisory lock)."""
        self._thread.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _no_nul(column: pa.Array) -> pa.Array:
    """``column`` with NUL characters as U+FFFD in text: PostgreSQL text cannot hold NUL
    (the Parquet archive keeps them)."""
    if not pa.types.is_string(column.type):
        return column
    return pc.replace_substring(column, "\x00", "\ufffd")
