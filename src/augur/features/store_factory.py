"""Opening the stores a location names: the online store (in-memory, SQLite or Redis)
and the event archive (a Parquet folder or a PostgreSQL table).

Kept apart from the protocol modules (online.py, archive.py) and the backends so
that none imports another: the factory is the one place that knows them all.
"""

from __future__ import annotations

from pathlib import Path

from augur.backends import parse_url, scheme_of
from augur.config import Settings
from augur.errors import ConfigError
from augur.features.archive import EventArchive
from augur.features.archive_parquet import ParquetArchive
from augur.features.archive_postgres import PostgresArchive
from augur.features.online import MemoryOnlineStore, OnlineStore, SQLiteOnlineStore
from augur.features.redis_online import RedisOnlineStore


def open_online_store(url: str) -> OnlineStore:
    """Open the online store a URL names.

    Args:
        url: ``memory://``; ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or a
            bare ``*.db`` / ``*.sqlite`` path; or ``redis://host:port/db``,
            ``rediss://...``, ``unix:///path.sock``, each with ``?namespace=NAME``
            (default ``augur``). The syntax is :mod:`augur.backends.urls`'.

    Raises:
        ConfigError: the URL is empty, malformed, or of another scheme.
        InvalidName: the Redis namespace has characters other than letters, digits, ``_.-``.
    """
    parsed = parse_url(url, schemes=("memory", "sqlite", "redis"), what="online store URL")
    if parsed.scheme == "memory":
        return MemoryOnlineStore()
    if parsed.scheme == "redis":
        return RedisOnlineStore.from_url(parsed)
    return SQLiteOnlineStore(parsed.file())


def open_archive(location: str | Path, settings: Settings | None = None) -> EventArchive:
    """Open the event archive at ``location``.

    Args:
        location: a folder for Parquet files (``$AUGUR_HOME`` is expanded; the default
            is :data:`~augur.features.archive.DEFAULT_ARCHIVE`), or
            ``postgresql://...[#table]`` (default table ``augur_event_archive``).
        settings: where ``$AUGUR_HOME`` is (default: read from the environment now).

    Raises:
        ConfigError: an empty location, a URL of another scheme, a malformed
            PostgreSQL URL or a bad table name.
    """
    text = str(location).strip()
    if not text:
        raise ConfigError("archive location is empty")
    scheme = scheme_of(text)
    if scheme:
        if scheme not in ("postgresql", "postgres"):
            raise ConfigError(f"archive location of scheme {scheme!r}: use a folder or "
                              "postgresql://user@host/database#table")
        return PostgresArchive(text)
    if "$AUGUR_HOME" in text:
        home = (settings or Settings.from_env()).home
        text = text.replace("$AUGUR_HOME", str(home))
    return ParquetArchive(Path(text).expanduser())
