"""NATS JetStream transport: a stream per event source, a durable pull consumer per group.

Subscribing (re)creates the group's durable consumer at the position the worker
says is durable (``DeliverPolicy.BY_START_SEQUENCE``), so a restarted worker is
handed every message after its last durable one; ``AckPolicy.ALL`` lets one
acknowledgement commit everything before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from augur.backends import BackendURL, connect_nats, parse_url, translate_errors
from augur.errors import InvalidInput, InvalidName, ServiceUnavailable
from augur.streaming.transport import Message, decode_event, encode_event

_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,200}$")


def _talking(url: BackendURL, what: str) -> AbstractContextManager[None]:
    return translate_errors(what, url, service="event stream")


class NatsTransport:
    """Events in one JetStream stream, subject ``augur.<stream>``.

    Args:
        url: ``nats://host:port`` or ``tls://host:port`` (parsed or as text).
        stream: the stream name (letters, digits, _ and -).

    Raises:
        ConfigError: ``url`` is not a NATS URL.
        InvalidName: a bad stream name.
    """

    def __init__(self, url: BackendURL | str, stream: str) -> None:
        if not _NAME.match(stream):
            raise InvalidName(f"JetStream stream name {stream!r}: use letters, digits, _ and -")
        self.url = url if isinstance(url, BackendURL) else parse_url(
            url, schemes=("nats",), what="transport URL")
        self.stream, self.subject = stream, f"augur.{stream}"
        self._nc: Any = None
        self._js: Any = None

    async def _jetstream(self) -> Any:
        if self._js is None:
            self._nc = await connect_nats(self.url, service="event stream")
            with _talking(self.url, "opening the stream"):
                js = self._nc.jetstream()
                try:
                    await js.stream_info(self.stream)
                except NotFoundError:
                    await js.add_stream(StreamConfig(name=self.stream, subjects=[self.subject]))
            self._js = js
        return self._js

    async def publish(self, events: Sequence[Mapping[str, Any]]) -> list[str]:
        """Publish events and wait for JetStream's acknowledgements; return sequences."""
        js = await self._jetstream()
        payloads = [encode_event(e) for e in events]
        with _talking(self.url, "publishing"):
            acks = await asyncio.gather(*(js.publish(self.subject, p) for p in payloads))
        return [str(a.seq) for a in acks]

    async def subscribe(self, group: str, after: str | None) -> NatsSubscription:
        """(Re)create durable consumer ``group`` starting just after ``after``."""
        if not _NAME.match(group):
            raise InvalidName(f"consumer name {group!r}: use letters, digits, _ and -")
        start = 0 if after is None else _seq(after)
        js = await self._jetstream()
        config = ConsumerConfig(
            durable_name=group, ack_policy=AckPolicy.ALL, ack_wait=300.0,
            max_ack_pending=-1, filter_subject=self.subject,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start else DeliverPolicy.ALL,
            opt_start_seq=start + 1 if start else None)
        with _talking(self.url, "subscribing"):
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(self.stream, group)
            await js.add_consumer(self.stream, config)
            sub = await js.pull_subscribe_bind(durable=group, stream=self.stream)
        return NatsSubscription(sub, self.url)

    async def delete(self) -> None:
        """Delete the stream (tests and tear-down)."""
        js = await self._jetstream()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(self.stream)

    async def close(self) -> None:
        """Drain and close the connection."""
        if self._nc is not None:
            await self._nc.close()
            self._nc = self._js = None


def _seq(position: str) -> int:
    try:
        value = int(position)
    except ValueError:
        raise InvalidInput(f"{position!r} is not a JetStream sequence") from None
    if value < 0:
        raise InvalidInput(f"{position!r} is not a JetStream sequence")
    return value


class NatsSubscription:
    """A pull subscription on a durable consumer."""

    def __init__(self, sub: Any, url: BackendURL) -> None:
        self._sub, self._url = sub, url
        self._unacked: dict[int, Any] = {}

    async def fetch(self, max_messages: int, timeout: float) -> list[Message]:
        """Fetch up to ``max_messages``, waiting at most ``timeout`` seconds."""
        try:
            with _talking(self._url, "reading"):
                msgs = await self._sub.fetch(batch=max_messages, timeout=max(timeout, 0.001))
        except ServiceUnavailable as exc:
            if isinstance(exc.__cause__, TimeoutError | NatsTimeout):
                return []  # nothing arrived within the timeout
            raise
        out = []
        for msg in msgs:
            seq = int(msg.metadata.sequence.stream)
            self._unacked[seq] = msg
            out.append(Message(str(seq), (seq, 0), decode_event(msg.data)))
        return out

    async def commit(self, position: str) -> None:
        """Acknowledge everything up to ``position`` (AckPolicy.ALL)."""
        limit = _seq(position)
        done = [s for s in self._unacked if s <= limit]
        if not done:
            return
        with _talking(self._url, "acknowledging"):
            await self._unacked[max(done)].ack()
        for s in done:
            del self._unacked[s]

    async def close(self) -> None:
        """Unsubscribe; unacknowledged messages stay with the durable consumer."""
        with contextlib.suppress(NatsError, OSError):
            await self._sub.unsubscribe()
