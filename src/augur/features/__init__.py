"""Features (temporary surface)."""

from __future__ import annotations

from augur.features.batch import BatchEngine, BatchStats
from augur.features.definitions import (
    FUNCTIONS,
    Aggregation,
    Entity,
    EventSource,
    FeatureView,
    RequestFeature,
    TableFeatureView,
    Window,
)
from augur.features.streaming import EngineStats, StreamingEngine

__all__ = ["FUNCTIONS", "Aggregation", "BatchEngine", "BatchStats", "EngineStats", "Entity",
           "EventSource", "FeatureView", "RequestFeature", "StreamingEngine",
           "TableFeatureView", "Window"]
