"""SQLite connections, with the pragmas every augur store uses set in this one place.

- ``journal_mode = WAL``: readers never block the writer, and several processes
  may share a file (registry, predictions, online features).
- ``synchronous``: ``FULL`` by default (a commit survives a power loss); stores
  that can redo their last writes (batch predictions, resumed from their progress
  table) ask for ``NORMAL``: with WAL a killed process still loses nothing
  committed, only a power loss may drop the last commits.
- a busy timeout (``connect(timeout=)``): a writer waits for the file lock
  instead of failing at once.
- ``foreign_keys = ON``: ``ON DELETE CASCADE`` in the registry schema works.

Connections are in autocommit mode (``isolation_level=None``): stores open their
transactions explicitly (``BEGIN IMMEDIATE``), so that "read, then write" happens
under the write lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from augur.backends.errors import translate_errors
from augur.backends.urls import BackendURL

#: How long a writer waits for another process's write lock.
BUSY_TIMEOUT_S = 60.0


def sqlite_url(path: Path) -> BackendURL:
    """The :class:`BackendURL` of a SQLite file (for messages and comparisons)."""
    return BackendURL("sqlite", f"sqlite:///{path}", path=path)


def connect_sqlite(path: Path, *, read_only: bool = False, threads: bool = False,
                   row_factory: bool = False, fast_commit: bool = False,
                   set_wal: bool = True) -> sqlite3.Connection:
    """Open a SQLite file with augur's pragmas.

    Args:
        path: the database file; created (with its folder) unless ``read_only``.
        read_only: open an existing file for reading only (``mode=ro``).
        threads: the connection is used from several threads (the caller locks).
        row_factory: rows read by column name as well as position (:class:`sqlite3.Row`).
        fast_commit: ``synchronous = NORMAL`` instead of ``FULL`` (see the module docstring).
        set_wal: switch the file to WAL; it stays so, so a caller that opens a
            connection per operation asks only the first time.

    Returns:
        The connection, in autocommit mode.

    Raises:
        ConfigError: ``read_only`` and the file does not exist.
        StoreError: the file cannot be opened or is not a SQLite database.
    """
    from augur.errors import ConfigError

    url = sqlite_url(path)
    if read_only and not path.exists():
        raise ConfigError(f"SQLite database {path} does not exist")
    with translate_errors("opening the database", url):
        if read_only:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                                   isolation_level=None, check_same_thread=not threads)
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise sqlite3.OperationalError(f"cannot create {path.parent}: "
                                               f"{exc.strerror}") from exc
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=not threads)
        try:
            # busy_timeout is set by connect(timeout=); FULL is WAL's default synchronous.
            conn.execute("PRAGMA foreign_keys = ON")
            if not read_only and set_wal:
                conn.execute("PRAGMA journal_mode = WAL")
            if not read_only and fast_commit:
                conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
    if row_factory:
        conn.row_factory = sqlite3.Row
    return conn
