"""Exporting a registered version as a self-contained bundle for the browser or a device.

A web bundle holds ``model.onnx``, ``manifest.json``, the ES module
``augur-edge.mjs`` (``predict(records)``), a ready page (``index.html``) and the
onnxruntime-web files under ``ort/``: copy the folder to any static host. A
device bundle holds ``model.ort`` (ONNX Runtime's format for mobile and embedded
runtimes), ``manifest.json`` and ``predict.py``, which needs only onnxruntime
and numpy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augur.edge.assets import STATIC_FILES, device_script, render_page, static_bytes
from augur.edge.formats import check_edge_compatible, preferred_backend, to_ort_format
from augur.edge.manifest import MANIFEST_NAME, TARGETS, build_manifest, manifest_bytes
from augur.edge.quantized import quantization_of, quantized_version
from augur.edge.webruntime import find_web_runtime
from augur.errors import ConfigError, ExportFailed
from augur.registry import ModelVersion, Registry

RUNTIME_DIR = "ort"


@dataclass(frozen=True)
class EdgeBundle:
    """An exported bundle on disk.

    Attributes:
        path: the bundle folder.
        target: ``web`` or ``device``.
        manifest: the bundle's manifest.
    """

    path: Path
    target: str
    manifest: dict[str, Any]

    @property
    def model_file(self) -> Path:
        return self.path / str(self.manifest["model_file"])

    @property
    def size(self) -> int:
        """Total bytes of every file in the bundle."""
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def web_runtime_entry(backends: tuple[str, ...],
                      prefer: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest's ``runtime`` entry for a web bundle and the runtime files to copy.

    Args:
        backends: backends whose files to copy (empty: none, the page brings its own).
        prefer: the backend to use where the browser has it (see
            :func:`~augur.edge.formats.preferred_backend`).

    Raises:
        ConfigError: onnxruntime-web is not installed, or lacks a backend's files.
    """
    if not backends:
        return {"package": "onnxruntime-web", "base": None, "backends": ["wasm"],
                "prefer": prefer}, {}
    web = find_web_runtime()
    files = {f"{RUNTIME_DIR}/{p.name}": p.read_bytes() for p in web.files(backends)}
    entry = {"package": "onnxruntime-web", "version": web.version,
             "base": f"{RUNTIME_DIR}/", "backends": list(backends), "prefer": prefer}
    return entry, files


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportFailed(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise ExportFailed(f"--out {out} is a non-empty folder that is not an edge bundle; "
                           "choose an empty or new folder")


def _prepare(out: Path) -> None:
    _check_out(out)
    if out.is_dir():  # an earlier bundle: replace it whole, so no stale file survives
        shutil.rmtree(out)
    out.mkdir(parents=True)


def _write(out: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def export_bundle(ref: str | ModelVersion, *, target: str, out: str | Path,
                  quantize: bool = False, registry: Registry | None = None,
                  backends: tuple[str, ...] | None = None, validation: Any = None,
                  max_quality_drop: float | None = None) -> EdgeBundle:
    """Export a registered version as an edge bundle.

    Args:
        ref: ``name``, ``name:3``, ``name@alias`` or a :class:`ModelVersion`.
        target: ``web`` (browser, onnxruntime-web) or ``device`` (ORT format + predict.py).
        out: the bundle folder; created, or replaced if it holds an earlier bundle.
        quantize: bundle the int8 dynamic-quantized child of the version instead,
            made by the compression part on first use, with its report and quality
            gate (see :func:`~augur.edge.quantized.quantized_version`), so the server
            serves exactly what the bundle runs.
        registry: where the version lives (default: ``$AUGUR_HOME``).
        backends: onnxruntime-web backends to copy into a web bundle (``wasm``,
            ``webgpu``); empty to leave the runtime out (then pass ``ortBase`` to
            ``load``); by default ``wasm``, plus ``webgpu`` for models with dense
            linear algebra (which the page then runs on the GPU where it can).
        validation: rows the quantized child's quality report is measured on
            (needed with ``quantize`` when no child exists yet).
        max_quality_drop: with ``quantize``, refuse a child that loses more quality.

    Returns:
        The written bundle.

    Raises:
        ConfigError: an unknown target, or onnxruntime-web missing for a web bundle.
        ModelNotFound: the reference matches nothing.
        ExportFailed: the model uses operators the edge runtimes lack, quantization
            failed, has nothing to quantize or no validation rows, conversion failed,
            or ``out`` is unusable.
        QualityGateFailed: the quantized child loses more than ``max_quality_drop``.
    """
    if target not in TARGETS:
        raise ConfigError(f"unknown edge target {target!r}; expected one of {', '.join(TARGETS)}")
    path = Path(out)
    _check_out(path)  # before the slow work, so a wrong --out fails at once
    reg = registry or Registry()
    version = ref if isinstance(ref, ModelVersion) else reg.resolve(ref)
    if quantize:
        version = quantized_version(version, reg, validation=validation,
                                    max_quality_drop=max_quality_drop)
    data = reg.read_artifact(version)
    check_edge_compatible(data)
    quantization = quantization_of(version)
    files: dict[str, bytes]
    if target == "web":
        prefer = preferred_backend(data)
        if backends is None:
            backends = ("wasm", "webgpu") if prefer == "webgpu" else ("wasm",)
        runtime, files = web_runtime_entry(backends, prefer)
        model_file = "model.onnx"
        files[model_file] = data
        for name in STATIC_FILES:
            files[name] = static_bytes(name)
        files["index.html"] = render_page(title=version.ref, assets="./",
                                          config={"bundle": "./"})
    else:
        import onnxruntime

        model_file = "model.ort"
        files = {model_file: to_ort_format(data), "predict.py": device_script()}
        runtime = {"package": "onnxruntime", "converted_with": onnxruntime.__version__,
                   "format": "ort"}
    manifest = build_manifest(version, target=target, model_file=model_file, files=files,
                              quantization=quantization, runtime=runtime)
    _prepare(path)
    _write(path, {**files, MANIFEST_NAME: manifest_bytes(manifest)})
    return EdgeBundle(path=path, target=target, manifest=manifest)
