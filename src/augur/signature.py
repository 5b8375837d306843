"""Typed model signatures: named tensors with dtypes and shapes, and table columns.

A :class:`Signature` is what a caller needs to know to call a model: its input
and output tensors (Open Inference Protocol datatype names, ``-1`` for a
dynamic axis), and for tabular models the columns a record may carry and where
each lands (its own tensor, or one position of a shared matrix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from augur.errors import InvalidInput

# Open Inference Protocol datatype -> numpy dtype.
V2_TO_NUMPY: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
NUMPY_TO_V2: dict[str, str] = {v.str: k for k, v in V2_TO_NUMPY.items() if k != "BYTES"}

# ONNX TensorProto element type -> v2 datatype.
ONNX_TO_V2: dict[int, str] = {
    1: "FP32", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
    8: "BYTES", 9: "BOOL", 10: "FP16", 11: "FP64", 12: "UINT32", 13: "UINT64",
}

COLUMN_KINDS = ("float", "int", "string", "bool")


def v2_datatype(dtype: np.dtype[Any]) -> str:
    """Return the v2 datatype name for a numpy dtype (strings and objects are ``BYTES``).

    Raises:
        InvalidInput: the dtype has no v2 equivalent.
    """
    if dtype.kind in ("U", "S", "O"):
        return "BYTES"
    try:
        return NUMPY_TO_V2[dtype.newbyteorder("=").str]
    except KeyError:
        raise InvalidInput(f"dtype {dtype} has no Open Inference Protocol datatype") from None


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output tensor.

    Attributes:
        name: tensor name in the graph.
        datatype: Open Inference Protocol datatype (``FP32``, ``INT64``, ``BYTES``...).
        shape: dimensions, ``-1`` where any size is allowed (the batch axis first).
    """

    name: str
    datatype: str
    shape: tuple[int, ...]

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return V2_TO_NUMPY[self.datatype]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorSpec:
        return cls(name=str(d["name"]), datatype=str(d["datatype"]),
                   shape=tuple(int(x) for x in d["shape"]))


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a tabular model's input record.

    Attributes:
        name: the column name callers use (``age``, ``city``).
        kind: ``float``, ``int``, ``string`` or ``bool``.
        tensor: the input tensor the column feeds.
        index: position along the tensor's last axis, or ``None`` when the column
            is the whole tensor (shape ``[-1, 1]``).
        nullable: whether a missing value (NaN/None) is allowed.
    """

    name: str
    kind: str
    tensor: str
    index: int | None = None
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "tensor": self.tensor,
                "index": self.index, "nullable": self.nullable}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnSpec:
        idx = d.get("index")
        return cls(name=str(d["name"]), kind=str(d["kind"]), tensor=str(d["tensor"]),
                   index=None if idx is None else int(idx), nullable=bool(d.get("nullable")))


@dataclass(frozen=True)
class Signature:
    """What a model takes and returns.

    Attributes:
        inputs: input tensors, in graph order.
        outputs: output tensors, in graph order.
        columns: record columns for tabular models (empty for tensor-only models).
        task: ``classification``, ``regression``, ``embedding`` or ``None``.
        classes: class labels of a classifier, in probability-column order.
        label_output: name of the output holding predicted labels, if any.
        probability_output: name of the output holding class probabilities, if any.
        extra: free-form metadata (e.g. a declared preprocessing step).
    """

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    columns: tuple[ColumnSpec, ...] = ()
    task: str | None = None
    classes: tuple[Any, ...] = ()
    label_output: str | None = None
    probability_output: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def input(self, name: str) -> TensorSpec:
        """Return the input tensor called ``name``.

        Raises:
            InvalidInput: there is no such input.
        """
        for spec in self.inputs:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.inputs)
        raise InvalidInput(f"unknown input {name!r}; the model takes: {known}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
            "columns": [c.to_dict() for c in self.columns],
            "task": self.task,
            "classes": [c.item() if isinstance(c, np.generic) else c for c in self.classes],
            "label_output": self.label_output,
            "probability_output": self.probability_output,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Signature:
        return cls(
            inputs=tuple(TensorSpec.from_dict(x) for x in d["inputs"]),
            outputs=tuple(TensorSpec.from_dict(x) for x in d["outputs"]),
            columns=tuple(ColumnSpec.from_dict(x) for x in d.get("columns", [])),
            task=d.get("task"),
            classes=tuple(d.get("classes", [])),
            label_output=d.get("label_output"),
            probability_output=d.get("probability_output"),
            extra=dict(d.get("extra") or {}),
        )

    @classmethod
    def from_onnx(cls, model: Any) -> Signature:
        """Read the input and output tensors of an ``onnx.ModelProto``."""
        init_names = {i.name for i in model.graph.initializer}

        def spec(value_info: Any) -> TensorSpec:
            tt = value_info.type.tensor_type
            dims = []
            for d in tt.shape.dim:
                dims.append(int(d.dim_value) if d.HasField("dim_value") else -1)
            datatype = ONNX_TO_V2.get(tt.elem_type)
            if datatype is None:
                raise InvalidInput(
                    f"tensor {value_info.name!r} has an unsupported element type {tt.elem_type}")
            return TensorSpec(value_info.name, datatype, tuple(dims))

        inputs = tuple(spec(v) for v in model.graph.input if v.name not in init_names)
        outputs = tuple(spec(v) for v in model.graph.output
                        if v.type.HasField("tensor_type"))
        return cls(inputs=inputs, outputs=outputs)
