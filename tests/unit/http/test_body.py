"""The one body reader: limits checked before buffering, stalled bodies cut off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from augur.errors import InvalidInput, RequestTimeout
from augur.http import BodyLimit, ClientDisconnected, PayloadTooLarge, read_body


def _scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/x", "headers": headers or []}


class _Chunks:
    """A receive() that hands out body chunks and counts what was taken."""

    def __init__(self, chunks: list[bytes], stall: bool = False) -> None:
        self.chunks: Iterator[bytes] = iter(chunks)
        self.taken = 0
        self.stall = stall
        self.last = len(chunks)

    async def __call__(self) -> dict[str, Any]:
        try:
            chunk = next(self.chunks)
        except StopIteration:
            if self.stall:
                await asyncio.sleep(3600)
            return {"type": "http.disconnect"}
        self.taken += 1
        return {"type": "http.request", "body": chunk,
                "more_body": self.stall or self.taken < self.last}


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    receive = _Chunks([b"x" * 10])
    with pytest.raises(PayloadTooLarge):
        await read_body(_scope([(b"content-length", b"2000")]), receive, 1000)
    assert receive.taken == 0


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1e3", b" 10", b"9" * 30])
async def test_a_malformed_content_length_is_400(value: bytes) -> None:
    with pytest.raises(InvalidInput, match="Content-Length"):
        await read_body(_scope([(b"content-length", value)]), _Chunks([b""]), 1000)


async def test_a_chunked_body_stops_at_the_limit() -> None:
    receive = _Chunks([b"x" * 400] * 100)
    with pytest.raises(PayloadTooLarge):
        await read_body(_scope(), receive, 1000)
    assert receive.taken == 3  # not one chunk more than needed to know


async def test_a_body_that_never_ends_times_out() -> None:
    with pytest.raises(RequestTimeout):
        await read_body(_scope(), _Chunks([b"x"], stall=True), 1000, timeout=0.05)


async def test_a_disconnect_is_no_answer() -> None:
    with pytest.raises(ClientDisconnected):
        await read_body(_scope(), _Chunks([]), 1000)
    assert await read_body(_scope(), _Chunks([b"ab", b"cd"]), 1000) == b"abcd"


async def test_the_middleware_answers_413_without_calling_the_app() -> None:
    called: list[bool] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        called.append(True)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    limited = BodyLimit(app, 100)
    await limited(_scope([(b"content-length", b"101")]), _Chunks([]), send)
    assert not called and sent[0]["status"] == 413


async def test_the_middleware_refuses_a_chunked_body_inside_the_app() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if not message.get("more_body"):
                return

    async def send(message: dict[str, Any]) -> None:
        pass

    with pytest.raises(PayloadTooLarge):
        await BodyLimit(app, 1000)(_scope(), _Chunks([b"x" * 600] * 10), send)
    with pytest.raises(RequestTimeout):
        await BodyLimit(app, 1000, timeout=0.05)(_scope(), _Chunks([b"x"], stall=True), send)
