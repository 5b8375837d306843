"""Reading a request body under a size limit, before anything is buffered.

A declared ``Content-Length`` over the limit is refused before the first chunk is
read; a chunked body is counted as it arrives and refused the moment it passes the
limit; a client that stops sending (a body that never ends) is cut off after
``timeout`` seconds. :func:`read_body` serves the hand-routed inference endpoints and
:class:`BodyLimit` wraps every other ASGI app, so every route has the same limit
rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from augur.errors import InvalidInput
from augur.http.status import BodyTimeout, PayloadTooLarge, error_body, status_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Seconds a client may take to send a whole body.
BODY_TIMEOUT_S = 60.0


class ClientDisconnected(Exception):
    """The client went away before the body was read (nothing to answer)."""


def declared_length(headers: Iterable[tuple[bytes, bytes]], limit: int) -> int | None:
    """The ``Content-Length`` a request declares (``None``: none), checked against ``limit``.

    Raises:
        InvalidInput: the header is not a decimal byte count.
        PayloadTooLarge: it is over ``limit``.
    """
    for key, value in headers:
        if key == b"content-length":
            if not value.isdigit() or len(value) > 19:
                raise InvalidInput("Content-Length must be a decimal byte count")
            length = int(value)
            if length > limit:
                raise PayloadTooLarge(f"request body of {length} bytes is over the limit of "
                                      f"{limit} bytes")
            return length
    return None


async def read_body(scope: Scope, receive: Receive, limit: int,
                    timeout: float = BODY_TIMEOUT_S) -> bytes:
    """The whole body of an HTTP request, at most ``limit`` bytes.

    Raises:
        PayloadTooLarge: the body is (or declares to be) over ``limit``.
        InvalidInput: a malformed ``Content-Length``.
        BodyTimeout: the body did not arrive within ``timeout`` seconds.
        ClientDisconnected: the client went away.
    """
    declared_length(scope["headers"], limit)
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        return body
    try:
        async with asyncio.timeout(timeout):
            return await _rest_of_body(receive, body, limit)
    except TimeoutError:
        raise BodyTimeout(f"the request body did not arrive within {timeout:g} s") from None


async def _rest_of_body(receive: Receive, first: bytes, limit: int) -> bytes:
    chunks = [first]
    size = len(first)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class BodyLimit:
    """ASGI middleware: every request of ``app`` gets the :func:`read_body` rule.

    A declared length over ``limit`` is answered 413 without calling the app; a
    chunked body that grows past it raises :class:`PayloadTooLarge` from the app's
    ``receive`` (the app's error handler answers it); a body that stalls raises
    :class:`~augur.http.status.BodyTimeout` the same way.

    Args:
        app: the wrapped application.
        limit: largest body in bytes.
        timeout: seconds a client may take to send a whole body.
    """

    def __init__(self, app: ASGIApp, limit: int, timeout: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared_length(scope["headers"], self.limit)
        except InvalidInput as exc:
            await _answer(send, exc)
            return
        limit, timeout = self.limit, self.timeout
        received = 0
        done = False
        loop = asyncio.get_running_loop()
        deadline: float | None = None

        async def guarded() -> Message:
            nonlocal received, deadline, done
            if done:  # the body is in; later calls wait for a disconnect, untimed
                return await receive()
            if deadline is None:
                deadline = loop.time() + timeout
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0.0)):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(f"the request body did not arrive within {timeout:g} s") \
                    from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
                done = not message.get("more_body", False)
            return message

        await self.app(scope, guarded, send)


async def _answer(send: Send, exc: Exception) -> None:
    body = error_body(exc)
    await send({"type": "http.response.start", "status": status_of(exc),
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
