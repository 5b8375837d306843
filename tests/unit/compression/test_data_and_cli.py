"""Data files for compression, and the ``augur compress`` / ``augur tune`` verbs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from augur.cli.app import main
from augur.cli.tune import parse_duration
from augur.compression import read_dataset
from augur.errors import ConfigError
from augur.registry import Registry


def test_read_dataset_kinds(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"], "label": [0, 1, 0]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    np.save(tmp_path / "d.npy", np.ones((4, 2), dtype=np.float32))
    (tmp_path / "d.txt").write_text("first sentence\n\nsecond one\n", encoding="utf-8")
    for suffix in ("csv", "parquet", "jsonl"):
        ds = read_dataset(tmp_path / f"d.{suffix}", target="label")
        assert list(ds.rows.columns) == ["a", "b"] and ds.target.tolist() == [0, 1, 0]
    assert read_dataset(tmp_path / "d.npy").rows.shape == (4, 2)
    assert read_dataset(tmp_path / "d.txt").rows == ["first sentence", "second one"]
    assert len(read_dataset(tmp_path / "d.csv", limit=2)) == 2


@pytest.mark.parametrize(("name", "content", "kwargs", "message"), [
    ("missing.csv", None, {}, "does not exist"),
    ("d.xlsx", "x", {}, "unknown kind '.xlsx'"),
    ("empty.txt", "\n\n", {}, "no rows"),
    ("d.csv", "a,b\n1,2\n", {"target": "y"}, "no column 'y'"),
    ("bad.npy", "not numpy", {}, "cannot read"),
])
def test_read_dataset_errors(tmp_path: Path, name: str, content: str | None,
                             kwargs: dict[str, str], message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_dataset(path, **kwargs)


def test_parse_duration() -> None:
    assert parse_duration("60s") == 60.0
    assert parse_duration("1.5m") == 90.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration("7") == 7.0
    for bad in ("", "soon", "-3s", "0"):
        with pytest.raises(ConfigError):
            parse_duration(bad)


@pytest.fixture
def iris_home(augur_home: Path, tmp_path: Path) -> tuple[Registry, Path]:
    from augur.convert import export
    from augur.examples import iris_forest

    ex = iris_forest(n_estimators=10)
    reg = Registry(augur_home)
    export(ex.model, "iris", sample=ex.X, registry=reg)
    frame = ex.X.assign(species=ex.y)
    frame.to_csv(tmp_path / "iris.csv", index=False)
    return reg, tmp_path / "iris.csv"


def test_cli_compress_prints_the_report_and_registers(
        iris_home: tuple[Registry, Path], capsys: pytest.CaptureFixture[str]) -> None:
    reg, csv = iris_home
    code = main(["compress", "iris", "--method", "distill", "--student", "gbm",
                 "--calibration", str(csv), "--validation", str(csv), "--target", "species"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "registered iris:2 (distill of iris:1)" in out
    assert "SIZE_MB" in out and "P99_MS" in out and "ROWS_S@64" in out
    assert "accuracy=" in out
    child = reg.get("iris", 2)
    assert str(child.parent) == "iris:1" and child.derivation["method"] == "distill"


def test_cli_compress_gate_and_errors(iris_home: tuple[Registry, Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    reg, csv = iris_home
    assert main(["compress", "iris", "--method", "distill", "--calibration", str(csv),
                 "--max-quality-drop", "0"]) == 2
    assert "nothing was registered" in capsys.readouterr().err
    assert [v.version for v in reg.versions("iris")] == [1]
    assert main(["compress", "iris", "--method", "fp16", "--validation", str(csv),
                 "--max-quality-drop", "-1"]) == 2
    assert "must be >= 0" in capsys.readouterr().err
    assert main(["compress", "iris", "--method", "quantize-dynamic",
                 "--validation", str(csv)]) == 2
    assert "nothing to quantize" in capsys.readouterr().err
    assert main(["compress", "nosuch", "--method", "fp16", "--validation", str(csv)]) == 2
    assert "no model named 'nosuch'" in capsys.readouterr().err
    assert main(["compress", "iris", "--method", "fp16", "--target", "species"]) == 2
    assert "--target needs --validation" in capsys.readouterr().err
    assert main(["compress", "iris", "--method", "fp16", "--validation",
                 str(csv.with_name("nope.csv"))]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_tune_then_cache_hit(iris_home: tuple[Registry, Path],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tune", "iris", "--budget", "2s"]) == 0
    out = capsys.readouterr().out
    assert "tuned iris:1" in out and "graph fusions" in out and "defaults p50" in out
    assert "objective: throughput" in out and "served throughput at batch" in out
    assert "instances" in out
    assert main(["tune", "iris", "--budget", "2s"]) == 0
    assert "cache hit" in capsys.readouterr().out
    assert main(["tune", "iris", "--budget", "2s", "--objective", "latency"]) == 0
    out = capsys.readouterr().out
    assert "objective: latency" in out and "served throughput" not in out
    assert main(["tune", "iris", "--budget", "soon"]) == 2
