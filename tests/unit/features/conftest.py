"""Small feature definitions and histories shared by the feature tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from augur.features import Aggregation, Entity, EventSource, FeatureView, Window

SHOP = Entity("shop", "shop_id")


@pytest.fixture(autouse=True)
def _own_augur_home(augur_home: Path) -> None:
    """The default archive ($AUGUR_HOME/archive) of every test is its own, empty one."""


@pytest.fixture
def orders_view() -> FeatureView:
    src = EventSource("orders", {"amount": "float", "courier": "string"}, allowed_lateness=1000)
    return FeatureView("shop_orders", SHOP, src, (
        Aggregation("n_1m", "count", Window.sliding(60_000, resolution=1000)),
        Aggregation("amount_sum_1m", "sum", Window.sliding(60_000, resolution=1000),
                    column="amount"),
        Aggregation("amount_max_life", "max", Window.lifetime(), column="amount"),
        Aggregation("last_courier", "last", Window.lifetime(), column="courier"),
    ))


@pytest.fixture
def orders_history() -> pd.DataFrame:
    # t in ms; arrival order = row order. e3 is 1.5 s late (dropped), e2 is redelivered.
    return pd.DataFrame({
        "shop_id": ["a", "a", "b", "a", "a", "a"],
        "event_time": [10_000, 20_000, 20_500, 25_000, 23_000, 20_000],
        "event_id": ["e0", "e1", "e2", "e4", "e3", "e1"],
        "amount": [1.5, 2.25, 7.0, 3.0, 100.0, 2.25],
        "courier": ["x", "y", "z", "y", "q", "y"],
        "arrival": [0, 1, 2, 3, 4, 5],
    })
