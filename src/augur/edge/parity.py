"""Parity: do the browser and the device predict what the server predicts?

The reference is :func:`augur.runtime.load` (what the online server runs) on the
same records. The browser side runs the edge page in headless Chromium; the
device side runs a device bundle's ``predict.py`` in a separate Python process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from augur.edge.browser import EdgeBrowser
from augur.edge.bundle import export_bundle
from augur.edge.host import EdgeHost
from augur.edge.quantized import quantized_version
from augur.errors import ConfigError, InvalidInput
from augur.registry import ModelVersion, Registry
from augur.runtime import load
from augur.signature import Signature

DEFAULT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Comparison:
    """Edge outputs against the server's.

    Attributes:
        max_abs_diff: largest ``|edge - server|`` over the float outputs (0.0 if none).
        max_diff: largest ``|edge - server| / max(1, |server|)``: the absolute
            difference for values within [-1, 1], the relative one beyond, since a
            float32 output of 150 cannot be closer than about 1e-5 to anything.
        label_agreement: fraction of rows whose label (or other non-float output)
            is identical, or ``None`` when the model has none.
        outputs: per output: ``{"max_abs_diff", "max_diff"}`` or ``{"agreement"}``.
    """

    max_abs_diff: float
    max_diff: float
    label_agreement: float | None
    outputs: dict[str, dict[str, float]]


@dataclass(frozen=True)
class ParityReport:
    """How far edge predictions are from the server's on one data set.

    Attributes:
        ref: the exact version compared (``name:version``).
        target: ``web`` or ``device``.
        rows: how many records.
        comparison: the differences, output by output.
        tolerance: the largest :attr:`Comparison.max_diff` that passes.
        detail: backend, load and prediction seconds of the edge side.
    """

    ref: str
    target: str
    rows: int
    comparison: Comparison
    tolerance: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        labels = self.comparison.label_agreement
        return self.comparison.max_diff <= self.tolerance and labels in (None, 1.0)

    def to_dict(self) -> dict[str, Any]:
        c = self.comparison
        return {"ref": self.ref, "target": self.target, "rows": self.rows,
                "max_abs_diff": c.max_abs_diff, "max_diff": c.max_diff,
                "label_agreement": c.label_agreement, "passed": self.passed,
                "tolerance": self.tolerance, "outputs": c.outputs, "detail": self.detail}


def records_of(data: Any) -> list[dict[str, Any]]:
    """Plain JSON-ready records from a DataFrame or a list of dicts (NaN becomes ``None``).

    Raises:
        InvalidInput: the data is not a table of records.
    """
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        data = data.to_dict(orient="records")
    if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
        raise InvalidInput("parity needs records: a table (CSV, Parquet, DataFrame) or a list "
                           "of objects")
    if not data:
        raise InvalidInput("parity needs at least one record; the data set is empty")
    out = []
    for record in data:
        row = {}
        for key, value in record.items():
            if isinstance(value, np.generic):
                value = value.item()
            row[str(key)] = None if isinstance(value, float) and np.isnan(value) else value
        out.append(row)
    return out


def tensors_of(signature: Signature, data: Any) -> dict[str, Any]:
    """Input name -> nested list, for models that take tensors rather than records.

    Raises:
        InvalidInput: the data names unknown inputs or gives no arrays.
    """
    if hasattr(data, "to_numpy") and hasattr(data, "columns"):
        data = data.to_numpy()
    if not isinstance(data, Mapping):
        if len(signature.inputs) != 1:
            raise InvalidInput(f"the model has {len(signature.inputs)} inputs: give "
                               '{"inputs": {name: array}}')
        data = {signature.inputs[0].name: data}
    names = {s.name for s in signature.inputs}
    if set(data) != names:
        raise InvalidInput(f"the data gives inputs {sorted(data)}; the model takes "
                           f"{sorted(names)}")
    return {name: np.asarray(value).tolist() for name, value in data.items()}


def _float_diffs(ref: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    a, b = ref.astype(np.float64), got.astype(np.float64)
    diff = np.abs(a - b)
    diff[np.isnan(a) & np.isnan(b)] = 0.0
    diff[np.isnan(diff)] = np.inf  # NaN on one side only
    if not diff.size:
        return 0.0, 0.0
    scaled = diff / np.maximum(1.0, np.nan_to_num(np.abs(a), nan=1.0))
    return float(diff.max()), float(scaled.max())


def compare_outputs(reference: Mapping[str, np.ndarray], candidate: Mapping[str, Any],
                    label_output: str | None) -> Comparison:
    """Compare edge outputs with the reference, output by output.

    Raises:
        InvalidInput: an output is missing or has another number of values.
    """
    per: dict[str, dict[str, float]] = {}
    worst_abs = worst = 0.0
    agreements: dict[str, float] = {}
    for name, ref in reference.items():
        if name not in candidate:
            raise InvalidInput(f"the edge side returned no output {name!r}")
        got = np.asarray(candidate[name], dtype=ref.dtype if ref.dtype.kind != "f" else None)
        if got.size != ref.size:
            raise InvalidInput(f"output {name!r}: the edge side returned {got.size} values, "
                               f"the server {ref.size}")
        got = got.reshape(ref.shape)
        if ref.dtype.kind == "f" and name != label_output:
            abs_diff, diff = _float_diffs(ref, got)
            per[name] = {"max_abs_diff": abs_diff, "max_diff": diff}
            worst_abs, worst = max(worst_abs, abs_diff), max(worst, diff)
        else:
            rows = ref.reshape(len(ref), -1) if ref.ndim else ref.reshape(1, 1)
            same = (rows == got.reshape(rows.shape)).all(axis=1)
            agreements[name] = float(same.mean()) if same.size else 1.0
            per[name] = {"agreement": agreements[name]}
    if label_output and label_output in agreements:
        label: float | None = agreements[label_output]
    else:
        label = min(agreements.values()) if agreements else None
    return Comparison(max_abs_diff=worst_abs, max_diff=worst, label_agreement=label,
                      outputs=per)


def web_outputs(version: ModelVersion, records: Sequence[Mapping[str, Any]] | Mapping[str, Any],
                registry: Registry) -> tuple[dict[str, Any], dict[str, Any]]:
    """Predict ``records`` (or input name -> nested array) on the edge page in Chromium.

    Returns:
        (output name -> flat values, detail: backend, load info, seconds, requests).

    Raises:
        ConfigError: the page pulled something from outside the server, or Chromium
            or onnxruntime-web is missing.
    """
    with EdgeHost(registry) as host, EdgeBrowser() as browser:
        page = browser.open(host.page_url(version.ref))
        info = page.wait_ready()
        result = (page.predict_tensors(records) if isinstance(records, Mapping)
                  else page.predict(records))
        foreign = page.foreign_requests()
    if foreign:
        raise ConfigError(f"the edge page requested files from outside the server: {foreign}")
    outputs = {name: out["data"] for name, out in result["outputs"].items()}
    return outputs, {**info, "predict_seconds": result["seconds"],
                     "requests": len(page.requests)}


def device_outputs(version: ModelVersion,
                   records: Sequence[Mapping[str, Any]] | Mapping[str, Any],
                   registry: Registry, python: str = sys.executable) -> tuple[dict[str, Any], dict[str, Any]]:
    """Export a device bundle and predict ``records`` with its ``predict.py`` in a new process.

    Raises:
        InvalidInput: the device predictor failed (its error message is included).
    """
    with tempfile.TemporaryDirectory(prefix="augur-device-") as tmp:
        bundle = export_bundle(version, target="device", out=Path(tmp) / "bundle",
                               registry=registry)
        rows, out = Path(tmp) / "rows.json", Path(tmp) / "predictions.json"
        payload = {"inputs": dict(records)} if isinstance(records, Mapping) else list(records)
        rows.write_text(json.dumps(payload), encoding="utf-8")
        start = time.perf_counter()
        # -I: isolated mode, so nothing from the caller's environment leaks into the device run.
        proc = subprocess.run([python, "-I", str(bundle.path / "predict.py"), "--input",
                               str(rows), "--output", str(out)],
                              capture_output=True, text=True, timeout=300, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise InvalidInput(f"the device predictor failed: {proc.stderr.strip()[-500:]}")
        result = json.loads(out.read_text(encoding="utf-8"))
    return result["outputs"], {"process_seconds": seconds, "bundle_bytes": bundle.size}


def check_parity(ref: str | ModelVersion, data: Any, *, target: str = "web",
                 registry: Registry | None = None, tolerance: float = DEFAULT_TOLERANCE,
                 quantize: bool = False) -> ParityReport:
    """Compare browser or device predictions with the server's on ``data``.

    Args:
        ref: the version to check.
        data: records or a DataFrame; for a model without columns, input name ->
            array (or one array for a one-input model).
        target: ``web`` (headless Chromium) or ``device`` (``predict.py`` in a subprocess).
        registry: where the version lives (default: ``$AUGUR_HOME``).
        tolerance: largest float difference that passes (absolute for values within
            [-1, 1], relative beyond; see :class:`Comparison`).
        quantize: check the int8 dynamic-quantized child of ``ref`` (made on first
            use as ``export-edge --quantize`` does, its quality report measured on
            ``data``): the edge side runs it and the server side runs the same
            child, so like is compared with like.

    Returns:
        The report; :attr:`ParityReport.passed` says whether it is within tolerance.

    Raises:
        ConfigError: an unknown target, or a missing browser or runtime.
        InvalidInput: the data does not fit the model.
        ExportFailed: ``quantize`` on a model with nothing to quantize.
    """
    if target not in ("web", "device"):
        raise ConfigError(f"unknown edge target {target!r}; expected web or device")
    reg = registry or Registry()
    version = ref if isinstance(ref, ModelVersion) else reg.resolve(ref)
    if quantize:
        version = quantized_version(version, reg, validation=data)
    rows: list[dict[str, Any]] | dict[str, Any]
    if version.signature.columns:
        rows = records_of(data)
        reference = load(version, registry=reg).predict(rows)
        count = len(rows)
    else:
        rows = tensors_of(version.signature, data)
        reference = load(version, registry=reg).predict(
            {k: np.asarray(v) for k, v in rows.items()})
        count = len(next(iter(reference.values())))
    if target == "web":
        candidate, detail = web_outputs(version, rows, reg)
    else:
        candidate, detail = device_outputs(version, rows, reg)
    comparison = compare_outputs(reference, candidate, version.signature.label_output)
    return ParityReport(ref=version.ref, target=target, rows=count, comparison=comparison,
                        tolerance=tolerance, detail=detail)
