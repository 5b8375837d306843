"""Prometheus metrics of the streaming feature engine: what happened to each event.

Counters per view and outcome (``accepted``, ``out_of_order`` — accepted although
older than an earlier event, ``duplicate``, ``late`` — dropped beyond the allowed
lateness, ``invalid``) and the event time the view's values have reached. Each
:class:`StreamMetrics` owns its collector registry unless given one: nothing is
registered globally.
"""

from __future__ import annotations

from dataclasses import asdict

from prometheus_client import CollectorRegistry, Counter, Gauge

from augur.features.streaming import EngineStats

_OUTCOMES = {"accepted": "accepted", "out_of_order": "out_of_order",
             "duplicates": "duplicate", "late": "late", "invalid": "invalid"}


class StreamMetrics:
    """Counters and gauges of streaming feature workers.

    Args:
        registry: where to register (default: a new registry of its own).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.events = Counter("augur_feature_events", "Events seen by the streaming engine, "
                              "by outcome", ["view", "outcome"], registry=self.registry)
        self.event_time = Gauge("augur_feature_event_time_seconds", "Largest event time "
                                "applied (epoch seconds)", ["view"], registry=self.registry)
        self._last: dict[str, dict[str, int]] = {}

    def observe(self, view: str, stats: EngineStats, max_time: int | None) -> None:
        """Add what changed since the last call for ``view``."""
        now = asdict(stats)
        last = self._last.get(view, dict.fromkeys(now, 0))
        for field, outcome in _OUTCOMES.items():
            delta = now[field] - last[field]
            if delta > 0:
                self.events.labels(view, outcome).inc(delta)
        self._last[view] = now
        if max_time is not None:
            self.event_time.labels(view).set(max_time / 1000)
