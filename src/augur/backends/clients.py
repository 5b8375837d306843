"""Clients of the network services: Redis (blocking and asyncio) and NATS.

Each factory takes a parsed :class:`BackendURL`, so ``redis://``, ``rediss://``
and ``unix://`` URLs work wherever Redis does, and a malformed URL or an option
the driver refuses is a :class:`~augur.errors.ConfigError` naming the URL with
its password hidden. Creating a Redis client does not connect; its first
command does (inside the caller's :func:`~augur.backends.errors.translate_errors`).
"""

from __future__ import annotations

import logging
from typing import Any

from augur.backends.errors import one_line, translate_errors
from augur.backends.urls import BackendURL
from augur.errors import ConfigError

CONNECT_TIMEOUT_S = 10.0

log = logging.getLogger("augur.backends")


def _check(url: BackendURL, scheme: str) -> None:
    if url.scheme != scheme:
        raise ConfigError(f"{url.describe()} is not a {scheme} URL")


def _redis(cls: Any, url: BackendURL, connect_timeout: float) -> Any:
    _check(url, "redis")
    try:
        return cls.from_url(url.driver_url, socket_connect_timeout=connect_timeout)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"bad Redis URL {url.describe()}: {url.mask(one_line(exc))}") from exc


def redis_client(url: BackendURL, *, connect_timeout: float = CONNECT_TIMEOUT_S) -> Any:
    """A blocking ``redis.Redis`` client (bytes replies) for ``url``.

    Raises:
        ConfigError: redis-py refuses the URL or one of its parameters.
    """
    import redis

    return _redis(redis.Redis, url, connect_timeout)


def async_redis_client(url: BackendURL, *, connect_timeout: float = CONNECT_TIMEOUT_S) -> Any:
    """A ``redis.asyncio.Redis`` client (bytes replies) for ``url``.

    Raises:
        ConfigError: redis-py refuses the URL or one of its parameters.
    """
    import redis.asyncio as aioredis

    return _redis(aioredis.Redis, url, connect_timeout)


async def connect_nats(url: BackendURL, *, connect_timeout: float = 5.0,
                       reconnect_attempts: int = 3, service: str = "NATS") -> Any:
    """Connect to NATS (the ``nats.aio.client.Client``).

    nats-py reports connection problems to an error callback as well as raising
    them; the callback here logs them with the URL's password hidden.

    Args:
        url: a ``nats://`` or ``tls://`` URL.
        connect_timeout: seconds per connection attempt.
        reconnect_attempts: attempts after a lost connection (0: none).
        service: how messages name the server.

    Raises:
        ServiceUnavailable: no server answered, or it refused the credentials.
    """
    import nats

    _check(url, "nats")

    async def quiet(exc: Exception) -> None:
        log.warning("%s %s: %s", service, url.describe(), url.mask(one_line(exc)))

    with translate_errors("connecting", url, service=service):
        return await nats.connect(url.driver_url, connect_timeout=connect_timeout,
                                  max_reconnect_attempts=reconnect_attempts,
                                  allow_reconnect=reconnect_attempts != 0, error_cb=quiet)
