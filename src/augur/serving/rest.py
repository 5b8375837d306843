"""The v2 REST transport: a lean ASGI router for the hot paths.

Inference, health and metadata are routed by hand from the path segments, since
a general router costs more per request than a small model does; everything
else (metrics, repository and admin endpoints, the edge pages) falls through to
a Starlette app (:mod:`augur.serving.admin`). Errors become the v2 body
``{"error": "..."}`` with a status from :data:`STATUS`, in one place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from augur.errors import (
    AugurError,
    ConfigError,
    FeatureUnavailable,
    InvalidInput,
    InvalidName,
    InvalidReference,
    ModelNotFound,
    ModelNotReady,
    Overloaded,
    PredictionNotFound,
    RequestTimeout,
    ServiceUnavailable,
    StoreError,
    Unauthorized,
)
from augur.serving.accesslog import AccessLog
from augur.serving.codec_v2 import decode_request, encode_response
from augur.serving.dataplane import DataPlane
from augur.serving.settings import ServerSettings

log = logging.getLogger("augur.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Error class -> HTTP status (the first matching base class wins).
STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (Unauthorized, 401),
    (ModelNotFound, 404),
    (PredictionNotFound, 404),
    (FeatureUnavailable, 422),
    (InvalidInput, 400),
    (InvalidReference, 400),
    (InvalidName, 400),
    (ConfigError, 400),
    (Overloaded, 429),
    (RequestTimeout, 504),
    (ModelNotReady, 503),
    (ServiceUnavailable, 503),
    (StoreError, 503),
    (AugurError, 500),
)

_JSON = [(b"content-type", b"application/json")]
_OCTET = b"application/octet-stream"
_EMPTY_OK = orjson.dumps({})


class PayloadTooLarge(InvalidInput):
    """The body is bigger than the server accepts."""


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error (500 for anything unexpected)."""
    if isinstance(exc, PayloadTooLarge):
        return 413
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(exc: BaseException) -> bytes:
    """The v2 error body for an error; unexpected ones do not leak internals."""
    message = str(exc) if isinstance(exc, AugurError) else "internal server error"
    return orjson.dumps({"error": message})


class _Disconnected(Exception):
    pass


