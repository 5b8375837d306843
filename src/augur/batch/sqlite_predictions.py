"""The embedded prediction store: one SQLite file, upserts in one transaction per chunk.

A chunk's predictions, its error rows and the run's progress row are written in
the same transaction, so a run killed at any instant leaves the progress table
naming exactly the chunks whose predictions are stored.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from augur.backends import BackendURL, connect_sqlite, sqlite_url, translate_errors
from augur.batch.predictions import Prediction, PredictionChunk, Progress, RowFailure
from augur.batch.sql_rows import (
    KeysMatch,
    errors_index,
    key_equals,
    read_errors,
    read_failure,
    read_predictions,
)
from augur.errors import StoreError

SERVICE = "prediction store"

#: Keys per SELECT: with the model, under SQLite's historical limit of 999 bound variables.
_KEYS_PER_SELECT = 900
_ONE_KEY = key_equals("?")


def _in_list(keys: list[str]) -> tuple[str, list[Any]]:
    return f"key IN ({', '.join('?' * len(keys))})", list(keys)


def _pairs_json(keys: list[str], outputs: list[str]) -> bytes:
    """``[[key, outputs], ...]`` as one JSON array; ``outputs`` are JSON texts already."""
    return orjson.dumps(list(zip(keys, map(orjson.Fragment, outputs), strict=True)))


class SqlitePredictionStore:
    """Predictions in a SQLite table ``(key, model)`` -> outputs, version, run id, time.

    Args:
        path: the database file (created if missing).
        table: the predictions table; errors go to ``{table}_errors`` and run
            progress to ``{table}_progress``.
    """

    def __init__(self, path: Path, table: str = "predictions") -> None:
        self.path = path
        self.table = table
        self.url: BackendURL = sqlite_url(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"sqlite:///{self.path} (table {self.table})"

    def errors_location(self) -> str:
        return f"{self.path} table {self.table}_errors"

    def open(self) -> None:
        if self._conn is not None:
            return
        # NORMAL commits: a run resumes from its progress row, so a power loss costs
        # at most a redo of the last chunks.
        conn = connect_sqlite(self.path, threads=True, fast_commit=True)
        with translate_errors("creating the tables", self.url, service=SERVICE):
            t = self.table
            conn.executescript(f"""
                CREATE TABLE IF NOT EXISTS {t} (
                    key TEXT NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL,
                    outputs TEXT NOT NULL, run_id TEXT NOT NULL, created_at REAL NOT NULL,
                    PRIMARY KEY (key, model)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS {t}_errors (
                    run_id TEXT NOT NULL, row INTEGER NOT NULL, model TEXT NOT NULL,
                    key TEXT, reason TEXT NOT NULL, created_at REAL NOT NULL,
                    PRIMARY KEY (run_id, row));
                CREATE TABLE IF NOT EXISTS {t}_progress (
                    run_id TEXT PRIMARY KEY, chunks INTEGER NOT NULL, rows_in INTEGER NOT NULL,
                    rows_out INTEGER NOT NULL, rows_failed INTEGER NOT NULL,
                    updated_at REAL NOT NULL);
            """)
            conn.execute(errors_index(t))
        self._conn = conn

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.open()
        if self._conn is None:
            raise StoreError(f"the SQLite store {self.path} is closed")
        return self._conn

    def committed(self, run_id: str) -> Progress:
        with self._lock, translate_errors("reading the progress", self.url, service=SERVICE):
            row = self.conn.execute(f"SELECT chunks, rows_in, rows_out, rows_failed FROM "
                                    f"{self.table}_progress WHERE run_id = ?",
                                    (run_id,)).fetchone()
        return Progress(*row) if row else Progress()

    def write(self, run_id: str, model: str, version: int, chunk: PredictionChunk,
              progress: Progress) -> None:
        now = time.time()
        t = self.table
        with self._lock, translate_errors("writing predictions", self.url, service=SERVICE):
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                # One statement per chunk: SQLite walks the JSON array in C. An
                # executemany binds every row under the GIL and, with the reader and
                # inference threads wanting it too, slowed to a crawl (GIL convoy).
                conn.execute(
                    f"INSERT INTO {t} (key, model, version, outputs, run_id, created_at)"
                    " SELECT json_extract(value, '$[0]'), ?, ?, json_extract(value, '$[1]'), ?, ?"
                    " FROM json_each(?) WHERE true"
                    " ON CONFLICT (key, model) DO UPDATE SET"
                    " version = excluded.version, outputs = excluded.outputs,"
                    " run_id = excluded.run_id, created_at = excluded.created_at",
                    (model, version, run_id, now, _pairs_json(chunk.keys, chunk.outputs)))
                conn.executemany(
                    f"INSERT OR REPLACE INTO {t}_errors (run_id, row, model, key, reason,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    ((run_id, e.row, model, e.key, e.reason, now) for e in chunk.errors))
                self._put_progress(conn, run_id, progress, now)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _put_progress(self, conn: sqlite3.Connection, run_id: str, p: Progress,
                      now: float) -> None:
        conn.execute(f"INSERT OR REPLACE INTO {self.table}_progress (run_id, chunks, rows_in,"
                     " rows_out, rows_failed, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (run_id, p.chunks, p.rows_in, p.rows_out, p.rows_failed, now))

    def finish(self, run_id: str, model: str) -> None:
        """Nothing to do: every chunk is already committed."""

    def errors(self, run_id: str) -> list[dict[str, Any]]:
        """The error rows recorded for a run, in source order."""
        with self._lock, translate_errors("reading errors", self.url, service=SERVICE):
            return read_errors(self.conn, self.table, "?", run_id)

    def failure(self, model: str, key: str) -> RowFailure | None:
        """The latest failure recorded for ``(model, key)``, or ``None``."""
        with self._lock, translate_errors("reading failures", self.url, service=SERVICE):
            return read_failure(self.conn, self.table, "?", model, key)

    def get(self, model: str, key: str) -> Prediction | None:
        return self._read(_ONE_KEY, model, [key])[0]

    def get_many(self, model: str, keys: list[str]) -> list[Prediction | None]:
        return self._read(_in_list, model, keys)

    def _read(self, match: KeysMatch, model: str, keys: list[str]) -> list[Prediction | None]:
        with self._lock, translate_errors("reading predictions", self.url, service=SERVICE):
            return read_predictions(self.conn, self.table, "?", match, _KEYS_PER_SELECT,
                                    model, keys, orjson.loads, self.describe)

    def put(self, model: str, version: int, key: str, outputs: dict[str, Any],
            run_id: str = "online") -> None:
        with self._lock, translate_errors("storing a prediction", self.url, service=SERVICE):
            self.conn.execute(
                f"INSERT INTO {self.table} (key, model, version, outputs, run_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key, model) DO UPDATE SET"
                " version = excluded.version, outputs = excluded.outputs,"
                " run_id = excluded.run_id, created_at = excluded.created_at",
                (key, model, version, orjson.dumps(outputs).decode(), run_id, time.time()))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
