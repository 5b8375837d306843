"""quantize-dynamic, quantize-static, fp16 and ONNX-level low-rank on a registered MLP."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from augur.compression import Dataset, compress
from augur.compression.graph import parameter_counts
from augur.compression.report import outputs_on
from augur.errors import CompressionFailed, QualityGateFailed
from augur.registry import ModelVersion, Registry, RunStore


def _check_report_is_measured(registry: Registry, parent: ModelVersion, result, mlp: Any,
                              rows: int) -> None:
    child = result.version
    report = result.report
    # Sizes and parameter counts are those of the stored artifacts.
    assert report.original.size_bytes == parent.size == len(registry.read_artifact(parent))
    assert report.compressed.size_bytes == child.size == len(registry.read_artifact(child))
    assert (report.compressed.parameters, report.compressed.nonzero_parameters) == \
        parameter_counts(registry.read_artifact(child))
    # Latencies are real timings: positive, spread out, p99 at least p50.
    for perf in (report.original, report.compressed):
        assert 0 < perf.latency_p50_ms <= perf.latency_p99_ms
        assert perf.latency_samples >= 20
        assert perf.throughput_rows_s > 0
    # Quality is computed on the given rows: recompute it independently.
    feeds = {"input": mlp.X[:rows]}
    want = outputs_on(registry.read_artifact(parent), parent.signature, feeds)["output"]
    got = outputs_on(registry.read_artifact(child), child.signature, feeds)["output"]
    assert report.quality["rows"] == rows
    assert report.quality["label_agreement"] == pytest.approx(
        float(np.mean(want.argmax(1) == got.argmax(1))))
    assert report.quality["accuracy"] == pytest.approx(
        float(np.mean(got.argmax(1) == mlp.y[:rows])))
    # Lineage, stored report, metrics and a run record.
    assert str(child.parent) == parent.ref
    assert child.derivation is not None
    assert child.derivation["method"] == report.method
    assert child.derivation["report"]["compressed"]["size_bytes"] == child.size
    assert child.metrics["compression_size_bytes"] == child.size
    run = RunStore(registry.db).get(child.derivation["run"])
    assert run.kind == "compression" and run.status == "succeeded"


@pytest.mark.parametrize("method", ["quantize-dynamic", "quantize-static", "fp16", "low-rank"])
def test_method_registers_a_measured_child(registry: Registry, mlp_parent: ModelVersion,
                                           mlp: Any, method: str) -> None:
    rows = 200 if method != "low-rank" else 150
    result = compress(mlp_parent.ref, method, registry=registry, calibration=mlp.X[:128],
                      validation=Dataset(mlp.X[:rows], mlp.y[:rows]), measure_s=0.1)
    _check_report_is_measured(registry, mlp_parent, result, mlp, rows)
    assert result.version.version == 2
    report = result.report
    if method == "quantize-dynamic":
        assert report.compressed.size_bytes < report.original.size_bytes / 3
    if method == "quantize-static":  # QDQ keeps fp32 biases, scales and zero points
        assert report.compressed.size_bytes < report.original.size_bytes / 2.5
    if method == "fp16":
        assert report.compressed.size_bytes < report.original.size_bytes * 0.6
    if method == "low-rank":
        assert report.compressed.parameters < report.original.parameters
    assert report.quality["label_agreement"] > 0.9


def test_static_quantization_needs_calibration(registry: Registry, mlp_parent: ModelVersion,
                                               mlp: Any) -> None:
    with pytest.raises(CompressionFailed, match="calibration"):
        compress(mlp_parent.ref, "quantize-static", registry=registry, validation=mlp.X[:50])


def test_report_needs_validation_data(registry: Registry, mlp_parent: ModelVersion) -> None:
    with pytest.raises(CompressionFailed, match="validation data"):
        compress(mlp_parent.ref, "fp16", registry=registry)


def test_unknown_method_and_prune_from_artifact(registry: Registry, mlp_parent: ModelVersion,
                                                mlp: Any) -> None:
    with pytest.raises(CompressionFailed, match="unknown method 'zip'"):
        compress(mlp_parent.ref, "zip", registry=registry, validation=mlp.X[:10])
    with pytest.raises(CompressionFailed, match="PyTorch module"):
        compress(mlp_parent.ref, "prune", registry=registry, validation=mlp.X[:10])


def test_quality_gate_refuses_an_absurd_factorization(registry: Registry,
                                                      mlp_parent: ModelVersion,
                                                      mlp: Any) -> None:
    runs_before = RunStore(registry.db).list()
    with pytest.raises(QualityGateFailed, match="nothing was registered"):
        compress(mlp_parent.ref, "low-rank", rank=1, registry=registry,
                 validation=Dataset(mlp.X[:200], mlp.y[:200]), max_quality_drop=0.02,
                 measure_s=0.05)
    assert [v.version for v in registry.versions("mlp")] == [1]
    assert RunStore(registry.db).list() == runs_before
    # The same factorization passes a lax gate, and its report shows the loss.
    result = compress(mlp_parent.ref, "low-rank", rank=1, registry=registry,
                      validation=Dataset(mlp.X[:200], mlp.y[:200]), max_quality_drop=0.9,
                      measure_s=0.05)
    assert result.report.quality_drop > 0.02


def test_bad_validation_rows_name_the_problem(registry: Registry,
                                              mlp_parent: ModelVersion) -> None:
    from augur.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"validation data.*dimension 1 must be 32"):
        compress(mlp_parent.ref, "fp16", registry=registry,
                 validation=np.zeros((4, 3), dtype=np.float32))


def test_tree_models_have_nothing_to_quantize(registry: Registry) -> None:
    from augur.convert import export
    from augur.examples import iris_forest

    ex = iris_forest(n_estimators=5)
    v = export(ex.model, "iris", sample=ex.X, registry=registry)
    with pytest.raises(CompressionFailed, match=r"nothing to quantize.*tree ensembles"):
        compress(v.ref, "quantize-dynamic", registry=registry, validation=ex.X)


def test_fp16_refuses_a_model_without_float_weights(registry: Registry) -> None:
    from augur.convert import export
    from augur.examples import iris_forest

    ex = iris_forest(n_estimators=5)
    v = export(ex.model, "iris", sample=ex.X, registry=registry)
    with pytest.raises(CompressionFailed, match="no weight was converted"):
        compress(v.ref, "fp16", registry=registry, validation=ex.X)
