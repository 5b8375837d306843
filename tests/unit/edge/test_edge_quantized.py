"""The int8 edge model is compression's child version: made once, reported, gated,
refused for trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from augur.convert import export
from augur.edge import export_bundle, quantized_version
from augur.edge.quantized import quantization_of
from augur.errors import ExportFailed, QualityGateFailed
from augur.examples import iris_frame
from augur.registry import Registry
from augur.runtime import load


def test_quantized_child_has_lineage_and_is_made_once(registry: Registry,
                                                      tmp_path: Path) -> None:
    from sklearn.neural_network import MLPClassifier

    X, y = iris_frame()
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=2000, random_state=0).fit(X, y)
    parent = export(mlp, "mlp", sample=X, registry=registry)
    with pytest.raises(ExportFailed, match="needs validation rows"):
        quantized_version(parent, registry)
    # The quality gate of compression applies: a drop below zero can never pass.
    with pytest.raises(QualityGateFailed, match="nothing was registered"):
        quantized_version(parent, registry, validation=X, max_quality_drop=-1.0)
    assert [v.version for v in registry.versions("mlp")] == [parent.version]
    child = quantized_version(parent, registry, validation=X)
    assert (child.name, child.version) == ("mlp", parent.version + 1)
    assert str(child.parent) == parent.ref and child.signature == parent.signature
    assert child.tags["compression"] == "quantize-dynamic"
    # One implementation: compression's report (size, speed, quality) is the child's.
    assert child.derivation is not None and child.derivation["params"]["per_channel"] is True
    assert "latency_p50_ms" in child.derivation["report"]["compressed"]
    report = quantization_of(child)
    assert report is not None and report["quantized_ops"] > 0 and report["parent"] == parent.ref
    assert report["quality"] == child.derivation["report"]["quality"]
    assert quantization_of(parent) is None
    # The child exists: found, not registered again (no validation rows needed now).
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
    for validation in (iris_frame()[0].head(20), None):
        with pytest.raises(ExportFailed, match=r"nothing to quantize in iris:1.*without --quan"):
            export_bundle("iris:1", target="device", quantize=True, out=tmp_path / "x",
                          registry=examples_registry, validation=validation)
    assert [v.version for v in examples_registry.versions("iris")] == before
    assert not (tmp_path / "x").exists()
