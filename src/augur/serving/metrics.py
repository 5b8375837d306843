"""Prometheus metrics of the server, one registry per server (no globals).

The hot path never looks up labels: each loaded version gets a
:class:`VersionMetrics` holding its label children, made once at load time.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class VersionMetrics:
    """Precomputed label children of one model version."""

    __slots__ = ("batch_size", "latency", "queue_time", "requests")

    def __init__(self, metrics: ServerMetrics, model: str, version: str) -> None:
        self.requests = metrics.requests.labels(model, version)
        self.latency = metrics.latency.labels(model, version)
        self.queue_time = metrics.queue_time.labels(model, version)
        self.batch_size = metrics.batch_size.labels(model, version)


class ServerMetrics:
    """Every metric the server exports.

    Args:
        memory: a callable returning the bytes of loaded models (for the gauge).
    """

    def __init__(self, memory: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        labels = ("model", "version")
        self.requests = Counter("augur_requests", "Inference requests answered",
                                labels, registry=self.registry)
        self.errors = Counter("augur_request_errors", "Inference requests that failed",
                              (*labels, "reason"), registry=self.registry)
        self.latency = Histogram("augur_request_seconds", "Inference latency in the server",
                                 labels, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.queue_time = Histogram("augur_queue_seconds", "Time requests waited for the model",
                                    labels, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("augur_batch_rows", "Rows per model run",
                                    labels, buckets=BATCH_BUCKETS, registry=self.registry)
        self.load_time = Histogram("augur_model_load_seconds", "Time to load and warm a version",
                                   labels, buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
                                   registry=self.registry)
        self.load_failures = Counter("augur_model_load_failures", "Versions that failed to load",
                                     labels, registry=self.registry)
        self.loaded = Gauge("augur_models_loaded", "Model versions in memory",
                            registry=self.registry)
        self.memory = Gauge("augur_models_memory_bytes", "Artifact bytes of loaded versions",
                            registry=self.registry)
        if memory is not None:
            self.memory.set_function(memory)
        self.evictions = Counter("augur_model_evictions", "Versions evicted under the budget",
                                 registry=self.registry)
        self.shadow = Counter("augur_shadow_comparisons",
                              "Shadow answers compared with the primary's",
                              ("model", "version", "shadow_version", "outcome"),
                              registry=self.registry)
        self.canary = Counter("augur_canary_requests", "Requests routed to a canary version",
                              labels, registry=self.registry)

    def for_version(self, model: str, version: str) -> VersionMetrics:
        """Label children of one version (make once, reuse per request)."""
        return VersionMetrics(self, model, version)

    def error(self, model: str, version: str, reason: str) -> None:
        """Count one failed request."""
        self.errors.labels(model, version, reason).inc()

    def exposition(self) -> bytes:
        """The text exposition format served at ``/metrics``."""
        return generate_latest(self.registry)
