"""The manifest of an edge bundle: what the model takes, how records become tensors.

A bundle is read by code that has no augur (the browser module, the device
``predict.py``), so the manifest spells out everything augur's runtime does
outside the ONNX graph: which record column lands in which tensor and at which
position, the tensor types, how missing values are filled, and checksums of
every file so a damaged download is caught before it predicts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from augur.errors import InvalidArtifact
from augur.registry import ModelVersion
from augur.signature import ColumnSpec, Signature

FORMAT = "augur-edge/1"
MANIFEST_NAME = "manifest.json"
TARGETS = ("web", "device")


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _fill_value(col: ColumnSpec) -> str | None:
    if not col.nullable:
        return None
    return "" if col.kind == "string" else "NaN"


def preprocessing_steps(signature: Signature) -> list[dict[str, Any]]:
    """The steps between a record and the graph's input tensors, in order.

    These are what :func:`augur.runtime.to_feeds` does and the graph does not:
    placing columns in tensors, converting types, filling missing values.
    """
    steps: list[dict[str, Any]] = []
    for spec in signature.inputs:
        cols = [c for c in signature.columns if c.tensor == spec.name]
        if not cols:
            continue
        if len(cols) == 1 and cols[0].index is None:
            steps.append({"step": "column_to_tensor", "tensor": spec.name,
                          "column": cols[0].name, "datatype": spec.datatype,
                          "shape": [-1, 1]})
        else:
            width = max(c.index or 0 for c in cols) + 1
            ordered = sorted(cols, key=lambda c: c.index or 0)
            steps.append({"step": "stack_columns", "tensor": spec.name,
                          "columns": [c.name for c in ordered], "datatype": spec.datatype,
                          "shape": [-1, width]})
    for col in signature.columns:
        fill = _fill_value(col)
        if fill is not None:
            steps.append({"step": "fill_missing", "column": col.name, "value": fill})
    declared = signature.extra.get("preprocessing")
    if declared:
        steps.append({"step": "declared", "detail": declared})
    return steps


def column_entries(signature: Signature) -> list[dict[str, Any]]:
    """One entry per record column, with the datatype of the tensor it feeds."""
    datatypes = {s.name: s.datatype for s in signature.inputs}
    return [{**c.to_dict(), "datatype": datatypes.get(c.tensor)} for c in signature.columns]


def build_manifest(version: ModelVersion, *, target: str, model_file: str,
                   files: Mapping[str, bytes], quantization: dict[str, Any] | None,
                   runtime: dict[str, Any]) -> dict[str, Any]:
    """Describe a bundle.

    Args:
        version: the registered version the bundle was made from.
        target: ``web`` or ``device``.
        model_file: the bundle-relative name of the model (``model.onnx``, ``model.ort``).
        files: every other bundle file (name -> content), for the checksums.
        quantization: how the model was quantized, or ``None``.
        runtime: the runtime the bundle expects (package, version, files).

    Returns:
        The manifest as a JSON-ready dict.
    """
    sig = version.signature
    return {
        "format": FORMAT,
        "target": target,
        "model": {
            "name": version.name, "version": version.version, "ref": version.ref,
            "framework": version.framework, "artifact": version.artifact,
            "parent": str(version.parent) if version.parent else None,
        },
        "model_file": model_file,
        "quantization": quantization,
        "signature": sig.to_dict(),
        "inputs": [s.to_dict() for s in sig.inputs],
        "outputs": [s.to_dict() for s in sig.outputs],
        "columns": column_entries(sig),
        "task": sig.task,
        "classes": sig.to_dict()["classes"],
        "label_output": sig.label_output,
        "probability_output": sig.probability_output,
        "preprocessing": preprocessing_steps(sig),
        "runtime": runtime,
        "checksums": {name: {"sha256": sha256_hex(data), "size": len(data)}
                      for name, data in sorted(files.items())},
        "created_at": time.time(),
    }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as pretty, stable UTF-8 JSON."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def read_manifest(bundle: str | Path) -> dict[str, Any]:
    """Read and check a bundle's manifest.

    Raises:
        InvalidArtifact: no manifest, malformed JSON, or an unknown format.
    """
    path = Path(bundle) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidArtifact(f"{bundle} is not an edge bundle: no {MANIFEST_NAME}") from None
    except (OSError, ValueError) as exc:
        raise InvalidArtifact(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise InvalidArtifact(f"{path}: unknown bundle format {got!r}; expected {FORMAT!r}")
    return manifest


def verify_bundle(bundle: str | Path) -> dict[str, Any]:
    """Check every file of a bundle against the manifest's checksums.

    Returns:
        The manifest.

    Raises:
        InvalidArtifact: a file is missing or its content differs from the manifest.
    """
    root = Path(bundle)
    manifest = read_manifest(root)
    for name, entry in manifest["checksums"].items():
        path = root / name
        if not path.is_file():
            raise InvalidArtifact(f"bundle {root} lacks {name}, listed in its manifest")
        if sha256_hex(path.read_bytes()) != entry["sha256"]:
            raise InvalidArtifact(f"bundle file {name} does not match its manifest checksum "
                                  "(damaged or altered)")
    return manifest
