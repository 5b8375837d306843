"""PostgreSQL connections: one-off connections and a pool, both from a :class:`BackendURL`.

A process that talks to PostgreSQL many times (the registry: every resolve, alias
move and run update) takes connections from a :class:`PostgresPool` instead of
opening one per operation (about 5 ms each on a local server, far more across a
network). Single long-lived users (a batch sink, a SQL source) call
:func:`connect_postgres`. Both run every driver call inside
:func:`~augur.backends.errors.translate_errors`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from augur.backends.errors import translate_errors
from augur.backends.urls import BackendURL

CONNECT_TIMEOUT_S = 10


def connect_postgres(url: BackendURL, *, autocommit: bool = True,
                     row_factory: Any = None, service: str = "PostgreSQL") -> Any:
    """Open one connection.

    Args:
        url: a ``postgresql://`` URL (its libpq parameters included).
        autocommit: statements commit on their own unless in ``conn.transaction()``.
        row_factory: a psycopg row factory, or ``None`` for tuples.
        service: how messages name the database.

    Returns:
        A ``psycopg.Connection``.

    Raises:
        ServiceUnavailable: the server cannot be reached or refuses the credentials.
        ConfigError: libpq refuses the URL's parameters.
    """
    import psycopg

    kwargs: dict[str, Any] = {"autocommit": autocommit, "connect_timeout": CONNECT_TIMEOUT_S}
    if row_factory is not None:
        kwargs["row_factory"] = row_factory
    with translate_errors("connecting", url, service=service):
        return psycopg.connect(url.driver_url, **kwargs)


class PostgresPool:
    """A small pool of autocommit connections to one database, opened on first use.

    No background threads: idle connections wait in a list, each is checked
    with an empty statement before it is handed out (one round trip, a tenth of a
    millisecond locally, against about 5 ms for a new connection), so a server
    restart costs no failed request, and one idle for longer than ``max_idle_s``
    is closed instead. (psycopg_pool's maintenance threads outlive an owner that
    is never closed, and a pool collected on one of them cannot stop them: the
    registry has no close in most callers, so this pool needs none.)

    The first connection ever made is handed to ``init`` (create tables). An
    unreachable server or a wrong password fails at once with the server's
    reason. After a fork the child makes its own connections: the parent's
    sockets are neither used nor closed from the child.

    Args:
        url: a ``postgresql://`` URL.
        max_size: most idle connections kept (more may be open while in use).
        max_idle_s: an idle connection older than this is closed, not reused.
        configure: called on each new connection (set a row factory, ...).
        init: called once with the first connection (create tables, ...).
        service: how messages name the database.
    """

    def __init__(self, url: BackendURL, *, max_size: int = 8, max_idle_s: float = 300.0,
                 configure: Callable[[Any], None] | None = None,
                 init: Callable[[Any], None] | None = None,
                 service: str = "PostgreSQL") -> None:
        self.url = url
        self.service = service
        self.max_size = max_size
        self.max_idle_s = max_idle_s
        self._configure = configure
        self._init = init
        self._initialized = False
        self._idle: list[tuple[Any, float]] = []
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _new(self) -> Any:
        conn = connect_postgres(self.url, service=self.service)
        try:
            with translate_errors("preparing a connection", self.url, service=self.service):
                if self._configure is not None:
                    self._configure(conn)
                with self._lock:
                    first = not self._initialized
                if first and self._init is not None:
                    self._init(conn)
                self._initialized = True
        except BaseException:
            conn.close()
            raise
        return conn

    def _take(self) -> Any:
        """An idle connection that still answers, else a new one."""
        while True:
            with self._lock:
                if self._pid != os.getpid():  # forked: the parent's sockets are not ours
                    self._idle, self._pid = [], os.getpid()
                if not self._idle:
                    break
                conn, since = self._idle.pop()
            if time.monotonic() - since > self.max_idle_s:
                conn.close()
                continue
            try:
                conn.execute("")
            except Exception:  # any failure: the connection is dead, drop it
                conn.close()
                continue
            return conn
        return self._new()

    def _give_back(self, conn: Any) -> None:
        from psycopg.pq import TransactionStatus

        healthy = not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
        with self._lock:
            if healthy and self._pid == os.getpid() and len(self._idle) < self.max_size:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    @contextmanager
    def connection(self, what: str = "talking to the database") -> Iterator[Any]:
        """Borrow a connection; it goes back to the pool afterwards.

        Args:
            what: what the caller does, for error messages.

        Raises:
            ServiceUnavailable: the server cannot be reached, or the connection broke.
            ConfigError, StoreError: see :func:`~augur.backends.errors.translate_errors`.
        """
        conn = self._take()
        try:
            with translate_errors(what, self.url, service=self.service):
                yield conn
        finally:
            self._give_back(conn)

    def close(self) -> None:
        """Close the idle connections (new ones are made on next use)."""
        with self._lock:
            idle, self._idle = self._idle, []
            ours = self._pid == os.getpid()
        if ours:
            for conn, _since in idle:
                conn.close()
