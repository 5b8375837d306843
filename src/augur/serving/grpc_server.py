"""The Open Inference Protocol over gRPC: ``inference.GRPCInferenceService``.

A thin transport: each call checks the bearer token, decodes the message with
:mod:`augur.serving.codec_grpc`, calls the protocol-neutral data plane and
encodes the answer. Every augur error becomes a gRPC status through one table,
:data:`STATUS_OF_ERROR`; anything else is logged and answered ``INTERNAL``, so
no request can take the server down.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from grpc import aio

from augur import errors
from augur.serving import codec_grpc
from augur.serving.proto import grpc_predict_v2_pb2 as pb
from augur.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from augur.serving.accesslog import AccessLog
    from augur.serving.dataplane import DataPlane
    from augur.serving.settings import ServerSettings

log = logging.getLogger("augur.serving.grpc")

# The one table from error class to gRPC status; the most specific class wins.
STATUS_OF_ERROR: dict[type[errors.AugurError], grpc.StatusCode] = {
    errors.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidReference: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidName: grpc.StatusCode.INVALID_ARGUMENT,
    errors.ConfigError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.ModelNotFound: grpc.StatusCode.NOT_FOUND,
    errors.FeatureUnavailable: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ModelNotReady: grpc.StatusCode.UNAVAILABLE,
    errors.Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.RequestTimeout: grpc.StatusCode.DEADLINE_EXCEEDED,
    errors.Unauthorized: grpc.StatusCode.UNAUTHENTICATED,
    errors.ServiceUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.StoreError: grpc.StatusCode.UNAVAILABLE,
    errors.InvalidArtifact: grpc.StatusCode.INTERNAL,
    errors.AugurError: grpc.StatusCode.INTERNAL,
}

T = TypeVar("T")


def status_of(exc: BaseException) -> grpc.StatusCode:
    """The gRPC status for an exception: its nearest class in the table, else ``INTERNAL``."""
    for cls in type(exc).__mro__:
        code = STATUS_OF_ERROR.get(cls)  # type: ignore[call-overload]
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    """Translates ``inference.GRPCInferenceService`` calls into data plane calls.

    Args:
        dataplane: the protocol-neutral data plane shared with the REST transport.
        inference_token: bearer token required for metadata and inference calls
            (``None``: no check). Liveness and readiness stay open for probes.
        admin_token: a token that is accepted wherever the inference token is.
        access_log: where each call is recorded (method ``GRPC``, the gRPC status
            code as the status); ``None``: not recorded.
    """

    def __init__(self, dataplane: DataPlane, *, inference_token: str | None = None,
                 admin_token: str | None = None, access_log: AccessLog | None = None) -> None:
        self._dataplane = dataplane
        self._tokens = [t.encode() for t in (inference_token, admin_token) if t]
        self._auth = bool(inference_token)
        self._log = access_log if access_log is not None and access_log.enabled else None

    async def _guard(self, context: aio.ServicerContext[Any, Any], rpc: str,
                     call: Callable[[], Awaitable[T]], *, auth: bool = True,
                     model: str | None = None, version: str | None = None) -> T:
        started = time.perf_counter()
        code, error = grpc.StatusCode.OK, None
        try:
            if auth and self._auth:
                self._check_token(context)
            return await call()
        except errors.AugurError as exc:
            code, error = status_of(exc), type(exc).__name__
            await self._abort(context, code, str(exc))
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

    def _check_token(self, context: aio.ServicerContext[Any, Any]) -> None:
        header = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                header = value if isinstance(value, str) else value.decode(errors="replace")
                break
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise errors.Unauthorized("missing bearer token: send metadata "
                                      "'authorization: Bearer <token>'")
        given = token.strip().encode()
        if not any(hmac.compare_digest(given, t) for t in self._tokens):
            raise errors.Unauthorized("invalid bearer token")

    async def ServerLive(self, request: pb.ServerLiveRequest,
                         context: aio.ServicerContext[Any, Any]) -> pb.ServerLiveResponse:
        async def call() -> pb.ServerLiveResponse:
            return pb.ServerLiveResponse(live=await self._dataplane.live())
        return await self._guard(context, "ServerLive", call, auth=False)

    async def ServerReady(self, request: pb.ServerReadyRequest,
                          context: aio.ServicerContext[Any, Any]) -> pb.ServerReadyResponse:
        async def call() -> pb.ServerReadyResponse:
            return pb.ServerReadyResponse(ready=await self._dataplane.ready())
        return await self._guard(context, "ServerReady", call, auth=False)

    async def ModelReady(self, request: pb.ModelReadyRequest,
                         context: aio.ServicerContext[Any, Any]) -> pb.ModelReadyResponse:
        async def call() -> pb.ModelReadyResponse:
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
            meta = await self._dataplane.model_metadata(request.name, request.version or None)
            return codec_grpc.encode_model_metadata(meta)
        return await self._guard(context, "ModelMetadata", call, model=request.name,
                                 version=request.version)

    async def ModelInfer(self, request: pb.ModelInferRequest,
                         context: aio.ServicerContext[Any, Any]) -> pb.ModelInferResponse:
        async def call() -> pb.ModelInferResponse:
            if not request.model_name:
                raise errors.InvalidInput("model_name is empty")
            infer_request = codec_grpc.decode_request(request)
            remaining = context.time_remaining()
            if remaining is not None and "timeout" not in infer_request.parameters:
                # The caller's deadline bounds the queue wait (microseconds, as Triton's).
                infer_request.parameters["timeout"] = max(1, int(remaining * 1e6))
            response = await self._dataplane.infer(request.model_name,
                                                   request.model_version or None, infer_request)
            return codec_grpc.encode_response(response, raw=bool(request.raw_input_contents))
        return await self._guard(context, "ModelInfer", call, model=request.model_name,
                                 version=request.model_version)


def _peer(context: aio.ServicerContext[Any, Any]) -> tuple[str, str] | None:
    # gRPC names peers "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000"; the log wants (host, port).
    peer = context.peer() or ""
    host, _, port = peer.partition(":")[2].rpartition(":")
    return (host, port) if host else None


def server_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    """gRPC channel options of the server."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # Without this a second server would silently share the port with the first.
        ("grpc.so_reuseport", 0),
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
    server = aio.server(options=server_options(settings.max_body_bytes))
    servicer = InferenceServicer(dataplane, inference_token=settings.inference_token,
                                 admin_token=settings.admin_token, access_log=access_log)
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
