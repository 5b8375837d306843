"""``augur features training-set / materialize / get`` on a small definitions file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from augur.cli.app import main

DEFS = '''
from augur.features import Aggregation, Entity, EventSource, FeatureView, Window
orders = EventSource("orders", {{"amount": "float"}}, history="{history}")
shop_orders = FeatureView("shop_orders", Entity("shop", "shop_id"), orders, (
    Aggregation("n", "count", Window.lifetime()),
    Aggregation("amount_sum", "sum", Window.lifetime(), column="amount"),
))
'''


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    history = tmp_path / "orders.parquet"
    pd.DataFrame({"shop_id": ["a", "a", "b"], "event_time": [1000, 2000, 3000],
                  "event_id": ["1", "2", "3"], "amount": [1.0, 2.5, 4.0]}).to_parquet(history)
    path = tmp_path / "defs.py"
    path.write_text(DEFS.format(history=history))
    return path


def test_training_set_materialize_and_get(defs: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.parquet"
    pd.DataFrame({"shop_id": ["a", "a", "b"], "event_time": [1500, 2500, 2500]}).to_parquet(labels)
    out = tmp_path / "train.parquet"
    assert main(["features", "training-set", "-d", str(defs), "-l", str(labels),
                 "-o", str(out)]) == 0
    table = pd.read_parquet(out)
    assert table["n"].tolist() == [1, 2, 0] and table["amount_sum"].tolist() == [1.0, 3.5, 0.0]
    store = f"sqlite:///{tmp_path / 'online.db'}"
    assert main(["features", "materialize", "-d", str(defs), "--store", store]) == 0
    assert "shop_orders: 2 entities written" in capsys.readouterr().out
    assert main(["features", "get", "--store", store, "--view", "shop_orders", "a", "c"]) == 0
    printed = capsys.readouterr().out
    assert '"amount_sum": 3.5' in printed and '"c": null' in printed


def test_user_mistakes_exit_2(defs: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["features", "training-set", "-d", str(defs), "-l", "x.parquet",
                 "-o", str(tmp_path / "out.txt")]) == 2
    assert "use a .parquet or .csv" in capsys.readouterr().err
    assert main(["features", "training-set", "-d", str(tmp_path / "nope.py"), "-l", "x",
                 "-o", "o.parquet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["features", "materialize", "-d", str(defs), "--view", "nope",
                 "--store", "memory://"]) == 2
    assert "no feature view 'nope'" in capsys.readouterr().err
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    assert main(["features", "materialize", "-d", str(broken), "--store", "memory://"]) == 2
    assert "RuntimeError: boom" in capsys.readouterr().err


def _archive_orders(defs: Path, archive: Path) -> None:
    """Run a worker over the defs' history, in stream order with one redelivery."""
    import asyncio

    from augur.features import (
        FeatureStreamHandler,
        MemoryOnlineStore,
        load_definitions,
        open_archive,
    )
    from augur.streaming import InProcessTransport, StreamWorker

    view = load_definitions(defs).stream_view("shop_orders")
    transport = InProcessTransport()
    transport.publish_sync([{"shop_id": "a", "event_time": 1000, "event_id": "1", "amount": 1.0},
                            {"shop_id": "a", "event_time": 2000, "event_id": "2", "amount": 2.5},
                            {"shop_id": "a", "event_time": 2000, "event_id": "2", "amount": 2.5},
                            {"shop_id": "b", "event_time": 3000, "event_id": "3", "amount": 4.0}])

    async def go() -> None:
        handler = FeatureStreamHandler(view, MemoryOnlineStore(), archive=open_archive(archive))
        try:
            await StreamWorker(transport, handler, group="g").run(max_messages=4)
        finally:
            handler.close()

    asyncio.run(go())


def test_archive_counts_and_training_from_it(defs: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    assert main(["features", "archive", "--source", "orders", "--archive", str(archive)]) == 0
    assert "nothing archived for 'orders'" in capsys.readouterr().out
    _archive_orders(defs, archive)
    assert main(["features", "archive", "--source", "orders", "--archive", str(archive)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:6] == ["VIEW", "ACCEPTED", "DUPLICATE", "LATE", "INVALID", "TOTAL"]
    assert table[2].split()[:6] == ["shop_orders", "3", "1", "0", "0", "4"]
    assert main(["features", "archive", "-s", "orders", "--archive", str(archive), "--json",
                 "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out.strip() == "[]"

    labels = tmp_path / "labels.parquet"
    pd.DataFrame({"shop_id": ["a", "b"], "event_time": [2500, 3500]}).to_parquet(labels)
    out = tmp_path / "train.parquet"
    assert main(["features", "training-set", "-d", str(defs), "-l", str(labels), "-o", str(out),
                 "--archive", str(archive)]) == 0
    assert f"shop_orders: events from archive {archive}" in capsys.readouterr().out
    assert pd.read_parquet(out)["amount_sum"].tolist() == [3.5, 4.0]
    assert main(["features", "training-set", "-d", str(defs), "-l", str(labels), "-o", str(out),
                 "--archive", str(archive), "--from-history"]) == 0
    assert "shop_orders: events from history" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--source", "../etc"], "event source name '../etc'"),
    (["--source", "orders\n"], "event source name"),
    (["--source", "x" * 5000], "at most 63"),
    (["--source", "orders", "--since", "last tuesday"], "--since 'last tuesday'"),
    (["--source", "orders", "--since", "9" * 30 + "d"], "years 1-9999"),  # beyond datetime
    (["--source", "orders", "--since", "99999999999999999999"], "years 1-9999"),
    (["--source", "orders", "--since", "\u0663h"], "--since"),  # an Arabic-Indic 3
    (["--source", "orders", "--since", "\uff11\uff12"], "--since"),  # full-width 12
    (["--source", "orders", "--since", "nanh"], "--since"),
    (["--source", "orders", "--archive", "s3://bucket/archive"], "use a folder or postgresql://"),
    (["--source", "orders", "--archive", "postgresql://u:hunter2@127.0.0.1:1/db#t"],
     "u:***@127.0.0.1:1"),
    (["--source", "orders", "--archive", "postgresql://u@h/db#drop table x"], "archive table"),
])
def test_archive_command_mistakes_exit_2(argv: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["features", "archive", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "hunter2" not in err and len(err.strip().splitlines()) == 1


def test_worker_refuses_an_archive_ahead_of_its_store(defs: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    worker = ["features", "worker", "-d", str(defs), "--view", "shop_orders", "--transport",
              "memory://", "--store", "memory://", "--idle-exit", "0.05"]
    assert main([*worker, "--archive", str(archive)]) == 0  # nothing to consume
    _archive_orders(defs, archive)
    assert main([*worker, "--archive", str(archive)]) == 2  # a fresh store: no checkpoint
    err = capsys.readouterr().err
    assert "would archive them again" in err and str(archive / "source=orders") in err
    assert main([*worker, "--no-archive"]) == 0
    assert main([*worker, "--archive", "redis://127.0.0.1:6379/0"]) == 2
