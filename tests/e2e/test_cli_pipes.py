"""Every verb piped into a reader that stops early (head, less, grep -q) exits quietly:
no traceback, no 'Exception ignored', the status the verb had."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from augur.cli import main
from augur.cli.app import build_parser

pytestmark = pytest.mark.e2e

#: One real invocation of each verb that prints to stdout, text and --json. ``{X}``
#: are filled from the prepared home. Long-running verbs run in a subprocess below.
CASES: dict[str, list[list[str]]] = {
    "models list": [["models", "list"], ["models", "list", "--json"]],
    "models show": [["models", "show", "iris"], ["models", "show", "iris:1", "--json"],
                    ["models", "show", "iris@production"]],
    "models register": [["models", "register", "extra", "{onnx}"]],
    "models delete": [["models", "delete", "extra"]],
    "alias set": [["alias", "set", "iris", "staging", "1"],
                  ["alias", "set", "iris", "staging", "2"]],
    "alias rollback": [["alias", "rollback", "iris", "staging"]],
    "alias list": [["alias", "list", "iris"], ["alias", "list", "iris", "--json"]],
    "predict": [["predict", "iris", "--input", "{rows}"],
                ["predict", "iris", "--input", "{rows}", "--json"]],
    "demo": [["demo"]],
    "batch run": [["batch", "run", "iris", "--input", "{parquet}", "--key", "id", "-q"]],
    "batch resume": [["batch", "resume", "{run}"]],
    "batch runs": [["batch", "runs"], ["batch", "runs", "--json"]],
    "batch errors": [["batch", "errors", "{run}"], ["batch", "errors", "{run}", "--json"]],
    "batch schedule": [["batch", "schedule", "iris", "--input", "{parquet}", "--key", "id",
                        "--every", "4h"]],
    "batch schedules": [["batch", "schedules"], ["batch", "schedules", "--json"]],
    "batch trigger": [["batch", "trigger", "{schedule}"]],
    "batch unschedule": [["batch", "unschedule", "{schedule}"]],
    "batch get": [["batch", "get", "iris", "3"], ["batch", "get", "iris", "3", "--json"]],
    "scheduler": [["scheduler", "--once"]],
    "tune": [["tune", "iris", "--budget", "2s"]],
    "export-edge": [["export-edge", "iris", "--target", "device", "--out", "{bundle}"]],
    "edge verify": [["edge", "verify", "{bundle}"]],
    # These need a browser, a model with weights or feature history to do real work:
    # their output path is the same main(), exercised here with their help text.
    "edge parity": [["edge", "parity", "--help"]],
    "compress": [["compress", "--help"]],
    "features training-set": [["features", "training-set", "--help"]],
    "features materialize": [["features", "materialize", "--help"]],
    "features get": [["features", "get", "--help"]],
    "features worker": [["features", "worker", "--help"]],
    "features archive": [["features", "archive", "--source", "orders"],
                         ["features", "archive", "--source", "orders", "--json"]],
    "edge serve": [["edge", "serve", "--help"]],
    "ui": [["ui", "--help"]],
}

#: Verbs that serve until stopped: started as a user would, in a subprocess.
LONG_RUNNING = {"serve": ["serve", "--port", "0", "--no-grpc"]}


def leaf_verbs() -> set[str]:
    out = set()

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.add(" ".join(path))
        for action in subs:
            for name, sub in action.choices.items():
                walk(sub, (*path, name))
    walk(build_parser(), ())
    return out


def test_every_verb_has_a_case() -> None:
    assert leaf_verbs() == set(CASES) | set(LONG_RUNNING)


class ClosedPipe(io.TextIOWrapper):
    """stdout as a pipe whose reader has gone (``head`` after its lines)."""

    def __init__(self) -> None:
        read, write = os.pipe()
        os.close(read)
        super().__init__(io.FileIO(write, "w"), write_through=False)


@pytest.fixture(scope="module")
def fills(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("pipes")
    home = root / "home"
    saved = os.environ.get("AUGUR_HOME")
    os.environ["AUGUR_HOME"] = str(home)
    try:
        from augur.convert import convert
        from augur.examples import iris_forest
        from augur.registry import Registry

        reg = Registry(home)
        ex = iris_forest(10)
        from augur.convert import export

        export(ex.model, "iris", sample=ex.X, registry=reg)
        export(ex.model, "iris", sample=ex.X, registry=reg)
        reg.set_alias("iris", "production", 1)
        rows = ex.X.head(8).copy()
        rows.insert(0, "id", range(len(rows)))
        rows.iloc[:, 1:].to_json(root / "rows.json", orient="records")
        rows.iloc[:, 1:].to_csv(root / "rows.csv", index=False)
        rows.to_parquet(root / "rows.parquet")
        (root / "m.onnx").write_bytes(convert(ex.model, ex.X).onnx)
        yield {"home": str(home), "rows": str(root / "rows.json"),
               "parquet": str(root / "rows.parquet"), "onnx": str(root / "m.onnx"),
               "bundle": str(root / "bundle")}
    finally:
        if saved is None:
            os.environ.pop("AUGUR_HOME", None)
        else:
            os.environ["AUGUR_HOME"] = saved


def _fill(argv: list[str], fills: dict[str, str]) -> list[str]:
    return [a.format(**fills) if "{" in a else a for a in argv]


def _state(fills: dict[str, str]) -> dict[str, str]:
    """Ids the cases refer to: the newest batch run and schedule (made by earlier cases)."""
    from augur.batch import ScheduleStore, list_runs
    from augur.registry import Registry

    reg = Registry(Path(fills["home"]))
    runs = list_runs(reg, limit=1)
    schedules = ScheduleStore(reg).list()
    return {**fills, "run": runs[0].id if runs else "none",
            "schedule": schedules[-1].id if schedules else "none"}


def _run_closed(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` with stdout a closed pipe; (status, what reached stderr)."""
    saved_out, saved_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ClosedPipe(), io.StringIO()
    try:
        code = main(argv)
        err = sys.stderr.getvalue()
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
    return code, err


