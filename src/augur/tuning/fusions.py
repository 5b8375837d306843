"""Which graph rewrites ONNX Runtime applies at each optimization level.

ONNX Runtime can save the graph it actually runs
(``SessionOptions.optimized_model_filepath``); comparing its operators with the
original's shows the fusions (``Attention``, ``SkipLayerNormalization``,
``FusedMatMul``, ``Gelu``...) and the nodes folded away.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any


def _ops(model: Any) -> Counter[str]:
    return Counter(n.op_type for n in model.graph.node)


def optimized_graph(data: bytes, level: str) -> Any:
    """The graph ONNX Runtime runs at ``level`` (an ``onnx.ModelProto``)."""
    import onnx
    import onnxruntime as ort

    from augur.runtime import RuntimeOptions

    opts = RuntimeOptions(graph_optimization_level=level)
    with tempfile.TemporaryDirectory(prefix="augur-opt-") as tmp:
        path = Path(tmp) / "optimized.onnx"
        so = opts.session_options()
        so.optimized_model_filepath = str(path)
        if b"ai.onnx.contrib" in data:
            from onnxruntime_extensions import get_library_path

            so.register_custom_ops_library(get_library_path())
        ort.InferenceSession(data, sess_options=so, providers=["CPUExecutionProvider"])
        return onnx.load_model(str(path))


def fusion_report(data: bytes, levels: tuple[str, ...] = ("basic", "extended", "all")
                  ) -> dict[str, Any]:
    """Node counts before and after each level, and the operators added or removed.

    Returns:
        ``{"original": {"nodes": n, "ops": {...}}, "levels": {level: {"nodes": n,
        "added": {op: k}, "removed": {op: k}}}}``.
    """
    import onnx

    original = _ops(onnx.load_model_from_string(data))
    out: dict[str, Any] = {"original": {"nodes": sum(original.values()),
                                        "ops": dict(original.most_common())},
                           "levels": {}}
    for level in levels:
        ops = _ops(optimized_graph(data, level))
        added = {k: v for k, v in (ops - original).most_common()}
        removed = {k: v for k, v in (original - ops).most_common()}
        out["levels"][level] = {"nodes": sum(ops.values()), "added": added, "removed": removed}
    return out


def describe(report: dict[str, Any]) -> list[str]:
    """One line per level: ``all: 532 -> 170 nodes; +Attention 6, ...; -MatMul 48, ...``."""
    lines = []
    before = report["original"]["nodes"]
    for level, info in report["levels"].items():
        added = ", ".join(f"+{k} {v}" for k, v in list(info["added"].items())[:6])
        removed = ", ".join(f"-{k} {v}" for k, v in list(info["removed"].items())[:6])
        changes = "; ".join(x for x in (added, removed) if x) or "no change"
        lines.append(f"{level}: {before} -> {info['nodes']} nodes; {changes}")
    return lines
