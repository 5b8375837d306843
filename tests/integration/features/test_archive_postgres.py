"""The PostgreSQL event archive passes the same conformance cases as the Parquet one."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from archive_cases import CASES, VIEW, messages
from augur.errors import ServiceUnavailable
from augur.features import EventArchive, PostgresArchive, open_archive

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_postgres_archive_conformance(case: Callable[[Callable[[], EventArchive]], None],
                                      postgres_schema_url: str) -> None:
    case(lambda: open_archive(f"{postgres_schema_url}#events"))


def test_counts_and_an_unreachable_server(postgres_schema_url: str) -> None:
    archive = PostgresArchive(f"{postgres_schema_url}#events")
    writer = archive.writer(VIEW)
    writer.recover(None)
    writer.add(messages(14), ["accepted"] * 13 + ["late"], 1_767_225_600_000)
    writer.seal()
    assert archive.counts("orders") == []  # sealed, not committed: invisible
    writer.commit()
    writer.close()
    assert [(c.writer, c.outcome, c.events) for c in archive.counts("orders")] == [
        ("shop_orders", "accepted", 13), ("shop_orders", "late", 1)]
    assert archive.counts("orders", since_ms=1_767_225_600_001) == []
    with psycopg.connect(postgres_schema_url) as conn:  # plain SQL users see typed rows
        row = conn.execute("SELECT fields->>'courier', (fields->>'items')::int, event_time "
                           "FROM events WHERE seq = 2").fetchone()
    assert row == ("c0", 2, 10_200)
    dead = PostgresArchive("postgresql://augur:hunter2@127.0.0.1:1/test#events")
    with pytest.raises(ServiceUnavailable) as info:
        dead.counts("orders")
    assert "hunter2" not in str(info.value) and "***" in str(info.value)