def _run_open(argv: list[str]) -> tuple[int, str]:
    saved = sys.stdout
    sys.stdout = io.StringIO()
    try:
        return main(argv), sys.stdout.getvalue()
    finally:
        sys.stdout = saved


@pytest.mark.slow
def test_every_verb_piped_into_a_reader_that_stops(fills: dict[str, str]) -> None:
    from cli_text import NOISE

    for verb, invocations in CASES.items():
        for argv in invocations:
            state = _state(fills)
            code, err = _run_closed(_fill(argv, state))
            assert code == 0, (verb, argv, err)
            assert "Traceback" not in err and "BrokenPipe" not in err, (verb, argv, err)
            if "--help" not in argv and verb not in ("demo", "batch run", "batch trigger",
                                                     "batch resume", "batch schedule",
                                                     "models register", "models delete",
                                                     "batch unschedule", "export-edge",
                                                     "alias set", "alias rollback",
                                                     "scheduler", "tune"):
                # read-only verbs: the same output, read whole, is free of float noise
                code, out = _run_open(_fill(argv, state))
                assert code == 0 and out, (verb, argv)
                if "--json" in argv:
                    json.loads(out)
                else:
                    assert not NOISE.search(out), (verb, argv, out)


@pytest.mark.parametrize("pipeline", [
    "models show iris --json | head -1",
    "models list | grep -q iris",
    "--help | head -1",
    "batch runs | head -c 10",
])
def test_real_pipes_exit_quietly(fills: dict[str, str], pipeline: str) -> None:
    env = {**os.environ, "AUGUR_HOME": fills["home"]}
    command = f"set -o pipefail; {sys.executable} -m augur {pipeline}"
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stderr == "", (pipeline, done.stderr)


def test_a_server_whose_output_pipe_closed_exits_quietly(fills: dict[str, str]) -> None:
    env = {**os.environ, "AUGUR_HOME": fills["home"]}
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "augur", *LONG_RUNNING["serve"]],
                              env=env, stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