class RestApp:
    """The ASGI application of the v2 REST transport.

    Args:
        dataplane: where requests go.
        settings: body limit and tokens.
        fallback: the ASGI app for every path not routed here.
        access_log: where each request is recorded.
    """

    def __init__(self, dataplane: DataPlane, settings: ServerSettings, fallback: ASGIApp,
                 access_log: AccessLog | None = None) -> None:
        self.dataplane = dataplane
        self.settings = settings
        self.fallback = fallback
        self.access_log = access_log or AccessLog("off")
        self._limit = settings.max_body_bytes
        tokens = [t for t in (settings.inference_token, settings.admin_token) if t]
        self._tokens = {f"Bearer {t}".encode() for t in tokens} if settings.inference_token \
            else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        path: str = scope["path"]
        if not (path.startswith("/v2") or path.startswith("/v1/models/")) or \
                path.startswith("/v2/repository") or path.startswith("/v2/admin"):
            await self.fallback(scope, receive, send)
            return
        started = time.perf_counter()
        model = version = error = None
        status = 200
        try:
            parts = path.split("/")
            n = len(parts)
            if (n == 5 or (n == 7 and parts[4] == "versions")) and parts[-1] == "infer" and \
                    parts[2] == "models" and parts[1] == "v2" and scope["method"] == "POST":
                # the hot path, routed in place (one coroutine frame fewer per request)
                if self._tokens is not None:
                    self._authorize(scope)
                data, header_length = await self._read_body(scope, receive)
                response = await self.dataplane.infer(parts[3], parts[5] if n == 7 else None,
                                                      decode_request(data, header_length))
                body, json_length = encode_response(response)
                headers = [_JSON[0]] if json_length is None else [
                    (b"content-type", _OCTET),
                    (b"inference-header-content-length", str(json_length).encode())]
                model, version = response.model_name, response.model_version
            else:
                status, body, headers, model, version = await self._route(scope, receive, path)
        except _Disconnected:
            return
        except Exception as exc:
            status = status_of(exc)
            if status == 500 and not isinstance(exc, AugurError):
                log.exception("unexpected error serving %s %s", scope["method"], path)
            body, headers = error_body(exc), list(_JSON)
            if isinstance(exc, Overloaded):
                headers.append((b"retry-after", b"1"))
            error = type(exc).__name__
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.access_log.enabled:
            self.access_log.write(scope["method"], path, status, time.perf_counter() - started,
                                  scope.get("client"), model, version, error)

    async def _route(self, scope: Scope, receive: Receive,
                     path: str) -> tuple[int, bytes, list[tuple[bytes, bytes]], Any, Any]:
        method: str = scope["method"]
        parts = path.split("/")
        n = len(parts)
        if parts[1] == "v1":
            if method != "POST" or n != 4 or not parts[3].endswith(":predict"):
                raise ModelNotFound(f"no endpoint {method} {path}; use POST "
                                    "/v1/models/{ref}:predict")
            self._authorize(scope)
            return await self._predict(scope, receive, parts[3][:-len(":predict")])
        if n >= 4 and parts[2] == "models":
            name = parts[3]
            version: str | None = None
            rest = parts[4:]
            if len(rest) >= 2 and rest[0] == "versions":
                version = rest[1]
                rest = rest[2:]
            action = rest[0] if rest else ""
            if len(rest) <= 1:
                if action == "infer" and method == "POST":
                    self._authorize(scope)
                    return await self._infer(scope, receive, name, version)
                if method == "GET" and action in ("", "ready"):
                    self._authorize(scope)
                    if action == "ready":
                        ok = await self.dataplane.model_ready(name, version)
                        return (200 if ok else 503), b"", list(_JSON), name, version
                    meta = await self.dataplane.model_metadata(name, version)
                    return 200, orjson.dumps(meta), list(_JSON), name, version
        elif method == "GET" and n == 4 and parts[2] == "health":
            if parts[3] == "live":
                return (200 if await self.dataplane.live() else 503), b"", list(_JSON), None, None
            if parts[3] == "ready":
                ok = await self.dataplane.ready()
                return (200 if ok else 503), b"", list(_JSON), None, None
        elif method == "GET" and path in ("/v2", "/v2/"):
            meta = await self.dataplane.server_metadata()
            return 200, orjson.dumps(meta), list(_JSON), None, None
        raise ModelNotFound(f"no endpoint {method} {path}")

    def _authorize(self, scope: Scope) -> None:
        if self._tokens is None:
            return
        for key, value in scope["headers"]:
            if key == b"authorization":
                if value in self._tokens:
                    return
                break
        raise Unauthorized("this endpoint needs 'Authorization: Bearer <inference token>'")

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes, int | None]:
        header_length: int | None = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                if int(value) > self._limit:
                    raise PayloadTooLarge(f"request body of {int(value)} bytes is over the "
                                          f"limit of {self._limit} bytes")
            elif key == b"inference-header-content-length":
                try:
                    header_length = int(value)
                except ValueError:
                    raise InvalidInput("Inference-Header-Content-Length is not a number") \
                        from None
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            return body, header_length
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                raise PayloadTooLarge(f"request body is over the limit of {self._limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), header_length

    async def _infer(self, scope: Scope, receive: Receive, name: str,
                     version: str | None) -> tuple[int, bytes, list[tuple[bytes, bytes]], Any,
                                                   Any]:
        body, header_length = await self._read_body(scope, receive)
        request = decode_request(body, header_length)
        response = await self.dataplane.infer(name, version, request)
        payload, json_length = encode_response(response)
        if json_length is None:
            headers = list(_JSON)
        else:
            headers = [(b"content-type", _OCTET),
                       (b"inference-header-content-length", str(json_length).encode())]
        return 200, payload, headers, response.model_name, response.model_version

    async def _predict(self, scope: Scope, receive: Receive,
                       ref: str) -> tuple[int, bytes, list[tuple[bytes, bytes]], Any, Any]:
        body, _ = await self._read_body(scope, receive)
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"malformed JSON in the request body: {exc}") from None
        if not isinstance(doc, dict) or "instances" not in doc:
            raise InvalidInput('the body must be {"instances": [...]} (rows or records)')
        entry, predictions = await self.dataplane.predict(ref, doc["instances"])
        payload = orjson.dumps({"predictions": predictions, "model_name": entry.name,
                                "model_version": entry.version_text},
                               option=orjson.OPT_SERIALIZE_NUMPY)
        return 200, payload, list(_JSON), entry.name, entry.version_text
