"""The online prediction server: Open Inference Protocol v2 over HTTP (and gRPC),
a plain JSON endpoint, many models, adaptive batching, hot swap, canary and shadow.

Public surface: :class:`Server`, :class:`BackgroundServer`, :class:`ServerSettings`,
:class:`ModelSettings`, :class:`DataPlane`, :class:`ModelManager`,
:class:`AdaptiveBatcher`, :class:`TrafficPolicy`, :func:`build_app`,
:func:`create_dataplane`, the enrichers (:class:`Enricher`, :class:`Enrichment`,
:class:`HybridEnricher` for hybrid models, :class:`FeatureEnricher` for models bound
to feature views), :class:`PredictionStores` (lookups), :class:`BatchControl`
(schedules and batch runs in the server), and the protocol types of
:mod:`augur.serving.types`.
"""

from __future__ import annotations

from augur.serving.batch_control import BatchControl
from augur.serving.batcher import AdaptiveBatcher
from augur.serving.dataplane import DataPlane, Enricher, Enrichment
from augur.serving.feature_enricher import FeatureEnricher
from augur.serving.hybrid import HybridEnricher
from augur.serving.manager import ModelManager
from augur.serving.prediction_stores import PredictionStores
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
    "BatchControl",
    "DataPlane",
    "Enricher",
    "Enrichment",
    "FeatureEnricher",
    "HybridEnricher",
    "InferenceRequest",
    "InferenceResponse",
    "ModelManager",
    "ModelSettings",
    "PredictionStores",
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
