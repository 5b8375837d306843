"""One parser for every backend URL: each part reads each documented form the same way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from augur.backends import BackendURL, parse_url
from augur.batch import open_sink, open_source
from augur.errors import ConfigError
from augur.features import open_online_store
from augur.registry.db import Database
from augur.registry.object_artifacts import open_artifacts
from augur.streaming import open_transport

README = Path(__file__).resolve().parents[3] / "README.md"


def documented_urls() -> list[str]:
    """Every URL form the README's "Backend URLs" section shows, in its order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Backend URLs", 1)[1].split("\n## ", 1)[0]
    forms = [m for m in re.findall(r"`([^`\s]+)`", section)
             if "://" in m or (m.endswith((".db", ".sqlite", ".sqlite3"))
                               and not m.startswith("."))]
    return [f for f in forms if not f.startswith("sqlite://name")]  # the refused example


def target(url: BackendURL) -> tuple[Any, ...]:
    """What a URL connects to (everything but augur's own options)."""
    return (url.scheme, url.driver_url, url.path, url.host, url.port, url.database,
            url.key_prefix)


def readers(url: BackendURL, text: str, tmp_path: Path) -> dict[str, BackendURL]:
    """How each part that accepts ``url``'s scheme parsed ``text`` (nothing connects)."""
    seen: dict[str, BackendURL] = {}
    if url.scheme == "postgresql":
        seen["registry"] = Database(tmp_path / "r.db", text).backend
    if url.scheme in ("sqlite", "postgresql"):
        sep = "&" if "?" in text else "?"
        source = open_source(f"{text}{sep}query=SELECT 1")
        seen["batch source"] = source.url  # type: ignore[attr-defined]
    if url.scheme in ("sqlite", "postgresql", "redis"):
        sink = open_sink(text, tmp_path)
        seen["batch sink"] = sink.url  # type: ignore[attr-defined]
    if url.scheme in ("sqlite", "redis", "memory"):
        store = open_online_store(text)
        if url.scheme != "memory":
            seen["online store"] = store.url  # type: ignore[attr-defined]
        store.close()
    if url.scheme in ("redis", "nats", "memory"):
        transport = open_transport(text, "events")
        if url.scheme != "memory":
            seen["stream transport"] = transport.url  # type: ignore[attr-defined]
    if url.scheme == "s3":
        seen["artifacts"] = open_artifacts(tmp_path, text, None).bucket.url  # type: ignore[attr-defined]
    return seen


def test_the_readme_documents_every_scheme() -> None:
    schemes = {parse_url(u).scheme for u in documented_urls()}
    assert schemes == {"sqlite", "postgresql", "redis", "nats", "s3", "memory"}
    assert len(documented_urls()) >= 13


@pytest.mark.parametrize("text", documented_urls())
def test_every_part_reads_a_documented_url_the_same_way(
        text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative SQLite files land here
    url = parse_url(text)
    seen = readers(url, text, tmp_path)
    expected_parts = {"sqlite": 3, "postgresql": 3, "redis": 3, "nats": 1, "s3": 1, "memory": 0}
    assert len(seen) == expected_parts[url.scheme], seen
    for part, got in seen.items():
        assert target(got) == target(url), part
    if url.scheme == "sqlite":
        absolute = text.startswith("sqlite:////")
        assert url.path is not None and url.path.is_absolute() == absolute
    assert "secret" not in url.describe()


@pytest.mark.parametrize("text, path", [
    ("sqlite:///x.db", Path("x.db")),
    ("sqlite:///sub/x.db?table=t", Path("sub/x.db")),
    ("sqlite:////abs/x.db", Path("/abs/x.db")),
    ("sqlite:///my%20file.db", Path("my file.db")),
    ("x.sqlite3", Path("x.sqlite3")),
])
def test_sqlite_paths_relative_and_absolute(text: str, path: Path) -> None:
    assert parse_url(text).path == path


def test_augur_options_leave_the_driver_url() -> None:
    url = parse_url("postgresql://u:pw@h:5433/db?options=-csearch_path%3Ds&table=t&sslmode=require")
    assert dict(url.options) == {"table": "t"}
    assert url.driver_url == "postgresql://u:pw@h:5433/db?options=-csearch_path%3Ds&sslmode=require"
    assert url.describe() == "postgresql://u:***@h:5433/db?options=-csearch_path%3Ds&sslmode=require"
    query = parse_url("sqlite:///in.db?query=SELECT a, b FROM t WHERE a = 'x&y' ORDER BY a")
    assert query.options["query"] == "SELECT a, b FROM t WHERE a = 'x&y' ORDER BY a"
    redis = parse_url("unix:///run/redis.sock?db=2&namespace=n")
    assert (redis.scheme, redis.path, redis.database) == ("redis", Path("/run/redis.sock"), "2")
    assert redis.driver_url == "unix:///run/redis.sock?db=2" and redis.option("namespace", "") == "n"
    bucket = parse_url("s3://models/a/b/")
    assert (bucket.database, bucket.key_prefix) == ("models", "a/b")


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   ", "empty"),
    ("sqlite://x.db", "reads as a host"),
    ("sqlite:///", "no database file"),
    ("sqlite:///x.db?timeout=3", "unknown parameter 'timeout'"),
    ("mysql://u:hunter2@h/db", "unsupported scheme 'mysql'"),
    ("postgresql://u:hunter2@h:port/db", "Port could not be cast"),
    ("postgresql://u:hunter2@h:99999/db", "out of range"),
    ("redis://:hunter2@h/zero", "database 'zero' is not a number"),
    ("nats://u:hunter2@h:4222/x", "no path"),
    ("s3://Bad_Bucket/x", "not a bucket name"),
    ("s3://bucket/a/../b", "'..' segment"),
    ("s3://key:hunter2@bucket/x", "endpoint and the credentials come from the environment"),
    ("s3://bucket/x?endpoint=http://evil", "s3://bucket/prefix only"),
    ("memory://x", "takes nothing"),
    ("predictions", "not a URL"),
])
def test_malformed_urls_are_one_clear_error_without_the_password(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        parse_url(text)
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize("text", [
    "sqlite:///x\x00.db", "redis://h\n:6379/0", "postgresql://h/db\r\nx", "nats://h:4222\x7f",
    "s3://bucket/a\x00b", "x" * 10_000 + ".db", "sqlite:///" + "a/" * 5_000 + "x.db",
])
def test_control_characters_and_huge_urls_never_crash(text: str) -> None:
    try:
        url = parse_url(text)
    except ConfigError:
        return
    assert url.scheme in ("sqlite", "postgresql", "redis", "nats", "s3")


def test_a_part_refuses_a_scheme_it_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported scheme 'nats'"):
        open_online_store("nats://h:4222")
    with pytest.raises(ConfigError, match="unsupported scheme 'sqlite'"):
        open_transport("sqlite:///x.db", "s")
    with pytest.raises(ConfigError, match="unsupported scheme 'redis'"):
        Database(tmp_path / "r.db", "redis://h/0")
    with pytest.raises(ConfigError, match="unsupported scheme 'postgresql'"):
        open_artifacts(tmp_path, "postgresql://h/db", None)
