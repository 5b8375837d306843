"""The Open Inference Protocol over gRPC: ``inference.GRPCInferenceService``.

A thin transport: each call checks the bearer token (the one check of
:mod:`augur.http.auth`), decodes the message with
:mod:`augur.serving.codecs.v2_grpc` once the model is resolved, calls the
protocol-neutral data plane and encodes the answer. An error's gRPC code derives
from its HTTP status in the one table of :mod:`augur.http.status`
(:data:`CODE_OF_STATUS`); anything else is logged and answered ``INTERNAL``, so no
request can take the server down. The repository extension (index, load, unload)
is served as Triton's clients call it.

Limits (see :func:`server_options`): messages up to the body limit, at most
``max_connections`` calls at once (``RESOURCE_EXHAUSTED`` beyond), idle connections
closed after the keep-alive timeout, and a handshake that does not finish within the
header timeout is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from grpc import aio

from augur import errors
from augur.http import BearerAuth, Role, error_message, status_of
from augur.registry import parse_reference
from augur.serving.codecs import v2_grpc as codec_grpc
from augur.serving.proto import grpc_predict_v2_pb2 as pb
from augur.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from augur.serving.accesslog import AccessLog
    from augur.serving.dataplane import DataPlane
    from augur.serving.settings import ServerSettings

log = logging.getLogger("augur.serving.grpc")

#: HTTP status (from the one error table) -> gRPC code.
CODE_OF_STATUS: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    405: grpc.StatusCode.UNIMPLEMENTED,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    422: grpc.StatusCode.FAILED_PRECONDITION,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}

T = TypeVar("T")


def code_of(exc: BaseException) -> grpc.StatusCode:
    """The gRPC code of an exception: its HTTP status's code, else ``INTERNAL``."""
    return CODE_OF_STATUS.get(status_of(exc), grpc.StatusCode.INTERNAL)


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    """Translates ``inference.GRPCInferenceService`` calls into data plane calls.

    Args:
        dataplane: the protocol-neutral data plane shared with the REST transport.
        auth: the bearer check (liveness and readiness stay open for probes; metadata,
            readiness of a model, inference and the repository index need the
            inference token; load and unload the admin token).
        access_log: where each call is recorded (method ``GRPC``, the gRPC status
            code as the status); ``None``: not recorded.
    """

    def __init__(self, dataplane: DataPlane, *, auth: BearerAuth | None = None,
                 access_log: AccessLog | None = None) -> None:
        self._dataplane = dataplane
        self._auth = auth or BearerAuth()
        self._log = access_log if access_log is not None and access_log.enabled else None

    async def _guard(self, context: aio.ServicerContext[Any, Any], rpc: str,
                     call: Callable[[], Awaitable[T]], *, role: Role = "inference",
                     model: str | None = None, version: str | None = None) -> T:
        started = time.perf_counter()
        code, error = grpc.StatusCode.OK, None
        try:
            if self._auth.required(role):
                self._auth.check(_authorization(context), role)
            return await call()
        except errors.AugurError as exc:
            code, error = code_of(exc), type(exc).__name__
            await self._abort(context, code, error_message(exc))
        except aio.AbortError:
            raise
        except Exception as exc:  # a bug: answer it, keep serving
            log.exception("gRPC call %s failed", rpc)
            code, error = grpc.StatusCode.INTERNAL, type(exc).__name__
            await self._abort(context, code, f"internal error ({type(exc).__name__})")
        finally:
            if self._log is not None:
                self._log.write("GRPC", f"/inference.GRPCInferenceService/{rpc}",
                                code.value[0], time.perf_counter() - started,
                                _peer(context), model or None, version or None, error)

    @staticmethod
    async def _abort(context: aio.ServicerContext[Any, Any], code: grpc.StatusCode,
                     message: str) -> NoReturn:
        await context.abort(code, message)
        raise RuntimeError("context.abort returned")  # it always raises

    async def ServerLive(self, request: pb.ServerLiveRequest,
                         context: aio.ServicerContext[Any, Any]) -> pb.ServerLiveResponse:
        async def call() -> pb.ServerLiveResponse:
            return pb.ServerLiveResponse(live=await self._dataplane.live())
        return await self._guard(context, "ServerLive", call, role="open")

    async def ServerReady(self, request: pb.ServerReadyRequest,
                          context: aio.ServicerContext[Any, Any]) -> pb.ServerReadyResponse:
        async def call() -> pb.ServerReadyResponse:
            return pb.ServerReadyResponse(ready=await self._dataplane.ready())
        return await self._guard(context, "ServerReady", call, role="open")

    async def ModelReady(self, request: pb.ModelReadyRequest,
                         context: aio.ServicerContext[Any, Any]) -> pb.ModelReadyResponse:
        async def call() -> pb.ModelReadyResponse:
            if not request.name:
                raise errors.InvalidInput("name is empty")
            ready = await self._dataplane.model_ready(request.name, request.version or None)
            return pb.ModelReadyResponse(ready=ready)
        return await self._guard(context, "ModelReady", call, model=request.name,
                                 version=request.version)

    async def ServerMetadata(self, request: pb.ServerMetadataRequest,
                             context: aio.ServicerContext[Any, Any]) -> pb.ServerMetadataResponse:
        async def call() -> pb.ServerMetadataResponse:
            return codec_grpc.encode_server_metadata(await self._dataplane.server_metadata())
        return await self._guard(context, "ServerMetadata", call)

    async def ModelMetadata(self, request: pb.ModelMetadataRequest,
                            context: aio.ServicerContext[Any, Any]) -> pb.ModelMetadataResponse:
        async def call() -> pb.ModelMetadataResponse:
            if not request.name:
                raise errors.InvalidInput("name is empty")
            meta = await self._dataplane.model_metadata(request.name, request.version or None)
            return codec_grpc.encode_model_metadata(meta)
        return await self._guard(context, "ModelMetadata", call, model=request.name,
                                 version=request.version)

    async def ModelInfer(self, request: pb.ModelInferRequest,
                         context: aio.ServicerContext[Any, Any]) -> pb.ModelInferResponse:
        async def call() -> pb.ModelInferResponse:
            if not request.model_name:
                raise errors.InvalidInput("model_name is empty")
            response = await self._dataplane.infer(
                request.model_name, request.model_version or None,
                lambda: codec_grpc.decode_request(request, context.time_remaining()))
            return codec_grpc.encode_response(response, raw=bool(request.raw_input_contents))
        return await self._guard(context, "ModelInfer", call, model=request.model_name,
                                 version=request.model_version)

    async def RepositoryIndex(self, request: pb.RepositoryIndexRequest,
                              context: aio.ServicerContext[Any, Any]
                              ) -> pb.RepositoryIndexResponse:
        async def call() -> pb.RepositoryIndexResponse:
            _one_repository(request.repository_name)
            index = await self._dataplane.repository_index(request.ready)
            return pb.RepositoryIndexResponse(models=[
                pb.RepositoryIndexResponse.ModelIndex(
                    name=m["name"], version=m["version"], state=m["state"],
                    reason=error_message(errors.AugurError(m["reason"])))
                for m in index])
        return await self._guard(context, "RepositoryIndex", call)

    async def RepositoryModelLoad(self, request: pb.RepositoryModelLoadRequest,
                                  context: aio.ServicerContext[Any, Any]
                                  ) -> pb.RepositoryModelLoadResponse:
        async def call() -> pb.RepositoryModelLoadResponse:
            _one_repository(request.repository_name)
            await self._dataplane.load_model(_model_name(request.model_name))
            return pb.RepositoryModelLoadResponse()
        return await self._guard(context, "RepositoryModelLoad", call, role="admin",
                                 model=request.model_name)

    async def RepositoryModelUnload(self, request: pb.RepositoryModelUnloadRequest,
                                    context: aio.ServicerContext[Any, Any]
                                    ) -> pb.RepositoryModelUnloadResponse:
        async def call() -> pb.RepositoryModelUnloadResponse:
            _one_repository(request.repository_name)
            await self._dataplane.unload_model(_model_name(request.model_name))
            return pb.RepositoryModelUnloadResponse()
        return await self._guard(context, "RepositoryModelUnload", call, role="admin",
                                 model=request.model_name)


