"""The batch engine on small histories whose values can be checked by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from augur.errors import InvalidInput
from augur.features import BatchEngine, Entity, FeatureView, TableFeatureView

SHOP = Entity("shop", "shop_id")


def test_point_in_time_values_never_use_later_events(
        orders_view: FeatureView, orders_history: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    orders_history.to_parquet(path)
    labels = pd.DataFrame({"shop_id": ["a", "a", "a", "b", "c"],
                           "event_time": [9_999, 10_000, 25_000, 30_000, 30_000],
                           "label": [1, 2, 3, 4, 5]})
    out = BatchEngine().training_set(labels, [orders_view], sources={"shop_orders": str(path)})
    assert list(out["label"]) == [1, 2, 3, 4, 5]
    assert list(out["n_1m"]) == [0, 1, 3, 1, 0]
    assert list(out["amount_sum_1m"]) == [0.0, 1.5, 6.75, 7.0, 0.0]
    assert out["amount_max_life"].tolist()[1:4] == [1.5, 3.0, 7.0]
    assert pd.isna(out["amount_max_life"][0]) and pd.isna(out["amount_max_life"][4])
    assert out["last_courier"].tolist()[1:4] == ["x", "y", "z"]


def test_stats_count_duplicates_and_late_events(
        orders_view: FeatureView, orders_history: pd.DataFrame) -> None:
    stats = BatchEngine().stats(orders_view, orders_history)
    assert (stats.accepted, stats.out_of_order, stats.duplicates, stats.late,
            stats.invalid) == (4, 0, 1, 1, 0)


def test_timestamps_and_table_features(orders_view: FeatureView,
                                       orders_history: pd.DataFrame) -> None:
    history = orders_history.assign(event_time=pd.to_datetime(orders_history["event_time"],
                                                               unit="ms"))
    table = pd.DataFrame({"shop_id": ["a", "a"], "updated": pd.to_datetime([0, 24_000], unit="ms"),
                          "rating": [3.5, 4.5]})
    profile = TableFeatureView("profile", SHOP, "unused.parquet", {"rating": "float"},
                               time_column="updated")
    labels = pd.DataFrame({"shop_id": ["a", "a"],
                           "at": pd.to_datetime([20_000, 30_000], unit="ms")})
    out = BatchEngine().training_set(labels, [orders_view, profile], timestamp="at",
                                     sources={"shop_orders": history, "profile": table})
    assert out["rating"].tolist() == [3.5, 4.5]
    assert out["n_1m"].tolist() == [2, 3]


def test_bad_inputs_name_the_problem(orders_view: FeatureView,
                                     orders_history: pd.DataFrame) -> None:
    engine = BatchEngine()
    with pytest.raises(InvalidInput, match="labels have no column 'shop_id'"):
        engine.training_set(pd.DataFrame({"x": [1], "event_time": [1]}), [orders_view],
                            sources={"shop_orders": orders_history})
    with pytest.raises(InvalidInput, match="does not exist"):
        engine.training_set(pd.DataFrame({"shop_id": ["a"], "event_time": [1]}), [orders_view],
                            sources={"shop_orders": "/nonexistent/orders.parquet"})
    with pytest.raises(InvalidInput, match="has no column 'event_id'"):
        engine.training_set(pd.DataFrame({"shop_id": ["a"], "event_time": [1]}), [orders_view],
                            sources={"shop_orders": orders_history.drop(columns="event_id")})
    with pytest.raises(InvalidInput, match="not a timestamp"):
        engine.training_set(pd.DataFrame({"shop_id": ["a"], "event_time": ["soon"]}),
                            [orders_view], sources={"shop_orders": orders_history})
    with pytest.raises(InvalidInput, match="at least one"):
        engine.training_set(pd.DataFrame({"shop_id": ["a"], "event_time": [1]}), [])
