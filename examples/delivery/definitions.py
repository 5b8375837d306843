"""Feature definitions of the delivery-time example (also usable with ``augur features``).

Set ``DELIVERY_DATA`` to the folder ``generate.py`` wrote (default ``examples/delivery/data``).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from augur.features import (
    Aggregation,
    Deployment,
    Entity,
    EventSource,
    FeatureView,
    RequestFeature,
    TableFeatureView,
    Window,
)

DATA = Path(os.environ.get("DELIVERY_DATA", "examples/delivery/data"))
restaurant = Entity("restaurant", "restaurant_id")

orders = EventSource("orders", {"basket_eur": "float"}, allowed_lateness=timedelta(seconds=30),
                     history=str(DATA / "orders.parquet"))
courier_pings = EventSource("courier_pings", {"courier_id": "string"},
                            allowed_lateness=timedelta(seconds=30),
                            history=str(DATA / "courier_pings.parquet"))

restaurant_orders = FeatureView("restaurant_orders", restaurant, orders, (
    Aggregation("orders_10m", "count", Window.sliding(timedelta(minutes=10))),
    Aggregation("basket_mean_10m", "mean", Window.sliding(timedelta(minutes=10)),
                column="basket_eur"),
), ttl=timedelta(hours=1))
restaurant_couriers = FeatureView("restaurant_couriers", restaurant, courier_pings, (
    Aggregation("couriers_5m", "distinct_count", Window.sliding(timedelta(minutes=5)),
                column="courier_id"),
), ttl=timedelta(hours=1))
restaurant_profile = TableFeatureView("restaurant_profile", restaurant,
                                      str(DATA / "restaurants.parquet"),
                                      {"mean_prep_minutes": "float"})
distance = RequestFeature("distance_km", "float")

FEATURES = ["orders_10m", "basket_mean_10m", "couriers_5m", "mean_prep_minutes", "distance_km"]

delivery = Deployment(
    model="delivery_time@production",
    views=(restaurant_orders, restaurant_couriers, restaurant_profile),
    request_features=(distance,),
    defaults={"orders_10m": 0, "couriers_5m": 0, "basket_mean_10m": 25.0},
)
