"""Redis Streams transport: XADD to publish, consumer groups (XREADGROUP/XACK) to consume.

The group's position is set (``XGROUP SETID``) to the position the consumer says is
durable when it subscribes, so a restarted worker is handed every entry after its
last durable one again, including the ones it had read but not committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from redis.exceptions import ResponseError

from augur.backends import BackendURL, async_redis_client, parse_url, translate_errors
from augur.errors import InvalidInput, InvalidName
from augur.streaming.transport import Message, decode_event, encode_event

_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")
_ID = re.compile(r"^(\d+)-(\d+)$")


def _order(entry_id: str) -> tuple[int, int]:
    m = _ID.match(entry_id)
    if not m:
        raise InvalidInput(f"{entry_id!r} is not a Redis stream entry id (ms-seq)")
    return int(m.group(1)), int(m.group(2))


def _talking(url: BackendURL, what: str) -> AbstractContextManager[None]:
    return translate_errors(what, url, service="event stream")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamTransport:
    """Events in one Redis stream.

    Args:
        url: ``redis://host:port/db``, ``rediss://...`` or ``unix:///path.sock``
            (parsed or as text).
        stream: the stream key.
        maxlen: approximate cap on the stream length (None: unbounded).

    Raises:
        ConfigError: ``url`` is not a Redis URL.
        InvalidName: a bad stream name.
    """

    def __init__(self, url: BackendURL | str, stream: str, *,
                 maxlen: int | None = None) -> None:
        if not _NAME.match(stream):
            raise InvalidName(f"stream name {stream!r}: use letters, digits and _.:-")
        self.url = url if isinstance(url, BackendURL) else parse_url(
            url, schemes=("redis",), what="transport URL")
        self.stream, self.maxlen = stream, maxlen
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            self._client = async_redis_client(self.url)
        return self._client

    async def publish(self, events: Sequence[Mapping[str, Any]]) -> list[str]:
        """XADD each event (one pipeline); return the entry ids."""
        payloads = [encode_event(e) for e in events]
        with _talking(self.url, "publishing"):
            async with self._redis().pipeline(transaction=False) as pipe:
                for p in payloads:
                    pipe.xadd(self.stream, {"e": p}, maxlen=self.maxlen, approximate=True)
                ids = await pipe.execute()
        return [_text(i) for i in ids]

    async def subscribe(self, group: str, after: str | None) -> RedisStreamSubscription:
        """Join consumer group ``group``, positioned just after ``after``."""
        if not _NAME.match(group):
            raise InvalidName(f"group name {group!r}: use letters, digits and _.:-")
        start = "0" if after is None else f"{_order(after)[0]}-{_order(after)[1]}"
        client = self._redis()
        with _talking(self.url, "subscribing"):
            try:
                await client.xgroup_create(self.stream, group, id=start, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
                await client.xgroup_setid(self.stream, group, id=start)
        consumer = f"{os.uname().nodename}-{os.getpid()}"
        return RedisStreamSubscription(client, self.stream, group, consumer, self.url)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class RedisStreamSubscription:
    """One consumer of a Redis consumer group."""

    def __init__(self, client: Any, stream: str, group: str, consumer: str,
                 url: BackendURL) -> None:
        self._c, self._stream, self._group, self._consumer = client, stream, group, consumer
        self._url = url
        self._pending: list[str] = []

    async def fetch(self, max_messages: int, timeout: float) -> list[Message]:
        """XREADGROUP new entries, blocking up to ``timeout`` seconds."""
        with _talking(self._url, "reading"):
            reply = await self._c.xreadgroup(self._group, self._consumer, {self._stream: ">"},
                                             count=max_messages,
                                             block=max(1, int(timeout * 1000)))
        out: list[Message] = []
        streams: Any = reply or []
        for _stream, entries in streams:
            for entry_id, fields in entries:
                pos = _text(entry_id)
                self._pending.append(pos)
                data = fields.get(b"e") or fields.get("e") or b""
                out.append(Message(pos, _order(pos), decode_event(data)))
        return out

    async def commit(self, position: str) -> None:
        """XACK every delivered entry up to and including ``position``."""
        limit = _order(position)
        done = [p for p in self._pending if _order(p) <= limit]
        if not done:
            return
        with _talking(self._url, "acknowledging"):
            await self._c.xack(self._stream, self._group, *done)
        self._pending = [p for p in self._pending if _order(p) > limit]

    async def close(self) -> None:
        """Nothing to release: unacknowledged entries stay pending in the group."""
