"""Alias moves that would break clients, rollback through history, a model's last version."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from test_registry import sig_of, tiny_onnx

from augur.errors import IncompatibleSignature, InvalidArtifact, ModelNotFound
from augur.registry import Registry, incompatibilities, register_onnx_file
from augur.signature import ColumnSpec, Signature, TensorSpec


def _with_columns(sig: Signature) -> Signature:
    cols = tuple(ColumnSpec(c, "float", "x", i) for i, c in enumerate(("a", "b", "c")))
    return replace(sig, columns=cols)


def test_a_move_to_a_signature_that_breaks_record_clients_is_refused(registry: Registry) -> None:
    data = tiny_onnx()
    records = registry.register("m", data, _with_columns(sig_of(data)))
    bare = registry.register("m", tiny_onnx(3.0), sig_of(tiny_onnx(3.0)))  # no columns
    registry.set_alias("m", "production", records.version)
    with pytest.raises(IncompatibleSignature, match="takes tensors, not records"):
        registry.set_alias("m", "production", bare.version)
    assert registry.resolve("m").version == records.version  # nothing moved
    assert registry.set_alias("m", "production", bare.version, force=True) == records.version
    assert registry.resolve("m").version == bare.version


def test_compatible_moves_pass_and_problems_are_named() -> None:
    base = _with_columns(sig_of(tiny_onnx()))
    assert incompatibilities(base, base) == []
    renamed = replace(base, columns=(*base.columns[:2], ColumnSpec("z", "float", "x", 2)))
    assert incompatibilities(base, renamed) == ["column 'c' is gone",
                                                "new required column(s) 'z'"]
    retyped = replace(base, outputs=(TensorSpec("y", "INT64", (-1, 3)),))
    assert incompatibilities(base, retyped) == ["output 'y' is INT64, was FP32"]
    tensors = sig_of(tiny_onnx())
    narrower = replace(tensors, inputs=(TensorSpec("x", "FP32", (4, 3)),))
    assert incompatibilities(tensors, narrower) == ["input 'x' has shape [4, 3], was [-1, 3]"]
    assert incompatibilities(narrower, tensors) == []  # a fixed axis may become free


def test_register_can_take_columns_from_another_version(registry: Registry,
                                                        tmp_path: Path) -> None:
    data = tiny_onnx()
    first = registry.register("m", data, _with_columns(sig_of(data)))
    registry.set_alias("m", "production", first.version)
    path = tmp_path / "retrained.onnx"
    path.write_bytes(tiny_onnx(5.0))
    second = register_onnx_file(registry, "m", path, signature_from=first.signature)
    assert [c.name for c in second.signature.columns] == ["a", "b", "c"]
    registry.set_alias("m", "production", second.version)  # compatible now: no force
    saved = tmp_path / "sig.json"
    saved.write_text(json.dumps(first.to_dict()))
    other = tmp_path / "other.onnx"
    wide = Signature((TensorSpec("x", "FP32", (-1, 4)),), (TensorSpec("y", "FP32", (-1, 4)),))
    other.write_bytes(tiny_onnx())
    with pytest.raises(InvalidArtifact, match="do not match"):
        register_onnx_file(registry, "m", other, signature_from=wide)
    assert len(registry.versions("m")) == 2


def test_rollback_walks_back_through_the_history(registry: Registry) -> None:
    data = tiny_onnx()
    for scale in (1.0, 2.0, 3.0, 4.0):
        registry.register("m", tiny_onnx(scale), sig_of(data))
    for version in (1, 2, 3):
        registry.set_alias("m", "production", version)
    assert registry.rollback("m", "production").version == 2
    assert registry.rollback("m", "production").version == 1  # not back to 3
    with pytest.raises(ModelNotFound, match="no earlier version"):
        registry.rollback("m", "production")
    registry.set_alias("m", "production", 4)
    assert registry.rollback_target("m", "production") == 1
    registry.set_alias("m", "production", 2)
    registry.delete("m", 4)  # deleted versions are skipped
    assert registry.rollback("m", "production").version == 1
    actions = [h["action"] for h in registry.alias_history("m", "production")]
    assert actions.count("rollback") == 3 and actions[-1] == "rollback"


def test_deleting_the_last_version_deletes_the_model(registry: Registry) -> None:
    data = tiny_onnx()
    registry.register("fraud", data, sig_of(data))
    registry.register("keep", data, sig_of(data))
    registry.delete("fraud", 1)
    assert [m.name for m in registry.list_models()] == ["keep"]
    with pytest.raises(ModelNotFound):
        registry.resolve("fraud")
    again = registry.register("fraud", data, sig_of(data))
    assert again.version == 1


@pytest.mark.parametrize("version", [0, -1, 2**63, 10**30, True])
def test_out_of_range_versions_are_not_found_not_a_crash(registry: Registry,
                                                         version: int) -> None:
    data = tiny_onnx()
    registry.register("m", data, sig_of(data))
    with pytest.raises(ModelNotFound):
        registry.get("m", version)
