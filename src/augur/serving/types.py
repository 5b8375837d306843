"""Protocol-neutral inference types: what every codec decodes into and encodes from.

A request holds either named tensors (the Open Inference Protocol: v2 JSON, binary
and gRPC) or rows and records (the plain JSON endpoint); the data plane turns
either into the model's feeds by its signature. Wire details (Triton's microsecond
``timeout``, binary outputs, JSON number formatting) stay in the codecs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from augur.errors import InvalidInput


@dataclass(slots=True)
class RequestInput:
    """One input tensor of an inference request (``data`` already decoded)."""

    name: str
    datatype: str
    shape: list[int]
    data: np.ndarray
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RequestOutput:
    """An output the caller asks for (``parameters`` may hold wire options)."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class InferenceRequest:
    """A decoded inference request.

    Attributes:
        inputs: named tensors (Open Inference Protocol requests).
        outputs: the outputs asked for (``None``: all).
        id: the caller's request id, echoed in the response.
        parameters: request parameters (``key`` for hybrid models, ...).
        instances: rows or records (the plain JSON endpoint), converted by the
            model's signature instead of ``inputs``.
        timeout: seconds the caller waits at most (``None``: the model's default).
    """

    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = None
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    instances: list[Any] | None = None
    timeout: float | None = None

    def field_names(self) -> set[str]:
        """Names of the fields every row carries (tensor names, or record keys)."""
        if self.instances is None:
            return {t.name for t in self.inputs}
        if not self.instances or not all(isinstance(r, dict) for r in self.instances):
            return set()
        names = set(self.instances[0])
        for record in self.instances[1:]:
            names &= record.keys()
        return names

    def column(self, name: str) -> list[Any] | None:
        """The values of field ``name``, one per row (``None``: not every row has it)."""
        if self.instances is None:
            for tensor in self.inputs:
                if tensor.name == name:
                    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                            for v in np.asarray(tensor.data).reshape(-1).tolist()]
            return None
        if name not in self.field_names():
            return None
        return [record[name] for record in self.instances]

    def drop(self, name: str) -> None:
        """Remove field ``name`` from every row."""
        if self.instances is None:
            self.inputs = [t for t in self.inputs if t.name != name]
        else:
            self.instances = [{k: v for k, v in r.items() if k != name}
                              if isinstance(r, dict) else r for r in self.instances]

    def records(self) -> list[dict[str, Any]]:
        """One record per row, whichever form the request came in.

        Raises:
            InvalidInput: tensors of different lengths, or rows that are not records.
        """
        if self.instances is not None:
            if not all(isinstance(r, dict) for r in self.instances):
                raise InvalidInput("send records ({\"field\": value, ...}), not positional "
                                   "rows, to this model")
            return list(self.instances)
        columns: dict[str, list[Any]] = {}
        rows: int | None = None
        for tensor in self.inputs:
            values = self.column(tensor.name) or []
            if rows is not None and len(values) != rows:
                raise InvalidInput(f"input {tensor.name!r} has {len(values)} elements; the "
                                   f"other inputs have {rows} (one element per row)")
            rows = len(values)
            columns[tensor.name] = values
        return [{name: col[i] for name, col in columns.items()} for i in range(rows or 0)]


@dataclass(slots=True)
class ResponseOutput:
    """One output tensor of an inference response (its v2 datatype follows its dtype)."""

    name: str
    data: np.ndarray


@dataclass(slots=True)
class InferenceResponse:
    """An inference response before encoding.

    Attributes:
        model_name, model_version: the version that answered (after a canary split).
        outputs: the output tensors, batch axis first.
        id: the request's id.
        parameters: response parameters (``source = "store"`` for a hybrid hit, ...).
    """

    model_name: str
    model_version: str
    outputs: list[ResponseOutput]
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
