"""Synthetic history for the delivery-time example: orders, courier pings, restaurants, deliveries.

The true delivery time grows with the restaurant's preparation time, the orders it
got in the last 10 minutes and the distance, and shrinks with the couriers nearby.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
N_RESTAURANTS = 20


def generate(folder: Path, *, hours: float = 3.0, seed: int = 7) -> dict[str, int]:
    """Write orders, courier_pings, restaurants and deliveries Parquet files; return sizes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    span = int(hours * 3_600_000)
    ids = np.array([f"r{i}" for i in range(N_RESTAURANTS)])
    prep = rng.uniform(8, 25, N_RESTAURANTS).round(1)
    busy = rng.uniform(0.2, 2.5, N_RESTAURANTS)  # orders per minute

    n_orders = int(busy.sum() * span / 60_000)
    who = rng.choice(N_RESTAURANTS, n_orders, p=busy / busy.sum())
    t = np.sort(rng.integers(START_MS, START_MS + span, n_orders))
    # arrival order: slightly shuffled, so some events arrive out of order (within lateness)
    arrival = np.argsort(t + rng.integers(0, 20_000, n_orders), kind="stable")
    orders = pd.DataFrame({"restaurant_id": ids[who], "event_time": t,
                           "event_id": [f"o{i}" for i in range(n_orders)],
                           "basket_eur": rng.gamma(4, 7, n_orders).round(2)})
    orders["arrival"] = np.empty(n_orders, dtype=np.int64)
    orders.loc[arrival, "arrival"] = np.arange(n_orders)
    orders.to_parquet(folder / "orders.parquet", index=False)

    n_pings = span // 4_000
    pings = pd.DataFrame({
        "restaurant_id": ids[rng.integers(0, N_RESTAURANTS, n_pings)],
        "event_time": np.sort(rng.integers(START_MS, START_MS + span, n_pings)),
        "event_id": [f"p{i}" for i in range(n_pings)],
        "courier_id": [f"c{i}" for i in rng.integers(0, 120, n_pings)],
    })
    pings["arrival"] = np.arange(n_pings)
    pings.to_parquet(folder / "courier_pings.parquet", index=False)

    pd.DataFrame({"restaurant_id": ids, "event_time": np.full(N_RESTAURANTS, START_MS),
                  "mean_prep_minutes": prep}).to_parquet(folder / "restaurants.parquet",
                                                         index=False)

    n_deliv = 6000
    dt = rng.integers(START_MS + 600_000, START_MS + span, n_deliv)
    dr = rng.integers(0, N_RESTAURANTS, n_deliv)
    pd.DataFrame({"restaurant_id": ids[dr], "event_time": dt,
                  "distance_km": rng.uniform(0.5, 8, n_deliv).round(2)}).to_parquet(
        folder / "deliveries.parquet", index=False)
    return {"orders": n_orders, "courier_pings": int(n_pings), "deliveries": n_deliv}


def true_minutes(frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The delivery time the world produces for rows of features (plus noise)."""
    return (frame["mean_prep_minutes"] + 1.2 * frame["orders_10m"]
            - 0.4 * frame["couriers_5m"] + 3.0 * frame["distance_km"]
            + rng.normal(0, 1.0, len(frame))).to_numpy()
