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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from augur.errors import InvalidInput, StoreError
from augur.features.buckets import Bucket, BucketLayout
from augur.features.clock import to_millis
from augur.features.definitions import FeatureView

_SWEEP_EVERY = 65536  # events between sweeps of the dedup set
_RUNNING, _LIFETIME, _MERGED = 1, 2, 3


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
        self._state: list[dict[str, dict[int, Bucket]]] = [{} for _ in self.layouts]
        self._readers: list[tuple[int, str, int, int, Callable[[Bucket], Any]]] = []
        for f in view.features:
            i = next(j for j, lay in enumerate(self.layouts) if f in lay.features)
            lay = self.layouts[i]
            mode = _LIFETIME if f.window.kind == "lifetime" else (
                _RUNNING if f.name in lay.running else _MERGED)
            self._readers.append((i, f.name, mode, f.window.size_ms // lay.resolution_ms,
                                  lay.finisher(f)))
        self._base: list[dict[str, Bucket]] = [{} for _ in self.layouts]
        # Derived, not snapshotted: running totals at the newest time, rebuilt lazily.
        self._run: list[dict[str, dict[int, list[Any]]]] = [{} for _ in self.layouts]
        self._life: list[dict[str, Bucket]] = [{} for _ in self.layouts]
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

    def process_one(self, event: Mapping[str, Any]) -> str:
        """Apply one event; return ``accepted``, ``duplicate``, ``late`` or ``invalid``."""
        before = (self.stats.accepted, self.stats.duplicates, self.stats.late)
        self.process((event,))
        after = (self.stats.accepted, self.stats.duplicates, self.stats.late)
        for outcome, b, a in zip(("accepted", "duplicate", "late"), before, after, strict=True):
            if a != b:
                return outcome
        return "invalid"

    def process(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Apply events in arrival order (the hot loop: names are bound to locals)."""
        stats, seen, dirty, expiry = self.stats, self._seen, self._dirty, self._expiry
        key_col, id_col, time_col = self._key, self._id, self._time
        lateness, numeric = self._lateness, self._numeric
        parts = [(lay, state, run if lay.running else None, life if lay.has_lifetime else None)
                 for lay, state, run, life in zip(self.layouts, self._state, self._run,
                                                  self._life, strict=True)]
        push, insort = heapq.heappush, bisect.insort
        for event in events:
            try:
                key, event_id, raw = event[key_col], event[id_col], event[time_col]
                t = raw if type(raw) is int else to_millis(raw)
            except (KeyError, TypeError, InvalidInput):
                stats.invalid += 1
                continue
            bad = key is None or event_id is None
            for c in numeric:
                v = event.get(c)
                if v is not None and type(v) is not float and not isinstance(v, float | int):
                    bad = True
            if bad:
                stats.invalid += 1
                continue
            if type(key) is not str:
                key = str(key)
            if type(event_id) is not str:
                event_id = str(event_id)
            if event_id in seen:
                stats.duplicates += 1
                continue
            seen[event_id] = t  # a redelivery of a late event is a duplicate, as in batch
            m = self.max_time
            if m is not None and t < m - lateness:
                stats.late += 1
                continue
            if m is None or t > m:
                self.max_time = t
            elif t < m:
                stats.out_of_order += 1  # late but within the allowed lateness: counted
            data = event if isinstance(event, dict) else dict(event)
            for layout, state, running, lifetime in parts:
                buckets = state.get(key)
                if buckets is None:
                    buckets = state[key] = {}
                res = layout.resolution_ms
                b = t // res
                bucket = buckets.get(b)
                new = bucket is None
                if bucket is None:
                    bucket = buckets[b] = layout.new_bucket()
                    for span in layout.spans:
                        push(expiry, ((b + span) * res, key))
                layout.add(bucket, data, t, event_id)
                runs = running.get(key) if running is not None else None
                if runs:
                    for r in runs.values():
                        if b >= r[0]:
                            layout.add_running(r[1], data)
                            if new:
                                ids = r[2]
                                if not ids or b > ids[-1]:
                                    ids.append(b)
                                else:
                                    insort(ids, b)
                if lifetime is not None:
                    life = lifetime.get(key)
                    if life is not None:
                        layout.add(life, data, t, event_id)
            dirty.add(key)
            stats.accepted += 1
            self._since_sweep += 1
            if self._since_sweep >= _SWEEP_EVERY:
                self._sweep()
                seen = self._seen

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
            for n in list(self._run[i].get(key, {})):  # running totals must not hold dropped buckets
                self._running(i, key, n, top // layout.resolution_ms + 1 - n, buckets)
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

    def _running(self, i: int, key: str, n: int, lo: int, buckets: dict[int, Bucket]) -> Bucket:
        """The count/sum total of buckets ``>= lo`` of ``key`` in layout ``i`` (window of n).

        A running total is ``[lo, total, ids]``: the buckets in it are ``ids`` (a sorted
        deque), so moving ``lo`` forward pops and subtracts exactly the buckets that left.
        """
        layout = self.layouts[i]
        runs = self._run[i].setdefault(key, {})
        r = runs.get(n)
        if r is None:
            total = layout.new_bucket()
            ids = deque(sorted(b for b in buckets if b >= lo))
            for b in ids:
                layout.merge_running(total, buckets[b])
            runs[n] = [lo, total, ids]
            return total
        if lo > r[0]:
            total, ids = r[1], r[2]
            while ids and ids[0] < lo:
                layout.merge_running(total, buckets[ids.popleft()], -1)
            r[0] = lo
        result: Bucket = r[1]
        return result

    def _current(self, key: str, m: int) -> dict[str, Any]:
        """Every feature of ``key`` at the newest time ``m``, from running totals where possible."""
        out: dict[str, Any] = {}
        totals: dict[tuple[int, int], Bucket] = {}
        for i, name, mode, n, finish in self._readers:
            layout = self.layouts[i]
            if mode == _RUNNING:
                total = totals.get((i, n))
                if total is None:
                    runs = self._run[i].get(key)
                    r = runs.get(n) if runs else None
                    lo = m // layout.resolution_ms + 1 - n
                    if r is not None and lo <= r[0]:
                        total = r[1]
                    else:
                        total = self._running(i, key, n, lo, self._state[i].get(key, {}))
                    totals[(i, n)] = total
                out[name] = finish(total)
            elif mode == _LIFETIME:
                life = self._life[i].get(key)
                if life is None:
                    life = layout.new_bucket()
                    if key in self._base[i]:
                        layout.merge(life, self._base[i][key])
                    for bucket in self._state[i].get(key, {}).values():
                        layout.merge(life, bucket)
                    self._life[i][key] = life
                out[name] = finish(life)
            else:
                top = m // layout.resolution_ms
                lo = top + 1 - n
                merged = layout.new_bucket()
                for b, bucket in self._state[i].get(key, {}).items():
                    if lo <= b <= top:
                        layout.merge(merged, bucket)
                out[name] = finish(merged)
        return out

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
            changed[key] = self._current(key, m)
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
            self._run = [{} for _ in self.layouts]
            self._life = [{} for _ in self.layouts]
            for i, (lay, part) in enumerate(zip(self.layouts, doc["layouts"], strict=True)):
                self._state[i] = {k: {int(b): lay.decode(v) for b, v in bs}
                                  for k, bs in part["buckets"].items()}
                self._base[i] = {k: lay.decode(v) for k, v in part["base"].items()}
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
            raise StoreError(f"cannot restore the streaming state of {self.view.name!r}: "
                             f"{exc}") from exc
