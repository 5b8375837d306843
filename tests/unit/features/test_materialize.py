"""materialize() backfills stream and table views; tensor models get feeds by layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from augur.errors import ConfigError
from augur.features import (
    Deployment,
    Entity,
    FeatureView,
    MemoryOnlineStore,
    OnlineFeatureService,
    TableFeatureView,
    materialize,
)
from augur.signature import Signature, TensorSpec

SHOP = Entity("shop", "shop_id")


def test_backfill_stream_and_table_views(orders_view: FeatureView,
                                         orders_history: pd.DataFrame) -> None:
    table = pd.DataFrame({"shop_id": ["a", "a", "b"], "event_time": [0, 30_000, 0],
                          "rating": [3.0, 4.0, np.nan]})
    profile = TableFeatureView("profile", SHOP, "unused", {"rating": "float"})
    store = MemoryOnlineStore()
    written = materialize([orders_view, profile], store,
                          sources={"shop_orders": orders_history, "profile": table})
    assert written == {"shop_orders": 2, "profile": 2}
    a = store.read("shop_orders", ["a"])[0]
    assert a is not None and a.event_time == 25_000
    assert a.values == {"n_1m": 3, "amount_sum_1m": 6.75, "amount_max_life": 3.0,
                        "last_courier": "y"}
    assert OnlineFeatureService(store).get("profile", ["a", "b"]) == [{"rating": 4.0},
                                                                      {"rating": None}]
    assert materialize([profile], store, at=10_000, sources={"profile": table}) == {"profile": 2}
    assert OnlineFeatureService(store).get("profile", ["a"]) == [{"rating": 3.0}]


def test_tensor_models_take_features_in_declared_order(orders_view: FeatureView) -> None:
    store = MemoryOnlineStore()
    store.write("shop_orders", {"a": {"n_1m": 3, "amount_sum_1m": 6.75}}, 1)
    signature = Signature(inputs=(TensorSpec("input", "FP32", (-1, 2)),),
                          outputs=(TensorSpec("y", "FP32", (-1, 1)),))
    deployment = Deployment("m", (orders_view,), tensors={"input": ["amount_sum_1m", "n_1m"]})
    feeds = OnlineFeatureService(store).assembler(deployment, signature).feeds(
        [{"shop_id": "a"}, {"shop_id": "a"}])
    np.testing.assert_array_equal(feeds["input"], np.array([[6.75, 3], [6.75, 3]], np.float32))
    with pytest.raises(ConfigError, match="takes tensors"):
        OnlineFeatureService(store).assembler(Deployment("m", (orders_view,)), signature)
