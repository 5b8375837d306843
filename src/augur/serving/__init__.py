"""The online prediction server: Open Inference Protocol v2 over HTTP (and gRPC),
a plain JSON endpoint, many models, adaptive batching, hot swap, canary and shadow.

Public surface: :class:`Server`, :class:`BackgroundServer`, :class:`ServerSettings`,
:class:`ModelSettings`, :class:`DataPlane` (the one request pipeline every protocol
goes through), :class:`ModelManager`, :class:`AdaptiveBatcher`,
:class:`TrafficPolicy`, :func:`build_app`, :func:`create_dataplane`, the enrichers
(:class:`Enricher`, :class:`HybridEnricher` for hybrid models,
:class:`FeatureEnricher` for models bound to feature views), and the protocol types
of :mod:`augur.serving.types`. Codecs live in :mod:`augur.serving.codecs`; errors,
tokens and body limits in :mod:`augur.http`.
"""

from __future__ import annotations

from augur.serving.batcher import AdaptiveBatcher
from augur.serving.dataplane import DataPlane, Enricher
from augur.serving.feature_enricher import FeatureEnricher
from augur.serving.hybrid import HybridEnricher
from augur.serving.manager import ModelManager
from augur.serving.server import BackgroundServer, Server, build_app, create_dataplane
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
    "FeatureEnricher",
    "HybridEnricher",
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
]
