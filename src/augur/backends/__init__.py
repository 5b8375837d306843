"""One backend layer: URLs, connections and driver errors for every part that stores or streams.

- :func:`parse_url` / :class:`BackendURL`: one syntax per scheme (``sqlite``,
  ``postgresql``, ``redis``/``rediss``/``unix``, ``nats``/``tls``, ``s3``, ``memory``),
  read the same way by the registry, batch sources and sinks, the online feature
  store and the stream transports.
- Connection factories: :func:`connect_sqlite` (augur's pragmas, set once here),
  :func:`connect_postgres` and :class:`PostgresPool`, :func:`redis_client`,
  :func:`async_redis_client`, :func:`connect_nats`, :class:`S3Bucket`.
- :func:`translate_errors`: the one boundary where psycopg, redis-py, nats-py,
  sqlite3 and botocore errors become :class:`~augur.errors.ServiceUnavailable`,
  :class:`~augur.errors.ConfigError` or :class:`~augur.errors.StoreError`, with
  passwords and tokens masked, raised ``from`` the driver's error.
"""

from __future__ import annotations

from augur.backends.clients import async_redis_client, connect_nats, redis_client
from augur.backends.errors import one_line, translate, translate_errors
from augur.backends.postgres import PostgresPool, connect_postgres
from augur.backends.s3 import S3Bucket
from augur.backends.sqlite import connect_sqlite, sqlite_url
from augur.backends.urls import SQLITE_SUFFIXES, BackendURL, mask, parse_url, scheme_of

__all__ = [
    "SQLITE_SUFFIXES",
    "BackendURL",
    "PostgresPool",
    "S3Bucket",
    "async_redis_client",
    "connect_nats",
    "connect_postgres",
    "connect_sqlite",
    "mask",
    "one_line",
    "parse_url",
    "redis_client",
    "scheme_of",
    "sqlite_url",
    "translate",
    "translate_errors",
]
