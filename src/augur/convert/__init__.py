"""Export framework models to ONNX artifacts with a signature and a parity check.

Public surface: :func:`export`, :func:`convert`, :class:`Converted`,
:class:`Tolerance`, :class:`ParityReport`.
"""

from __future__ import annotations

from augur.convert.export import Converted, convert, export
from augur.convert.parity import ParityReport, Tolerance

__all__ = ["Converted", "ParityReport", "Tolerance", "convert", "export"]
