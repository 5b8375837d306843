"""The transport seam: publish events to a stream, consume them in a group, commit.

Every transport (in-process, Redis Streams, NATS JetStream) offers the same small
async interface, so the worker loop and its tests run against any of them. A
*position* is the transport's own offset of a message (a Redis entry id, a JetStream
sequence), kept as text; :attr:`Message.order` makes positions comparable.
:func:`~augur.streaming.transport_factory.open_transport` picks one from a URL.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from augur.errors import InvalidInput


@dataclass(frozen=True)
class Message:
    """One event read from a stream.

    Attributes:
        position: the transport's offset of the message, as text.
        order: ``position`` as integers that sort in stream order.
        event: the decoded event.
    """

    position: str
    order: tuple[int, int]
    event: dict[str, Any]


def position_order(position: str) -> tuple[int, int]:
    """The sort key of a position: ``ms-seq`` (Redis) or a sequence number.

    Raises:
        InvalidInput: the position is neither.
    """
    head, _, tail = position.partition("-")
    try:
        return int(head), int(tail) if tail else 0
    except ValueError:
        raise InvalidInput(f"{position!r} is not a stream position") from None


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Serialize an event for the wire (JSON).

    Raises:
        InvalidInput: the event is not JSON-serializable.
    """
    try:
        return orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as exc:
        raise InvalidInput(f"event cannot be serialized: {exc}") from exc


def decode_event(data: bytes) -> dict[str, Any]:
    """Parse an event from the wire; a malformed one becomes ``{"__invalid__": text}``."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {"__invalid__": data[:200].decode("utf-8", "replace")}
    return event if isinstance(event, dict) else {"__invalid__": repr(event)[:200]}


class Subscription(Protocol):
    """Messages of one stream delivered to one consumer group."""

    async def fetch(self, max_messages: int, timeout: float) -> list[Message]:
        """Return up to ``max_messages`` new messages, waiting at most ``timeout`` seconds."""
        ...

    async def commit(self, position: str) -> None:
        """Acknowledge every message up to and including ``position``."""
        ...

    async def close(self) -> None:
        """Release the subscription (uncommitted messages will be delivered again)."""
        ...


class Transport(Protocol):
    """A stream of events: publish, subscribe as a group from a position."""

    async def publish(self, events: Sequence[Mapping[str, Any]]) -> list[str]:
        """Append events; return their positions."""
        ...

    async def subscribe(self, group: str, after: str | None) -> Subscription:
        """Consume as ``group`` from just after ``after`` (None: from the start)."""
        ...

    async def close(self) -> None:
        """Close connections."""
        ...


class InProcessTransport:
    """The embedded default: an in-memory log shared by the threads of one process.

    Groups remember their committed position, like a broker's consumer groups.
    """

    def __init__(self) -> None:
        self._log: list[bytes] = []
        self._lock = threading.Lock()
        self.committed: dict[str, int] = {}

    async def publish(self, events: Sequence[Mapping[str, Any]]) -> list[str]:
        """Append events; return their positions (1-based sequence numbers)."""
        return self.publish_sync(events)

    def publish_sync(self, events: Sequence[Mapping[str, Any]]) -> list[str]:
        """:meth:`publish` for code without an event loop."""
        data = [encode_event(e) for e in events]
        with self._lock:
            start = len(self._log)
            self._log.extend(data)
        return [str(start + i + 1) for i in range(len(data))]

    async def subscribe(self, group: str, after: str | None) -> _InProcessSubscription:
        """Consume from just after ``after`` (a sequence number) or from the start."""
        return _InProcessSubscription(self, group, 0 if after is None else _seq(after))

    async def close(self) -> None:
        """Nothing to close."""

    def _read(self, start: int, n: int) -> list[bytes]:
        with self._lock:
            return self._log[start:start + n]


def _seq(position: str) -> int:
    try:
        value = int(position)
    except ValueError:
        raise InvalidInput(f"position {position!r} is not a sequence number") from None
    if value < 0:
        raise InvalidInput(f"position {position!r} is negative")
    return value


class _InProcessSubscription:
    def __init__(self, transport: InProcessTransport, group: str, after: int) -> None:
        self._t, self._group, self._next = transport, group, after

    async def fetch(self, max_messages: int, timeout: float) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            data = self._t._read(self._next, max_messages)
            if data or loop.time() >= deadline:
                break
            await asyncio.sleep(min(0.002, max(0.0, deadline - loop.time())))
        out = [Message(str(self._next + i + 1), (self._next + i + 1, 0), decode_event(d))
               for i, d in enumerate(data)]
        self._next += len(data)
        return out

    async def commit(self, position: str) -> None:
        self._t.committed[self._group] = _seq(position)

    async def close(self) -> None:
        return None
