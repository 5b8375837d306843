"""Event transports and the worker loop that consumes them.

Public surface:

* :class:`Transport` / :class:`Subscription`: the seam every transport implements:
  ``publish(events)``, ``subscribe(group, after)``, ``fetch``, ``commit(position)``.
* :class:`InProcessTransport` (embedded default), :class:`RedisStreamTransport`
  (consumer groups), :class:`NatsTransport` (JetStream durable consumers), and
  :func:`open_transport` choosing one from a URL.
* :class:`StreamWorker`, driving a :class:`BatchHandler`: fetch, handle, commit only
  what the handler made durable; resume after the handler's durable position.

The wire encoding of events (``streaming.transport.encode_event``) is the transports'
own plumbing, not part of this surface.
"""

from __future__ import annotations

from augur.streaming.nats_jetstream import NatsTransport
from augur.streaming.redis_streams import RedisStreamTransport
from augur.streaming.transport import (
    InProcessTransport,
    Message,
    Subscription,
    Transport,
)
from augur.streaming.transport_factory import open_transport
from augur.streaming.worker import BatchHandler, StreamWorker, WorkerStats

__all__ = [
    "BatchHandler",
    "InProcessTransport",
    "Message",
    "NatsTransport",
    "RedisStreamTransport",
    "StreamWorker",
    "Subscription",
    "Transport",
    "WorkerStats",
    "open_transport",
]
