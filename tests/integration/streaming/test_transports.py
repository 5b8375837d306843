"""Every transport against its real server: publish, consume as a group, commit, resume."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from augur.errors import InvalidName
from augur.streaming import (
    InProcessTransport,
    NatsTransport,
    RedisStreamTransport,
    Transport,
)
from augur.streaming.transport import position_order

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "redis", "nats"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    name = f"t{uuid.uuid4().hex[:12]}"
    if request.param == "memory":
        yield InProcessTransport()
    elif request.param == "redis":
        url = request.getfixturevalue("redis_url")
        t = RedisStreamTransport(url, f"augur-test:{name}")
        yield t
        await t.close()
        redis.Redis.from_url(url).delete(f"augur-test:{name}")
    else:
        t2 = NatsTransport(request.getfixturevalue("nats_url"), name)
        yield t2
        await t2.delete()
        await t2.close()


async def _drain(sub: object, want: int) -> list[dict[str, object]]:
    got: list[dict[str, object]] = []
    for _ in range(50):
        batch = await sub.fetch(10, 0.1)  # type: ignore[attr-defined]
        got.extend(m.event for m in batch)
        if len(got) >= want:
            break
    return got


async def test_group_resumes_after_the_committed_position(transport: Transport) -> None:
    positions = await transport.publish([{"i": i} for i in range(6)])
    assert [position_order(p) for p in positions] == sorted(position_order(p) for p in positions)
    sub = await transport.subscribe("g1", None)
    first = await sub.fetch(4, 1.0)
    while len(first) < 4:
        first += await sub.fetch(4 - len(first), 1.0)
    assert [m.event["i"] for m in first] == [0, 1, 2, 3]
    await sub.commit(first[2].position)
    await sub.close()
    # A restarted consumer resumes after the durable position, re-reading the uncommitted one.
    again = await transport.subscribe("g1", first[2].position)
    rest = await _drain(again, 3)
    assert [e["i"] for e in rest] == [3, 4, 5]
    await again.close()


async def test_malformed_payload_is_delivered_as_invalid(transport: Transport) -> None:
    if isinstance(transport, RedisStreamTransport):
        client = redis.Redis.from_url(transport.url.driver_url)
        client.xadd(transport.stream, {"e": b"{not json"})
    elif isinstance(transport, NatsTransport):
        js = await transport._jetstream()
        await js.publish(transport.subject, b"\xff\xfe")
    else:
        assert isinstance(transport, InProcessTransport)
        transport._log.append(b"{not json")  # what a buggy producer sharing the log could do
    sub = await transport.subscribe("g2", None)
    got = await _drain(sub, 1)
    assert "__invalid__" in got[0]
    await sub.close()


def test_bad_names_are_refused() -> None:
    with pytest.raises(InvalidName, match="stream name"):
        RedisStreamTransport("redis://127.0.0.1:6379/0", "has space")
    with pytest.raises(InvalidName, match="stream name"):
        NatsTransport("nats://127.0.0.1:4222", "dots.not.allowed")
    with pytest.raises(InvalidName, match="group name"):
        asyncio.run(RedisStreamTransport("redis://127.0.0.1:6379/0", "ok").subscribe("a b", None))
