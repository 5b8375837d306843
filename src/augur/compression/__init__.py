"""Compression: smaller or faster versions of a model, with a measured report.

Methods and what each needs:

- ``quantize-dynamic``, ``quantize-static`` (calibration rows), ``fp16`` and
  ``low-rank`` (SVD of the graph's MatMul/Gemm weights) work on a registered
  artifact alone: :func:`compress` / ``augur compress REF --method M``.
- ``distill`` trains a student on the parent's own outputs over unlabeled rows:
  also from the artifact alone.
- ``prune`` and module-level ``low-rank`` rewrite the native PyTorch module
  before export: :func:`prune` and :func:`low_rank` take the module and the
  parent's registry reference.

Every result is a new registry version with lineage and a
:class:`CompressionReport` (size, parameters, latency, throughput, quality
against the parent), refused when ``max_quality_drop`` is exceeded.
"""

from __future__ import annotations

from augur.compression.compressor import (
    METHODS,
    CompressionResult,
    compress,
    distill,
    low_rank,
    prune,
)
from augur.compression.data import Dataset, read_dataset
from augur.compression.report import CompressionReport, Performance

__all__ = [
    "METHODS",
    "CompressionReport",
    "CompressionResult",
    "Dataset",
    "Performance",
    "compress",
    "distill",
    "low_rank",
    "prune",
    "read_dataset",
]
