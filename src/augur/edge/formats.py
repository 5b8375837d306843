"""Model formats for the edge: int8 dynamic quantization and ONNX Runtime's ORT format.

Both run ONNX Runtime's own tools on temporary files, and translate their
failures into :class:`~augur.errors.ExportFailed` at this one boundary.
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


def _count_ops(data: bytes) -> dict[str, int]:
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load_model_from_string(data).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def _normalized(data: bytes) -> bytes:
    """The model with one opset import per domain (some converters list one twice).

    ONNX Runtime's quantizer refuses a model that imports the default domain twice.
    """
    import onnx

    model = onnx.load_model_from_string(data)
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        versions[domain] = max(versions.get(domain, 0), opset.version)
    if len(versions) == len(model.opset_import):
        return data
    del model.opset_import[:]
    for domain, version in versions.items():
        model.opset_import.append(onnx.helper.make_opsetid(domain, version))
    return bytes(model.SerializeToString())


def quantize_dynamic_int8(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """Quantize a model's weights to int8 (dynamic quantization of activations).

    Models without quantizable operators (MatMul, Gemm, Conv, Attention...), such
    as tree ensembles, come back unchanged in meaning; the returned report's
    ``quantized_ops`` says how many operators were quantized, so a caller can tell.

    Args:
        data: the ONNX model.

    Returns:
        The quantized model and a report: method, weight type, sizes, and the
        count of quantized operators.

    Raises:
        ExportFailed: ONNX Runtime's quantizer rejected the model.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="augur-quant-") as tmp:
        src, dst = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        src.write_bytes(_normalized(data))
        try:
            with _quiet(""):
                quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        except Exception as exc:  # the quantizer raises bare Exceptions and ValueErrors
            raise ExportFailed(f"int8 dynamic quantization failed: {exc}") from exc
        out = dst.read_bytes()
    ops = _count_ops(out)
    quantized = sum(n for op, n in ops.items()
                    if op in ("MatMulInteger", "ConvInteger", "DynamicQuantizeLinear",
                              "DynamicQuantizeMatMul", "QAttention", "QGemm",
                              "DynamicQuantizeLSTM", "MatMulIntegerToFloat"))
    report = {"method": "dynamic", "weight_type": "int8", "size_before": len(data),
              "size_after": len(out), "quantized_ops": quantized}
    return out, report


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
