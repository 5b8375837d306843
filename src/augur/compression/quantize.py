"""Post-training quantization (int8 dynamic, int8 static QDQ) and fp16 conversion.

The choices follow ONNX Runtime's guidance for x86 CPUs: unsigned 8-bit
activations with signed 8-bit weights (U8S8), the format its integer kernels
are fastest with; weights reduced to 7 bits (``reduce_range``) only on CPUs
without VNNI, where U8S8 products can saturate; per-channel weights for static
QDQ (each output channel gets its own scale, which keeps accuracy where weight
ranges differ between channels).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from augur.errors import CompressionFailed

DYNAMIC_OPS = ("MatMul", "Gemm", "Gather", "Attention", "Conv")
STATIC_OPS = ("MatMul", "Gemm", "Conv", "Gather")
_GELU = ("Gelu", "FastGelu", "BiasGelu")


@functools.cache
def cpu_has_vnni() -> bool:
    """Whether this CPU has AVX-512 VNNI or AVX-VNNI (fast int8 dot products)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def _check_quantizable(model: Any, ops: tuple[str, ...]) -> None:
    if not any(n.op_type in ops for n in model.graph.node):
        present = sorted({n.op_type for n in model.graph.node})
        raise CompressionFailed(f"nothing to quantize: the graph has no {'/'.join(ops)} operators "
                         f"(it has {', '.join(present[:8])}); quantization helps neural "
                         "networks, not tree ensembles")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # The quantizer logs advice on the root logger for every call; the report says enough.
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _copy(model: Any) -> Any:
    import onnx

    clone = onnx.ModelProto()
    clone.CopyFrom(model)
    return clone


def _one_opset_per_domain(model: Any) -> Any:
    """``model`` with one opset import per domain (some converters list one twice:
    ``""`` and ``"ai.onnx"``), which ONNX Runtime's quantizer refuses."""
    import onnx

    versions: dict[str, int] = {}
    for opset in model.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        versions[domain] = max(versions.get(domain, 0), opset.version)
    if len(versions) == len(model.opset_import):
        return model
    model = _copy(model)
    del model.opset_import[:]
    for domain, version in versions.items():
        model.opset_import.append(onnx.helper.make_opsetid(domain, version))
    return model


def _save(model: Any, folder: Path, name: str) -> Path:
    import onnx

    path = folder / name
    onnx.save_model(_one_opset_per_domain(model), str(path))
    return path


#: Operators a dynamic quantization leaves in the graph where it quantized one.
_INTEGER_OPS = frozenset({"MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul", "QAttention",
                          "QGemm", "DynamicQuantizeLSTM", "MatMulIntegerToFloat", "QLinearMatMul",
                          "QLinearConv"})


def quantized_op_count(model: Any) -> int:
    """How many integer operators (MatMulInteger, ConvInteger, ...) a model has."""
    return sum(1 for n in model.graph.node if n.op_type in _INTEGER_OPS)


def quantize_dynamic(model: Any, *, per_channel: bool = True,
                     reduce_range: bool | None = None) -> tuple[Any, dict[str, Any]]:
    """Int8 weights, activations quantized on the fly (MatMulInteger / DynamicQuantizeLinear).

    Args:
        model: an ``onnx.ModelProto`` (a text model's core, not its tokenizer).
        per_channel: one scale per output channel (default: on; per-tensor scales
            cost MiniLM about 3 points of cosine similarity).
        reduce_range: 7-bit weights; default: only when the CPU lacks VNNI.

    Returns:
        The quantized model and the parameters used.

    Raises:
        CompressionFailed: the graph has nothing quantizable.
    """
    import onnx
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_quantize_dynamic

    _check_quantizable(model, DYNAMIC_OPS)
    reduce = (not cpu_has_vnni()) if reduce_range is None else reduce_range
    params = {"weight_type": "QInt8", "activation_type": "QUInt8 (dynamic)",
              "per_channel": per_channel, "reduce_range": reduce,
              "op_types": list(DYNAMIC_OPS)}
    with tempfile.TemporaryDirectory(prefix="augur-q-") as tmp:
        src = _save(model, Path(tmp), "in.onnx")
        dst = Path(tmp) / "out.onnx"
        try:
            with _quiet():
                ort_quantize_dynamic(src, dst, weight_type=QuantType.QInt8,
                                     per_channel=per_channel, reduce_range=reduce,
                                     op_types_to_quantize=list(DYNAMIC_OPS))
        except Exception as exc:
            raise CompressionFailed(f"dynamic quantization failed: {exc}") from exc
        out = onnx.load_model(str(dst))
    params["quantized_ops"] = quantized_op_count(out)
    return out, params


