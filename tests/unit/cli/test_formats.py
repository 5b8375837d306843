"""Every help text and README line that lists file formats names exactly what the code
reads (or writes): the lists are checked against the readers themselves."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from augur.batch.sources import FILE_SUFFIXES, open_source
from augur.cli.app import build_parser
from augur.cli.features import TABLE_SUFFIXES
from augur.cli.predict import INPUT_SUFFIXES, read_input
from augur.compression.data import SUFFIXES as DATA_SUFFIXES
from augur.compression.data import read_dataset
from augur.errors import AugurError

ROOT = Path(__file__).resolve().parents[3]

#: The file suffixes a format list may name (anything else, like .db or .onnx, is not
#: a data format and is not checked here).
VOCABULARY = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".pq", ".npy",
              ".npz", ".txt", ".feather", ".arrow", ".xlsx", ".avro", ".orc", ".toml",
              ".yaml", ".yml", ".ini")

#: What ``augur serve --config`` reads (ServerSettings.load, checked below).
SETTINGS_SUFFIXES = (".toml", ".json")

#: (verb path, option) -> what that option accepts; option None: the verb's own help,
#: description and epilog.
FORMATS: dict[tuple[tuple[str, ...], str | None], tuple[str, ...]] = {
    (("predict",), None): INPUT_SUFFIXES,
    (("predict",), "input"): INPUT_SUFFIXES,
    (("edge", "parity"), "data"): INPUT_SUFFIXES,
    (("export-edge",), "validation"): INPUT_SUFFIXES,
    (("batch", "run"), "input"): tuple(FILE_SUFFIXES),
    (("batch", "schedule"), "input"): tuple(FILE_SUFFIXES),
    (("tune",), "data"): DATA_SUFFIXES,
    (("compress",), None): DATA_SUFFIXES,
    (("features", "training-set"), "out"): TABLE_SUFFIXES,
    (("serve",), "config"): SETTINGS_SUFFIXES,
}


def named(text: str | None) -> set[str]:
    """The vocabulary suffixes a text names."""
    found = re.findall(r"(?<![\w/])\.[a-z]+\b", text or "")
    return {s for s in found if s in VOCABULARY}


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = (),
          help_text: str | None = None) -> Any:
    yield path, parser, help_text
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name), helps.get(name))


def _texts() -> list[tuple[tuple[str, ...], str | None, str]]:
    """(verb path, option dest or None, text) for every help text of the CLI."""
    out = []
    for path, parser, help_text in _walk(build_parser()):
        for text in (help_text, parser.description, parser.epilog):
            if text:
                out.append((path, None, text))
        for action in parser._actions:
            if action.help and not isinstance(action, argparse._SubParsersAction):
                out.append((path, action.dest, action.help))
    return out


def test_every_help_text_that_lists_formats_names_what_the_code_accepts() -> None:
    checked = set()
    for path, dest, text in _texts():
        listed = named(text)
        if not listed:
            continue
        key = (path, dest)
        assert key in FORMATS, f"augur {' '.join(path)} {dest or ''}: lists {sorted(listed)}" \
                               " but this test does not know its reader"
        assert listed == set(FORMATS[key]), (path, dest, text)
        checked.add(key)
    assert checked == set(FORMATS)  # every entry is still a help text that lists formats


def test_the_readme_lists_what_the_code_accepts() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    seen = 0
    for line in lines:
        if not re.search(r"(^|\s)augur\s", line) or "#" not in line:
            continue
        command, comment = line.split("#", 1)
        words = command.split()
        verbs = tuple(w for w in words[words.index("augur") + 1:] if not w.startswith("-"))
        for (path, dest), suffixes in FORMATS.items():
            if verbs[:len(path)] == path and dest and f"--{dest}" in words and named(comment):
                assert named(comment) == set(suffixes), line
                seen += 1
    assert seen >= 1


def _iris_frame() -> Any:
    from augur.examples import iris_frame

    return iris_frame()[0].head(5)


def _write(path: Path) -> Path:
    frame = _iris_frame()
    suffix = path.suffix
    if suffix == ".json":
        frame.to_json(path, orient="records")
    elif suffix in (".jsonl", ".ndjson"):
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(path)
    elif suffix in (".npy", ".npz"):
        np.save(path, frame.to_numpy()) if suffix == ".npy" else np.savez(path, x=frame)
    elif suffix == ".txt":
        path.write_text("a sentence\nanother one\n")
    elif suffix == ".toml":
        path.write_text("http_port = 9999\n")
    else:
        path.write_bytes(b"PAR1 or whatever this format starts with")
    return path


def _rows_of_batch_source(path: Path) -> int:
    return sum(len(chunk) for chunk in open_source(str(path)).chunks(100))


def _settings_of(path: Path) -> int:
    from augur.serving.settings import ServerSettings

    if path.suffix == ".json":
        path.write_text('{"http_port": 9999}')
    return ServerSettings.load(path, environ={}).http_port


READERS: dict[tuple[str, ...], Callable[[Path], Any]] = {
    INPUT_SUFFIXES: lambda p: len(read_input(p)),
    tuple(FILE_SUFFIXES): _rows_of_batch_source,
    DATA_SUFFIXES: lambda p: len(read_dataset(p).rows),
    SETTINGS_SUFFIXES: _settings_of,
}


@pytest.mark.parametrize("accepted", list(READERS), ids=["predict", "batch", "data",
                                                         "settings"])
def test_each_reader_reads_what_it_lists_and_refuses_the_rest(
        accepted: tuple[str, ...], tmp_path: Path) -> None:
    reader = READERS[accepted]
    for suffix in VOCABULARY:
        path = _write(tmp_path / f"rows{suffix}")
        if suffix in accepted:
            assert reader(path) > 0, suffix
        else:
            with pytest.raises(AugurError):
                reader(path)
