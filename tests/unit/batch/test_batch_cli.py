from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
     "input postgresql://127.0.0.1:1/test: connecting failed"),
    (["--input", "postgresql:/broken?query=SELECT 1", "--key", "id"], "bad --input"),
    (["--input", "{parquet}", "--key", "id", "--output", "mysql://x/y"],
     "bad --output 'mysql://x/y': unsupported scheme 'mysql'"),
    (["--input", "{parquet}", "--key", "id", "--output", "redis://127.0.0.1:1/0"],
     "prediction store redis://127.0.0.1:1/0: connecting failed"),
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


@pytest.fixture
def bad_rows_input(tmp_path: Path, rows: Any) -> Path:
    """100 rows: row 6 has a NaN feature, row 9 has no key."""
    frame = rows(100)
    frame["id"] = frame["id"].astype(str).astype(object)
    frame.loc[6, "petal_width"] = float("nan")
    frame.loc[9, "id"] = None
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize("output", ["preds.db", "parquet"])
def test_failed_rows_are_visible_from_the_cli(home: Path, bad_rows_input: Path, tmp_path: Path,
                                              output: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / output) if output.endswith(".db") else f"parquet://{tmp_path / 'pq'}"
    assert main(["batch", "run", "iris", "--input", str(bad_rows_input), "--key", "id",
                 "--output", out, "--quiet", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["stats"]["rows_failed"] == 2
    assert main(["batch", "errors", run["id"]]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ROW", "KEY", "REASON"] and len(table) == 3
    assert table[1].split()[:2] == ["6", "6"] and "petal_width" in table[1]
    assert table[2].split()[:2] == ["9", "-"]
    assert main(["batch", "errors", run["id"], "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["row"] for r in rows] == [6, 9] and "NaN" in rows[0]["reason"]
    if output.endswith(".db"):  # a lookup store: it says the key failed, and why
        assert main(["batch", "get", "iris", "6", "--store", out]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"row 6 of batch run {run['id']} failed" in err
        assert "petal_width" in err
        assert main(["batch", "get", "iris", "nobody", "--store", out]) == 2
        assert "failed" not in capsys.readouterr().err


def test_unknown_run_has_no_errors_to_list(home: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "errors", "nope"]) == 2
    assert capsys.readouterr().err.startswith("augur: error:")


def test_progress_and_summary_name_what_their_rates_measure(
        home: Path, parquet_input: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "run", "iris", "--input", str(parquet_input), "--key", "id",
                 "--output", str(tmp_path / "p.db"), "--chunk-size", "300"]) == 0
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    progress = re.search(r"([\d,]+) rows/s predict \+ store", last)
    summary = re.search(r"end to end \(([\d,]+) rows/s with start-up\), ([\d,]+) rows/s "
                        r"predict \+ store", captured.out)
    assert progress and summary, (captured.err, captured.out)
    # the last progress line and the summary give one figure for the same thing
    assert progress.group(1) == summary.group(2)
    # every rows/s figure printed says what it measures
    for text in (captured.out, captured.err):
        for m in re.finditer(r"rows/s(.{0,20})", text):
            assert m.group(1).startswith((" predict + store", " with start-up")), text


@pytest.mark.parametrize("every", ["4h", "90m", "45s", "1.5h", "2d"])
def test_schedules_show_the_period_as_written(home: Path, parquet_input: Path, every: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "schedule", "iris", "--input", str(parquet_input), "--key", "id",
                 "--every", every]) == 0
    said = capsys.readouterr().out
    assert f"every {every}," in said and "augur serve --scheduler" in said
    sid = said.split()[1].rstrip(":")
    try:
        assert main(["batch", "schedules"]) == 0
        line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(sid))
        assert f" every {every} " in line
        assert main(["batch", "schedules", "--json"]) == 0
        found = next(s for s in json.loads(capsys.readouterr().out) if s["id"] == sid)
        assert found["every"] == every
    finally:
        assert main(["batch", "unschedule", sid]) == 0
