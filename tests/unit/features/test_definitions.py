"""Definitions refuse what they cannot compute, with messages naming the culprit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from augur.errors import InvalidInput, InvalidName
from augur.features import Aggregation, Entity, EventSource, FeatureView, Window
from augur.features.clock import duration_ms, to_millis

SRC = EventSource("orders", {"amount": "float", "city": "string"})


def test_windows() -> None:
    w = Window.sliding(timedelta(minutes=10))
    assert (w.size_ms, w.resolution_ms) == (600_000, 1000)
    assert w.start(1_234_567) == 1_235_000 - 600_000
    assert Window.tumbling(timedelta(minutes=1)).start(61_000) == 60_000
    assert Window.lifetime().start(5) is None
    with pytest.raises(InvalidInput, match="multiple of its resolution"):
        Window.sliding(timedelta(seconds=90), resolution=timedelta(minutes=1))
    with pytest.raises(InvalidInput, match="whole number of milliseconds"):
        Window.sliding(timedelta(microseconds=1500), resolution=1)
    with pytest.raises(InvalidInput, match="must not be negative"):
        Window.tumbling(-5)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"name": "n", "function": "median", "window": Window.lifetime()}, InvalidInput,
     "unknown aggregation 'median'"),
    ({"name": "s", "function": "sum", "window": Window.lifetime()}, InvalidInput, "needs a column"),
    ({"name": "bad name", "function": "count", "window": Window.lifetime()}, InvalidName,
     "feature name"),
    ({"name": "s", "function": "sum", "window": Window.lifetime(), "column": "amount",
      "precision": 12}, InvalidInput, "precision"),
])
def test_bad_aggregations(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Aggregation(**kwargs)  # type: ignore[arg-type]


def test_bad_views() -> None:
    shop = Entity("shop", "shop_id")
    with pytest.raises(InvalidInput, match="column 'price' is not in event source"):
        FeatureView("v", shop, SRC, (Aggregation("m", "max", Window.lifetime(), column="price"),))
    with pytest.raises(InvalidInput, match="needs a numeric column, 'city' is string"):
        FeatureView("v", shop, SRC, (Aggregation("m", "mean", Window.lifetime(), column="city"),))
    with pytest.raises(InvalidInput, match="twice"):
        FeatureView("v", shop, SRC, (Aggregation("n", "count", Window.lifetime()),) * 2)
    with pytest.raises(InvalidInput, match="no features"):
        FeatureView("v", shop, SRC, ())
    with pytest.raises(InvalidInput, match="unknown kind 'decimal'"):
        EventSource("s", {"x": "decimal"})
    with pytest.raises(InvalidName, match="entity key"):
        Entity("shop", "shop id")


def test_time_conversions() -> None:
    assert to_millis(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1000
    assert to_millis("1970-01-01T00:00:02") == 2000
    assert to_millis(np.datetime64("1970-01-01T00:00:03")) == 3000
    assert to_millis(4000) == 4000
    assert duration_ms(timedelta(seconds=2)) == 2000
    for bad in (None, True, "yesterday", 1.5, [1]):
        with pytest.raises(InvalidInput):
            to_millis(bad)
