"""Running the server: uvicorn for HTTP and, when installed, gRPC on the same loop.

:class:`Server` is the async core (start, stop, serve until a signal);
:class:`BackgroundServer` runs one in a thread with its own event loop, for
tests and notebooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from typing import Any

import uvicorn

from augur.errors import ConfigError
from augur.http import BearerAuth
from augur.registry import Registry
from augur.serving.accesslog import AccessLog
from augur.serving.admin import build_admin_app
from augur.serving.batch_control import BatchControl
from augur.serving.connections import uvicorn_options
from augur.serving.dataplane import DataPlane, Enricher
from augur.serving.feature_enricher import FeatureEnricher
from augur.serving.hybrid import HybridEnricher
from augur.serving.manager import ModelManager
from augur.serving.metrics import ServerMetrics
from augur.serving.prediction_stores import PredictionStores
from augur.serving.rest import RestApp
from augur.serving.settings import ServerSettings

log = logging.getLogger("augur.serving")

GRPC_MODULE = "augur.serving.grpc_server"


def build_app(dataplane: DataPlane, settings: ServerSettings,
              access_log: AccessLog | None = None) -> RestApp:
    """The ASGI app of the REST transport: the protocol routes, then the admin app, with
    one bearer check for both."""
    auth = BearerAuth(settings.inference_token, settings.admin_token, settings.metrics_token)
    return RestApp(dataplane, settings, build_admin_app(dataplane, settings, auth), access_log,
                   auth)


def create_dataplane(registry: Registry, settings: ServerSettings,
                     enrichers: list[Enricher] | None = None) -> DataPlane:
    """A data plane with its own manager, metrics, prediction stores and batch control.

    Args:
        enrichers: steps before validation; ``None`` gives the ones the settings ask
            for (the hybrid mode for models with ``hybrid``, then feature assembly for
            models with ``features``).
    """
    manager = ModelManager(registry, settings, ServerMetrics())
    manager.metrics.memory.set_function(lambda: float(manager.memory_bytes()))
    stores = PredictionStores(manager)
    if enrichers is None:
        enrichers = []
        models = settings.models.values()
        if settings.defaults.hybrid or any(ms.hybrid for ms in models):
            enrichers.append(HybridEnricher(stores))
        if settings.defaults.features or any(ms.features for ms in models):
            enrichers.append(FeatureEnricher(manager))
    dataplane = DataPlane(manager, enrichers)
    dataplane.predictions = stores
    dataplane.batch = BatchControl(registry, poll_seconds=settings.scheduler_poll_seconds)
    return dataplane


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: :class:`Server` owns the signals, so a
    Ctrl-C stops the gRPC transport and the data plane too and exits cleanly."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Server:
    """The online server: REST (and gRPC when installed) over one data plane.

    Args:
        settings: server settings; port 0 picks a free port.
        registry: where models come from (default ``$AUGUR_HOME``).
        enrichers: steps run before validation (see :mod:`augur.serving.dataplane`).

    Example:
        >>> server = Server(ServerSettings(http_port=0), Registry("/tmp/h"))  # doctest: +SKIP
        >>> await server.start(); print(server.url); await server.stop()      # doctest: +SKIP
    """

    def __init__(self, settings: ServerSettings, registry: Registry | None = None,
                 enrichers: list[Enricher] | None = None) -> None:
        self.settings = settings
        self.registry = registry or Registry()
        self.enrichers = enrichers
        self.dataplane: DataPlane | None = None
        self.http_port = settings.http_port
        self.grpc_port: int | None = None
        self._uvicorn: _Uvicorn | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._grpc: Any = None
        self._access_log = AccessLog(settings.access_log)

    @property
    def url(self) -> str:
        host = self.settings.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.http_port}"

    async def start(self) -> None:
        """Start the data plane, then listen; returns once requests are accepted."""
        settings = self.settings
        if settings.grpc_enabled and settings.grpc_port == 0:
            settings = replace(settings, grpc_port=free_port(settings.host))
        self.dataplane = create_dataplane(self.registry, settings, self.enrichers)
        await self.dataplane.start()
        if settings.scheduler and self.dataplane.batch is not None:
            self.dataplane.batch.start()
        self._access_log.open()
        sock = _bind(settings.host, settings.http_port)
        self.http_port = int(sock.getsockname()[1])
        config = uvicorn.Config(build_app(self.dataplane, settings, self._access_log),
                                ws="none", lifespan="off", access_log=False,
                                log_level="warning", server_header=False, date_header=False,
                                backlog=2048, proxy_headers=False,
                                **uvicorn_options(settings.header_timeout_s,
                                                  settings.keepalive_timeout_s,
                                                  settings.max_connections))
        self._uvicorn = _Uvicorn(config)
        self._serve_task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]))
        while not self._uvicorn.started:
            if self._serve_task.done():
                self._serve_task.result()
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        if settings.grpc_enabled:
            await self._start_grpc(settings)
        log.info("augur serving at %s (gRPC: %s)", self.url, self.grpc_port or "off")

    async def _start_grpc(self, settings: ServerSettings) -> None:
        try:
            module = importlib.import_module(GRPC_MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != GRPC_MODULE:
                raise
            log.info("the gRPC transport is not installed; serving HTTP only")
            return
        assert self.dataplane is not None
        self._grpc = await module.start_grpc_server(self.dataplane, settings)
        self.grpc_port = settings.grpc_port

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish, then unload everything."""
        if self._grpc is not None:
            await self._grpc.stop(grace=2.0)
            self._grpc = None
        if self._uvicorn is not None and self._serve_task is not None:
            self._uvicorn.should_exit = True
            await asyncio.gather(self._serve_task, return_exceptions=True)
        if self.dataplane is not None:
            if self.dataplane.batch is not None:
                await asyncio.to_thread(self.dataplane.batch.stop)
            await self.dataplane.stop()
        self._access_log.close()

    def _request_exit(self) -> None:
        if self._uvicorn is not None:
            if self._uvicorn.should_exit:  # a second Ctrl-C: stop waiting for requests
                self._uvicorn.force_exit = True
            self._uvicorn.should_exit = True

    async def serve_forever(self, on_started: Callable[[Server], None] | None = None) -> None:
        """Start, serve until SIGINT or SIGTERM, then stop gracefully."""
        await self.start()
        # Everything loaded so far (frameworks, preloaded models) lives as long as the
        # process: keep it out of the garbage collector's full passes.
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._request_exit)
        if on_started is not None:
            on_started(self)
        try:
            assert self._serve_task is not None
            await asyncio.shield(self._serve_task)
        finally:
            await self.stop()


def run_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on uvloop when available, else asyncio's default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


class BackgroundServer:
    """A :class:`Server` on its own event loop in a daemon thread.

    Example:
        >>> with BackgroundServer(ServerSettings(http_port=0), registry) as server:  # doctest: +SKIP
        ...     httpx.get(server.url + "/v2/health/ready")
    """

    def __init__(self, settings: ServerSettings, registry: Registry | None = None,
                 enrichers: list[Enricher] | None = None) -> None:
        self.server = Server(settings, registry, enrichers)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def dataplane(self) -> DataPlane:
        assert self.server.dataplane is not None
        return self.server.dataplane

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self, timeout: float = 60.0) -> BackgroundServer:
        """Start the thread; return once the server accepts requests."""
        def target() -> None:
            import uvloop

            loop = uvloop.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:
                self._error = exc
                self._started.set()
                return
            self._started.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=target, name="augur-server", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the server did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server and join its thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
