"""The streaming engine: events in arrival order -> incremental window state -> values.

It implements exactly the semantics documented in :mod:`augur.features.definitions`
(deduplication by event id, a global watermark per source, bucketed windows), so
that its value at any query time equals the batch engine's point-in-time value.
The state is a dict of buckets per entity and resolution; it serializes to a JSON
snapshot so a worker can persist it atomically with its stream position.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from augur.errors import InvalidInput, StoreError
from augur.features.buckets import Bucket, BucketLayout
from augur.features.clock import to_millis
from augur.features.definitions import FeatureView

_SWEEP_EVERY = 65536  # events between sweeps of the dedup set


@dataclass
class EngineStats:
    """Counters of what the engine did with the events it saw."""

    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    invalid: int = 0


class StreamingEngine:
    """Keeps one feature view's window state and computes its values.

    Args:
        view: the feature view to compute.

    Example:
        >>> engine = StreamingEngine(view)
        >>> engine.process(events)
        >>> engine.value_at("restaurant-7", t)
    """

    def __init__(self, view: FeatureView) -> None:
        self.view = view
        src = view.source
        self._key, self._time, self._id = view.entity.key, src.time_column, src.id_column
        self._lateness = src.lateness_ms
        by_res: dict[int, list[Any]] = {}
        for f in view.features:
            by_res.setdefault(f.window.resolution_ms, []).append(f)
        self.layouts = [BucketLayout(r, fs) for r, fs in sorted(by_res.items())]
        self._state: list[dict[str, dict[int, Bucket]]] = [{} for _ in self.layouts]
        self._base: list[dict[str, Bucket]] = [{} for _ in self.layouts]
        self._expiry: list[tuple[int, str]] = []
        self._dirty: set[str] = set()
        self._seen: dict[str, int] = {}
        self._since_sweep = 0
        self.max_time: int | None = None
        self.stats = EngineStats()

    @property
    def watermark(self) -> int | None:
        """Events earlier than this are too late (None before the first event)."""
        return None if self.max_time is None else self.max_time - self._lateness

    def process(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Apply events in arrival order."""
        for event in events:
            self.process_one(event)

    def process_one(self, event: Mapping[str, Any]) -> str:
        """Apply one event; return ``accepted``, ``duplicate``, ``late`` or ``invalid``."""
        try:
            key, event_id = event[self._key], event[self._id]
            raw = event[self._time]
            t = raw if type(raw) is int else to_millis(raw)
        except (KeyError, TypeError, InvalidInput):
            self.stats.invalid += 1
            return "invalid"
        if key is None or event_id is None:
            self.stats.invalid += 1
            return "invalid"
        key, event_id = str(key), str(event_id)
        if event_id in self._seen:
            self.stats.duplicates += 1
            return "duplicate"
        self._seen[event_id] = t  # a redelivery of a late event is a duplicate, as in batch
        m = self.max_time
        if m is not None and t < m - self._lateness:
            self.stats.late += 1
            return "late"
        if m is None or t > m:
            self.max_time = t
        data = event if isinstance(event, dict) else dict(event)
        for layout, state in zip(self.layouts, self._state, strict=True):
            buckets = state.get(key)
            if buckets is None:
                buckets = state[key] = {}
            b = t // layout.resolution_ms
            bucket = buckets.get(b)
            if bucket is None:
                bucket = buckets[b] = layout.new_bucket()
                for span in layout.spans:
                    heapq.heappush(self._expiry, ((b + span) * layout.resolution_ms, key))
            layout.add(bucket, data, t, event_id)
        self._dirty.add(key)
        self.stats.accepted += 1
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep()
        return "accepted"

    def _sweep(self) -> None:
        """Forget event ids and buckets no accepted event can reach any more."""
        self._since_sweep = 0
        w = self.watermark
        if w is None:
            return
        # A redelivery carries its original time, so below the watermark it is late anyway.
        self._seen = {i: t for i, t in self._seen.items() if t >= w}
        for key in set().union(*(state.keys() for state in self._state)):
            self._prune(key)

    def _prune(self, key: str) -> None:
        w = self.watermark
        if w is None:
            return
        for layout, state, base in zip(self.layouts, self._state, self._base, strict=True):
            buckets = state.get(key)
            if not buckets:
                continue
            floor_b = w // layout.resolution_ms + 1 - layout.keep
            old = [b for b in buckets if b < floor_b]
            for b in old:
                bucket = buckets.pop(b)
                if layout.has_lifetime:
                    if key in base:
                        layout.merge(base[key], bucket)
                    else:
                        base[key] = bucket
            if not buckets and not layout.has_lifetime:
                del state[key]

    def value_at(self, key: Any, t: int) -> dict[str, Any]:
        """Return every feature of entity ``key`` at query time ``t``.

        Exact (equal to the batch engine) when ``t`` is at or after the largest event
        time seen, or ``t`` is the last millisecond of a bucket, and ``t`` is not below
        the watermark (older state has been folded away).

        Raises:
            InvalidInput: ``t`` is below the watermark.
        """
        key = str(key)
        w = self.watermark
        if w is not None and t < w:
            raise InvalidInput(f"query time {t} is below the watermark {w}; the streaming "
                               "engine keeps no state that old")
        out: dict[str, Any] = {}
        for layout, state, base in zip(self.layouts, self._state, self._base, strict=True):
            buckets = state.get(key, {})
            res = layout.resolution_ms
            top = t // res
            for f in layout.features:
                merged = layout.new_bucket()
                start = f.window.start(t)
                if start is None:
                    if key in base:
                        layout.merge(merged, base[key])
                    lo = None
                else:
                    lo = start // res
                for b, bucket in buckets.items():
                    if b <= top and (lo is None or b >= lo):
                        layout.merge(merged, bucket)
                out[f.name] = layout.finish(f, merged)
        return {f.name: out[f.name] for f in self.view.features}

    def take_changes(self) -> tuple[int | None, dict[str, dict[str, Any]]]:
        """Return ``(time, {key: values})`` for entities whose values changed; reset.

        Values are taken at the largest event time seen; entities whose window lost a
        bucket since the last call (sliding and tumbling expiry) are included.
        """
        m = self.max_time
        if m is None:
            return None, {}
        while self._expiry and self._expiry[0][0] <= m:
            self._dirty.add(heapq.heappop(self._expiry)[1])
        changed = {}
        for key in self._dirty:
            self._prune(key)
            changed[key] = self.value_at(key, m)
        self._dirty = set()
        return m, changed

    def snapshot(self) -> bytes:
        """Serialize the whole state (JSON bytes)."""
        doc = {
            "view": self.view.name, "max_time": self.max_time, "stats": asdict(self.stats),
            "seen": self._seen, "expiry": self._expiry, "dirty": sorted(self._dirty),
            "layouts": [
                {"buckets": {k: [[b, lay.encode(v)] for b, v in bs.items()]
                             for k, bs in state.items()},
                 "base": {k: lay.encode(v) for k, v in base.items()}}
                for lay, state, base in zip(self.layouts, self._state, self._base, strict=True)],
        }
        return orjson.dumps(doc)

    def restore(self, data: bytes) -> None:
        """Replace the state with a :meth:`snapshot`.

        Raises:
            StoreError: the snapshot is malformed or belongs to another view.
        """
        try:
            doc = orjson.loads(data)
            if doc["view"] != self.view.name or len(doc["layouts"]) != len(self.layouts):
                raise StoreError(f"snapshot of view {doc['view']!r} does not fit view "
                                 f"{self.view.name!r}")
            self.max_time = doc["max_time"]
            self.stats = EngineStats(**doc["stats"])
            self._seen = {str(k): int(v) for k, v in doc["seen"].items()}
            self._expiry = [(int(t), str(k)) for t, k in doc["expiry"]]
            heapq.heapify(self._expiry)
            self._dirty = set(doc["dirty"])
            for i, (lay, part) in enumerate(zip(self.layouts, doc["layouts"], strict=True)):
                self._state[i] = {k: {int(b): lay.decode(v) for b, v in bs}
                                  for k, bs in part["buckets"].items()}
                self._base[i] = {k: lay.decode(v) for k, v in part["base"].items()}
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
            raise StoreError(f"cannot restore the streaming state of {self.view.name!r}: "
                             f"{exc}") from exc
