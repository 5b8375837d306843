"""The model registry: versioned ONNX artifacts, aliases, lineage, run records.

Public surface: :class:`Registry`, :class:`ModelVersion`, :class:`ModelInfo`,
:class:`Reference`, :func:`parse_reference`, :func:`validate_name`,
:func:`parse_version`, :func:`register_onnx_file`, :class:`RunStore`,
:class:`RunRecord`, :class:`TuningCache`, :func:`check_onnx_bytes`,
:func:`incompatibilities` (whether an alias move would break its clients).
"""

from __future__ import annotations

from augur.registry.artifacts import check_onnx_bytes
from augur.registry.compat import incompatibilities
from augur.registry.records import RunRecord, RunStore, TuningCache
from augur.registry.refs import (
    DEFAULT_ALIAS,
    MAX_VERSION,
    Reference,
    parse_reference,
    parse_version,
    validate_name,
)
from augur.registry.registry import ModelInfo, ModelVersion, Registry, register_onnx_file

__all__ = [
    "DEFAULT_ALIAS",
    "MAX_VERSION",
    "ModelInfo",
    "ModelVersion",
    "Reference",
    "Registry",
    "RunRecord",
    "RunStore",
    "TuningCache",
    "check_onnx_bytes",
    "incompatibilities",
    "parse_reference",
    "parse_version",
    "register_onnx_file",
    "validate_name",
]
