"""The streaming engine: counters, nasty events, snapshots."""

from __future__ import annotations

import pandas as pd
import pytest

from augur.errors import InvalidInput, StoreError
from augur.features import FeatureView, StreamingEngine


def test_counters_match_the_history(orders_view: FeatureView,
                                    orders_history: pd.DataFrame) -> None:
    engine = StreamingEngine(orders_view)
    results = [engine.process_one(e) for e in orders_history.to_dict("records")]
    assert results == ["accepted", "accepted", "accepted", "accepted", "late", "duplicate"]
    assert engine.watermark == 24_000
    assert engine.value_at("a", 25_000) == {"n_1m": 3, "amount_sum_1m": 6.75,
                                            "amount_max_life": 3.0, "last_courier": "y"}
    with pytest.raises(InvalidInput, match="below the watermark"):
        engine.value_at("a", 1000)


@pytest.mark.parametrize("event", [
    {},
    {"shop_id": "a", "event_id": "x"},
    {"shop_id": None, "event_time": 1, "event_id": "x"},
    {"shop_id": "a", "event_time": "not a time", "event_id": "x"},
    {"shop_id": "a", "event_time": 1, "event_id": "x", "amount": "12 euros"},
    {"__invalid__": "garbage from the wire"},
])
def test_malformed_events_are_counted_not_applied(orders_view: FeatureView,
                                                  event: dict[str, object]) -> None:
    engine = StreamingEngine(orders_view)
    assert engine.process_one(event) == "invalid"
    assert engine.stats.invalid == 1 and engine.max_time is None


def test_snapshot_restores_exactly(orders_view: FeatureView,
                                   orders_history: pd.DataFrame) -> None:
    events = orders_history.to_dict("records")
    one = StreamingEngine(orders_view)
    one.process(events[:3])
    one.take_changes()
    two = StreamingEngine(orders_view)
    two.restore(one.snapshot())
    one.process(events[3:])
    two.process(events[3:])
    assert one.take_changes() == two.take_changes()
    assert one.stats == two.stats
    with pytest.raises(StoreError, match="cannot restore"):
        two.restore(b"{not json")


async def test_metrics_count_each_outcome(orders_view: FeatureView,
                                          orders_history: pd.DataFrame) -> None:
    from augur.features import FeatureStreamHandler, MemoryOnlineStore, StreamMetrics
    from augur.streaming import Message

    metrics = StreamMetrics()
    handler = FeatureStreamHandler(orders_view, MemoryOnlineStore(), metrics=metrics)
    await handler.start()
    events = [*orders_history.to_dict("records"), {"junk": 1}]
    await handler.handle([Message(str(i + 1), (i + 1, 0), e) for i, e in enumerate(events)])

    def value(outcome: str) -> float | None:
        return metrics.registry.get_sample_value(
            "augur_feature_events_total", {"view": "shop_orders", "outcome": outcome})

    assert [value(o) for o in ("accepted", "duplicate", "late", "invalid")] == [4, 1, 1, 1]
    assert metrics.registry.get_sample_value(
        "augur_feature_event_time_seconds", {"view": "shop_orders"}) == 25.0
