"""The delivery-time example, end to end, in well under a minute.

1. generate a few hours of synthetic history (orders, courier pings, restaurants);
2. build a point-in-time-correct training set with the batch engine;
3. train a model and register it with augur.convert.export;
4. backfill the online store (materialize) and start streaming workers;
5. publish live events and watch the prediction for one restaurant change.

Run: ``.venv/bin/python examples/delivery/run.py`` (state goes to a temp folder).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="augur-delivery-"))
    os.environ["DELIVERY_DATA"] = str(work / "data")
    from generate import START_MS, generate, true_minutes

    from augur.convert import export
    from augur.features import (
        BatchEngine,
        MemoryOnlineStore,
        OnlineFeatureService,
        load_definitions,
        materialize,
        run_feature_worker,
    )
    from augur.registry import Registry
    from augur.runtime import load
    from augur.streaming import InProcessTransport

    t0 = time.perf_counter()
    sizes = generate(work / "data")
    print(f"[{time.perf_counter() - t0:5.1f}s] history: {sizes}")

    defs = load_definitions(HERE / "definitions.py")
    deployment = defs.deployments["delivery_time@production"]
    views = list(deployment.views)
    import definitions as d

    labels = work / "data" / "deliveries.parquet"
    # Missing values get the deployment's defaults, exactly as serving will fill them.
    table = BatchEngine().training_set(str(labels), views).fillna(dict(deployment.defaults))
    rng = np.random.default_rng(1)
    table["delivery_minutes"] = true_minutes(table, rng)
    print(f"[{time.perf_counter() - t0:5.1f}s] training set: {len(table)} rows, "
          f"columns {list(table.columns)}")

    x = table[d.FEATURES].astype("float32")
    model = GradientBoostingRegressor(n_estimators=150, max_depth=3).fit(x, table["delivery_minutes"])
    registry = Registry(work / "augur-home")
    version = export(model, "delivery_time", sample=x.iloc[:200], registry=registry)
    registry.set_alias("delivery_time", "production", version.version)
    loaded = load("delivery_time@production", registry=registry)
    print(f"[{time.perf_counter() - t0:5.1f}s] registered {loaded.ref}")

    store = MemoryOnlineStore()
    materialize(views, store)
    service = OnlineFeatureService(store)
    assembler = service.assembler(deployment, loaded.signature)

    transports = {"orders": InProcessTransport(), "courier_pings": InProcessTransport()}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def workers() -> Any:
        return await asyncio.gather(
            run_feature_worker(d.restaurant_orders, transports["orders"], store, stop=stop,
                               checkpoint_interval=0.5, batch_size=200),
            run_feature_worker(d.restaurant_couriers, transports["courier_pings"], store,
                               stop=stop, checkpoint_interval=0.5, batch_size=200))

    thread = threading.Thread(target=lambda: loop.run_until_complete(workers()), daemon=True)
    thread.start()
    # The streams carry the history first (in arrival order), so the workers' window state
    # starts where the history ends; materialize already filled the store for serving.
    import pandas as pd

    for name in ("orders", "courier_pings"):
        history = pd.read_parquet(work / "data" / f"{name}.parquet").sort_values("arrival")
        transports[name].publish_sync(history.drop(columns="arrival").to_dict("records"))

    def predict() -> tuple[float, dict[str, Any]]:
        request = {"restaurant_id": "r3", "distance_km": 2.5}
        record = assembler.records([request])[0]
        out = loaded.run(assembler.feeds([request]))
        return float(np.asarray(next(iter(out.values()))).ravel()[0]), record

    def wait_visible(view: str, event_time: int) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            row = store.read(view, ["r3"])[0]
            if row is not None and row.event_time >= event_time:
                return
            time.sleep(0.005)

    now = START_MS + 3 * 3_600_000  # where the history ends
    wait_visible("restaurant_orders", int(pd.read_parquet(work / "data" / "orders.parquet")
                                          .query("restaurant_id == 'r3'")["event_time"].max()))
    minutes, record = predict()
    print(f"[{time.perf_counter() - t0:5.1f}s] r3 before live events: {minutes:5.1f} min  {record}")
    seq = 0
    for burst in range(4):
        now += 30_000
        orders = [{"restaurant_id": "r3", "event_time": now + i * 100, "event_id": f"live-o{seq + i}",
                   "basket_eur": 30.0 + i} for i in range(8)]
        seq += len(orders)
        transports["orders"].publish_sync(orders)
        couriers = [{"restaurant_id": "r3", "event_time": now, "event_id": f"live-p{burst}-{j}",
                     "courier_id": f"live-c{burst}-{j}"} for j in range(burst % 2 * 6)]
        if couriers:
            transports["courier_pings"].publish_sync(couriers)
            wait_visible("restaurant_couriers", now)
        wait_visible("restaurant_orders", orders[-1]["event_time"])
        minutes, record = predict()
        print(f"[{time.perf_counter() - t0:5.1f}s] r3 after burst {burst + 1} "
              f"(+8 orders, +{len(couriers)} couriers): {minutes:5.1f} min  {record}")
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    print(f"[{time.perf_counter() - t0:5.1f}s] done (state in {work})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
