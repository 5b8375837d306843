"""The streaming engine: events in arrival order -> incremental window state -> values.

It implements exactly the semantics documented in :mod:`augur.features.definitions`
(deduplication by event id, a global watermark per source, bucketed windows), so
that its value at any query time equals the batch engine's point-in-time value.
The state is a dict of buckets per entity and resolution; it serializes to a JSON
snapshot so a worker can persist it atomically with its stream position.
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from augur.errors import InvalidInput, StoreError
from augur.features.buckets import Bucket, BucketLayout, Stored
from augur.features.clock import to_millis
from augur.features.definitions import Aggregation, FeatureView

_SWEEP_EVERY = 65536  # events between sweeps of the dedup set
_INT64 = 2**63  # times beyond 64 bits are invalid (no store, history or archive holds them)
_RUNNING, _LIFETIME, _MERGED = 1, 2, 3
# What became of an event (recorded per event by ``process(events, outcomes)``).
ACCEPTED, DUPLICATE, LATE, INVALID = "accepted", "duplicate", "late", "invalid"
OUTCOMES = (ACCEPTED, DUPLICATE, LATE, INVALID)


@dataclass
class EngineStats:
    """Counters of what the engine did with the events it saw."""

    accepted: int = 0
    out_of_order: int = 0
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
        self._numeric = [c for c, kind in src.schema.items() if kind in ("float", "int")
                         and any(f.column == c and f.function in ("sum", "mean", "min", "max")
                                 for f in view.features)]
        by_res: dict[int, list[Any]] = {}
        for f in view.features:
            by_res.setdefault(f.window.resolution_ms, []).append(f)
        self.layouts = [BucketLayout(r, fs) for r, fs in sorted(by_res.items())]
        self._state: list[dict[str, dict[int, Stored]]] = [{} for _ in self.layouts]
        # What take_changes reads per feature: (layout, feature, mode, window in buckets).
        self._readers: list[tuple[int, Aggregation, int, int]] = []
        for f in view.features:
            i = next(j for j, lay in enumerate(self.layouts) if f in lay.features)
            lay = self.layouts[i]
            mode = _LIFETIME if f.window.kind == "lifetime" else (
                _RUNNING if f.name in lay.running else _MERGED)
            self._readers.append((i, f, mode, f.window.size_ms // lay.resolution_ms))
        self._names = [f.name for f in view.features]
        self._base: list[dict[str, Bucket]] = [{} for _ in self.layouts]
        # Derived, not snapshotted: running totals at the newest time, rebuilt lazily,
        # per layout and window length (in buckets), then per key.
        self._run = self._no_running_totals()
        self._life: list[dict[str, Stored]] = [{} for _ in self.layouts]
        # When windows lose a bucket: time -> keys, and a heap of those times (few: buckets
        # of many keys expire at the same bucket boundary).
        self._expiry: dict[int, list[str]] = {}
        self._expiry_times: list[int] = []
        self._dirty: set[str] = set()
        self._seen: dict[str, int] = {}
        self._since_sweep = 0
        self.max_time: int | None = None
        self.stats = EngineStats()

    def _no_running_totals(self) -> list[dict[int, dict[str, list[Any]]]]:
        return [{n: {} for n in lay.running_spans} for lay in self.layouts]

    @property
    def watermark(self) -> int | None:
        """Events earlier than this are too late (None before the first event)."""
        return None if self.max_time is None else self.max_time - self._lateness

    def process_one(self, event: Mapping[str, Any]) -> str:
        """Apply one event; return ``accepted``, ``duplicate``, ``late`` or ``invalid``."""
        outcome: list[str] = []
        self.process((event,), outcome)
        return outcome[0]

    def process(self, events: Iterable[Mapping[str, Any]],
                outcomes: list[str] | None = None) -> None:
        """Apply events in arrival order (the hot loop: names are bound to locals).

        Args:
            events: the events, in the order they arrived.
            outcomes: when given, one of ``accepted``, ``duplicate``, ``late`` or
                ``invalid`` is appended per event, in order (what the archive records).
        """
        stats, seen, dirty = self.stats, self._seen, self._dirty
        expiry, expiry_times = self._expiry, self._expiry_times
        key_col, id_col, time_col = self._key, self._id, self._time
        lateness, numeric = self._lateness, self._numeric
        parts = [(lay, lay.resolution_ms, lay.spans, state, list(run.values()),
                  life if lay.has_lifetime else None)
                 for lay, state, run, life in zip(self.layouts, self._state, self._run,
                                                  self._life, strict=True)]
        push, insort = heapq.heappush, bisect.insort
        note = outcomes.append if outcomes is not None else None
        m, accepted, since_sweep = self.max_time, 0, self._since_sweep
        for event in events:
            try:
                key, event_id, raw = event[key_col], event[id_col], event[time_col]
                t = raw if type(raw) is int and -_INT64 <= raw < _INT64 else to_millis(raw)
            except (KeyError, TypeError, InvalidInput):
                stats.invalid += 1
                if note is not None:
                    note(INVALID)
                continue
            bad = key is None or event_id is None
            for c in numeric:
                v = event.get(c)
                if v is not None and type(v) is not float and not isinstance(v, float | int):
                    bad = True
            if bad:
                stats.invalid += 1
                if note is not None:
                    note(INVALID)
                continue
            if type(key) is not str:
                key = str(key)
            if type(event_id) is not str:
                event_id = str(event_id)
            if event_id in seen:
                stats.duplicates += 1
                if note is not None:
                    note(DUPLICATE)
                continue
            seen[event_id] = t  # a redelivery of a late event is a duplicate, as in batch
            if m is not None and t < m - lateness:
                stats.late += 1
                if note is not None:
                    note(LATE)
                continue
            if m is None or t > m:
                m = self.max_time = t
            elif t < m:
                stats.out_of_order += 1  # late but within the allowed lateness: counted
            data = event if isinstance(event, dict) else dict(event)
            for layout, res, spans, state, running, lifetime in parts:
                buckets = state.get(key)
                if buckets is None:
                    buckets = state[key] = {}
                b = t // res
                bucket = buckets.get(b)
                new = bucket is None
                if new:
                    for span in spans:
                        at = (b + span) * res
                        expiring = expiry.get(at)
                        if expiring is None:
                            expiring = expiry[at] = []
                            push(expiry_times, at)
                        expiring.append(key)
                totals = []  # the running totals this event also counts in
                for runs in running:
                    r = runs.get(key)
                    if r is not None and b >= r[0]:
                        totals.append(r[1])
                        if new:
                            ids = r[2]
                            if not ids or b > ids[-1]:
                                ids.append(b)
                            else:
                                insort(ids, b)
                buckets[b] = layout.add(bucket, data, t, event_id, totals)
                if lifetime is not None:
                    life = lifetime.get(key)
                    if life is not None:
                        lifetime[key] = layout.add(life, data, t, event_id)
            dirty.add(key)
            accepted += 1
            if note is not None:
                note(ACCEPTED)
            since_sweep += 1
            if since_sweep >= _SWEEP_EVERY:
                stats.accepted += accepted
                accepted = self._since_sweep = since_sweep = 0
                self._sweep()
                seen = self._seen
        stats.accepted += accepted
        self._since_sweep = since_sweep

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
        top = (self.max_time or 0)
        for i, (layout, state, base) in enumerate(zip(self.layouts, self._state, self._base,
                                                      strict=True)):
            buckets = state.get(key)
            if not buckets:
                continue
            floor_b = w // layout.resolution_ms + 1 - layout.keep
            if min(buckets) >= floor_b:
                continue  # nothing to drop
            for n, runs in self._run[i].items():  # running totals must not hold dropped buckets
                if key in runs:
                    self._running(i, n, top // layout.resolution_ms + 1 - n, (key,))
            old = [b for b in buckets if b < floor_b]
            for b in old:
                bucket = buckets.pop(b)
                if layout.has_lifetime:
                    if key in base:
                        layout.merge(base[key], bucket)
                    else:
                        base[key] = list(bucket)  # merged into from now on
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

    def _running(self, i: int, n: int, lo: int, keys: Iterable[str]) -> list[Bucket]:
        """The count/sum totals of buckets ``>= lo`` of each key in layout ``i`` (window of n).

        A running total is ``[lo, total, ids]``: the buckets in it are ``ids`` (a sorted
        deque), so moving ``lo`` forward pops and subtracts exactly the buckets that left.
        """
        layout, state, runs = self.layouts[i], self._state[i], self._run[i][n]
        merge = layout.merge_running
        out: list[Bucket] = []
        for key in keys:
            r = runs.get(key)
            if r is None:
                buckets = state.get(key, {})
                total = layout.new_bucket()
                ids = deque(sorted(b for b in buckets if b >= lo))
                for b in ids:
                    merge(total, buckets[b])
                runs[key] = [lo, total, ids]
                out.append(total)
                continue
            if lo > r[0]:
                ids = r[2]
                if ids and ids[0] < lo:
                    buckets, total = state[key], r[1]
                    while ids and ids[0] < lo:
                        merge(total, buckets[ids.popleft()], -1)
                r[0] = lo
            out.append(r[1])
        return out

    def _windows(self, i: int, mode: int, n: int, keys: list[str], m: int,
                 ) -> Sequence[Stored]:
        """The merged bucket of each key's window (mode, ``n`` buckets) at the newest time m."""
        layout, state = self.layouts[i], self._state[i]
        top = m // layout.resolution_ms
        if mode == _RUNNING:
            return self._running(i, n, top + 1 - n, keys)
        out: list[Stored] = []
        if mode == _LIFETIME:
            lives, base = self._life[i], self._base[i]
            for key in keys:
                life = lives.get(key)
                if life is None:
                    life = layout.new_bucket()
                    if key in base:
                        layout.merge(life, base[key])
                    for bucket in state.get(key, {}).values():
                        layout.merge(life, bucket)
                    lives[key] = life
                out.append(life)
            return out
        lo = top + 1 - n
        for key in keys:
            merged = layout.new_bucket()
            for b, bucket in state.get(key, {}).items():
                if lo <= b <= top:
                    layout.merge(merged, bucket)
            out.append(merged)
        return out

    def take_changes(self) -> tuple[int | None, dict[str, dict[str, Any]]]:
        """Return ``(time, {key: values})`` for entities whose values changed; reset.

        Values are taken at the largest event time seen; entities whose window lost a
        bucket since the last call (sliding and tumbling expiry) are included. They are
        read out a column at a time: each window's bucket for every changed entity,
        then each feature's value from all of them in one pass.
        """
        m = self.max_time
        if m is None:
            return None, {}
        times, dirty = self._expiry_times, self._dirty
        while times and times[0] <= m:
            dirty.update(self._expiry.pop(heapq.heappop(times)))
        keys = list(dirty)
        self._dirty = set()
        windows: dict[tuple[int, int, int], Sequence[Stored]] = {}
        columns: list[list[Any]] = []
        for i, f, mode, n in self._readers:
            buckets = windows.get((i, mode, n))
            if buckets is None:
                buckets = windows[(i, mode, n)] = self._windows(i, mode, n, keys, m)
            columns.append(self.layouts[i].finish_column(f, buckets))
        rows: list[dict[str, Any]] = [{} for _ in keys]
        for name, column in zip(self._names, columns, strict=True):
            for row, value in zip(rows, column, strict=True):
                row[name] = value
        return m, dict(zip(keys, rows, strict=True))

    def snapshot(self) -> bytes:
        """Serialize the whole state (JSON bytes)."""
        doc = {
            "view": self.view.name, "max_time": self.max_time, "stats": asdict(self.stats),
            "seen": self._seen, "expiry": [[t, k] for t, ks in self._expiry.items() for k in ks], "dirty": sorted(self._dirty),
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
            self._expiry = {}
            for t, k in doc["expiry"]:
                self._expiry.setdefault(int(t), []).append(str(k))
            self._expiry_times = list(self._expiry)
            heapq.heapify(self._expiry_times)
            self._dirty = set(doc["dirty"])
            self._run = self._no_running_totals()
            self._life = [{} for _ in self.layouts]
            for i, (lay, part) in enumerate(zip(self.layouts, doc["layouts"], strict=True)):
                self._state[i] = {k: {int(b): tuple(lay.decode(v)) for b, v in bs}
                                  for k, bs in part["buckets"].items()}
                self._base[i] = {k: lay.decode(v) for k, v in part["base"].items()}
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
            raise StoreError(f"cannot restore the streaming state of {self.view.name!r}: "
                             f"{exc}") from exc
