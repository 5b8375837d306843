"""A history without arrival order, of a source that allows lateness, is said once, with
how many events a stream would likely have dropped: counted on a known stream."""

from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from augur.cli.app import main
from augur.features import ArrivalOrderWarning, BatchEngine, StreamingEngine, load_definitions

DEFS = '''
from augur.features import Aggregation, Entity, EventSource, FeatureView, Window
orders = EventSource("orders", {{"amount": "float"}}, allowed_lateness={lateness},
                     history="{history}")
shop_orders = FeatureView("shop_orders", Entity("shop", "shop_id"), orders, (
    Aggregation("n", "count", Window.lifetime()),))
shop_amounts = FeatureView("shop_amounts", Entity("shop", "shop_id"), orders, (
    Aggregation("total", "sum", Window.sliding(60_000), column="amount"),))
'''


def known_stream(n: int = 3000) -> list[dict[str, Any]]:
    """Bursty events, out of order, some beyond 5 s of lateness, some redelivered."""
    rng = random.Random(7)
    out: list[dict[str, Any]] = []
    t = 1_700_000_000_000
    for i in range(n):
        if out and rng.random() < 0.04:
            out.append(dict(rng.choice(out)))
            continue
        t += rng.choice([0, 0, 5, 40, 900])
        behind = rng.choice([0, 0, 0, 0, 1500, 4000, 7000, 12_000])
        out.append({"shop_id": f"s{rng.randint(0, 9)}", "event_time": t - behind,
                    "event_id": f"e{i}", "amount": float(i % 17)})
    return out


def _setup(tmp_path: Path, events: list[dict[str, Any]], lateness: int) -> tuple[Path, Path]:
    history = tmp_path / "orders.parquet"
    pd.DataFrame(events).to_parquet(history)  # in stream order, but no arrival column
    defs = tmp_path / "defs.py"
    defs.write_text(DEFS.format(history=history, lateness=lateness))
    labels = tmp_path / "labels.parquet"
    pd.DataFrame({"shop_id": ["s1", "s2"], "event_time": [1_700_000_900_000] * 2}).to_parquet(labels)
    return defs, labels


def test_the_count_is_what_a_stream_dropped(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    events = known_stream()
    defs, labels = _setup(tmp_path, events, 5000)
    reference = StreamingEngine(load_definitions(defs).stream_view("shop_orders"))
    reference.process(events)
    late, valid = reference.stats.late, len({e["event_id"] for e in events})
    assert 100 < late < 1000
    assert main(["features", "training-set", "-d", str(defs), "-l", str(labels),
                 "-o", str(tmp_path / "out.parquet"), "--archive", str(tmp_path / "none")]) == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 1, err  # two views of one source: said once
    assert f"{late:,} of {valid:,} events sit more than 5000 ms behind" in err
    assert "'arrival' column (an ingestion time or stream offset)" in err


def test_no_warning_with_arrival_order_or_without_lateness(tmp_path: Path) -> None:
    events = known_stream(300)
    defs, labels = _setup(tmp_path, events, 0)
    views = list(load_definitions(defs).views.values())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ArrivalOrderWarning)
        BatchEngine(archive=None).training_set(str(labels), views)  # lateness 0: nothing lost
        ordered = pd.DataFrame(events).assign(arrival=range(len(events)))
        defs, labels = _setup(tmp_path, events, 5000)
        views = list(load_definitions(defs).views.values())
        BatchEngine(archive=None).training_set(
            str(labels), views, sources={v.name: ordered for v in views})
    with pytest.warns(ArrivalOrderWarning, match="no arrival order"):
        BatchEngine(archive=None).training_set(str(labels), views)
