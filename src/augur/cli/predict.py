"""``augur predict REF --input FILE``: one-off predictions from a file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from augur.cli.output import one_of, print_json, print_table
from augur.errors import InvalidInput
from augur.runtime import LoadedModel, load

#: What :func:`read_input` reads (``predict --input``, ``edge parity --data``).
INPUT_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")


def read_input(path: Path) -> Any:
    """Read prediction input: :data:`INPUT_SUFFIXES` (.json records, ``{"instances"}`` or
    ``{"inputs"}``; .jsonl one record per line; .csv; .parquet).

    Raises:
        InvalidInput: the file is missing, of an unknown kind, or malformed.
    """
    import pandas as pd

    if not path.exists():
        raise InvalidInput(f"input file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".json", ".jsonl"):  # (INPUT_SUFFIXES: keep the two in step)
            text = path.read_text(encoding="utf-8")
            if suffix == ".jsonl":
                return [json.loads(line) for line in text.splitlines() if line.strip()]
            data = json.loads(text)
            if isinstance(data, dict) and "instances" in data:
                return data["instances"]
            if isinstance(data, dict) and "inputs" in data:
                return {k: np.asarray(v) for k, v in data["inputs"].items()}
            return data
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc
    raise InvalidInput(f"input file {path} must be {one_of(INPUT_SUFFIXES)}")


def rows_of(model: LoadedModel, outputs: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One dict per input row, one key per output."""
    n = len(next(iter(outputs.values())))
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for name, arr in outputs.items():
        for i in range(n):
            v = arr[i]
            rows[i][name] = v.tolist() if isinstance(v, np.ndarray) else (
                v.item() if isinstance(v, np.generic) else v)
    return rows


def cmd_predict(args: argparse.Namespace) -> int:
    model = load(args.ref)
    data = read_input(Path(args.input))
    outputs = model.predict(data)
    rows = rows_of(model, outputs)
    if args.json:
        print_json({"model": model.name, "version": model.version, "predictions": rows})
    else:
        print(f"# {model.ref}")
        print_table(rows, list(outputs))
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser("predict", help=f"predict from a {one_of(INPUT_SUFFIXES)} file",
                        description="Run a registered model on the rows of a file.")
    p.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    p.add_argument("--input", "-i", required=True,
                   help=f"a {one_of(INPUT_SUFFIXES)} file: records (.json: a list, or "
                        '{"instances": [...]} or {"inputs": {...}}; .jsonl: one per line)')
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_predict)
