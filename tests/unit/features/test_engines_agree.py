"""Property: the streaming engine's value at every query time equals the batch engine's.

Hypothesis generates event streams in arrival order with out-of-order events within
the allowed lateness, events later than that, and redelivered duplicates. The
streaming engine answers each query time as soon as no further accepted event can
change it (just before the event that moves the watermark past it); the batch engine
answers all of them from the whole history. Values must be *equal*, floats included.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augur.features import (
    FUNCTIONS,
    Aggregation,
    BatchEngine,
    Entity,
    EventSource,
    FeatureView,
    StreamingEngine,
    Window,
)

LATENESS = 25
WINDOWS = {
    "sliding": Window.sliding(60, resolution=10),
    "tumbling": Window.tumbling(30),
    "lifetime": Window.lifetime(resolution=10),
}
QUERY_STEP = 30  # query at t = k * 30 - 1: the last millisecond of a bucket of every layout


def _view() -> FeatureView:
    source = EventSource("orders", {"x": "float", "c": "string"}, allowed_lateness=LATENESS)
    feats = []
    for wname, window in WINDOWS.items():
        for fn in FUNCTIONS:
            column = None if fn == "count" else "c" if fn in ("distinct_count",) else "x"
            feats.append(Aggregation(f"{fn}_{wname}", fn, window, column=column))
        feats.append(Aggregation(f"last_c_{wname}", "last", window, column="c"))
        feats.append(Aggregation(f"dc_x_{wname}", "distinct_count", window, column="x"))
    return FeatureView("v", Entity("shop", "shop"), source, tuple(feats))


VIEW = _view()

values = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                   st.integers(-5, 5).map(float))


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 60))
    clock = 0
    events: list[dict[str, Any]] = []
    for i in range(n):
        if events and draw(st.integers(0, 9)) == 0:
            events.append(dict(draw(st.sampled_from(events))))  # redelivery
            continue
        clock += draw(st.integers(0, 20))
        t = max(0, clock - draw(st.sampled_from([0, 0, 0, 5, 20, 25, 26, 40])))
        events.append({"shop": draw(st.sampled_from(["a", "b"])), "event_time": t,
                       "event_id": f"e{i}", "x": draw(values),
                       "c": draw(st.sampled_from([None, "p", "q", "r"]))})
    for i, e in enumerate(events):
        e["arrival"] = i
    return events


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return type(a)(b) == a if b is not None else False


def _all_same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_streaming_equals_batch_at_every_query_time(events: list[dict[str, Any]]) -> None:
    engine = StreamingEngine(VIEW)
    last_time = max(e["event_time"] for e in events)
    pending = [k * QUERY_STEP - 1 for k in range(1, last_time // QUERY_STEP + 3)]
    answers: list[tuple[str, int, dict[str, Any]]] = []

    def answer_until(watermark: float) -> None:
        while pending and pending[0] < watermark:
            t = pending.pop(0)
            answers.extend((k, t, engine.value_at(k, t)) for k in ("a", "b"))

    seen: set[str] = set()
    for e in events:
        new = e["event_id"] not in seen
        seen.add(e["event_id"])
        w = engine.watermark
        if new and (w is None or e["event_time"] >= w):
            answer_until(max(engine.max_time or e["event_time"], e["event_time"]) - LATENESS)
        engine.process_one(e)
        # The online path (running totals at the newest time) equals the bucket merge.
        at, changed = engine.take_changes()
        for key, online in changed.items():
            assert at is not None
            assert online == engine.value_at(key, at) or _all_same(online, engine.value_at(key, at))
    answer_until(math.inf)
    m = engine.max_time
    assert m is not None
    answers.extend((k, m, engine.value_at(k, m)) for k in ("a", "b"))

    labels = pd.DataFrame({"shop": [a[0] for a in answers], "event_time": [a[1] for a in answers]})
    batch = BatchEngine(threads=1)
    table = batch.training_set(labels, [VIEW], sources={"v": pd.DataFrame(events)})
    stats = batch.stats(VIEW, pd.DataFrame(events))
    assert (stats.accepted, stats.out_of_order, stats.duplicates, stats.late) == (
        engine.stats.accepted, engine.stats.out_of_order, engine.stats.duplicates,
        engine.stats.late)
    for row, (key, t, stream_values) in zip(table.to_dict("records"), answers, strict=True):
        for name, value in stream_values.items():
            assert _same(row[name], value) if value is not None else _same(value, row[name]), (
                f"{name} of {key} at t={t}: stream {value!r} != batch {row[name]!r}")
