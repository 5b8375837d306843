"""Quantized edge models as registered child versions of the model they came from.

``export-edge --quantize`` must not ship a model that exists nowhere else: the
server could not serve it and parity could only compare it with its float
parent, which it differs from by design. So the int8 model is registered once,
as a child of its parent (lineage, ``derivation.method = quantize-dynamic``),
and the bundle, the ``/edge/{ref}`` page, the server and parity all use that
one version.
"""

from __future__ import annotations

from typing import Any

from augur.edge.formats import check_edge_compatible, quantize_dynamic_int8
from augur.edge.manifest import sha256_hex
from augur.errors import ExportFailed
from augur.registry import ModelVersion, Registry

METHOD = "quantize-dynamic"
#: Tag on the child versions made here (``augur compress`` children carry a report instead).
EDGE_TAG = "edge"
EDGE_TAG_VALUE = "int8-dynamic"


def _existing(registry: Registry, parent: ModelVersion, digest: str) -> ModelVersion | None:
    """A child of ``parent`` that already holds exactly these quantized bytes."""
    for version in registry.versions(parent.name):
        if (version.artifact == digest and version.parent is not None
                and str(version.parent) == parent.ref
                and version.tags.get(EDGE_TAG) == EDGE_TAG_VALUE):
            return version
    return None


def quantization_of(version: ModelVersion) -> dict[str, Any] | None:
    """The quantization report of a version made by :func:`quantized_version`, else ``None``."""
    if version.tags.get(EDGE_TAG) != EDGE_TAG_VALUE or not version.derivation:
        return None
    report = version.derivation.get("report")
    if not isinstance(report, dict):
        return None
    return {**report, "parent": str(version.parent) if version.parent else None}


def quantized_version(parent: ModelVersion, registry: Registry) -> ModelVersion:
    """The int8 dynamic-quantized child of ``parent``, registered on first use.

    Quantizing the same parent again gives the same bytes, so a second export
    finds the child the first one registered instead of adding a version.

    Args:
        parent: the float version to quantize.
        registry: where ``parent`` lives and the child is registered.

    Returns:
        The child version (same model name, next version number, ``parent`` set).

    Raises:
        ExportFailed: the model uses operators the edge runtimes lack, the quantizer
            failed, or the model has nothing int8 quantization applies to (tree
            ensembles, scalers): its bundle would be the parent under another number.
    """
    if quantization_of(parent) is not None:
        return parent  # already the quantized child: quantizing it again changes nothing
    data = registry.read_artifact(parent)
    check_edge_compatible(data)
    quantized, report = quantize_dynamic_int8(data)
    if not report["quantized_ops"]:
        raise ExportFailed(f"nothing to quantize in {parent.ref}: it has no MatMul, Gemm, Conv "
                           "or Attention operator for int8 dynamic quantization (tree "
                           "ensembles and encoders have none); export it without --quantize")
    digest = sha256_hex(quantized)
    found = _existing(registry, parent, digest)
    if found is not None:
        return found
    return registry.register(
        parent.name, quantized, parent.signature, framework=parent.framework,
        parent=parent.ref,
        derivation={"method": METHOD, "params": {"weight_type": "int8", "activations": "uint8",
                                                 "made_by": "augur export-edge --quantize"},
                    "report": report},
        tags={"compression": METHOD, EDGE_TAG: EDGE_TAG_VALUE},
        metrics={"size_ratio": report["size_before"] / max(1, report["size_after"])},
        description=f"int8 dynamic quantization of {parent.ref} for the edge")
