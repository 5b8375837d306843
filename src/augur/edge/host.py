"""A small local web server for the edge page, for parity checks and benchmarks.

The augur server mounts :func:`augur.edge.routes` itself; this host serves the
same routes alone (uvicorn in a background thread) where no server is running,
e.g. for ``augur edge parity``.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from augur.errors import ServiceUnavailable
from augur.registry import Registry

if TYPE_CHECKING:
    import uvicorn


class EdgeHost:
    """Serve the edge routes on ``http://127.0.0.1:PORT`` until stopped.

    Args:
        registry: the registry to serve.
        port: the port (0 picks a free one).

    Example:
        >>> with EdgeHost(Registry()) as host:          # doctest: +SKIP
        ...     print(host.page_url("iris@production"))
    """

    def __init__(self, registry: Registry, port: int = 0, host: str = "127.0.0.1") -> None:
        self.registry = registry
        self.port = port
        self.host = host
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def page_url(self, ref: str) -> str:
        """The URL of the edge page of ``ref``."""
        from urllib.parse import quote

        return f"{self.origin}/edge/{quote(ref, safe='@')}"

    def start(self, timeout: float = 20.0) -> EdgeHost:
        """Start serving; return once the server accepts connections.

        Raises:
            ServiceUnavailable: the server did not start within ``timeout`` seconds.
        """
        import uvicorn
        from starlette.applications import Starlette

        from augur.edge.routes import routes
        from augur.http import exception_handlers

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=routes(self.registry), exception_handlers=exception_handlers())
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name="augur-edge-host", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServiceUnavailable(f"the edge page server did not start on {self.origin}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> EdgeHost:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
