"""The streaming engine: counters, nasty events, snapshots."""

from __future__ import annotations

import numpy as np
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


def test_sweeps_drop_state_but_no_value(orders_view: FeatureView,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Frequent sweeps (forgetting ids, folding old buckets away) change no value."""
    from augur.features import BatchEngine, streaming

    rng = np.random.default_rng(7)
    times = np.cumsum(rng.integers(0, 400, 3000)) - rng.choice([0, 0, 0, 500, 900], 3000)
    events = [{"shop_id": f"s{rng.integers(0, 12)}", "event_time": int(max(0, t)),
               "event_id": f"e{i}", "amount": float(rng.integers(0, 900)) / 4,
               "courier": str(rng.integers(0, 3))} for i, t in enumerate(times)]
    for i in rng.integers(1, len(events), 300):  # redeliveries, some after their id is swept
        events[i] = dict(events[rng.integers(0, i)])
    for i, e in enumerate(events):
        e["arrival"] = i
    monkeypatch.setattr(streaming, "_SWEEP_EVERY", 10**9)
    whole = StreamingEngine(orders_view)
    monkeypatch.setattr(streaming, "_SWEEP_EVERY", 37)
    swept = StreamingEngine(orders_view)
    for i in range(0, len(events), 50):
        monkeypatch.setattr(streaming, "_SWEEP_EVERY", 10**9)
        whole.process(events[i:i + 50])
        monkeypatch.setattr(streaming, "_SWEEP_EVERY", 37)
        swept.process(events[i:i + 50])
        assert swept.take_changes() == whole.take_changes()
    # A redelivery whose id was swept is dropped as late rather than as a duplicate.
    one, two = swept.stats, whole.stats
    assert (one.accepted, one.out_of_order) == (two.accepted, two.out_of_order)
    assert one.late + one.duplicates == two.late + two.duplicates and two.duplicates > one.duplicates
    kept = sum(len(bs) for bs in swept._state[0].values())
    assert kept < sum(len(bs) for bs in whole._state[0].values()) / 4
    m = swept.max_time
    assert m is not None
    keys = sorted({e["shop_id"] for e in events})
    labels = pd.DataFrame({"shop_id": keys, "event_time": [m] * len(keys)})
    batch = BatchEngine(threads=1).training_set(labels, [orders_view],
                                                sources={"shop_orders": pd.DataFrame(events)})
    for key, row in zip(keys, batch.to_dict("records"), strict=True):
        assert swept.value_at(key, m) == whole.value_at(key, m)
        assert swept.value_at(key, m) == {f: row[f] for f in swept.value_at(key, m)}
