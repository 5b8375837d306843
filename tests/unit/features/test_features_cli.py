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
