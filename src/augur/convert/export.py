"""``export``: a framework model becomes a registered ONNX version with parity."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augur.convert import boosting, sklearn
from augur.convert.parity import ParityReport, Tolerance, compare
from augur.convert.pytorch import convert_torch_model, is_torch_module, torch_outputs
from augur.convert.tabular import column_feeds, layout_for, matrix_of
from augur.errors import ExportFailed, InvalidArtifact, ParityError
from augur.registry import ModelVersion, Registry, check_onnx_bytes, validate_name
from augur.runtime import load_bytes
from augur.signature import Signature


@dataclass(frozen=True)
class Converted:
    """An ONNX artifact not yet registered, with its signature and parity report."""

    onnx: bytes
    signature: Signature
    framework: str
    parity: ParityReport | None


def _framework(model: Any) -> str:
    if isinstance(model, bytes | str | Path):
        return "onnx"
    if is_torch_module(model):
        return "pytorch"
    fw = boosting.framework_of(model)
    if fw:
        return fw
    if type(model).__module__.startswith("sklearn") or hasattr(model, "get_params"):
        return "sklearn"
    raise ExportFailed(f"cannot export a {type(model).__module__}.{type(model).__name__}: "
                       "augur exports scikit-learn, LightGBM, XGBoost, PyTorch and ONNX models")


def _finish_signature(data: bytes, **fields: Any) -> Signature:
    import onnx

    sig = Signature.from_onnx(onnx.load_model_from_string(data))
    # Converters sometimes declare a fixed batch size on outputs; the batch axis is dynamic.
    outputs = tuple(dataclasses.replace(o, shape=(-1, *o.shape[1:]) if o.shape else (-1,))
                    for o in sig.outputs)
    return dataclasses.replace(sig, outputs=outputs, **fields)


def _convert_tabular(model: Any, sample: Any, framework: str, tolerance: Tolerance,
                     nullable: bool) -> Converted:
    layout = layout_for(sample)
    classifier = sklearn.is_classifier(model)
    native: dict[str, np.ndarray]
    if classifier:
        native = {"label": np.asarray(model.predict(sample)),
                  "probabilities": np.asarray(model.predict_proba(sample))}
    else:
        native = {"variable": np.asarray(model.predict(sample), dtype=np.float64).reshape(
            len(sample), -1)}
    attempts = [False]
    if framework == "sklearn" and sklearn.has_trees(model):
        attempts.append(True)  # float64 thresholds: the remedy when float32 flips a split
    last: Converted | None = None
    for double in attempts:
        if framework == "sklearn":
            data = sklearn.convert_sklearn_model(model, layout, double=double)
        else:
            if layout.per_column:
                raise ExportFailed(f"{framework} models take numeric matrices; the sample has "
                                   "string columns (wrap the model in a Pipeline with an encoder)")
            data = boosting.convert_boosting_model(model, len(layout.columns))
        loaded = load_bytes(data)
        names = [s.name for s in loaded.signature.inputs]
        dtype = np.float64 if double else np.float32
        feeds = (column_feeds(sample, layout, names, dtype) if layout.per_column
                 else {names[0]: matrix_of(sample, dtype)})
        outs = loaded.run(feeds)
        out_names = loaded.output_names
        exported = ({"label": outs[out_names[0]], "probabilities": outs[out_names[1]]}
                    if classifier else {"variable": outs[out_names[0]]})
        report = compare(native, exported, label_output="label" if classifier else None,
                         tolerance=tolerance, precision="float64" if double else "float32")
        extra: dict[str, Any] = {}
        if classifier:
            extra = {"task": "classification", "classes": tuple(
                c.item() if isinstance(c, np.generic) else c for c in model.classes_),
                "label_output": out_names[0], "probability_output": out_names[1]}
        else:
            extra = {"task": "regression"}
        sig = _finish_signature(data, columns=layout.column_specs(names, nullable), **extra)
        last = Converted(data, sig, framework, report)
        if report.passed:
            return last
    assert last is not None
    return last


def _convert_torch(model: Any, sample: Any, tolerance: Tolerance,
                   dynamic_axes: dict[str, dict[int, str]] | None, task: str | None) -> Converted:
    data = convert_torch_model(model, sample, dynamic_axes=dynamic_axes)
    loaded = load_bytes(data)
    samples = sample if isinstance(sample, tuple) else (sample,)
    feeds = {}
    for spec, s in zip(loaded.signature.inputs, samples, strict=True):
        arr = s.detach().cpu().numpy() if hasattr(s, "detach") else np.asarray(s)
        feeds[spec.name] = arr
    outs = loaded.run(feeds)
    native = dict(zip(loaded.output_names, torch_outputs(model, sample), strict=True))
    report = compare(native, outs, label_output=None, tolerance=tolerance, precision="float32")
    return Converted(data, _finish_signature(data, task=task), "pytorch", report)


def _convert_onnx(model: bytes | str | Path) -> Converted:
    if isinstance(model, bytes):
        data, source = model, "ONNX bytes"
    else:
        path = Path(model)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidArtifact(f"cannot read {path}: {exc.strerror}") from exc
        source = str(path)
    check_onnx_bytes(data, source)
    loaded = load_bytes(data)  # ONNX Runtime must be able to load it too
    return Converted(data, loaded.signature, "onnx", None)


def convert(model: Any, sample: Any = None, *, tolerance: Tolerance | None = None,
            nullable: bool = False, dynamic_axes: dict[str, dict[int, str]] | None = None,
            task: str | None = None) -> Converted:
    """Convert a model to ONNX and measure parity on ``sample``, without registering.

    See :func:`export` for the arguments.
    """
    tol = tolerance or Tolerance()
    framework = _framework(model)
    if framework == "onnx":
        return _convert_onnx(model)
    if sample is None:
        raise ExportFailed("a sample of inputs is needed to export and check parity: "
                           "pass sample=X (a few hundred representative rows)")
    if framework == "pytorch":
        return _convert_torch(model, sample, tol, dynamic_axes, task)
    return _convert_tabular(model, sample, framework, tol, nullable)


def export(model: Any, name: str, sample: Any = None, *, registry: Registry | None = None,
           tolerance: Tolerance | None = None, allow_mismatch: bool = False,
           nullable: bool = False, dynamic_axes: dict[str, dict[int, str]] | None = None,
           task: str | None = None, description: str = "", tags: dict[str, str] | None = None,
           metrics: dict[str, float] | None = None, parent: str | None = None,
           derivation: dict[str, Any] | None = None) -> ModelVersion:
    """Export a trained model to ONNX, check parity and register it as a new version.

    Args:
        model: a fitted scikit-learn estimator or Pipeline, a LightGBM or XGBoost
            model (scikit-learn API), a PyTorch ``nn.Module``, or an ``.onnx``
            file path / ONNX bytes.
        name: the model's registry name.
        sample: representative inputs (DataFrame or array; a tensor or tuple of
            tensors for PyTorch) used to trace the model and check parity.
        registry: where to register (default: ``$AUGUR_HOME``).
        tolerance: allowed drift; defaults to rtol 1e-4, atol 1e-5, 100 % labels.
        allow_mismatch: register even when parity fails (the report says so).
        nullable: allow missing values (NaN) in numeric columns at prediction time.
        dynamic_axes: PyTorch only: extra dynamic axes, e.g. ``{"input": {1: "seq"}}``.
        task: PyTorch only: ``classification``, ``regression`` or ``embedding``.
        description, tags, metrics: stored with the version.
        parent, derivation: lineage for derived versions (``name:3``, how).

    Returns:
        The registered :class:`~augur.registry.ModelVersion`.

    Raises:
        ExportFailed: the model cannot be converted.
        ParityError: the export disagrees with the model beyond the tolerance.
        InvalidName: the name is not allowed.

    Example:
        >>> clf = RandomForestClassifier().fit(X, y)     # doctest: +SKIP
        >>> v = augur.export(clf, "iris", sample=X)      # doctest: +SKIP
        >>> v.ref, v.parity["label_agreement"]           # doctest: +SKIP
        ('iris:1', 1.0)
    """
    validate_name(name)
    converted = convert(model, sample, tolerance=tolerance, nullable=nullable,
                        dynamic_axes=dynamic_axes, task=task)
    report = converted.parity
    if report is not None and not report.passed and not allow_mismatch:
        raise ParityError(f"export of {name!r} disagrees with the {converted.framework} model "
                          f"beyond the tolerance: {report.summary()} (tolerance rtol "
                          f"{report.tolerance.rtol}, atol {report.tolerance.atol}, labels "
                          f"{report.tolerance.min_label_agreement:.0%}); pass "
                          "allow_mismatch=True to register it anyway")
    reg = registry or Registry()
    return reg.register(name, converted.onnx, converted.signature,
                        framework=converted.framework,
                        parity=report.to_dict() if report else None, parent=parent,
                        derivation=derivation, tags=tags, metrics=metrics,
                        description=description)
