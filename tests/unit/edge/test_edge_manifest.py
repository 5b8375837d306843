"""The manifest: preprocessing steps, checksums, and refusing damaged bundles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from augur.edge import export_bundle, read_manifest, verify_bundle
from augur.edge.manifest import FORMAT, preprocessing_steps
from augur.errors import InvalidArtifact
from augur.registry import Registry


def test_preprocessing_of_a_shared_float_matrix(examples_registry: Registry) -> None:
    sig = examples_registry.resolve("iris").signature
    steps = preprocessing_steps(sig)
    assert steps == [{"step": "stack_columns", "tensor": "input", "datatype": "FP32",
                      "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
                      "shape": [-1, 4]}]


def test_preprocessing_of_per_column_tensors(examples_registry: Registry) -> None:
    sig = examples_registry.resolve("diabetes").signature
    steps = preprocessing_steps(sig)
    sex = next(s for s in steps if s.get("column") == "sex" and s["step"] == "column_to_tensor")
    assert sex == {"step": "column_to_tensor", "tensor": "sex", "column": "sex",
                   "datatype": "BYTES", "shape": [-1, 1]}
    fills = {s["column"]: s["value"] for s in steps if s["step"] == "fill_missing"}
    assert fills["age"] == "NaN" and "sex" not in fills  # sex is not nullable


def test_device_manifest_describes_the_model(examples_registry: Registry,
                                             tmp_path: Path) -> None:
    bundle = export_bundle("diabetes", target="device", out=tmp_path / "b",
                           registry=examples_registry)
    m = read_manifest(bundle.path)
    assert m["format"] == FORMAT and m["target"] == "device"
    assert m["model"]["ref"] == "diabetes:1" and m["model_file"] == "model.ort"
    assert {c["name"]: c["datatype"] for c in m["columns"]}["sex"] == "BYTES"
    assert set(m["checksums"]) == {"model.ort", "predict.py"}
    assert m["signature"] == examples_registry.resolve("diabetes").signature.to_dict()
    assert verify_bundle(bundle.path)["model"]["version"] == 1


def test_altered_or_missing_files_are_caught(examples_registry: Registry,
                                             tmp_path: Path) -> None:
    bundle = export_bundle("iris", target="device", out=tmp_path / "b",
                           registry=examples_registry)
    model = bundle.path / "model.ort"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(InvalidArtifact, match=r"model\.ort does not match"):
        verify_bundle(bundle.path)
    model.unlink()
    with pytest.raises(InvalidArtifact, match=r"lacks model\.ort"):
        verify_bundle(bundle.path)


@pytest.mark.parametrize(("content", "message"), [
    (None, "no manifest.json"),
    ("{not json", "cannot read"),
    ("[1, 2]", "unknown bundle format 'list'"),
    (json.dumps({"format": "other/9"}), "unknown bundle format 'other/9'"),
])
def test_bad_manifests_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(InvalidArtifact, match=message):
        read_manifest(tmp_path)
