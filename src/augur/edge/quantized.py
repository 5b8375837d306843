"""Quantized edge models: the compression part's int8 child version, reused by the edge.

``export-edge --quantize`` must not ship a model that exists nowhere else: the
server could not serve it and parity could only compare it with its float
parent, which it differs from by design. So the int8 model is the child version
that :func:`augur.compression.compress` makes with ``quantize-dynamic`` (one
implementation: per-channel, VNNI-aware, with its report of size, speed and
quality against the parent, and its quality gate), registered once; the bundle,
the ``/edge/{ref}`` page, the server and parity all use that one version. A
child made earlier by ``augur compress REF --method quantize-dynamic`` is reused.
"""

from __future__ import annotations

from typing import Any

from augur.compression import compress
from augur.edge.formats import check_edge_compatible, preferred_backend
from augur.errors import CompressionFailed, ExportFailed
from augur.registry import ModelVersion, Registry

METHOD = "quantize-dynamic"


def _is_quantized(version: ModelVersion) -> bool:
    return version.derivation is not None and version.derivation.get("method") == METHOD


def _existing(registry: Registry, parent: ModelVersion) -> ModelVersion | None:
    """The newest int8 dynamic child of ``parent`` already registered, if any."""
    children = [v for v in registry.versions(parent.name)
                if _is_quantized(v) and v.parent is not None and str(v.parent) == parent.ref]
    return children[-1] if children else None


def quantization_of(version: ModelVersion) -> dict[str, Any] | None:
    """What a manifest says about an int8 child: method, sizes, operators, quality, parent.

    Returns ``None`` for a version that is not an int8 dynamic-quantized child.
    """
    if not _is_quantized(version) or not version.derivation:
        return None
    report = version.derivation.get("report")
    if not isinstance(report, dict):
        return None
    params = dict(version.derivation.get("params") or {})
    return {"method": METHOD, "params": params,
            "quantized_ops": params.get("quantized_ops"),
            "size_before": report.get("original", {}).get("size_bytes"),
            "size_after": report.get("compressed", {}).get("size_bytes"),
            "quality": report.get("quality"),
            "parent": str(version.parent) if version.parent else None}


def quantized_version(parent: ModelVersion, registry: Registry, *, validation: Any = None,
                      max_quality_drop: float | None = None) -> ModelVersion:
    """The int8 dynamic-quantized child of ``parent``, made by compression on first use.

    Args:
        parent: the float version to quantize.
        registry: where ``parent`` lives and the child is registered.
        validation: rows the compression report compares parent and child on
            (records, a DataFrame, arrays); needed only when no child exists yet.
        max_quality_drop: refuse the child when it loses more quality than this
            (see :func:`augur.compression.compress`); ``None`` reports without a gate.

    Returns:
        The child version (same model name, ``parent`` set), or ``parent`` itself
        when it already is an int8 child.

    Raises:
        ExportFailed: the model uses operators the edge runtimes lack, has nothing
            int8 quantization applies to (tree ensembles, scalers), no validation
            rows were given, or the quantizer failed.
        QualityGateFailed: the child loses more than ``max_quality_drop`` (nothing
            is registered).
    """
    if _is_quantized(parent):
        return parent  # already the quantized child: quantizing it again changes nothing
    found = _existing(registry, parent)
    if found is not None:
        return found
    data = registry.read_artifact(parent)
    check_edge_compatible(data)
    try:
        return compress(parent, METHOD, registry=registry, validation=validation,
                        max_quality_drop=max_quality_drop).version
    except CompressionFailed as exc:
        # No dense linear algebra: say so first, rather than ask for rows that cannot help.
        if "nothing to quantize" in str(exc) or preferred_backend(data) == "wasm":
            raise ExportFailed(f"nothing to quantize in {parent.ref}: it has no MatMul, Gemm, "
                               "Conv or Attention operator for int8 dynamic quantization (tree "
                               "ensembles have none); export it without --quantize") from exc
        if "validation data" in str(exc):
            raise ExportFailed(f"quantizing {parent.ref} needs validation rows for its quality "
                               "report: pass --validation FILE (or, from Python, "
                               "validation=rows), or make the child first with augur compress "
                               f"{parent.ref} --method {METHOD} --validation FILE") from exc
        raise ExportFailed(f"int8 quantization of {parent.ref} failed: {exc}") from exc
