"""No backend error shows the password of its URL: real servers, refused or unreachable.

Each case is a URL with a password and a part that uses it; the error the part
raises (and every error chained under it, and every log line) must not contain
the password. S3 (wrong credentials) is covered with the moto server in
tests/integration/registry/test_s3_artifacts.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from augur.batch import open_sink, open_source
from augur.errors import AugurError, ConfigError, ServiceUnavailable
from augur.features import open_online_store
from augur.features.offline import read_postgres
from augur.registry import Registry
from augur.streaming import open_transport

pytestmark = pytest.mark.integration

SECRET = "s3cret-Pw_9"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_port(url: str, default: int) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or default}"


def chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def registry_op(url: str, tmp: Path) -> None:
    Registry(tmp / "home", url=url).list_models()


def source_op(url: str, tmp: Path) -> None:
    list(open_source(f"{url}?query=SELECT 1 AS id").chunks(10))


def sink_op(url: str, tmp: Path) -> None:
    open_sink(url, tmp).open()


def offline_op(url: str, tmp: Path) -> None:
    read_postgres(f"{url}#events")


def online_op(url: str, tmp: Path) -> None:
    store = open_online_store(f"{url}?namespace=t{uuid.uuid4().hex[:6]}")
    try:
        store.read("view", ["k"])
    finally:
        store.close()


def transport_op(url: str, tmp: Path) -> None:
    async def go() -> None:
        transport = open_transport(url, f"secrets-{uuid.uuid4().hex[:8]}")
        try:
            await transport.publish([{"a": 1}])
        finally:
            await transport.close()

    asyncio.run(go())


Op = Callable[[str, Path], None]


def cases(postgres: str, redis: str, nats_: str) -> list[tuple[str, Op, str, type[AugurError]]]:
    closed = closed_port()
    pg_down = f"postgresql://augur:{SECRET}@127.0.0.1:{closed}/test"
    pg_role = f"postgresql://nosuchrole_{uuid.uuid4().hex[:6]}:{SECRET}@{host_port(postgres, 5432)}/test"
    pg_db = f"postgresql://postgres:{SECRET}@{host_port(postgres, 5432)}/nosuchdb_{uuid.uuid4().hex[:6]}"
    redis_down = f"redis://:{SECRET}@127.0.0.1:{closed}/0"
    redis_user = f"redis://nosuchuser:{SECRET}@{host_port(redis, 6379)}/0"
    nats_down = f"nats://augur:{SECRET}@127.0.0.1:{closed}"
    out: list[tuple[str, Op, str, type[AugurError]]] = []
    for url in (pg_down, pg_role, pg_db):
        for op in (registry_op, source_op, sink_op, offline_op):
            out.append((op.__name__, op, url, ServiceUnavailable))
    for url in (redis_down, redis_user):
        for op in (sink_op, online_op, transport_op):
            out.append((op.__name__, op, url, ServiceUnavailable))
    out.append(("transport_op", transport_op, nats_down, ServiceUnavailable))
    return out


def test_no_backend_error_contains_the_password(
        postgres_url: str, redis_url: str, nats_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    for name, op, url, kind in cases(postgres_url, redis_url, nats_url):
        with pytest.raises(AugurError) as err:
            op(url, tmp_path)
        where = f"{name} on {url.replace(SECRET, '***')}"
        assert isinstance(err.value, kind), f"{where}: {err.value!r}"
        assert "***" in str(err.value) or SECRET not in url, where  # it names the URL, masked
        for exc in chain(err.value):
            assert SECRET not in str(exc), f"{where}: {type(exc).__name__}: {exc}"
            assert SECRET not in repr(exc.args), where
        seen.append(str(err.value))
    assert len(seen) == 19
    for record in caplog.records:
        assert SECRET not in record.getMessage(), record.getMessage()


def test_a_malformed_url_with_a_password_is_a_config_error_without_it(tmp_path: Path) -> None:
    for url in (f"postgresql://u:{SECRET}@h:port/db", f"redis://:{SECRET}@h/zero",
                f"mysql://u:{SECRET}@h/db", f"nats://u:{SECRET}@h:4222/x"):
        for op in (registry_op, sink_op, online_op, transport_op):
            try:
                op(url, tmp_path)
            except AugurError as exc:
                assert isinstance(exc, ConfigError), (url, exc)
                assert SECRET not in str(exc)
            else:
                pytest.fail(f"{op.__name__} accepted {url}")
