"""Predictions in PostgreSQL: COPY into a temporary table, then one upsert per chunk.

``COPY`` is the fastest way into PostgreSQL; ``INSERT ... SELECT ... ON
CONFLICT`` from the temporary table turns it into an idempotent upsert. The
chunk's rows, its errors and the run's progress commit in one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from augur.backends import BackendURL, connect_postgres, parse_url, translate_errors
from augur.batch.predictions import Prediction, PredictionChunk, Progress, RowFailure
from augur.batch.sql_rows import (
    KeysMatch,
    errors_index,
    key_equals,
    read_errors,
    read_failure,
    read_predictions,
)

SERVICE = "prediction store"

#: Keys per SELECT: one array parameter has no limit, this only bounds one statement's size.
_KEYS_PER_SELECT = 10_000
_ONE_KEY = key_equals("%s")

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(text: str) -> str:
    return text.translate(_COPY_ESCAPES) if ("\\" in text or "\t" in text or "\n" in text
                                              or "\r" in text) else text


def copy_text(keys: list[str], outputs: list[str]) -> bytes:
    """Two columns in COPY text format (keys may hold any character)."""
    key_text = "\n".join(keys)
    out_text = "\n".join(outputs)
    special = "\\" in key_text or "\t" in key_text or "\r" in key_text or \
        key_text.count("\n") != max(0, len(keys) - 1) or "\\" in out_text or "\t" in out_text \
        or "\r" in out_text or out_text.count("\n") != max(0, len(outputs) - 1)
    if special:
        keys, outputs = list(map(_copy_field, keys)), list(map(_copy_field, outputs))
    if not keys:
        return b""
    return ("\n".join(map("\t".join, zip(keys, outputs, strict=True))) + "\n").encode()


class PostgresPredictionStore:
    """Predictions in a PostgreSQL table keyed by ``(key, model)``.

    Args:
        url: ``postgresql://user@host:5432/database`` (parsed or as text).
        table: the predictions table (``schema.table`` allowed); errors go to
            ``{table}_errors``, progress to ``{table}_progress``.

    Raises:
        ConfigError: ``url`` is not a PostgreSQL URL.
    """

    def __init__(self, url: BackendURL | str, table: str = "predictions") -> None:
        self.url = url if isinstance(url, BackendURL) else parse_url(
            url, schemes=("postgresql",), what="prediction store URL")
        self.table = table
        self._conn: Any = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"{self.url.describe()} (table {self.table})"

    def errors_location(self) -> str:
        return f"PostgreSQL table {self.table}_errors"

    def open(self) -> None:
        if self._conn is not None:
            return
        conn = connect_postgres(self.url, service=SERVICE)
        t = self.table
        try:
            with translate_errors(f"creating the prediction tables {t}", self.url,
                                  service=SERVICE), conn.transaction():
                # Serialize CREATE TABLE IF NOT EXISTS across concurrent writers.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (t,))
                conn.execute(f"""
                    CREATE TABLE IF NOT EXISTS {t} (
                        key TEXT NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL,
                        outputs JSONB NOT NULL, run_id TEXT NOT NULL,
                        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (key, model))""")
                conn.execute(f"""
                    CREATE TABLE IF NOT EXISTS {t}_errors (
                        run_id TEXT NOT NULL, row BIGINT NOT NULL, model TEXT NOT NULL,
                        key TEXT, reason TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                        PRIMARY KEY (run_id, row))""")
                conn.execute(errors_index(t))
                conn.execute(f"""
                    CREATE TABLE IF NOT EXISTS {t}_progress (
                        run_id TEXT PRIMARY KEY, chunks BIGINT NOT NULL, rows_in BIGINT NOT NULL,
                        rows_out BIGINT NOT NULL, rows_failed BIGINT NOT NULL,
                        updated_at DOUBLE PRECISION NOT NULL)""")
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS augur_batch_incoming"
                             " (key TEXT, outputs TEXT) ON COMMIT DELETE ROWS")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self.open()
        return self._conn

    def committed(self, run_id: str) -> Progress:
        with self._lock, self._talking("reading the progress"):
            row = self.conn.execute(f"SELECT chunks, rows_in, rows_out, rows_failed FROM"
                                    f" {self.table}_progress WHERE run_id = %s",
                                    (run_id,)).fetchone()
        return Progress(*row) if row else Progress()

    def write(self, run_id: str, model: str, version: int, chunk: PredictionChunk,
              progress: Progress) -> None:
        keys, outputs = chunk.keys, chunk.outputs
        if len(set(keys)) < len(keys):  # ON CONFLICT may not touch a row twice: keep the last
            last = {k: i for i, k in enumerate(keys)}
            keep = sorted(last.values())
            keys, outputs = [keys[i] for i in keep], [outputs[i] for i in keep]
        now = time.time()
        t = self.table
        with self._lock, self._talking(f"writing to table {t}"):
            conn = self.conn
            with conn.transaction(), conn.cursor() as cur:
                if keys:
                    with cur.copy("COPY augur_batch_incoming (key, outputs) FROM STDIN") \
                            as copy:
                        copy.write(copy_text(keys, outputs))
                    cur.execute(
                        f"INSERT INTO {t} (key, model, version, outputs, run_id, created_at)"
                        " SELECT key, %s, %s, outputs::jsonb, %s, %s FROM"
                        " augur_batch_incoming ON CONFLICT (key, model) DO UPDATE SET"
                        " version = excluded.version, outputs = excluded.outputs,"
                        " run_id = excluded.run_id, created_at = excluded.created_at",
                        (model, version, run_id, now))
                if chunk.errors:
                    cur.executemany(
                        f"INSERT INTO {t}_errors (run_id, row, model, key, reason,"
                        " created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT"
                        " (run_id, row) DO UPDATE SET reason = excluded.reason",
                        [(run_id, e.row, model, e.key, e.reason, now) for e in chunk.errors])
                cur.execute(
                    f"INSERT INTO {t}_progress (run_id, chunks, rows_in, rows_out,"
                    " rows_failed, updated_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT"
                    " (run_id) DO UPDATE SET chunks = excluded.chunks, rows_in ="
                    " excluded.rows_in, rows_out = excluded.rows_out, rows_failed ="
                    " excluded.rows_failed, updated_at = excluded.updated_at",
                    (run_id, progress.chunks, progress.rows_in, progress.rows_out,
                     progress.rows_failed, now))

    def finish(self, run_id: str, model: str) -> None:
        """Nothing to do: every chunk is already committed."""

    def errors(self, run_id: str) -> list[dict[str, Any]]:
        """The error rows recorded for a run, in source order."""
        with self._lock, self._talking("reading errors"):
            return read_errors(self.conn, self.table, "%s", run_id)

    def failure(self, model: str, key: str) -> RowFailure | None:
        """The latest failure recorded for ``(model, key)``, or ``None``."""
        with self._lock, self._talking("reading failures"):
            return read_failure(self.conn, self.table, "%s", model, key)

    def get(self, model: str, key: str) -> Prediction | None:
        return self._read(_ONE_KEY, model, [key])[0]

    def get_many(self, model: str, keys: list[str]) -> list[Prediction | None]:
        return self._read(_any_of, model, keys)

    @contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        """psycopg's errors as augur's (hold ``_lock``); a broken connection is dropped,
        so the next call connects again."""
        try:
            with translate_errors(what, self.url, service=SERVICE):
                yield
        except BaseException:
            if self._conn is not None and self._conn.closed:
                self.close()
            raise

    def _read(self, match: KeysMatch, model: str, keys: list[str]) -> list[Prediction | None]:
        with self._lock, self._talking("reading predictions"):
            return read_predictions(self.conn, self.table, "%s", match, _KEYS_PER_SELECT,
                                    model, keys, _decoded_jsonb, self.describe)

    def put(self, model: str, version: int, key: str, outputs: dict[str, Any],
            run_id: str = "online") -> None:
        with self._lock, self._talking("storing a prediction"):
            self.conn.execute(
                f"INSERT INTO {self.table} (key, model, version, outputs, run_id, created_at)"
                " VALUES (%s, %s, %s, %s::jsonb, %s, %s) ON CONFLICT (key, model) DO UPDATE SET"
                " version = excluded.version, outputs = excluded.outputs,"
                " run_id = excluded.run_id, created_at = excluded.created_at",
                (key, model, version, orjson.dumps(outputs).decode(), run_id, time.time()))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _decoded_jsonb(outputs: Any) -> Any:
    """psycopg decodes JSONB already (``read_predictions`` checks it is an object)."""
    return outputs


def _any_of(keys: list[str]) -> tuple[str, list[Any]]:
    return "key = ANY(%s)", [keys]
