"""The REST transport: the inference protocol routes, routed by hand for speed.

Which routes live where (one rule): the Open Inference Protocol and plain JSON
routes below are matched here from the path segments, since a general router costs
more per request than a small model does; every other route (``/metrics``, the
repository and admin extensions, batch, edge, console) is a Starlette route in
:mod:`augur.serving.admin`. Both sides share the one error table
(:mod:`augur.http.status`), the one bearer check (:mod:`augur.http.auth`) and the
one body reader (:mod:`augur.http.body`).

========  ===========================================  ==========  =============
method    path                                         role        answer
========  ===========================================  ==========  =============
GET       /v2/health/live                              open        {"live": b}
GET       /v2/health/ready                             open        {"ready": b}
GET       /v2                                          inference   server metadata
GET       /v2/openapi.json                             open        OpenAPI 3
GET       /v2/models/{m}[/versions/{v}]                inference   model metadata
GET       /v2/models/{m}[/versions/{v}]/ready          inference   {"name", "ready"}
POST      /v2/models/{m}[/versions/{v}]/infer          inference   v2 response
GET       /v1/models                                   inference   {"models": [...]}
GET       /v1/models/{m}                               inference   {"name", "ready"}
POST      /v1/models/{m}:predict                       inference   {"predictions"}
========  ===========================================  ==========  =============

Readiness answers 503 with ``"ready": false`` when not ready. A known path with
another method is a 405 with ``Allow``; an unknown path under these prefixes a 404.
Inference responses name the version that answered in ``Augur-Model`` and
``Augur-Model-Version`` (after a canary split, the canary's).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from augur.errors import AugurError, InvalidInput, Overloaded
from augur.http import (
    BearerAuth,
    ClientDisconnected,
    EndpointNotFound,
    MethodNotAllowed,
    Role,
    error_body,
    read_body,
    status_of,
)
from augur.serving.accesslog import AccessLog
from augur.serving.codecs import plain_json, v2_json
from augur.serving.dataplane import DataPlane
from augur.serving.openapi import openapi_document
from augur.serving.settings import ServerSettings
from augur.serving.types import InferenceRequest

log = logging.getLogger("augur.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, bytes, Headers, Any, Any]

_JSON = (b"content-type", b"application/json")
_OCTET = (b"content-type", b"application/octet-stream")
_GET = ("GET",)
_POST = ("POST",)


def _is_protocol_path(path: str) -> bool:
    """Whether ``path`` is routed here (else it goes to the Starlette app)."""
    if path.startswith("/v2"):
        return not (path.startswith("/v2/repository") or path.startswith("/v2/admin"))
    return path == "/v1/models" or path.startswith("/v1/models/")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RestApp:
    """The ASGI application of the REST transport.

    Args:
        dataplane: where requests go.
        settings: body limits and tokens.
        fallback: the ASGI app for every path not routed here.
        access_log: where each request is recorded.
    """

    def __init__(self, dataplane: DataPlane, settings: ServerSettings, fallback: ASGIApp,
                 access_log: AccessLog | None = None, auth: BearerAuth | None = None) -> None:
        self.dataplane = dataplane
        self.settings = settings
        self.fallback = fallback
        self.access_log = access_log or AccessLog("off")
        self.auth = auth or BearerAuth(settings.inference_token, settings.admin_token,
                                       settings.metrics_token)
        self._limit = settings.max_body_bytes
        self._timeout = settings.body_timeout_s
        self._guarded = self.auth.required("inference")
        self._openapi: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_protocol_path(scope["path"]):
            await self.fallback(scope, receive, send)
            return
        path: str = scope["path"]
        started = time.perf_counter()
        model = version = error = None
        status = 200
        try:
            parts = path.split("/")
            n = len(parts)
            if (n == 5 or (n == 7 and parts[4] == "versions")) and parts[-1] == "infer" and \
                    parts[2] == "models" and parts[1] == "v2" and scope["method"] == "POST":
                # the hot path, routed in place (one coroutine frame fewer per request)
                if self._guarded:
                    self.auth.check(_header(scope, b"authorization"), "inference")
                status, body, headers, model, version = await self._infer(
                    scope, receive, parts[3], parts[5] if n == 7 else None)
            else:
                status, body, headers, model, version = await self._route(scope, receive, path)
        except ClientDisconnected:
            return
        except Exception as exc:
            status = status_of(exc)
            if status == 500:
                log.error("%s %s failed: %s", scope["method"], path, exc,
                          exc_info=not isinstance(exc, AugurError))
            body, headers = error_body(exc), [_JSON, (b"x-content-type-options", b"nosniff")]
            if isinstance(exc, Overloaded):
                headers.append((b"retry-after", b"1"))
            elif isinstance(exc, MethodNotAllowed):
                headers.append((b"allow", ", ".join(exc.allowed).encode()))
            elif status == 401:
                headers.append((b"www-authenticate", b'Bearer realm="augur"'))
            error = type(exc).__name__
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.access_log.enabled:
            self.access_log.write(scope["method"], path, status, time.perf_counter() - started,
                                  scope.get("client"), model, version, error)

    def _allow(self, scope: Scope, allowed: tuple[str, ...], role: Role) -> None:
        """Refuse another method (405), then check the token of ``role``."""
        if scope["method"] not in allowed:
            raise MethodNotAllowed(f"{scope['method']} is not allowed here; use "
                                   f"{' or '.join(allowed)}", allowed)
        self.auth.check(_header(scope, b"authorization"), role)

    async def _route(self, scope: Scope, receive: Receive, path: str) -> Answer:
        parts = path.split("/")
        n = len(parts)
        if parts[1] == "v1":
            return await self._v1(scope, receive, parts)
        if n == 2 or (n == 3 and parts[2] == ""):  # /v2 and /v2/
            self._allow(scope, _GET, "inference")
            return 200, orjson.dumps(await self.dataplane.server_metadata()), [_JSON], None, None
        if n == 4 and parts[2] == "health" and parts[3] in ("live", "ready"):
            self._allow(scope, _GET, "open")
            if parts[3] == "live":
                ok = await self.dataplane.live()
                return (200 if ok else 503), orjson.dumps({"live": ok}), [_JSON], None, None
            ok = await self.dataplane.ready()
            return (200 if ok else 503), orjson.dumps({"ready": ok}), [_JSON], None, None
        if n == 3 and parts[2] == "openapi.json":
            self._allow(scope, _GET, "open")
            if self._openapi is None:
                self._openapi = orjson.dumps(openapi_document())
            return 200, self._openapi, [_JSON], None, None
        if n >= 4 and parts[2] == "models" and parts[3]:
            name, version, rest = parts[3], None, parts[4:]
            if len(rest) >= 2 and rest[0] == "versions" and rest[1]:
                version, rest = rest[1], rest[2:]
            if not rest:
                self._allow(scope, _GET, "inference")
                meta = await self.dataplane.model_metadata(name, version)
                return 200, orjson.dumps(meta), [_JSON], name, version
            if rest == ["ready"]:
                self._allow(scope, _GET, "inference")
                ok = await self.dataplane.model_ready(name, version)
                body = orjson.dumps({"name": name, "ready": ok})
                return (200 if ok else 503), body, [_JSON], name, version
            if rest == ["infer"]:
                self._allow(scope, _POST, "inference")
                return await self._infer(scope, receive, name, version)
        raise EndpointNotFound(f"no such endpoint: {scope['method']} {_short(path)}")

    async def _v1(self, scope: Scope, receive: Receive, parts: list[str]) -> Answer:
        if len(parts) == 3:  # /v1/models
            self._allow(scope, _GET, "inference")
            models = await self.dataplane.manager.run_blocking(
                self.dataplane.manager.registry.list_models)
            return 200, orjson.dumps({"models": [m.name for m in models]}), [_JSON], None, None
        if len(parts) == 4 and parts[3]:
            target = parts[3]
            if target.endswith(":predict"):
                self._allow(scope, _POST, "inference")
                return await self._predict(scope, receive, target[:-len(":predict")])
            self._allow(scope, _GET, "inference")  # KServe v1 model readiness
            ok = await self.dataplane.model_ready(target, None)
            body = orjson.dumps({"name": target, "ready": ok})
            return (200 if ok else 503), body, [_JSON], target, None
        raise EndpointNotFound(f"no such endpoint: {scope['method']} {_short(scope['path'])}")

    async def _infer(self, scope: Scope, receive: Receive, name: str,
                     version: str | None) -> Answer:
        body = await read_body(scope, receive, self._limit, self._timeout)
        raw_length = _header(scope, b"inference-header-content-length")
        decoded: list[InferenceRequest] = []

        def decode() -> InferenceRequest:  # called once the model is resolved
            length = None if raw_length is None else _int_header(
                raw_length, "Inference-Header-Content-Length")
            decoded.append(v2_json.decode_request(body, length))
            return decoded[0]

        response = await self.dataplane.infer(name, version, decode)
        payload, json_length = v2_json.encode_response(response, decoded[0] if decoded else None)
        headers = [_JSON] if json_length is None else [
            _OCTET, (b"inference-header-content-length", str(json_length).encode())]
        headers.append((b"augur-model", response.model_name.encode()))
        headers.append((b"augur-model-version", response.model_version.encode()))
        return 200, payload, headers, response.model_name, response.model_version

    async def _predict(self, scope: Scope, receive: Receive, ref: str) -> Answer:
        body = await read_body(scope, receive, self._limit, self._timeout)
        response = await self.dataplane.infer(ref, None, lambda: plain_json.decode_request(body))
        headers = [_JSON, (b"augur-model", response.model_name.encode()),
                   (b"augur-model-version", response.model_version.encode())]
        return (200, plain_json.encode_response(response), headers, response.model_name,
                response.model_version)


def _int_header(value: bytes, name: str) -> int:
    if not value.isdigit() or len(value) > 19:
        raise InvalidInput(f"{name} is not a byte count")
    return int(value)


def _short(path: str) -> str:
    return path if len(path) <= 200 else path[:199] + "\u2026"
