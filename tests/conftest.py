"""Shared fixtures: a throwaway registry, example models, and the real services.

Service URLs come from the environment, with the defaults of the development and
CI machines. A missing service skips its tests with a message naming it, unless
``AUGUR_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns the skip into a failure.

Under ``AUGUR_REQUIRE_SERVICES=1`` every skip fails, whatever raised it
(``pytest.skip``, ``importorskip``, a ``skipif`` mark, a module skipped at import):
CI must run every test for real. A test that may legitimately not apply on the CI
machine says so with ``@pytest.mark.ci_may_skip("why")``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from augur.registry import Registry

REQUIRE_ENV = "AUGUR_REQUIRE_SERVICES"


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ci_may_skip(reason): this test may skip under "
                                       f"{REQUIRE_ENV}=1 (it does not apply to every machine)")


def _skip_reason(longrepr: object) -> str:
    text = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 \
        else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a skipped test fails, naming why it skipped."""
    outcome = yield
    report = outcome.get_result()
    if _required() and report.skipped and not hasattr(report, "wasxfail") \
            and item.get_closest_marker("ci_may_skip") is None:
        report.outcome = "failed"
        report.longrepr = (f"skipped under {REQUIRE_ENV}=1, where every test must run: "
                           f"{_skip_reason(report.longrepr)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """Under CI a module skipped at import (``importorskip`` at the top) fails too."""
    outcome = yield
    report = outcome.get_result()
    if _required() and report.skipped:
        report.outcome = "failed"
        report.longrepr = (f"{collector.nodeid} skipped under {REQUIRE_ENV}=1, where every "
                           f"test must run: {_skip_reason(report.longrepr)}")

POSTGRES_URL = os.environ.get("AUGUR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AUGUR_TEST_REDIS", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("AUGUR_TEST_NATS", "nats://127.0.0.1:4222")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1",
                                       parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> str:
    """Return ``url`` if the service answers; else skip (or fail under AUGUR_REQUIRE_SERVICES)."""
    if _reachable(url, default_port):
        return url
    message = f"{name} is not reachable at {url}"
    if _required():
        pytest.fail(f"{message} and {REQUIRE_ENV}=1")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    return require_service("PostgreSQL", POSTGRES_URL, 5432)


@pytest.fixture
def redis_url() -> str:
    return require_service("Redis", REDIS_URL, 6379)


@pytest.fixture
def nats_url() -> str:
    return require_service("NATS", NATS_URL, 4222)


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema, dropped afterwards."""
    import psycopg

    schema = f"augur_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest) -> str | None:
    """Each registry metadata backend in turn: ``None`` (SQLite) or a PostgreSQL schema URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def registry_on_each_backend(tmp_path: Path, registry_url: str | None) -> Registry:
    """An empty registry, once with SQLite metadata and once with PostgreSQL metadata."""
    return Registry(tmp_path / "augur-home", url=registry_url)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """An empty registry in a temporary AUGUR_HOME."""
    return Registry(tmp_path / "augur-home")


@pytest.fixture
def augur_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point AUGUR_HOME at a temporary folder for code that reads the environment."""
    home = tmp_path / "augur-home"
    monkeypatch.setenv("AUGUR_HOME", str(home))
    yield home


@pytest.fixture(scope="session")
def examples_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A registry holding the example models (iris, diabetes, cancer) @production.

    Session-scoped: treat it as read-only.
    """
    from augur.examples import register_examples

    reg = Registry(tmp_path_factory.mktemp("examples") / "augur-home")
    register_examples(reg)
    return reg
