"""The batch engine reads event histories from real PostgreSQL tables."""

from __future__ import annotations

import uuid

import pandas as pd
import psycopg
import pytest

from augur.errors import InvalidInput, ServiceUnavailable
from augur.features import Aggregation, BatchEngine, Entity, EventSource, FeatureView, Window

pytestmark = pytest.mark.integration


def test_training_set_from_a_postgres_table(postgres_url: str) -> None:
    table = f"orders_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (shop_id text, event_time timestamptz, "
                     "event_id text, amount double precision, arrival bigint)")
        conn.execute(f"INSERT INTO {table} VALUES "
                     "('a', to_timestamp(10), 'e1', 1.5, 1), ('a', to_timestamp(20), 'e2', 2.0, 3),"
                     "('a', to_timestamp(20), 'e2', 2.0, 4), ('b', to_timestamp(15), 'e3', 9.0, 2)")
    try:
        view = FeatureView("shop", Entity("shop", "shop_id"),
                           EventSource("orders", {"amount": "float"},
                                       history=f"{postgres_url}#{table}"),
                           (Aggregation("n", "count", Window.lifetime()),
                            Aggregation("total", "sum", Window.sliding(60_000), column="amount")))
        labels = pd.DataFrame({"shop_id": ["a", "a", "b"],
                               "event_time": pd.to_datetime([15, 25, 25], unit="s", utc=True)})
        out = BatchEngine().training_set(labels, [view])
        assert out["n"].tolist() == [1, 2, 1]  # e2 arrived twice: counted once
        assert str(out["n"].dtype) == "int64"
        assert out["total"].tolist() == [1.5, 3.5, 9.0]
        with pytest.raises(InvalidInput, match="#table"):
            BatchEngine().training_set(labels, [view], sources={"shop": f"{postgres_url}#a b"})
        with pytest.raises(ServiceUnavailable, match="connecting failed"):
            BatchEngine().training_set(
                labels, [view], sources={"shop": "postgresql://nobody@127.0.0.1:1/x#t"})
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
