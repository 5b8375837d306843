"""Prometheus metrics of the server, one registry per server (no globals).

The hot path never looks up labels: each loaded version gets a
:class:`VersionMetrics` holding its label children, made once at load time.
The per-request families are plain counters updated from the event loop (no
locks: prometheus_client's histogram costs more than a small model's run);
they are exported through a collector in the same registry as the rest.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class CounterChild:
    """One labelled counter."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class HistogramChild:
    """One labelled histogram (bucket counts are not cumulative until exported)."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class HotCounter:
    """A counter family for the request path."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...]) -> None:
        self.name, self.doc, self.labelnames = name, doc, labels
        self.children: dict[tuple[str, ...], CounterChild] = {}

    def labels(self, *values: str) -> CounterChild:
        return self.children.setdefault(values, CounterChild())

    def collect(self) -> Metric:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labelnames)
        for values, child in list(self.children.items()):
            family.add_metric(list(values), child.value)
        return family


class HotHistogram:
    """A histogram family for the request path."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...],
                 buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.labelnames, self.buckets = name, doc, labels, buckets
        self.children: dict[tuple[str, ...], HistogramChild] = {}

    def labels(self, *values: str) -> HistogramChild:
        return self.children.setdefault(values, HistogramChild(self.buckets))

    def collect(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.doc, labels=self.labelnames)
        for values, child in list(self.children.items()):
            total = 0
            buckets = []
            for bound, count in zip((*self.buckets, float("inf")), child.counts, strict=True):
                total += count
                buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), total))
            family.add_metric(list(values), buckets, child.sum)
        return family


class _HotCollector(Collector):
    def __init__(self, families: list[HotCounter | HotHistogram]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield family.collect()


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
        memory: a callable returning the bytes of loaded models charged against the
            budget (for the gauge).
    """

    def __init__(self, memory: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        labels = ("model", "version")
        self.requests = HotCounter("augur_requests", "Inference requests answered", labels)
        self.errors = Counter("augur_request_errors", "Inference requests that failed",
                              (*labels, "reason"), registry=self.registry)
        self.latency = HotHistogram("augur_request_seconds", "Inference latency in the server",
                                    labels, LATENCY_BUCKETS)
        self.queue_time = HotHistogram("augur_queue_seconds",
                                       "Time requests waited for the model", labels,
                                       LATENCY_BUCKETS)
        self.batch_size = HotHistogram("augur_batch_rows", "Rows per model run", labels,
                                       tuple(float(b) for b in BATCH_BUCKETS))
        self.registry.register(_HotCollector([self.requests, self.latency, self.queue_time,
                                              self.batch_size]))
        self.load_time = Histogram("augur_model_load_seconds", "Time to load and warm a version",
                                   labels, buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
                                   registry=self.registry)
        self.load_failures = Counter("augur_model_load_failures", "Versions that failed to load",
                                     labels, registry=self.registry)
        self.loaded = Gauge("augur_models_loaded", "Model versions in memory",
                            registry=self.registry)
        self.memory = Gauge("augur_models_memory_bytes",
                            "Bytes of loaded versions charged against the memory budget "
                            "(each the larger of its artifact and its measured growth)",
                            registry=self.registry)
        self.artifact_memory = Gauge("augur_models_artifact_bytes",
                                     "Artifact bytes of loaded versions", registry=self.registry)
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

        self.hybrid = Counter("augur_hybrid_requests",
                              "Hybrid requests by outcome: hit (answered from the prediction "
                              "store) or miss (the model ran)", ("model", "outcome"),
                              registry=self.registry)
        self.hybrid_hit_ratio = Gauge("augur_hybrid_hit_ratio",
                                      "Share of hybrid requests answered from the store",
                                      ("model",), registry=self.registry)
        self.hybrid_write_back = Counter("augur_hybrid_write_backs",
                                         "Predictions written back to the store on a miss",
                                         ("model",), registry=self.registry)
        self._hybrid_counts: dict[str, tuple[int, int]] = {}
        self.feature_lookups = Counter("augur_feature_lookups",
                                       "Entity keys looked up in the online feature store, by "
                                       "view and result (hit: a value was found)",
                                       ("model", "view", "result"), registry=self.registry)

    def count_feature_lookups(self, model: str, view: str, hits: int, misses: int) -> None:
        """Count one read of a feature view for ``model``: keys found and not."""
        if hits:
            self.feature_lookups.labels(model, view, "hit").inc(hits)
        if misses:
            self.feature_lookups.labels(model, view, "miss").inc(misses)

    def count_hybrid(self, model: str, hit: bool) -> None:
        """Count one hybrid request and update the model's hit ratio."""
        self.hybrid.labels(model, "hit" if hit else "miss").inc()
        hits, total = self._hybrid_counts.get(model, (0, 0))
        hits, total = hits + hit, total + 1
        self._hybrid_counts[model] = (hits, total)
        self.hybrid_hit_ratio.labels(model).set(hits / total)

    def for_version(self, model: str, version: str) -> VersionMetrics:
        """Label children of one version (make once, reuse per request)."""
        return VersionMetrics(self, model, version)

    def error(self, model: str, version: str, reason: str) -> None:
        """Count one failed request."""
        self.errors.labels(model, version, reason).inc()

    def exposition(self) -> bytes:
        """The text exposition format served at ``/metrics``."""
        return generate_latest(self.registry)
