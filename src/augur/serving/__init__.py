"""The online prediction server: Open Inference Protocol v2 over HTTP (and gRPC),
a plain JSON endpoint, many models, adaptive batching, hot swap, canary and shadow.

Public surface: :class:`Server`, :class:`BackgroundServer`, :class:`ServerSettings`,
:class:`ModelSettings`, :class:`DataPlane`, :class:`ModelManager`,
:class:`AdaptiveBatcher`, :class:`TrafficPolicy`, :func:`build_app`,
:func:`create_dataplane`, and the protocol types of :mod:`augur.serving.types`.
"""

from __future__ import annotations

from augur.serving.batcher import AdaptiveBatcher
from augur.serving.dataplane import DataPlane, Enricher
from augur.serving.manager import ModelManager
from augur.serving.server import BackgroundServer, Server, build_app, create_dataplane, free_port
from augur.serving.settings import ModelSettings, ServerSettings
from augur.serving.traffic import TrafficPolicy
from augur.serving.types import (
    InferenceRequest,
    InferenceResponse,
    RequestInput,
    RequestOutput,
    ResponseOutput,
)

__all__ = [
    "AdaptiveBatcher",
    "BackgroundServer",
    "DataPlane",
    "Enricher",
    "InferenceRequest",
    "InferenceResponse",
    "ModelManager",
    "ModelSettings",
    "RequestInput",
    "RequestOutput",
    "ResponseOutput",
    "Server",
    "ServerSettings",
    "TrafficPolicy",
    "build_app",
    "create_dataplane",
    "free_port",
]
