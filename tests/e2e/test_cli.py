"""The ``augur`` command, run as a user would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from augur.convert import convert
from augur.examples import iris_forest

pytestmark = pytest.mark.e2e


def augur(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUGUR_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "augur", *args], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    result = augur(home, "demo")
    assert result.returncode == 0, result.stderr
    assert "iris:1" in result.stdout and "labels agree 100%" in result.stdout
    return home


def test_models_list_and_show(demo_home: Path) -> None:
    out = augur(demo_home, "models", "list", "--json")
    assert out.returncode == 0
    names = {m["name"]: m for m in json.loads(out.stdout)}
    assert set(names) >= {"iris", "diabetes"}
    assert names["iris"]["aliases"] == {"production": 1}
    text = augur(demo_home, "models", "list").stdout
    assert text.splitlines()[0].split()[:3] == ["NAME", "LATEST", "VERSIONS"]
    shown = json.loads(augur(demo_home, "models", "show", "diabetes:1", "--json").stdout)
    assert {c["name"]: c["kind"] for c in shown["signature"]["columns"]}["sex"] == "string"
    assert shown["parity"]["passed"] is True
    assert "columns:" in augur(demo_home, "models", "show", "iris@production").stdout


def test_predict_from_json_csv_and_parquet(demo_home: Path, tmp_path: Path) -> None:
    ex = iris_forest(10)
    rows = ex.X.head(4)
    (tmp_path / "rows.json").write_text(json.dumps(rows.to_dict(orient="records")))
    rows.to_csv(tmp_path / "rows.csv", index=False)
    rows.to_parquet(tmp_path / "rows.parquet")
    labels = []
    for name in ("rows.json", "rows.csv", "rows.parquet"):
        out = augur(demo_home, "predict", "iris", "--input", str(tmp_path / name), "--json")
        assert out.returncode == 0, out.stderr
        body = json.loads(out.stdout)
        assert body["version"] == 1
        labels.append([p["label"] for p in body["predictions"]])
    assert labels[0] == labels[1] == labels[2] == [0, 0, 0, 0]


def test_register_alias_and_rollback(demo_home: Path, tmp_path: Path) -> None:
    ex = iris_forest(5)
    path = tmp_path / "small.onnx"
    path.write_bytes(convert(ex.model, ex.X).onnx)
    out = augur(demo_home, "models", "register", "iris", str(path))
    assert out.returncode == 0 and "registered iris:2" in out.stdout
    # a bare .onnx has no columns: moving production to it would break record clients
    refused = augur(demo_home, "alias", "set", "iris", "production", "2")
    assert refused.returncode == 2 and "tensors, not records" in refused.stderr
    out = augur(demo_home, "models", "register", "iris", str(path),
                "--signature-from", "iris@production")
    assert out.returncode == 0 and "registered iris:3" in out.stdout
    assert augur(demo_home, "alias", "set", "iris", "production", "3").returncode == 0
    assert augur(demo_home, "alias", "set", "iris", "production", "2", "--force").returncode == 0
    aliases = json.loads(augur(demo_home, "alias", "list", "iris", "--json").stdout)
    assert aliases == {"production": 2}
    out = augur(demo_home, "alias", "rollback", "iris", "production")
    assert out.returncode == 0 and "-> 3" in out.stdout
    out = augur(demo_home, "alias", "rollback", "iris", "production")  # further back, not 2
    assert out.returncode == 0 and "-> 1" in out.stdout
    for ref in ("iris:2", "iris:3"):
        assert augur(demo_home, "models", "delete", ref).returncode == 0


@pytest.mark.parametrize(("args", "message"), [
    (["predict", "nope", "--input", "x.json"], "no model named 'nope'"),
    (["models", "show", "../etc"], "path separator"),
    (["models", "show", "iris:0"], "positive integer"),
    (["alias", "set", "iris", "production", "99"], "no version 99"),
    (["models", "register", "m", "/nonexistent.onnx"], "cannot read"),
    (["alias", "rollback", "iris", "never"], "no earlier version"),
])
def test_user_mistakes_print_one_line_and_exit_2(demo_home: Path, args: list[str],
                                                 message: str) -> None:
    out = augur(demo_home, *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_bad_files_are_refused(demo_home: Path, tmp_path: Path) -> None:
    import pickle

    (tmp_path / "m.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    (tmp_path / "cut.onnx").write_bytes(b"\x08\x07\x12\x04junk")
    (tmp_path / "rows.json").write_text("{not json")
    for args, message in [
        (["models", "register", "m", str(tmp_path / "m.pkl")], "pickle"),
        (["models", "register", "m", str(tmp_path / "cut.onnx")], "ONNX"),
        (["predict", "iris", "--input", str(tmp_path / "rows.json")], "cannot read"),
        (["predict", "iris", "--input", str(tmp_path / "rows.txt")], "does not exist"),
    ]:
        out = augur(demo_home, *args)
        assert out.returncode == 2 and message in out.stderr, out.stderr
    listed = json.loads(augur(demo_home, "models", "list", "--json").stdout)
    assert "m" not in {m["name"] for m in listed}


def test_predict_reports_a_missing_column(demo_home: Path, tmp_path: Path) -> None:
    (tmp_path / "rows.json").write_text(json.dumps([{"sepal_length": 5.0}]))
    out = augur(demo_home, "predict", "iris", "--input", str(tmp_path / "rows.json"))
    assert out.returncode == 2 and "missing column" in out.stderr


def test_every_verb_has_help(demo_home: Path) -> None:
    out = augur(demo_home, "--help")
    assert out.returncode == 0
    for verb in ("models", "alias", "predict", "demo"):
        assert verb in out.stdout
        assert augur(demo_home, verb, "--help").returncode == 0
