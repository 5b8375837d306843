from __future__ import annotations

import os
import stat

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from augur.errors import AugurError, InvalidArtifact, InvalidName, ModelNotFound
from augur.registry import Registry, register_onnx_file
from augur.signature import Signature


def tiny_onnx(scale: float = 2.0) -> bytes:
    """y = x * scale, x: float[-1, 3]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    s = helper.make_tensor("s", TensorProto.FLOAT, [1], [scale])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "s"], ["y"])], "g", [x], [y], [s])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def sig_of(data: bytes) -> Signature:
    return Signature.from_onnx(onnx.load_model_from_string(data))


def test_versions_are_numbered_and_immutable(registry: Registry) -> None:
    a, b = tiny_onnx(2.0), tiny_onnx(3.0)
    v1 = registry.register("m", a, sig_of(a))
    v2 = registry.register("m", b, sig_of(b))
    assert (v1.version, v2.version) == (1, 2)
    assert registry.read_artifact(registry.get("m", 1)) == a
    path = registry.artifact_path(v1)
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert v1.signature.inputs[0].shape == (-1, 3)


def test_altered_artifact_is_detected(registry: Registry) -> None:
    v = registry.register("m", tiny_onnx(), sig_of(tiny_onnx()))
    path = registry.artifact_path(v)
    os.chmod(path, 0o644)
    path.write_bytes(tiny_onnx(5.0))
    with pytest.raises(InvalidArtifact, match="altered"):
        registry.read_artifact(v)


@pytest.mark.parametrize("damage", ["same size", "truncated", "empty", "deleted"])
def test_registering_good_bytes_again_repairs_an_altered_artifact(registry: Registry,
                                                                  damage: str) -> None:
    from augur.runtime import load

    data = tiny_onnx(3.0)
    v1 = registry.register("m", data, sig_of(data))
    path = registry.artifact_path(v1)
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    if damage == "deleted":
        path.unlink()
    else:
        altered = {"same size": bytes(reversed(data)), "truncated": data[:20], "empty": b""}
        path.write_bytes(altered[damage])
    with pytest.raises(InvalidArtifact):
        load("m:1", registry=registry)
    v2 = registry.register("m", data, sig_of(data))  # the same good bytes again
    assert v2.artifact == v1.artifact and path.read_bytes() == data
    assert not os.stat(path).st_mode & stat.S_IWUSR  # read-only again
    for ref in ("m:1", "m:2"):
        out = load(ref, registry=registry).predict({"x": np.ones((2, 3), np.float32)})
        assert np.allclose(next(iter(out.values())), 3.0)


def test_bare_name_resolves_production_else_latest(registry: Registry) -> None:
    for s in (1.0, 2.0, 3.0):
        registry.register("m", tiny_onnx(s), sig_of(tiny_onnx(s)))
    assert registry.resolve("m").version == 3
    registry.set_alias("m", "production", 2)
    assert registry.resolve("m").version == 2
    assert registry.resolve("m@production").version == 2
    assert registry.resolve("m:1").version == 1


def test_alias_moves_and_rolls_back(registry: Registry) -> None:
    for s in (1.0, 2.0, 3.0):
        registry.register("m", tiny_onnx(s), sig_of(tiny_onnx(s)))
    epoch = registry.alias_epoch()
    assert registry.set_alias("m", "staging", 1) is None
    assert registry.set_alias("m", "staging", 3) == 1
    assert registry.alias_epoch() > epoch
    assert registry.rollback("m", "staging").version == 1
    assert registry.aliases("m") == {"staging": 1}
    history = registry.alias_history("m", "staging")
    assert [h["version"] for h in history] == [1, 3, 1]


def test_missing_things_raise_model_not_found(registry: Registry) -> None:
    registry.register("m", tiny_onnx(), sig_of(tiny_onnx()))
    for ref, match in [("nope", "no model named 'nope'"), ("m:9", "no version 9"),
                       ("m@canary", "no alias 'canary'"), ("nope@x", "no model")]:
        with pytest.raises(ModelNotFound, match=match):
            registry.resolve(ref)
    with pytest.raises(ModelNotFound):
        registry.set_alias("m", "prod", 7)
    with pytest.raises(ModelNotFound, match="no earlier version"):
        registry.rollback("m", "never-set")


def test_delete_keeps_aliased_versions_and_cleans_orphans(registry: Registry) -> None:
    v1 = registry.register("m", tiny_onnx(1.0), sig_of(tiny_onnx(1.0)))
    registry.register("m", tiny_onnx(2.0), sig_of(tiny_onnx(2.0)))
    registry.set_alias("m", "production", 1)
    with pytest.raises(AugurError, match="target of alias"):
        registry.delete("m", 1)
    assert registry.delete("m", 2) == 1
    assert [v.version for v in registry.versions("m")] == [1]
    assert registry.delete("m") == 1
    assert not registry.artifact_path(v1).exists()
    with pytest.raises(ModelNotFound):
        registry.versions("m")


def test_same_bytes_share_one_artifact(registry: Registry) -> None:
    data = tiny_onnx()
    a = registry.register("a", data, sig_of(data))
    b = registry.register("b", data, sig_of(data))
    assert a.artifact == b.artifact
    registry.delete("a")
    assert registry.read_artifact(b) == data


def test_lineage_and_metadata(registry: Registry) -> None:
    registry.register("m", tiny_onnx(), sig_of(tiny_onnx()))
    child = registry.register("m", tiny_onnx(4.0), sig_of(tiny_onnx(4.0)), parent="m:1",
                              derivation={"method": "fp16"}, tags={"team": "risk"})
    assert str(child.parent) == "m:1"
    assert child.derivation == {"method": "fp16"}
    updated = registry.update_metadata("m", 2, metrics={"auc": 0.9})
    assert updated.metrics == {"auc": 0.9} and updated.tags == {"team": "risk"}
    with pytest.raises(ModelNotFound):
        registry.register("m", tiny_onnx(), sig_of(tiny_onnx()), parent="m:99")


@pytest.mark.parametrize(("payload", "match"), [
    (b"", "empty"),
    (b"\x80\x04\x95\x10\x00\x00\x00", "pickle"),
    (b"PK\x03\x04rest-of-zip", "zip archive"),
    (b"this is not onnx at all", "not a valid ONNX"),
])
def test_bad_artifacts_are_refused_and_nothing_is_stored(registry: Registry, payload: bytes,
                                                        match: str) -> None:
    with pytest.raises(InvalidArtifact, match=match):
        registry.register("m", payload, sig_of(tiny_onnx()))
    assert registry.list_models() == []
    assert not (registry.home / "artifacts" / "sha256").exists()


def test_truncated_and_pickled_files(registry: Registry, tmp_path: pytest.TempPathFactory) -> None:
    import pickle

    good = tiny_onnx()
    truncated = tmp_path / "cut.onnx"  # type: ignore[operator]
    truncated.write_bytes(good[: len(good) // 2])
    pickled = tmp_path / "model.pkl"  # type: ignore[operator]
    pickled.write_bytes(pickle.dumps({"weights": np.ones(3)}))
    for path in (truncated, pickled):
        with pytest.raises(InvalidArtifact):
            register_onnx_file(registry, "m", path)
    with pytest.raises(InvalidArtifact, match="cannot read"):
        register_onnx_file(registry, "m", tmp_path / "missing.onnx")  # type: ignore[operator]
    assert registry.list_models() == []


def test_bad_name_is_refused(registry: Registry) -> None:
    with pytest.raises(InvalidName):
        registry.register("../evil", tiny_onnx(), sig_of(tiny_onnx()))
    assert registry.list_models() == []
