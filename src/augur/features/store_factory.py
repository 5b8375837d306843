"""Opening the online store a URL names: in-memory, SQLite or Redis.

Kept apart from the protocol module (online.py) and the Redis store so that
neither imports the other: the factory is the one place that knows them all.
"""

from __future__ import annotations

from augur.backends import parse_url
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
