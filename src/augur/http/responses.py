"""Error responses for Starlette apps, from the one table in :mod:`augur.http.status`.

Every Starlette app augur serves (the cold serving routes, the edge pages, the
console) installs :func:`exception_handlers`, so an unknown route, a wrong method, a
refused token or a failed lookup reads ``{"error": "..."}`` with the same status
wherever it happens; a wrong method also carries ``Allow``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from augur.errors import AugurError, InvalidInput
from augur.http.status import error_body, status_of

log = logging.getLogger("augur.http")

Handler = Callable[[Request, Exception], Coroutine[Any, Any, Response]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (numpy values included)."""
    return Response(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json", headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    """A Starlette request's JSON object body (``{}`` when empty).

    The body arrives through :class:`~augur.http.body.BodyLimit`, so it is refused
    before it is buffered past the limit.

    Raises:
        InvalidInput: the body is not a JSON object.
    """
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON in the request body: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("the request body must be a JSON object")
    return doc


_NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def _headers_of(exc: Exception) -> dict[str, str]:
    allowed = getattr(exc, "allowed", None)
    if allowed:
        return {**_NOSNIFF, "Allow": ", ".join(allowed)}
    if status_of(exc) == 429:
        return {**_NOSNIFF, "Retry-After": "1"}
    if status_of(exc) == 401:
        return {**_NOSNIFF, "WWW-Authenticate": 'Bearer realm="augur"'}
    return dict(_NOSNIFF)


async def _augur_error(request: Request, exc: Exception) -> Response:
    status = status_of(exc)
    if status == 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc,
                  exc_info=not isinstance(exc, AugurError))
    return Response(error_body(exc), status_code=status, media_type="application/json",
                    headers=_headers_of(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path if len(request.url.path) <= 200 else request.url.path[:199] + "\u2026"
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {path}"
    else:
        message = str(exc.detail)
    return Response(orjson.dumps({"error": message}), status_code=exc.status_code,
                    media_type="application/json", headers={**_NOSNIFF, **(exc.headers or {})})


def exception_handlers() -> dict[Any, Handler]:
    """Handlers for ``Starlette(exception_handlers=...)``: augur errors by the one table,
    Starlette's 404/405 as v2 error bodies, anything else a logged 500."""
    return {AugurError: _augur_error, HTTPException: _http_error, Exception: _augur_error}
