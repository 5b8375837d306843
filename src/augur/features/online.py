"""Online stores: the current feature values of each entity, with freshness and TTL.

A row is one entity of one view: its values, the event time they were computed at
and the wall-clock time they were written. A store also keeps *checkpoints* (a
streaming worker's serialized state and stream position) and writes them in the
same transaction as the values, which is what makes a restarted worker exact.
The embedded defaults live here (in-memory, SQLite); Redis is in redis_online.py and
:func:`~augur.features.store_factory.open_online_store` picks one from a URL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from augur.backends import connect_sqlite, sqlite_url, translate_errors

SERVICE = "online store"


@dataclass(frozen=True)
class FeatureRow:
    """The stored values of one entity of one view.

    Attributes:
        values: feature name -> value.
        event_time: event time (ms) the values were computed at.
        written_at: wall-clock time (ms) of the write.
    """

    values: dict[str, Any]
    event_time: int
    written_at: int


@dataclass(frozen=True)
class Checkpoint:
    """A streaming worker's durable state: the stream position and the engine snapshot."""

    name: str
    position: str | None
    state: bytes


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class OnlineStore(Protocol):
    """Where serving reads feature values; the streaming engine and materialize write."""

    def write(self, view: str, rows: Mapping[str, Mapping[str, Any]], event_time: int, *,
              ttl_s: float | None = None, checkpoint: Checkpoint | None = None) -> None:
        """Upsert rows (key -> values) and, atomically with them, a checkpoint."""
        ...

    def read(self, view: str, keys: Sequence[str]) -> list[FeatureRow | None]:
        """Rows of ``keys`` in order; None where missing or expired."""
        ...

    def read_many(self, requests: Sequence[tuple[str, Sequence[str]]],
                  ) -> list[list[FeatureRow | None]]:
        """:meth:`read` for several views at once (one round trip where possible)."""
        ...

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        """The last checkpoint written under ``name``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class MemoryOnlineStore:
    """Rows in a dict: the embedded default for one process."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[FeatureRow, float | None]] = {}
        self._checkpoints: dict[str, Checkpoint] = {}
        self._lock = threading.Lock()

    def write(self, view: str, rows: Mapping[str, Mapping[str, Any]], event_time: int, *,
              ttl_s: float | None = None, checkpoint: Checkpoint | None = None) -> None:
        """Upsert rows and the checkpoint under one lock."""
        written = now_ms()
        expires = None if ttl_s is None else time.time() + ttl_s
        with self._lock:
            for key, values in rows.items():
                self._rows[(view, str(key))] = (FeatureRow(dict(values), event_time, written),
                                                expires)
            if checkpoint is not None:
                self._checkpoints[checkpoint.name] = checkpoint

    def read(self, view: str, keys: Sequence[str]) -> list[FeatureRow | None]:
        """Rows of ``keys``; None where missing or expired."""
        now = time.time()
        out: list[FeatureRow | None] = []
        for key in keys:
            hit = self._rows.get((view, str(key)))
            out.append(None if hit is None or (hit[1] is not None and hit[1] <= now) else hit[0])
        return out

    def read_many(self, requests: Sequence[tuple[str, Sequence[str]]],
                  ) -> list[list[FeatureRow | None]]:
        """:meth:`read` per view."""
        return [self.read(view, keys) for view, keys in requests]

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        """The last checkpoint under ``name``."""
        return self._checkpoints.get(name)

    def close(self) -> None:
        """Nothing to release."""


class SQLiteOnlineStore:
    """Rows in a SQLite file: the embedded default that survives a restart.

    Args:
        path: the database file (created if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = sqlite_url(self.path)
        self._db = connect_sqlite(self.path, threads=True)
        with translate_errors("creating the tables", self.url, service=SERVICE):
            self._db.execute("""CREATE TABLE IF NOT EXISTS online_features (
                view TEXT NOT NULL, key TEXT NOT NULL, payload BLOB NOT NULL,
                event_time INTEGER NOT NULL, written_at INTEGER NOT NULL, expires_at REAL,
                PRIMARY KEY (view, key))""")
            self._db.execute("""CREATE TABLE IF NOT EXISTS feature_checkpoints (
                name TEXT PRIMARY KEY, position TEXT, state BLOB NOT NULL)""")
        self._lock = threading.Lock()

    def write(self, view: str, rows: Mapping[str, Mapping[str, Any]], event_time: int, *,
              ttl_s: float | None = None, checkpoint: Checkpoint | None = None) -> None:
        """Upsert rows and the checkpoint in one transaction."""
        written = now_ms()
        expires = None if ttl_s is None else time.time() + ttl_s
        data = [(view, str(k), orjson.dumps(dict(v)), event_time, written, expires)
                for k, v in rows.items()]
        with self._lock, translate_errors("writing", self.url, service=SERVICE):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO online_features VALUES "
                                     "(?, ?, ?, ?, ?, ?)", data)
                if checkpoint is not None:
                    self._db.execute("INSERT OR REPLACE INTO feature_checkpoints VALUES (?, ?, ?)",
                                     (checkpoint.name, checkpoint.position, checkpoint.state))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, view: str, keys: Sequence[str]) -> list[FeatureRow | None]:
        """Rows of ``keys``; None where missing or expired."""
        skeys = [str(k) for k in keys]
        marks = ",".join("?" * len(skeys))
        with self._lock, translate_errors("reading", self.url, service=SERVICE):
            found = self._db.execute(
                f"SELECT key, payload, event_time, written_at, expires_at FROM online_features "
                f"WHERE view = ? AND key IN ({marks})", (view, *skeys)).fetchall()
        now = time.time()
        rows = {k: FeatureRow(orjson.loads(p), et, wa) for k, p, et, wa, exp in found
                if exp is None or exp > now}
        return [rows.get(k) for k in skeys]

    def read_many(self, requests: Sequence[tuple[str, Sequence[str]]],
                  ) -> list[list[FeatureRow | None]]:
        """:meth:`read` per view."""
        return [self.read(view, keys) for view, keys in requests]

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        """The last checkpoint under ``name``."""
        with self._lock, translate_errors("reading a checkpoint", self.url, service=SERVICE):
            row = self._db.execute("SELECT position, state FROM feature_checkpoints "
                                   "WHERE name = ?", (name,)).fetchall()
        return Checkpoint(name, row[0][0], bytes(row[0][1])) if row else None

    def close(self) -> None:
        """Close the database."""
        self._db.close()
