"""augur: take a trained model into production and make it answer.

The top-level API covers the common path; each part (``augur.registry``,
``augur.runtime``, ``augur.serving``...) has its own public surface.

Example:
    >>> import augur
    >>> version = augur.export(model, "iris", sample=X)   # doctest: +SKIP
    >>> augur.load("iris").predict(X[:3])                 # doctest: +SKIP
"""

from __future__ import annotations

from augur.convert import Tolerance, export
from augur.errors import (
    AugurError,
    ExportFailed,
    InvalidArtifact,
    InvalidInput,
    InvalidName,
    InvalidReference,
    ModelNotFound,
    ModelNotReady,
    ParityError,
)
from augur.registry import ModelVersion, Registry
from augur.runtime import LoadedModel, RuntimeOptions, load
from augur.signature import ColumnSpec, Signature, TensorSpec

__version__ = "0.1.0"

__all__ = [
    "AugurError",
    "ColumnSpec",
    "ExportFailed",
    "InvalidArtifact",
    "InvalidInput",
    "InvalidName",
    "InvalidReference",
    "LoadedModel",
    "ModelNotFound",
    "ModelNotReady",
    "ModelVersion",
    "ParityError",
    "Registry",
    "RuntimeOptions",
    "Signature",
    "TensorSpec",
    "Tolerance",
    "__version__",
    "export",
    "load",
]