def _one_repository(name: str) -> None:
    if name:
        raise errors.InvalidInput(f"augur serves one model repository; send an empty "
                                  f"repository_name, not {name!r}")


def _model_name(name: str) -> str:
    if not name:
        raise errors.InvalidInput("model_name is empty")
    parse_reference(name)
    return name


def _authorization(context: aio.ServicerContext[Any, Any]) -> str | bytes | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value  # type: ignore[no-any-return]
    return None


def _peer(context: aio.ServicerContext[Any, Any]) -> tuple[str, str] | None:
    # gRPC names peers "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000"; the log wants (host, port).
    peer = context.peer() or ""
    host, _, port = peer.partition(":")[2].rpartition(":")
    return (host, port) if host else None


def server_options(settings: ServerSettings) -> list[tuple[str, Any]]:
    """gRPC channel options of the server (message size, idle and handshake limits)."""
    return [
        ("grpc.max_receive_message_length", settings.max_body_bytes),
        ("grpc.max_send_message_length", settings.max_body_bytes),
        # Without this a second server would silently share the port with the first.
        ("grpc.so_reuseport", 0),
        ("grpc.max_connection_idle_ms", int(settings.keepalive_timeout_s * 1000)),
        ("grpc.server_handshake_timeout_ms", int(settings.header_timeout_s * 1000)),
        ("grpc.max_concurrent_streams", 1024),
        ("grpc.http2.max_ping_strikes", 2),
    ]


async def start_grpc_server(dataplane: DataPlane, settings: ServerSettings, *,
                            access_log: AccessLog | None = None) -> aio.Server:
    """Start the gRPC transport on ``settings.host:settings.grpc_port``.

    Call it on the event loop that runs the data plane; stop the returned server
    with ``await server.stop(grace)``.

    Args:
        dataplane: the data plane the REST transport uses too.
        settings: the server settings (address, tokens, maximum message size).
        access_log: the access log the REST transport writes to, if calls are to be
            recorded there too.

    Returns:
        The started server.

    Raises:
        ConfigError: the address cannot be bound (in use, or not a local address).
    """
    server = aio.server(options=server_options(settings),
                        maximum_concurrent_rpcs=settings.max_connections)
    auth = BearerAuth(settings.inference_token, settings.admin_token, settings.metrics_token)
    servicer = InferenceServicer(dataplane, auth=auth, access_log=access_log)
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    address = f"{settings.host}:{settings.grpc_port}"
    if ":" in settings.host and not settings.host.startswith("["):
        address = f"[{settings.host}]:{settings.grpc_port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        await server.stop(None)
        raise errors.ConfigError(f"cannot bind the gRPC server to {address}: {exc}") from exc
    if port == 0:
        await server.stop(None)
        raise errors.ConfigError(f"cannot bind the gRPC server to {address}")
    await server.start()
    log.info("gRPC server listening on %s", address)
    return server
