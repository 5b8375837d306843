"""Bucketed partial aggregates: the window state of the streaming engine.

Features of a view that share a resolution share one *bucket layout*: a bucket
(all accepted events of one entity whose time falls in one resolution step) is a
flat tuple: slot 0 counts events, and each partial aggregate takes one slot (min,
max, last, distinct set) or two (fixed-point sum, count of values). Adding an event
copies the few slots into a new tuple (tuples of plain values drop out of the
garbage collector's passes, lists never do); a window's value merges the buckets
it covers into a list, or, for count/sum/mean at the newest time, reads a running
total (a list updated in place) that buckets leave by subtraction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from augur.features.definitions import Aggregation
from augur.features.exact import finish_mean, finish_means, finish_sum, finish_sums, scale_of

# Slot codes.
SUM, MIN, MAX, LAST, DISTINCT = 1, 2, 3, 4, 5
_CODE_OF = {"sum": SUM, "mean": SUM, "min": MIN, "max": MAX, "last": LAST,
            "distinct_count": DISTINCT}
RUNNING_FUNCTIONS = ("count", "sum", "mean")

Bucket = list[Any]  # an accumulator: running totals, merged windows, lifetime bases
# A stored bucket: a tuple, because the garbage collector stops tracking a tuple of
# plain values after its first pass, so a state of a million buckets costs its full
# passes nothing (lists are tracked for life). An accumulator is accepted too.
Stored = tuple[Any, ...] | list[Any]


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
        width = 1
        for f in features:
            if f.function == "count":
                self.slot_of[f.name] = 0
                continue
            code = _CODE_OF[f.function]
            key = (code, f.column, f.precision if code == SUM else None)
            if key not in keys:
                keys[key] = width
                self.ops.append(SlotOp(code, width, str(f.column), scale_of(f.precision)))
                width += 2 if code == SUM else 1
            self.slot_of[f.name] = keys[key]
        self._template: Bucket = [0] * width
        for op in self.ops:
            if op.code in (MIN, MAX, LAST):
                self._template[op.slot] = None
        self._sets = [op.slot for op in self.ops if op.code == DISTINCT]
        # An empty bucket: a bare copy of the template unless a slot holds a set.
        self.new_bucket: Callable[[], Bucket] = (
            self._new_with_sets if self._sets else self._template.copy)
        self._plan = [(op.code, op.slot, op.column, op.scale) for op in self.ops]
        self.sum_ops = [(op.slot, op.column, op.scale) for op in self.ops if op.code == SUM]
        sizes = {f.window.size_ms // resolution_ms for f in features if f.window.kind != "lifetime"}
        self.spans = sorted(sizes)  # window lengths in buckets, for expiry
        self.keep = max(sizes, default=1)  # buckets kept behind the watermark's bucket
        self.has_lifetime = any(f.window.kind == "lifetime" for f in features)
        self.running = {f.name for f in features
                        if f.function in RUNNING_FUNCTIONS and f.window.kind != "lifetime"}
        # Window lengths (in buckets) that keep running totals.
        self.running_spans = sorted({f.window.size_ms // resolution_ms for f in features
                                     if f.name in self.running})

    def _new_with_sets(self) -> Bucket:
        bucket = self._template.copy()
        for s in self._sets:
            bucket[s] = set()
        return bucket

    def add(self, bucket: Stored | None, event: dict[str, Any], t: int, event_id: str,
            totals: Sequence[Bucket] = ()) -> tuple[Any, ...]:
        """Return ``bucket`` (None: an empty one) with one more accepted event, as a tuple.

        The event's count and sums are added in place to the running ``totals`` it
        counts in too (they hold only those, see ``running``).
        """
        bucket = self.new_bucket() if bucket is None else list(bucket)
        bucket[0] += 1
        for total in totals:
            total[0] += 1
        floor = math.floor
        for code, s, column, scale in self._plan:
            v = event.get(column)
            if v is None:
                continue
            if code == SUM:
                q = floor(v * scale + 0.5)
                bucket[s] += q
                bucket[s + 1] += 1
                for total in totals:
                    total[s] += q
                    total[s + 1] += 1
            elif code == MIN:
                cur = bucket[s]
                if cur is None or v < cur:
                    bucket[s] = v
            elif code == MAX:
                cur = bucket[s]
                if cur is None or v > cur:
                    bucket[s] = v
            elif code == LAST:
                cur = bucket[s]
                if cur is None or (t, event_id) > (cur[0], cur[1]):
                    bucket[s] = (t, event_id, v)
            else:
                bucket[s].add(v)
        return tuple(bucket)

    def merge_running(self, total: Bucket, other: Stored, sign: int = 1) -> None:
        """Add (``sign=1``) or remove (``sign=-1``) a bucket's count and sums from a total."""
        total[0] += sign * other[0]
        for s, _column, _scale in self.sum_ops:
            total[s] += sign * other[s]
            total[s + 1] += sign * other[s + 1]

    def merge(self, into: Bucket, other: Stored) -> None:
        """Fold ``other`` into ``into``."""
        into[0] += other[0]
        for code, s, _column, _scale in self._plan:
            o = other[s]
            if code == SUM:
                into[s] += o
                into[s + 1] += other[s + 1]
            elif code == DISTINCT:
                into[s] |= o
            elif o is None:
                continue
            elif into[s] is None:
                into[s] = o
            elif code == MIN:
                into[s] = min(into[s], o)
            elif code == MAX:
                into[s] = max(into[s], o)
            elif (o[0], o[1]) > (into[s][0], into[s][1]):
                into[s] = o

    def finish_column(self, f: Aggregation, merged: Sequence[Stored]) -> list[Any]:
        """Feature ``f``'s value from each of many merged buckets (one per entity).

        Count, sum and mean (the running features) are one comprehension each, with
        the arithmetic of :mod:`augur.features.exact`; the rest go through :meth:`finish`.
        """
        s = self.slot_of[f.name]
        scale = scale_of(f.precision)
        if f.function == "count":
            return [b[0] for b in merged]
        if f.function == "sum":
            return finish_sums([b[s] for b in merged], scale)
        if f.function == "mean":
            return finish_means([b[s] for b in merged], [b[s + 1] for b in merged], scale)
        return [self.finish(f, b) for b in merged]

    def finish(self, f: Aggregation, merged: Stored) -> Any:
        """Return feature ``f``'s value from the merged buckets of its window."""
        s = self.slot_of[f.name]
        if f.function == "count":
            return int(merged[0])
        if f.function == "sum":
            return finish_sum(merged[s], scale_of(f.precision))
        if f.function == "mean":
            n = merged[s + 1]
            return finish_mean(merged[s], n, scale_of(f.precision)) if n else None
        if f.function == "distinct_count":
            return len(merged[s])
        if f.function == "last":
            return None if merged[s] is None else merged[s][2]
        return merged[s]

    def encode(self, bucket: Stored) -> list[Any]:
        """A JSON-able copy of ``bucket`` (for snapshots)."""
        out = list(bucket)
        for code, s, _column, _scale in self._plan:
            if code in (DISTINCT, LAST) and out[s] is not None:
                out[s] = list(out[s])
        return out

    def decode(self, data: list[Any]) -> Bucket:
        """The bucket :meth:`encode` described."""
        bucket: Bucket = list(data)
        for code, s, _column, _scale in self._plan:
            if code == DISTINCT:
                bucket[s] = set(bucket[s])
            elif code == LAST and bucket[s] is not None:
                v = bucket[s]
                bucket[s] = (int(v[0]), str(v[1]), v[2])
        return bucket
