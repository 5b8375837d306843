"""Model formats for the edge: operator checks and ONNX Runtime's ORT format.

The ORT conversion runs ONNX Runtime's own tool on temporary files and
translates its failures into :class:`~augur.errors.ExportFailed` here. (int8
quantization is the compression part's; see :mod:`augur.edge.quantized`.)
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from augur.errors import ExportFailed


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Silence ONNX Runtime's tools, which log advice and progress at WARNING/INFO.

    Raising logger levels is per logger, so other threads' logging is untouched
    (the quantizer logs to the root logger, whose level is restored after).
    """
    saved = {name: logging.getLogger(name or None).level for name in loggers}
    for name in loggers:
        logging.getLogger(name or None).setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name or None).setLevel(level)


# Operator domains that neither onnxruntime-web nor the plain onnxruntime package carry.
UNSUPPORTED_DOMAINS = {"ai.onnx.contrib": "onnxruntime-extensions"}


def _nodes(graph: Any) -> Iterator[Any]:
    """Every node of a graph, including those of subgraphs (Loop, If, Scan bodies)."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _nodes(attr.g)
            for sub in attr.graphs:
                yield from _nodes(sub)


def check_edge_compatible(data: bytes) -> None:
    """Refuse a model that uses operators the edge runtimes lack.

    Raises:
        ExportFailed: the model uses e.g. onnxruntime-extensions operators (in-graph
            tokenizers), which onnxruntime-web and plain onnxruntime do not include.
    """
    import onnx

    found: dict[str, set[str]] = {}
    for node in _nodes(onnx.load_model_from_string(data).graph):
        if node.domain in UNSUPPORTED_DOMAINS:
            found.setdefault(node.domain, set()).add(node.op_type)
    if found:
        parts = [f"{UNSUPPORTED_DOMAINS[d]} ({d}: {', '.join(sorted(ops))})"
                 for d, ops in sorted(found.items())]
        raise ExportFailed(f"the model uses operators from {'; '.join(parts)}, which "
                           "onnxruntime-web and the plain onnxruntime package do not include; "
                           "it cannot run on the edge")


# Operators that a GPU speeds up; a model without them (trees, scalers, encoders) runs
# faster on WASM than through WebGPU's CPU fallback.
GPU_OPS = frozenset({"MatMul", "Gemm", "Conv", "ConvTranspose", "Attention",
                     "MultiHeadAttention", "Einsum", "MatMulInteger", "LSTM", "GRU"})


def preferred_backend(data: bytes) -> str:
    """``webgpu`` for models with dense linear algebra, else ``wasm``."""
    import onnx

    ops = {node.op_type for node in _nodes(onnx.load_model_from_string(data).graph)}
    return "webgpu" if ops & GPU_OPS else "wasm"


def to_ort_format(data: bytes) -> bytes:
    """Convert an ONNX model to ONNX Runtime's ORT format, for mobile and embedded runtimes.

    Uses ``onnxruntime.tools.convert_onnx_models_to_ort`` with the fixed
    optimization style and no platform-specific layout changes, so the file loads
    on any CPU.

    Raises:
        ExportFailed: the conversion failed.
    """
    from onnxruntime.tools.convert_onnx_models_to_ort import (
        OptimizationStyle,
        convert_onnx_models_to_ort,
    )

    with tempfile.TemporaryDirectory(prefix="augur-ort-") as tmp:
        src = Path(tmp) / "model.onnx"
        src.write_bytes(data)
        out_dir = Path(tmp) / "out"
        try:
            with _quiet("ort_format_model.utils", "ort_format_model"):
                convert_onnx_models_to_ort(src, output_dir=out_dir,
                                           optimization_styles=[OptimizationStyle.Fixed])
        except Exception as exc:  # the tool raises whatever ONNX Runtime raised
            raise ExportFailed(f"conversion to the ORT format failed: {exc}") from exc
        produced = sorted(out_dir.glob("*.ort"))
        if not produced:
            raise ExportFailed("conversion to the ORT format produced no .ort file")
        return produced[0].read_bytes()
