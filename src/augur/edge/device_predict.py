"""Predict with an augur device bundle, using only onnxruntime and numpy.

This file is copied verbatim into every device bundle as ``predict.py``; it must
import nothing from augur. It reads ``manifest.json`` next to it, checks the
bundle's checksums, builds tensors from records exactly as augur's runtime does
(columns into their tensors by position, types converted, missing values
filled), and runs the ORT-format model.

Usage::

    python predict.py --input rows.csv              # or .json (list of records) / .jsonl
    python predict.py --input rows.json --output predictions.json
    python predict.py --input tensors.json          # {"inputs": {"input": [[...], ...]}}

    from predict import Predictor
    Predictor("bundle/").predict([{"sepal_length": 5.1, ...}])
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

DTYPES: dict[str, Any] = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
    "INT64": np.int64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
    "BYTES": object,
}


class BundleError(ValueError):
    """The bundle is damaged, or the input does not match the model."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def column_values(col: Mapping[str, Any], values: Sequence[Any]) -> np.ndarray:
    """One column's values converted to its kind, missing values filled or refused."""
    name, kind, nullable = col["name"], col["kind"], bool(col["nullable"])
    if kind == "string":
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            if isinstance(v, str):
                out[i] = v
            elif _missing(v) and nullable:
                out[i] = ""
            elif _missing(v):
                raise BundleError(f"column {name!r}: missing value at row {i} (expected a string)")
            else:
                raise BundleError(f"column {name!r}: expected a string, got {v!r} at row {i}")
        return out
    num = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if v is None:
            num[i] = np.nan
        elif isinstance(v, bool | np.bool_):
            if kind != "bool":
                raise BundleError(f"column {name!r}: expected {kind}, got {v!r} at row {i}")
            num[i] = float(v)
        elif isinstance(v, int | float | np.integer | np.floating):
            num[i] = float(v)
        else:
            raise BundleError(f"column {name!r}: expected {kind}, got {v!r} at row {i}")
    nan = np.isnan(num)
    if nan.any() and not nullable:
        raise BundleError(f"column {name!r}: missing value (NaN) at row {int(np.argmax(nan))}, "
                          "and the column does not allow NaN")
    if kind in ("int", "bool"):
        bad = ~nan & (num != np.round(num))
        if bad.any():
            raise BundleError(f"column {name!r}: expected {kind}, got {num[bad][0]} "
                              f"at row {int(np.argmax(bad))}")
    return num


def build_feeds(manifest: Mapping[str, Any],
                records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Tensors for ``records`` following the manifest's columns and inputs."""
    columns = manifest["columns"]
    if not columns:
        raise BundleError("this model takes tensors, not records")
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise BundleError(f"record {i} is not an object: {record!r}")
        for col in columns:
            if col["name"] not in record:
                raise BundleError(f"record {i} is missing column {col['name']!r}")
    n = len(records)
    feeds: dict[str, np.ndarray] = {}
    for spec in manifest["inputs"]:
        cols = [c for c in columns if c["tensor"] == spec["name"]]
        if not cols:
            raise BundleError(f"input {spec['name']!r} is not fed by any column")
        dtype = DTYPES[spec["datatype"]]
        if len(cols) == 1 and cols[0]["index"] is None:
            values = column_values(cols[0], [r[cols[0]["name"]] for r in records])
            feeds[spec["name"]] = values.astype(dtype).reshape(n, 1)
            continue
        width = max(c["index"] or 0 for c in cols) + 1
        mat = np.zeros((n, width), dtype=dtype)
        for c in cols:
            mat[:, c["index"] or 0] = column_values(c, [r[c["name"]] for r in records])
        feeds[spec["name"]] = mat
    return feeds


def tensor_feed(spec: Mapping[str, Any], value: Any) -> np.ndarray:
    """One input given as a (nested) array, checked against the manifest's spec."""
    name, shape = spec["name"], list(spec["shape"])
    dtype = DTYPES[spec["datatype"]]
    try:
        arr = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"input {name!r}: ragged or malformed array: {exc}") from exc
    if arr.ndim != len(shape):
        raise BundleError(f"input {name!r}: expected {len(shape)} dimensions (shape {shape}), "
                          f"got shape {list(arr.shape)}")
    for axis, (want, got) in enumerate(zip(shape, arr.shape, strict=True)):
        if want >= 0 and want != got:
            raise BundleError(f"input {name!r}: dimension {axis} must be {want}, "
                              f"got shape {list(arr.shape)}")
    return arr


