from __future__ import annotations

import json
from pathlib import Path

import pytest

from augur.cli.app import main
from augur.registry import Registry


@pytest.fixture
def home(batch_registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUGUR_HOME", str(batch_registry.home))
    return batch_registry.home


def test_run_runs_get_and_schedule(home: Path, parquet_input: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.db"
    assert main(["batch", "run", "iris", "--input", str(parquet_input), "--key", "id",
                 "--output", str(out), "--chunk-size", "400"]) == 0
    captured = capsys.readouterr()
    assert "succeeded" in captured.out and "1,000 predicted" in captured.out
    assert "1,000 rows of 1,000 (100%)" in captured.err  # plain progress lines off a TTY
    assert main(["batch", "runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    run = next(r for r in runs if r["params"]["output"] == str(out))
    assert run["status"] == "succeeded" and run["stats"]["rows_out"] == 1000
    assert main(["batch", "get", "iris", "7", "--store", str(out), "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred["version"] == 1 and pred["run_id"] == run["id"] and "label" in pred["outputs"]
    assert main(["batch", "schedule", "iris", "--input", str(parquet_input), "--key", "id",
                 "--output", str(out), "--cron", "0 3 * * *", "--json"]) == 0
    sched = json.loads(capsys.readouterr().out)
    assert main(["batch", "trigger", sched["id"]]) == 0
    assert "succeeded" in capsys.readouterr().out
    assert main(["batch", "unschedule", sched["id"]]) == 0


@pytest.mark.parametrize("argv, message", [
    (["--input", "ftp://x/y.parquet", "--key", "id"], "unknown input scheme 'ftp'"),
    (["--input", "{parquet}", "--key", "customer"], "key column 'customer' is not in the input"),
    (["--input", "postgresql://127.0.0.1:1/test?query=SELECT 1 AS id", "--key", "id"],
     "cannot connect to PostgreSQL"),
    (["--input", "postgresql:/broken?query=SELECT 1", "--key", "id"], "bad PostgreSQL URL"),
    (["--input", "{parquet}", "--key", "id", "--output", "mysql://x/y"], "unknown output"),
    (["--input", "{parquet}", "--key", "id", "--output", "redis://127.0.0.1:1/0"],
     "cannot connect to Redis"),
    (["--input", "{parquet}", "--key", "id", "--chunk-size", "0"], "chunk-size"),
])
def test_bad_input_is_one_line_and_exit_2(home: Path, parquet_input: Path, argv: list[str],
                                          message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.replace("{parquet}", str(parquet_input)) for a in argv]
    assert main(["batch", "run", "iris", "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("augur: error:") and message in err
    assert len(err.splitlines()) == 1


def test_unknown_model_and_run(home: Path, parquet_input: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "run", "nosuchmodel", "--input", str(parquet_input),
                 "--key", "id"]) == 2
    assert main(["batch", "resume", "nosuchrun"]) == 2
    err = capsys.readouterr().err
    assert "nosuchmodel" in err and "nosuchrun" in err
