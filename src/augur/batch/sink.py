"""Where predictions go: the sink interface, the lookup interface, and URL parsing.

Sink forms (``--output``; the URL syntax is :mod:`augur.backends.urls`'):

- ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or a bare ``*.db`` /
  ``*.sqlite`` / ``*.sqlite3`` path (default: ``$AUGUR_HOME/predictions.db``);
- ``postgresql://user@host:5432/db``;
- ``redis://host:6379/0``, ``rediss://...``, ``unix:///path/to/redis.sock``;
- ``parquet:///path/to/folder`` or a path ending in ``.parquet`` (a folder).

SQL sinks take ``?table=NAME`` (default ``predictions``; the errors and progress
tables are ``NAME_errors`` and ``NAME_progress``). Redis takes ``?prefix=P``
(default ``augur:pred``): a prediction is the hash ``P:{model}:{key}`` with the
fields ``outputs`` (JSON), ``version``, ``run_id`` and ``created_at``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from augur.backends import BackendURL, parse_url, scheme_of
from augur.batch.postgres_predictions import PostgresPredictionStore
from augur.batch.predictions import Prediction, PredictionChunk, Progress, RowFailure
from augur.batch.redis_predictions import RedisPredictionStore
from augur.batch.sqlite_predictions import SqlitePredictionStore
from augur.errors import ConfigError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,50}(\.[A-Za-z_][A-Za-z0-9_]{0,50})?$")


class Sink(Protocol):
    """A destination for batch predictions.

    ``write`` commits a chunk's predictions, its errors and the run's new
    progress together (one transaction where the store has them), so that
    ``committed`` after a crash names exactly the chunks whose rows are stored.
    """

    def describe(self) -> str:
        """A short text naming the destination (no passwords)."""

    def open(self) -> None:
        """Connect and create tables if needed."""

    def committed(self, run_id: str) -> Progress:
        """The progress last committed for ``run_id`` (zero if none)."""

    def write(self, run_id: str, model: str, version: int, chunk: PredictionChunk,
              progress: Progress) -> None:
        """Upsert a chunk's predictions keyed by (key, model), record its errors, and
        store ``progress``, atomically where the store allows."""

    def finish(self, run_id: str, model: str) -> None:
        """Called once after the last chunk."""

    def errors_location(self) -> str:
        """Where this sink keeps the rows that failed."""

    def errors(self, run_id: str) -> list[dict[str, Any]]:
        """The rows of ``run_id`` that failed (``row``, ``key``, ``reason``), in source order.

        Raises:
            StoreError: the store no longer holds them.
        """

    def close(self) -> None:
        """Release connections."""


class PredictionStore(Protocol):
    """Read (and write back) stored predictions by (model, key)."""

    def get(self, model: str, key: str) -> Prediction | None:
        """The stored prediction, or ``None``.

        Raises:
            StoreError: the stored value is corrupt.
        """

    def get_many(self, model: str, keys: list[str]) -> list[Prediction | None]:
        """The stored predictions of ``keys`` in one round trip to the store.

        Args:
            model: model name.
            keys: entity keys; duplicates allowed.

        Returns:
            One entry per key, in the order of ``keys``: the prediction or ``None``.

        Raises:
            StoreError: a stored value is corrupt.
        """

    def failure(self, model: str, key: str) -> RowFailure | None:
        """The latest batch failure recorded for ``(model, key)``, or ``None``."""

    def put(self, model: str, version: int, key: str, outputs: dict[str, Any],
            run_id: str = "online") -> None:
        """Store (or replace) one prediction."""

    def close(self) -> None:
        """Release connections."""


def table_name(url: BackendURL, default: str = "predictions") -> str:
    """The ``?table=`` of a SQL URL, checked to be a plain (optionally schema-qualified) name.

    Raises:
        ConfigError: the name is not an identifier.
    """
    name = url.option("table", default)
    if not _IDENTIFIER.match(name):
        raise ConfigError(f"bad table name {name!r}: use letters, digits and _ "
                          "(optionally schema.table)")
    return name


def default_sink_url(home: Path) -> str:
    """The embedded default: a SQLite file in ``$AUGUR_HOME``."""
    return f"sqlite:///{(home / 'predictions.db').resolve()}"


def open_sink(spec: str | None, home: Path) -> Sink:
    """Parse an ``--output`` value into a sink (not yet opened).

    Raises:
        ConfigError: unknown scheme or malformed URL.
    """
    from augur.batch.parquet_sink import ParquetSink

    text = (spec or default_sink_url(home)).strip()
    scheme = scheme_of(text)
    if scheme == "parquet":
        return ParquetSink(Path(text.split("://", 1)[1]).expanduser())
    if not scheme and text.lower().rstrip("/").endswith(".parquet"):
        return ParquetSink(Path(text).expanduser())
    return _open(text, "--output", "parquet:///folder")


def open_store(spec: str | None, home: Path) -> PredictionStore:
    """Open a prediction store for lookups: SQLite, PostgreSQL or Redis.

    Raises:
        ConfigError: unknown scheme or malformed URL.
    """
    store = _open((spec or default_sink_url(home)).strip(), "prediction store URL")
    store.open()
    return store


def _open(text: str, what: str, also: str = "",
          ) -> SqlitePredictionStore | PostgresPredictionStore | RedisPredictionStore:
    """The prediction store a URL names (not yet opened).

    Raises:
        ConfigError: malformed URL, another scheme, or a bad table name or key prefix.
    """
    try:
        url = parse_url(text, schemes=("sqlite", "postgresql", "redis"), what=what)
    except ConfigError as exc:
        raise ConfigError(f"{exc}{' or ' + also if also else ''}") from None
    if url.scheme == "sqlite":
        return SqlitePredictionStore(url.file(), table_name(url))
    if url.scheme == "postgresql":
        return PostgresPredictionStore(url, table_name(url))
    prefix = url.option("prefix", "augur:pred")
    if not prefix or any(ch.isspace() for ch in prefix):
        raise ConfigError(f"bad Redis key prefix {prefix!r}")
    return RedisPredictionStore(url, prefix)


def fetch_prediction(store: PredictionStore, model: str, key: str,
                     max_age: float | None = None) -> Prediction:
    """The stored prediction for ``(model, key)``, for ``GET /v1/predictions/{model}/{key}``.

    Args:
        store: an opened prediction store.
        model: model name.
        key: entity key.
        max_age: if given, a prediction older than this many seconds counts as missing.

    Raises:
        PredictionFailed: nothing stored because a batch run's row for the key failed
            (the message and ``failure`` say which run and row, and why).
        PredictionNotFound: nothing stored (or nothing fresh enough).
    """
    from augur.errors import PredictionFailed, PredictionNotFound

    found = store.get(model, key)
    if found is None:
        failed = store.failure(model, key)
        if failed is not None:
            raise PredictionFailed(f"no stored prediction of {model!r} for key {key!r}: "
                                   f"{failed.describe()}", failed.to_dict())
        raise PredictionNotFound(f"no stored prediction of {model!r} for key {key!r}")
    if max_age is not None and found.age() > max_age:
        raise PredictionNotFound(f"the stored prediction of {model!r} for key {key!r} is "
                                 f"{found.age():.0f}s old (max {max_age:g}s)")
    return found
