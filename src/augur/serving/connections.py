"""Connection limits of the HTTP server, on top of uvicorn's httptools protocol.

uvicorn bounds idle keep-alive connections but not the rest of what a hostile
client can hold open, so each connection here also gets:

- a header deadline: from connecting, and from the first byte of each request, a
  client has ``header_timeout_s`` to finish the request's headers, or the
  connection is closed (a slowloris that never finishes its headers, or a socket
  that connects and sends nothing, costs one timer);
- a cap: beyond ``max_connections`` open connections a new one is closed at once,
  so sockets cannot exhaust the process's file descriptors.

Bodies have their own deadline and size limit (:mod:`augur.http.body`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("augur.serving")


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[HttpToolsProtocol]:
    """An httptools protocol class with the header deadline and the connection cap."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _in_headers = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                log.warning("refused a connection: %d open, the limit is %d",
                            len(self.connections) - 1, max_connections)
                transport.abort()
                return
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._in_headers and (self.cycle is None or self.cycle.response_complete):
                self._in_headers = True  # a new request starts: its headers are due
                self._arm()
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._disarm()
            super().on_headers_complete()

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

    return GuardedHttpToolsProtocol


def uvicorn_options(header_timeout_s: float, keepalive_timeout_s: float,
                    max_connections: int) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments for these limits."""
    return {"http": guarded_protocol(header_timeout_s, max_connections),
            "timeout_keep_alive": keepalive_timeout_s}
