"""Compression as registry operations: parent version in, measured child version out.

Every entry point ends in :func:`_finish`: measure the child against its parent
on the validation rows, refuse it when the quality drop exceeds the limit
(nothing is written), else register it with lineage (``parent``, ``derivation =
{method, params, report}``), the report's numbers as metrics, and a run record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from augur.compression import distill as distill_mod
from augur.compression import lowrank, quantize
from augur.compression import prune as prune_mod
from augur.compression.data import Dataset, as_dataset
from augur.compression.graph import SplitModel, rows_of
from augur.compression.report import CompressionReport, build_report, outputs_on
from augur.errors import CompressionFailed, QualityGateFailed
from augur.registry import ModelVersion, Registry, RunStore
from augur.signature import Signature

ARTIFACT_METHODS = ("quantize-dynamic", "quantize-static", "fp16", "low-rank", "distill")
NATIVE_METHODS = ("prune", "low-rank", "distill")
METHODS = ("quantize-dynamic", "quantize-static", "fp16", "prune", "low-rank", "distill")


@dataclass(frozen=True)
class CompressionResult:
    """The registered child version and the report measured for it."""

    version: ModelVersion
    report: CompressionReport


def _validation(validation: Any, calibration: Any, target: Any) -> Dataset:
    if validation is not None:
        return as_dataset(validation, target, "validation data")
    if calibration is not None:
        return as_dataset(calibration, target, "calibration data")
    raise CompressionFailed("a compression report needs validation data (rows to compare the "
                            "compressed model with its parent on): pass validation=... "
                            "(--validation FILE)")


@dataclass(frozen=True)
class _Job:
    """What every entry point hands to :func:`_finish`."""

    registry: Registry
    parent: ModelVersion
    validation: Dataset
    max_quality_drop: float | None
    name: str | None
    measure_s: float


def _finish(job: _Job, child: bytes, signature: Signature, method: str,
            params: dict[str, Any], framework: str) -> CompressionResult:
    reg, parent, validation = job.registry, job.parent, job.validation
    max_quality_drop, name = job.max_quality_drop, job.name
    parent_data = reg.read_artifact(parent)
    feeds = validation.feeds(parent.signature)
    report = build_report(method, params, parent.ref, parent_data, child, signature, feeds,
                          validation.target, budget_s=job.measure_s)
    if max_quality_drop is not None and report.quality_drop > max_quality_drop:
        raise QualityGateFailed(
            f"{method} of {parent.ref} loses too much quality: {report.quality['metric']} drop "
            f"{report.quality_drop:.4g} > allowed {max_quality_drop:g} on {len(validation)} "
            f"validation rows; nothing was registered")
    runs = RunStore(reg.db)
    run = runs.create("compression", model=parent.name, version=parent.version,
                      params={"method": method, **_plain(params)})
    version = reg.register(
        name or parent.name, child, signature, framework=framework, parent=parent.ref,
        derivation={"method": method, "params": _plain(params), "report": report.to_dict(),
                    "run": run.id},
        tags={"compression": method}, metrics=report.metrics(),
        description=f"{method} of {parent.ref}")
    runs.update(run.id, status="succeeded", stats={"child": version.ref, **report.metrics()})
    return CompressionResult(version, report)


def _plain(obj: Any) -> Any:
    """JSON-friendly copy of method parameters."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def compress(ref: str | ModelVersion, method: str, *, registry: Registry | None = None,
             calibration: Any = None, validation: Any = None, target: Any = None,
             max_quality_drop: float | None = None, name: str | None = None,
             rank: int | None = None, energy: float = 0.95, per_channel: bool | None = None,
             student: str = "mlp", measure_s: float = 2.0) -> CompressionResult:
    """Compress a registered version from its artifact alone and register the result.

    Args:
        ref: the parent (``name``, ``name:3``, ``name@alias``) or its ModelVersion.
        method: ``quantize-dynamic``, ``quantize-static`` (needs ``calibration``),
            ``fp16``, ``low-rank`` (SVD of MatMul/Gemm weights in the graph) or
            ``distill`` (a student trained on the parent's outputs over
            ``calibration``, the unlabeled rows). ``prune`` needs the PyTorch
            module: use :func:`prune`.
        calibration: rows for static quantization ranges / distillation.
        validation: rows the report compares parent and child on (default:
            the calibration rows). A :class:`Dataset` may carry the true target.
        target: true labels/values of the validation rows (optional).
        max_quality_drop: refuse to register when the quality drop exceeds this
            (see :mod:`augur.compression.quality` for its unit per task).
        name: register under another model name (default: the parent's).
        rank, energy: low-rank choices; per_channel: quantization choice;
        student: ``mlp`` or ``gbm`` for distillation.
        measure_s: rough seconds per speed measurement in the report.

    Raises:
        CompressionFailed: the method does not apply, or data is missing.
        QualityGateFailed: the child loses more quality than allowed (not registered).
        ModelNotFound: the reference matches nothing.
    """
    reg = registry or Registry()
    parent = ref if isinstance(ref, ModelVersion) else reg.resolve(ref)
    if method == "prune":
        raise CompressionFailed("prune works on the PyTorch module before export: call "
                                "augur.compression.prune(module, parent_ref, sample=...) "
                                "from Python")
    if method not in ARTIFACT_METHODS:
        raise CompressionFailed(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    val = _validation(validation, calibration, target)
    if method == "distill":
        return distill(parent, calibration if calibration is not None else val,
                       registry=reg, validation=val, max_quality_drop=max_quality_drop,
                       name=name, student=student, measure_s=measure_s)
    split = SplitModel.of(reg.read_artifact(parent), parent.signature)
    params: dict[str, Any]
    if method == "quantize-dynamic":
        core, params = quantize.quantize_dynamic(
            split.core, per_channel=True if per_channel is None else per_channel)
    elif method == "quantize-static":
        if calibration is None:
            raise CompressionFailed("quantize-static needs calibration data: pass --calibration "
                                    "FILE with a few hundred representative rows")
        cal = as_dataset(calibration, None, "calibration data")
        batches = split.core_batches(cal.feeds(parent.signature), batch=16)
        core, params = quantize.quantize_static(
            split.core, batches, per_channel=True if per_channel is None else per_channel)
    elif method == "fp16":
        core, params = quantize.to_fp16(split.core)
    else:
        core, params = lowrank.factorize_onnx(split.core, rank=rank, energy=energy)
    child = split.join(core)
    job = _Job(reg, parent, val, max_quality_drop, name, measure_s)
    return _finish(job, child, parent.signature, method, params, parent.framework)


def _export_native(module: Any, sample: Any, parent: ModelVersion) -> tuple[bytes, Signature]:
    from augur.convert import convert

    converted = convert(module, sample, task=parent.signature.task)
    if converted.parity is not None and not converted.parity.passed:
        raise CompressionFailed(f"export of the compressed module disagrees with the module "
                                f"itself: {converted.parity.summary()}")
    sig = dataclasses.replace(converted.signature, **{
        f: getattr(parent.signature, f) for f in ("columns", "classes", "label_output",
                                                  "probability_output", "extra")})
    want = [s.name for s in parent.signature.inputs]
    got = [s.name for s in sig.inputs]
    if want != got:
        raise CompressionFailed(f"the compressed module takes inputs {got}, its parent {want}")
    return converted.onnx, sig


def prune(module: Any, parent: str | ModelVersion, *, sample: Any, amount: float = 0.5,
          structured: bool = True, registry: Registry | None = None, validation: Any = None,
          target: Any = None, max_quality_drop: float | None = None,
          name: str | None = None, measure_s: float = 2.0) -> CompressionResult:
    """Magnitude-prune the PyTorch ``module`` behind ``parent``, export and register it.

    Args:
        module: the native ``nn.Module`` the parent version was exported from
            (prune/low-rank are exported with the parent's task, columns and classes).
        parent: the registered version it belongs to.
        sample: inputs to trace the export with (as for :func:`augur.export`).
        amount: share of hidden units (structured) or weights (unstructured) removed.
        structured: drop whole hidden units (smaller, faster matrices) instead of
            zeroing single weights.
        validation: rows for the report (default: ``sample``).

    Raises:
        CompressionFailed, QualityGateFailed: see :func:`compress`.
    """
    reg = registry or Registry()
    pv = parent if isinstance(parent, ModelVersion) else reg.resolve(parent)
    pruned, params = (prune_mod.prune_structured(module, amount) if structured
                      else prune_mod.prune_unstructured(module, amount))
    data, sig = _export_native(pruned, sample, pv)
    val = _validation(validation, _as_rows(sample), target)
    job = _Job(reg, pv, val, max_quality_drop, name, measure_s)
    return _finish(job, data, sig, "prune", params, "pytorch")


def low_rank(module: Any, parent: str | ModelVersion, *, sample: Any, rank: int | None = None,
             energy: float = 0.95, registry: Registry | None = None, validation: Any = None,
             target: Any = None, max_quality_drop: float | None = None,
             name: str | None = None, measure_s: float = 2.0) -> CompressionResult:
    """Factorize the ``nn.Linear`` layers of ``module`` (behind ``parent``) and register it.

    Raises:
        CompressionFailed, QualityGateFailed: see :func:`compress`.
    """
    reg = registry or Registry()
    pv = parent if isinstance(parent, ModelVersion) else reg.resolve(parent)
    factored, params = lowrank.factorize_torch(module, rank=rank, energy=energy)
    data, sig = _export_native(factored, sample, pv)
    val = _validation(validation, _as_rows(sample), target)
    job = _Job(reg, pv, val, max_quality_drop, name, measure_s)
    return _finish(job, data, sig, "low-rank", params, "pytorch")


def _as_rows(sample: Any) -> Any:
    return sample.detach().cpu().numpy() if hasattr(sample, "detach") else sample


def distill(parent: str | ModelVersion, unlabeled: Any, *, registry: Registry | None = None,
            student: str = "mlp", hidden: int = 32, validation: Any = None,
            target: Any = None, max_quality_drop: float | None = None,
            name: str | None = None, measure_s: float = 2.0) -> CompressionResult:
    """Train a small student on the parent's outputs over ``unlabeled`` rows and register it.

    Raises:
        CompressionFailed, QualityGateFailed: see :func:`compress`.
    """
    from augur.convert import convert

    reg = registry or Registry()
    pv = parent if isinstance(parent, ModelVersion) else reg.resolve(parent)
    rows = as_dataset(unlabeled, None, "unlabeled data")
    feeds = rows.feeds(pv.signature)
    teacher = outputs_on(reg.read_artifact(pv), pv.signature, feeds)
    val = _validation(validation, rows, target)
    if pv.signature.columns:
        if not hasattr(rows.rows, "columns"):
            raise CompressionFailed("distilling a tabular model needs a table (DataFrame, CSV, "
                                    "Parquet) of unlabeled rows")
        names = [c.name for c in pv.signature.columns]
        missing = [n for n in names if n not in rows.rows.columns]
        if missing:
            raise CompressionFailed(f"the unlabeled rows lack column(s) {missing}")
        table = rows.rows[names]  # extra columns (a target, ids) are not features
        model, params = distill_mod.distill_tabular(pv.signature, table, teacher,
                                                    student=student, hidden=hidden)
        converted = convert(model, table)
        sig = dataclasses.replace(converted.signature, task=pv.signature.task)
        data = converted.onnx
        if [c.name for c in sig.columns] != [c.name for c in pv.signature.columns]:
            raise CompressionFailed("the student's columns differ from its teacher's")
        if pv.signature.task == "classification" and list(sig.classes) != list(
                pv.signature.classes):
            raise CompressionFailed(f"the student learned classes {list(sig.classes)}, the "
                                    f"teacher has {list(pv.signature.classes)}: the unlabeled "
                                    "rows must cover every class")
        if [o.name for o in sig.outputs] != [o.name for o in pv.signature.outputs]:
            data = distill_mod.rename_io(data, [s.name for s in sig.inputs],
                                         [o.name for o in pv.signature.outputs])
            sig = dataclasses.replace(sig, outputs=pv.signature.outputs,
                                      label_output=pv.signature.label_output,
                                      probability_output=pv.signature.probability_output)
    else:
        first = pv.signature.outputs[0].name
        if rows_of(feeds) < 8:
            raise CompressionFailed("distillation needs at least 8 unlabeled rows")
        module, params = distill_mod.distill_tensor(feeds, teacher[first], hidden=hidden)
        sample = next(iter(feeds.values()))
        data, _ = _export_native_plain(module, sample)
        data = distill_mod.rename_io(data, [s.name for s in pv.signature.inputs],
                                     [o.name for o in pv.signature.outputs])
        sig = pv.signature
    job = _Job(reg, pv, val, max_quality_drop, name, measure_s)
    return _finish(job, data, sig, "distill", params,
                   "sklearn" if pv.signature.columns else "pytorch")


def _export_native_plain(module: Any, sample: Any) -> tuple[bytes, Signature]:
    from augur.convert import convert

    converted = convert(module, np.asarray(sample, dtype=np.float32))
    return converted.onnx, converted.signature
