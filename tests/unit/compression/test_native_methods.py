"""prune and module-level low-rank (PyTorch), distillation (tabular and tensor students)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from augur.compression import Dataset, compress, distill, low_rank, prune
from augur.compression.lowrank import choose_rank
from augur.errors import CompressionFailed, QualityGateFailed
from augur.registry import ModelVersion, Registry


def test_structured_pruning_really_shrinks_the_matrices(registry: Registry,
                                                        mlp_parent: ModelVersion,
                                                        mlp: Any) -> None:
    import torch

    result = prune(mlp.module, mlp_parent.ref, sample=torch.from_numpy(mlp.X[:64]), amount=0.5,
                   registry=registry, validation=Dataset(mlp.X[:200], mlp.y[:200]),
                   measure_s=0.05)
    report = result.report
    # 32*128+128 + 128*128+128 + 128*2+2 -> the hidden layers keep 64 units each.
    assert report.original.parameters == 32 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2
    assert report.compressed.parameters == 32 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2
    assert report.compressed.size_bytes == result.version.size
    assert result.version.derivation["params"]["layers"] == [
        {"units": 128, "kept": 64}, {"units": 128, "kept": 64}]
    assert str(result.version.parent) == mlp_parent.ref
    # The original module is untouched.
    assert mlp.module[0].out_features == 128


def test_unstructured_pruning_counts_non_zero_weights(registry: Registry,
                                                      mlp_parent: ModelVersion,
                                                      mlp: Any) -> None:
    import torch

    result = prune(mlp.module, mlp_parent.ref, sample=torch.from_numpy(mlp.X[:64]), amount=0.6,
                   structured=False, registry=registry, validation=mlp.X[:100], measure_s=0.05)
    report = result.report
    assert report.compressed.parameters == report.original.parameters
    weights = 32 * 128 + 128 * 128 + 128 * 2
    assert report.compressed.nonzero_parameters <= report.original.nonzero_parameters \
        - int(0.6 * weights) + 2


@pytest.mark.parametrize("amount", [0.0, 1.0, -0.1, 1.5])
def test_prune_amount_must_be_a_fraction(registry: Registry, mlp_parent: ModelVersion,
                                         mlp: Any, amount: float) -> None:
    with pytest.raises(CompressionFailed, match="between 0 and 1"):
        prune(mlp.module, mlp_parent.ref, sample=mlp.X[:8], amount=amount, registry=registry)


def test_structured_pruning_explains_what_it_needs(registry: Registry,
                                                   mlp_parent: ModelVersion) -> None:
    import torch

    with pytest.raises(CompressionFailed, match=r"nn\.Sequential stacks"):
        prune(torch.nn.Linear(32, 2), mlp_parent.ref, sample=np.zeros((2, 32), np.float32),
              registry=registry)


def test_module_low_rank_by_energy(registry: Registry, mlp_parent: ModelVersion,
                                   mlp: Any) -> None:
    import torch

    result = low_rank(mlp.module, mlp_parent.ref, sample=torch.from_numpy(mlp.X[:64]),
                      energy=0.8, registry=registry, validation=mlp.X[:100], measure_s=0.05)
    layers = result.version.derivation["params"]["layers"]
    assert layers and all(1 <= layer["rank"] < 128 for layer in layers)
    assert result.report.compressed.parameters < result.report.original.parameters


def test_choose_rank() -> None:
    s = np.array([4.0, 2.0, 1.0, 1.0])  # energies 16, 4, 1, 1 of 22
    assert choose_rank(s, rank=None, energy=16 / 22) == 1
    assert choose_rank(s, rank=None, energy=0.9) == 2
    assert choose_rank(s, rank=None, energy=1.0) == 4
    assert choose_rank(s, rank=9, energy=0.5) == 4
    with pytest.raises(CompressionFailed, match="energy"):
        choose_rank(s, rank=None, energy=0.0)
    with pytest.raises(CompressionFailed, match="rank must be >= 1"):
        choose_rank(s, rank=0, energy=0.5)


@pytest.mark.parametrize("student", ["mlp", "gbm"])
def test_distill_a_forest_into_a_small_student(registry: Registry, student: str) -> None:
    from augur.convert import export
    from augur.examples import iris_forest

    ex = iris_forest(n_estimators=30)
    parent = export(ex.model, "iris", sample=ex.X, registry=registry)
    result = distill(parent.ref, ex.X, student=student, registry=registry,
                     validation=Dataset(ex.X, ex.y.to_numpy()), measure_s=0.05)
    q = result.report.quality
    assert q["task"] == "classification" and q["rows"] == 150
    assert q["parent_accuracy"] == pytest.approx(float(np.mean(ex.model.predict(ex.X) == ex.y)))
    assert q["label_agreement"] > 0.85
    assert result.version.signature.columns == parent.signature.columns
    assert result.version.derivation["params"]["student"] == student
    # The student answers records like its teacher.
    from augur.runtime import load

    out = load(result.version.ref, registry=registry).predict(ex.X.head(3).to_dict("records"))
    assert len(out[result.version.signature.label_output]) == 3


def test_distill_from_the_artifact_through_compress(registry: Registry,
                                                    mlp_parent: ModelVersion,
                                                    mlp: Any) -> None:
    result = compress(mlp_parent.ref, "distill", calibration=mlp.X, registry=registry,
                      validation=Dataset(mlp.X[:200], mlp.y[:200]), measure_s=0.05)
    assert result.report.compressed.parameters < result.report.original.parameters / 10
    assert [s.name for s in result.version.signature.inputs] == ["input"]
    assert result.report.quality["label_agreement"] > 0.8


def test_distill_gate(registry: Registry, mlp_parent: ModelVersion, mlp: Any) -> None:
    with pytest.raises(QualityGateFailed):
        compress(mlp_parent.ref, "distill", calibration=mlp.X[:16], registry=registry,
                 validation=mlp.X[:200], max_quality_drop=0.0, measure_s=0.05)
    assert len(registry.versions("mlp")) == 1


def test_distill_a_regression_pipeline_with_a_string_column(registry: Registry) -> None:
    from augur.convert import export
    from augur.examples import diabetes_pipeline

    ex = diabetes_pipeline()
    parent = export(ex.model, "diabetes", sample=ex.X, registry=registry)
    result = distill(parent.ref, ex.X, student="gbm", registry=registry,
                     validation=Dataset(ex.X, ex.y.to_numpy()), measure_s=0.05)
    q = result.report.quality
    assert q["task"] == "regression" and q["metric"] == "rmse"
    want = float(np.sqrt(np.mean((ex.model.predict(ex.X) - ex.y.to_numpy()) ** 2)))
    assert q["parent_rmse"] == pytest.approx(want, rel=1e-4)
    assert q["drop"] == pytest.approx((q["rmse"] - q["parent_rmse"]) / q["parent_rmse"])
    assert "sex" in [c.name for c in result.version.signature.columns]
