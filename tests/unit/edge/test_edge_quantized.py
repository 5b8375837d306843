"""The int8 edge model is a registered child version, made once, refused for trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from augur.convert import export
from augur.edge import export_bundle, quantized_version
from augur.edge.quantized import quantization_of
from augur.errors import ExportFailed
from augur.examples import iris_frame
from augur.registry import Registry
from augur.runtime import load


def test_quantized_child_has_lineage_and_is_made_once(registry: Registry,
                                                      tmp_path: Path) -> None:
    from sklearn.neural_network import MLPClassifier

    X, y = iris_frame()
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=2000, random_state=0).fit(X, y)
    parent = export(mlp, "mlp", sample=X, registry=registry)
    child = quantized_version(parent, registry)
    assert (child.name, child.version) == ("mlp", parent.version + 1)
    assert str(child.parent) == parent.ref and child.signature == parent.signature
    assert child.tags["compression"] == "quantize-dynamic"
    report = quantization_of(child)
    assert report is not None and report["quantized_ops"] > 0 and report["parent"] == parent.ref
    assert quantization_of(parent) is None
    # The same parent quantizes to the same bytes: found, not registered again.
    assert quantized_version(parent, registry) == child
    assert quantized_version(child, registry) == child
    assert [v.version for v in registry.versions("mlp")] == [parent.version, child.version]
    bundle = export_bundle(parent.ref, target="device", quantize=True, out=tmp_path / "d",
                           registry=registry)
    assert bundle.manifest["model"]["ref"] == child.ref
    assert bundle.manifest["model"]["parent"] == parent.ref
    assert bundle.manifest["quantization"] == report
    # The server loads the child like any version.
    assert load(child.ref, registry=registry).predict(X.head(5))["label"].shape == (5,)


def test_nothing_to_quantize_is_refused_and_registers_nothing(examples_registry: Registry,
                                                              tmp_path: Path) -> None:
    before = [v.version for v in examples_registry.versions("iris")]
    with pytest.raises(ExportFailed, match=r"nothing to quantize in iris:1.*without --quantize"):
        export_bundle("iris:1", target="device", quantize=True, out=tmp_path / "x",
                      registry=examples_registry)
    assert [v.version for v in examples_registry.versions("iris")] == before
    assert not (tmp_path / "x").exists()
