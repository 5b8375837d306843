"""Bucketed partial aggregates: the window state of the streaming engine.

Features of a view that share a resolution share one *bucket layout*: a bucket
(all accepted events of one entity whose time falls in one resolution step) is a
plain list whose slot 0 counts events and whose other slots each hold one partial
aggregate (fixed-point sum and count, min, max, last, distinct set). Updating a
bucket costs a handful of list operations per event; a window's value merges the
buckets it covers, so sliding windows never rescan events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augur.features.definitions import Aggregation
from augur.features.exact import finish_mean, finish_sum, quantize, scale_of

# Slot codes.
SUM, MIN, MAX, LAST, DISTINCT = 1, 2, 3, 4, 5
_CODE_OF = {"sum": SUM, "mean": SUM, "min": MIN, "max": MAX, "last": LAST,
            "distinct_count": DISTINCT}

Bucket = list[Any]


@dataclass(frozen=True)
class SlotOp:
    """How one slot of a bucket is updated: code, slot index, column, scale."""

    code: int
    slot: int
    column: str
    scale: float


class BucketLayout:
    """The slots of the buckets of features that share one resolution.

    Args:
        resolution_ms: the bucket width.
        features: the features computed from these buckets.
    """

    def __init__(self, resolution_ms: int, features: list[Aggregation]) -> None:
        self.resolution_ms = resolution_ms
        self.features = features
        self.ops: list[SlotOp] = []
        self.slot_of: dict[str, int] = {}
        keys: dict[tuple[Any, ...], int] = {}
        for f in features:
            if f.function == "count":
                self.slot_of[f.name] = 0
                continue
            code = _CODE_OF[f.function]
            key = (code, f.column, f.precision if code == SUM else None)
            if key not in keys:
                keys[key] = len(self.ops) + 1
                self.ops.append(SlotOp(code, keys[key], str(f.column), scale_of(f.precision)))
            self.slot_of[f.name] = keys[key]
        sizes = {f.window.size_ms // resolution_ms for f in features if f.window.kind != "lifetime"}
        self.spans = sorted(sizes)  # window lengths in buckets, for expiry
        self.keep = max(sizes, default=1)  # buckets kept behind the watermark's bucket
        self.has_lifetime = any(f.window.kind == "lifetime" for f in features)

    def new_bucket(self) -> Bucket:
        """An empty bucket."""
        bucket: Bucket = [0]
        for op in self.ops:
            bucket.append([0, 0] if op.code == SUM else set() if op.code == DISTINCT else None)
        return bucket

    def add(self, bucket: Bucket, event: dict[str, Any], t: int, event_id: str) -> None:
        """Add one accepted event to ``bucket``."""
        bucket[0] += 1
        for op in self.ops:
            v = event.get(op.column)
            if v is None:
                continue
            code = op.code
            if code == SUM:
                acc = bucket[op.slot]
                acc[0] += quantize(v, op.scale)
                acc[1] += 1
            elif code == MIN:
                cur = bucket[op.slot]
                if cur is None or v < cur:
                    bucket[op.slot] = v
            elif code == MAX:
                cur = bucket[op.slot]
                if cur is None or v > cur:
                    bucket[op.slot] = v
            elif code == LAST:
                cur = bucket[op.slot]
                if cur is None or (t, event_id) > (cur[0], cur[1]):
                    bucket[op.slot] = (t, event_id, v)
            else:
                bucket[op.slot].add(v)

    def merge(self, into: Bucket, other: Bucket) -> None:
        """Fold ``other`` into ``into``."""
        into[0] += other[0]
        for op in self.ops:
            s, o = op.slot, other[op.slot]
            if op.code == SUM:
                into[s][0] += o[0]
                into[s][1] += o[1]
            elif op.code == DISTINCT:
                into[s] |= o
            elif o is None:
                continue
            elif into[s] is None:
                into[s] = o
            elif op.code == MIN:
                into[s] = min(into[s], o)
            elif op.code == MAX:
                into[s] = max(into[s], o)
            elif (o[0], o[1]) > (into[s][0], into[s][1]):
                into[s] = o

    def finish(self, f: Aggregation, merged: Bucket) -> Any:
        """Return feature ``f``'s value from the merged buckets of its window."""
        slot = self.slot_of[f.name]
        if f.function == "count":
            return int(merged[0])
        acc = merged[slot]
        if f.function == "sum":
            return finish_sum(acc[0], scale_of(f.precision))
        if f.function == "mean":
            return finish_mean(acc[0], acc[1], scale_of(f.precision)) if acc[1] else None
        if f.function == "distinct_count":
            return len(acc)
        if f.function == "last":
            return None if acc is None else acc[2]
        return acc

    def encode(self, bucket: Bucket) -> list[Any]:
        """A JSON-able copy of ``bucket`` (for snapshots)."""
        out: list[Any] = [bucket[0]]
        for op in self.ops:
            v = bucket[op.slot]
            out.append(list(v) if op.code in (DISTINCT, LAST) and v is not None else v)
        return out

    def decode(self, data: list[Any]) -> Bucket:
        """The bucket :meth:`encode` described."""
        bucket: Bucket = [int(data[0])]
        for op in self.ops:
            v = data[op.slot]
            if op.code == DISTINCT:
                v = set(v)
            elif op.code == LAST and v is not None:
                v = (int(v[0]), str(v[1]), v[2])
            bucket.append(v)
        return bucket
