"""ONNX graph surgery shared by the compression methods.

A text model carries its tokenizer inside the graph (see
``augur.convert.text``). Quantizers and converters must not touch those custom
operators, and ONNX Runtime's calibration sessions cannot even load them, so
each method works on the *core*: the graph from the declared boundary tensors
to the outputs. :class:`SplitModel` cuts a model there and glues it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from augur.errors import CompressionFailed
from augur.signature import Signature


@dataclass
class SplitModel:
    """A model cut into an optional preprocessing prefix and the core to compress.

    Attributes:
        prefix: the preprocessing graph (raw inputs -> boundary tensors), or ``None``.
        core: the graph from the boundary tensors (or the raw inputs) to the outputs.
        boundary: the tensor names where the prefix ends.
    """

    prefix: Any | None
    core: Any
    boundary: tuple[str, ...]

    @classmethod
    def of(cls, data: bytes, signature: Signature) -> SplitModel:
        """Cut ``data`` at ``signature.extra["preprocessing"]["boundary"]`` when declared."""
        import onnx

        model = onnx.load_model_from_string(data)
        pre = signature.extra.get("preprocessing") or {}
        boundary = tuple(pre.get("boundary") or ())
        if not boundary:
            return cls(None, model, ())
        inputs = [s.name for s in signature.inputs]
        outputs = [s.name for s in signature.outputs]
        try:
            extractor = onnx.utils.Extractor(model)
            prefix = extractor.extract_model(inputs, list(boundary))
            core = extractor.extract_model(list(boundary), outputs)
        except Exception as exc:
            raise CompressionFailed(f"cannot cut the model at its preprocessing boundary "
                             f"{list(boundary)}: {exc}") from exc
        for m in (prefix, core):
            m.ir_version = model.ir_version
            del m.opset_import[:]
            m.opset_import.extend(model.opset_import)
        return cls(prefix, core, boundary)

    def join(self, core: Any) -> bytes:
        """Glue a (compressed) core back behind the prefix and serialize."""
        if self.prefix is None:
            return bytes(core.SerializeToString())
        from augur.convert.text import text_model

        return text_model(_copy(self.prefix), core)

    def core_batches(self, feeds: dict[str, np.ndarray],
                     batch: int = 16) -> list[dict[str, np.ndarray]]:
        """The core's inputs for ``feeds``, ``batch`` rows at a time."""
        n = rows_of(feeds)
        if self.prefix is None:
            return [{k: v[i:i + batch] for k, v in feeds.items()} for i in range(0, n, batch)]
        from augur.runtime import load_bytes

        pre = load_bytes(bytes(self.prefix.SerializeToString()))
        out = []
        for i in range(0, n, batch):
            res = pre.run({k: v[i:i + batch] for k, v in feeds.items()})
            out.append({name: res[name] for name in self.boundary})
        return out


def _copy(model: Any) -> Any:
    import onnx

    clone = onnx.ModelProto()
    clone.CopyFrom(model)
    return clone


def rows_of(feeds: dict[str, np.ndarray]) -> int:
    """The batch size of a feed mapping (its first axis)."""
    sizes = {len(v) for v in feeds.values()}
    if len(sizes) != 1:
        raise CompressionFailed(f"inputs have different numbers of rows: {sorted(sizes)}")
    return sizes.pop()


def take_rows(feeds: dict[str, np.ndarray], index: np.ndarray | slice) -> dict[str, np.ndarray]:
    """Select rows of every input."""
    return {k: v[index] for k, v in feeds.items()}


# Tree ensembles keep their parameters in attributes: thresholds and leaf weights.
_TREE_WEIGHTS = ("nodes_values", "target_weights", "class_weights")


def parameter_counts(data: bytes) -> tuple[int, int]:
    """Count (all, non-zero) elements of the float and integer weights (initializers).

    Constants held by ``Constant`` nodes count too; subgraphs (``Loop`` bodies)
    are included, so a model with a vocabulary attribute counts only tensors.
    Tree ensembles count their split thresholds and leaf weights.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load_model_from_string(data)
    total = nonzero = 0

    def visit(graph: Any) -> None:
        nonlocal total, nonzero
        for init in graph.initializer:
            arr = numpy_helper.to_array(init)
            if arr.dtype.kind in "fiu":
                total += int(arr.size)
                nonzero += int(np.count_nonzero(arr))
        for node in graph.node:
            for attr in node.attribute:
                if node.domain == "ai.onnx.ml" and attr.name in _TREE_WEIGHTS:
                    values = list(attr.floats) or list(attr.ints)
                    total += len(values)
                    nonzero += sum(1 for v in values if v != 0)
                elif attr.type == onnx.AttributeProto.GRAPH:
                    visit(attr.g)
                elif attr.type == onnx.AttributeProto.TENSOR and node.op_type == "Constant":
                    arr = numpy_helper.to_array(attr.t)
                    if arr.dtype.kind in "fiu" and arr.size > 16:
                        total += int(arr.size)
                        nonzero += int(np.count_nonzero(arr))

    visit(model.graph)
    return total, nonzero


def node_count(model: Any) -> int:
    """Nodes of a graph, not counting subgraphs."""
    return len(model.graph.node)