class Predictor:
    """A loaded device bundle.

    Args:
        bundle: the bundle folder (holding ``manifest.json``).
        verify: check every file against the manifest's SHA-256 first.
    """

    def __init__(self, bundle: str | Path, verify: bool = True) -> None:
        self.root = Path(bundle)
        self.manifest: dict[str, Any] = json.loads(
            (self.root / "manifest.json").read_text(encoding="utf-8"))
        if verify:
            for name, entry in self.manifest["checksums"].items():
                digest = hashlib.sha256((self.root / name).read_bytes()).hexdigest()
                if digest != entry["sha256"]:
                    raise BundleError(f"{name} does not match its checksum in manifest.json")
        self.session = ort.InferenceSession(str(self.root / self.manifest["model_file"]),
                                            providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]

    def predict(self, records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Run the model on records; output name -> array, one row per record."""
        return self.run(build_feeds(self.manifest, records))

    def predict_tensors(self, arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Run the model on input name -> (nested) array, for models without columns."""
        specs = {s["name"]: s for s in self.manifest["inputs"]}
        unknown = sorted(set(arrays) - set(specs))
        missing = sorted(set(specs) - set(arrays))
        if unknown or missing:
            raise BundleError(f"unknown input(s) {unknown}, missing input(s) {missing}; "
                              f"the model takes {sorted(specs)}")
        return self.run({name: tensor_feed(spec, arrays[name]) for name, spec in specs.items()})

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run prepared feeds; output name -> array."""
        try:
            results = self.session.run(self.output_names, dict(feeds))
        except Exception as exc:  # onnxruntime raises its own InvalidArgument, Fail, ...
            raise BundleError(f"the model rejected the input: {exc}") from exc
        return dict(zip(self.output_names, results, strict=True))


def _cell(col: Mapping[str, Any], text: str) -> Any:
    if col["kind"] == "string":
        return text if text != "" else None
    if text.strip() == "":
        return None
    if col["kind"] == "bool" and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    try:
        return float(text)
    except ValueError:
        raise BundleError(f"column {col['name']!r}: {text!r} is not a number") from None


def read_records(path: Path, manifest: Mapping[str, Any]) -> Any:
    """Records from a .csv (typed by the manifest's columns), .json or .jsonl file.

    A JSON object ``{"inputs": {name: nested array}}`` is returned as that mapping,
    for models that take tensors.
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        kinds = {c["name"]: c for c in manifest["columns"]}
        return [{k: _cell(kinds[k], v) if k in kinds else v for k, v in row.items()}
                for row in csv.DictReader(text.splitlines())]
    if path.suffix.lower() == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("inputs"), dict):
        return dict(data["inputs"])
    return list(data["instances"] if isinstance(data, dict) and "instances" in data else data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict with an augur device bundle.")
    parser.add_argument("--bundle", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--input", "-i", required=True, help=".csv, .json or .jsonl records")
    parser.add_argument("--output", "-o", help="write JSON here instead of stdout")
    args = parser.parse_args(argv)
    try:
        predictor = Predictor(args.bundle)
        data = read_records(Path(args.input), predictor.manifest)
        outputs = (predictor.predict_tensors(data) if isinstance(data, dict)
                   else predictor.predict(data))
    except (BundleError, OSError, ValueError) as exc:
        print(f"predict.py: error: {exc}", file=sys.stderr)
        return 2
    model = predictor.manifest["model"]
    text = json.dumps({"model": model["name"], "version": model["version"],
                       "outputs": {k: v.tolist() for k, v in outputs.items()}})
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
