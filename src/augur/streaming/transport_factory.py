"""Opening the transport a URL names: in-process, Redis Streams or NATS JetStream.

Kept apart from the protocol module (transport.py) so that the transports import
the protocol and the protocol imports none of them.
"""

from __future__ import annotations

from augur.backends import parse_url
from augur.streaming.nats_jetstream import NatsTransport
from augur.streaming.redis_streams import RedisStreamTransport
from augur.streaming.transport import InProcessTransport, Transport


def open_transport(url: str, stream: str) -> Transport:
    """Open the transport a URL names, for stream ``stream``.

    Args:
        url: ``memory://`` (a new in-process log); ``redis://host:port/db``,
            ``rediss://...`` or ``unix:///path.sock``; ``nats://host:port`` or
            ``tls://host:port``. The syntax is :mod:`augur.backends.urls`'.
        stream: the stream (Redis key, JetStream stream and subject) name.

    Raises:
        ConfigError: a malformed URL or another scheme.
        InvalidName: a bad stream name.
    """
    parsed = parse_url(url, schemes=("memory", "redis", "nats"), what="transport URL")
    if parsed.scheme == "redis":
        return RedisStreamTransport(parsed, stream)
    if parsed.scheme == "nats":
        return NatsTransport(parsed, stream)
    return InProcessTransport()
