"""Export framework models to ONNX artifacts with a signature and a parity check.

Public surface: :func:`export`, :func:`convert`, :class:`Converted`,
:class:`Tolerance`, :class:`ParityReport`, and for sentence encoders (text in,
embeddings out, tokenizer inside the graph) :func:`export_sentence_encoder`,
:func:`convert_sentence_encoder`.
"""

from __future__ import annotations

from augur.convert.export import Converted, convert, export
from augur.convert.parity import ParityReport, Tolerance
from augur.convert.text import convert_sentence_encoder, export_sentence_encoder

__all__ = ["Converted", "ParityReport", "Tolerance", "convert", "convert_sentence_encoder",
           "export", "export_sentence_encoder"]
