"""Protocol-neutral inference types shared by the REST and gRPC transports.

Transports decode their wire format into these, call the data plane, and encode
the result back; nothing below the transports knows about HTTP or gRPC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
    """An output the caller asks for; ``binary_data`` asks for the binary extension."""

    name: str
    binary_data: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class InferenceRequest:
    """A v2 inference request after decoding."""

    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = None
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ResponseOutput:
    """One output tensor of an inference response."""

    name: str
    datatype: str
    shape: list[int]
    data: np.ndarray
    binary_data: bool = False


@dataclass(slots=True)
class InferenceResponse:
    """A v2 inference response before encoding."""

    model_name: str
    model_version: str
    outputs: list[ResponseOutput]
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