def _static_nodes(model: Any) -> tuple[list[str], list[str]]:
    """Nodes worth static quantization, and those kept in float on purpose.

    Only nodes with a weight (an initializer input) are quantized: products of
    two activations (attention scores) gain little and lose much. A MatMul fed
    by a GELU stays float: the GELU output of transformer feed-forward blocks
    has outliers one per-tensor uint8 scale cannot hold (on MiniLM, quantizing
    those six MatMuls alone costs 4 points of cosine similarity).
    """
    inits = {i.name for i in model.graph.initializer}
    producer = {out: n for n in model.graph.node for out in n.output}

    def after_gelu(name: str, depth: int = 4) -> bool:
        node = producer.get(name)
        if node is None or depth == 0:
            return False
        if node.op_type in _GELU or node.op_type == "Erf":
            return True
        return node.op_type in ("Mul", "Add", "Div") and any(
            after_gelu(i, depth - 1) for i in node.input)

    keep: list[str] = []
    skip: list[str] = []
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"
        if node.op_type not in STATIC_OPS or not any(x in inits for x in node.input[:2]):
            continue
        (skip if node.op_type == "MatMul" and after_gelu(node.input[0]) else keep).append(
            node.name)
    return keep, skip


class _Batches:
    """ONNX Runtime's CalibrationDataReader over a list of feed batches."""

    def __init__(self, batches: list[dict[str, np.ndarray]]) -> None:
        self._batches = batches
        self._it: Iterator[dict[str, np.ndarray]] = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._batches)


def quantize_static(model: Any, calibration: list[dict[str, np.ndarray]], *,
                    per_channel: bool = True, reduce_range: bool | None = None,
                    method: str = "minmax") -> tuple[Any, dict[str, Any]]:
    """Int8 QDQ with activation ranges measured on calibration batches.

    Args:
        model: an ``onnx.ModelProto`` (the core of a text model).
        calibration: feed batches for ``model``'s inputs (a few hundred rows in all).
        per_channel: per-output-channel weight scales (default on).
        reduce_range: 7-bit weights; default: only when the CPU lacks VNNI.
        method: ``minmax``, ``entropy`` or ``percentile`` range calibration.

    Raises:
        CompressionFailed: no calibration data, nothing quantizable, or the quantizer failed.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    if not calibration:
        raise CompressionFailed("static quantization needs calibration data: pass --calibration "
                         "with a few hundred representative rows")
    _check_quantizable(model, STATIC_OPS)
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if method not in methods:
        raise CompressionFailed(f"calibration method must be one of {sorted(methods)}, got {method!r}")
    reduce = (not cpu_has_vnni()) if reduce_range is None else reduce_range
    model = _copy(model)
    nodes, kept_float = _static_nodes(model)
    params = {"format": "QDQ", "activation_type": "QUInt8", "weight_type": "QInt8",
              "per_channel": per_channel, "reduce_range": reduce, "calibration": method,
              "calibration_rows": int(sum(len(next(iter(b.values()))) for b in calibration)),
              "op_types": list(STATIC_OPS), "quantized_nodes": len(nodes),
              "kept_float_after_gelu": len(kept_float)}
    with tempfile.TemporaryDirectory(prefix="augur-q-") as tmp:
        src = _save(model, Path(tmp), "in.onnx")
        dst = Path(tmp) / "out.onnx"
        try:
            with _quiet():
                ort_quantize_static(src, dst, _Batches(calibration),
                                    quant_format=QuantFormat.QDQ,
                                    activation_type=QuantType.QUInt8,
                                    weight_type=QuantType.QInt8, per_channel=per_channel,
                                    reduce_range=reduce, op_types_to_quantize=list(STATIC_OPS),
                                    nodes_to_quantize=nodes,
                                    calibrate_method=methods[method],
                                    extra_options={"CalibTensorRangeSymmetric": False})
        except Exception as exc:
            raise CompressionFailed(f"static quantization failed: {exc}") from exc
        return onnx.load_model(str(dst)), params


def to_fp16(model: Any) -> tuple[Any, dict[str, Any]]:
    """Convert weights and computation to float16, keeping float32 inputs and outputs.

    Raises:
        CompressionFailed: the converter failed.
    """
    try:
        from onnxconverter_common import float16
    except ImportError as exc:
        raise CompressionFailed("fp16 conversion needs onnxconverter-common") from exc
    import warnings

    import onnx

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = float16.convert_float_to_float16(model, keep_io_types=True)
    except Exception as exc:
        raise CompressionFailed(f"fp16 conversion failed: {exc}") from exc
    if not any(i.data_type == onnx.TensorProto.FLOAT16 for i in converted.graph.initializer):
        raise CompressionFailed("fp16: no weight was converted (tree ensembles and other "
                                "ai.onnx.ml operators stay float32)")
    return converted, {"keep_io_types": True}
