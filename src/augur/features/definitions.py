"""Declarative feature definitions, run unchanged by the batch and the streaming engine.

Semantics shared by both engines (the property tests hold them to it):

* **Time** is integer milliseconds since the epoch (:mod:`augur.features.clock`).
* **Arrival order** is the order events reached the stream (the stream offset). The
  event history keeps it in :attr:`EventSource.arrival_column`; a history without
  that column is taken to have arrived in event-time order.
* **Duplicates**: an event whose id already arrived is dropped (first arrival wins).
  A redelivered event carries the same event time as the original.
* **Lateness**: the watermark is *global per event source*: ``W = M - allowed_lateness``
  where ``M`` is the largest event time of the accepted events that arrived before.
  An event with ``event_time < W`` is too late: dropped and counted. Every other
  event is accepted, however out of order.
* **Windows** at query time ``t`` with resolution ``R`` cover the accepted events with
  ``start(t) <= event_time <= t``:

  - sliding ``size S``: ``start(t) = (floor(t / R) + 1) * R - S``: the current partial
    bucket plus the ``S / R - 1`` buckets before it ("last 10 minutes" at 1 s resolution);
  - tumbling ``size S``: ``start(t) = floor(t / S) * S``, the current window so far;
  - lifetime: every accepted event up to ``t``.

  No event later than ``t`` is ever used: values are point-in-time correct.
* **Aggregations** ignore missing (None/NULL) values: ``count`` counts events,
  ``distinct_count`` distinct non-missing values; ``sum`` is 0.0 and ``count`` and
  ``distinct_count`` are 0 over an empty window, ``mean``/``min``/``max``/``last`` are
  missing. ``last`` is the value of the event with the largest ``(event_time, event_id)``.
  ``sum`` and ``mean`` use the exact fixed-point arithmetic of :mod:`augur.features.exact`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from augur.errors import InvalidInput, InvalidName
from augur.features.clock import MINUTE, SECOND, duration_ms

FUNCTIONS = ("count", "sum", "mean", "min", "max", "last", "distinct_count")
KINDS = ("float", "int", "string", "bool")
_NUMERIC_FUNCTIONS = ("sum", "mean", "min", "max")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_name(name: str, what: str) -> str:
    """Return ``name`` if it is an identifier-like name; else raise InvalidName."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidName(f"{what} name {name!r} must start with a letter or _ and hold only "
                          "letters, digits and _ (at most 63)")
    return name


@dataclass(frozen=True)
class Entity:
    """What features describe (a restaurant, a road segment), keyed by one column.

    Attributes:
        name: the entity's name.
        key: the column holding the key in events, tables, labels and requests.
    """

    name: str
    key: str

    def __post_init__(self) -> None:
        check_name(self.name, "entity")
        check_name(self.key, "entity key")


@dataclass(frozen=True)
class Window:
    """Where an aggregation looks: ``sliding``, ``tumbling`` or ``lifetime``.

    Build one with :meth:`sliding`, :meth:`tumbling` or :meth:`lifetime`.
    """

    kind: str
    size_ms: int
    resolution_ms: int

    @classmethod
    def sliding(cls, size: timedelta | int, resolution: timedelta | int = SECOND) -> Window:
        """A sliding window such as "the last 10 minutes", moving in steps of ``resolution``.

        Raises:
            InvalidInput: size or resolution is not positive, or size is not a multiple.
        """
        s, r = duration_ms(size, what="window size"), duration_ms(resolution, what="resolution")
        if r <= 0 or s <= 0 or s % r:
            raise InvalidInput(f"sliding window size {s} ms must be a positive multiple of "
                               f"its resolution {r} ms")
        return cls("sliding", s, r)

    @classmethod
    def tumbling(cls, size: timedelta | int) -> Window:
        """Consecutive windows of ``size`` aligned on the epoch; the value is the current one."""
        s = duration_ms(size, what="window size")
        if s <= 0:
            raise InvalidInput("tumbling window size must be positive")
        return cls("tumbling", s, s)

    @classmethod
    def lifetime(cls, resolution: timedelta | int = MINUTE) -> Window:
        """Everything up to the query time (``resolution`` only sizes the state kept)."""
        r = duration_ms(resolution, what="resolution")
        if r <= 0:
            raise InvalidInput("lifetime resolution must be positive")
        return cls("lifetime", 0, r)

    def start(self, t: int) -> int | None:
        """Return the first event time inside the window at ``t`` (None: no lower bound)."""
        if self.kind == "lifetime":
            return None
        return (t // self.resolution_ms + 1) * self.resolution_ms - self.size_ms


@dataclass(frozen=True)
class Aggregation:
    """One streaming feature: ``function`` of ``column`` over ``window``.

    Attributes:
        name: the feature's name.
        function: one of count, sum, mean, min, max, last, distinct_count.
        window: where it looks.
        column: the event column aggregated (None for ``count``).
        precision: decimal places kept by ``sum`` and ``mean`` (see exact.py).
    """

    name: str
    function: str
    window: Window
    column: str | None = None
    precision: int = 6

    def __post_init__(self) -> None:
        check_name(self.name, "feature")
        if self.function not in FUNCTIONS:
            raise InvalidInput(f"feature {self.name!r}: unknown aggregation {self.function!r}; "
                               f"use one of {', '.join(FUNCTIONS)}")
        if self.function != "count" and self.column is None:
            raise InvalidInput(f"feature {self.name!r}: {self.function} needs a column")
        if not 0 <= self.precision <= 9:
            raise InvalidInput(f"feature {self.name!r}: precision must be 0..9")


@dataclass(frozen=True)
class EventSource:
    """A stream of events and its history.

    Attributes:
        name: the source's name (also the default stream name).
        schema: event column -> kind (float, int, string, bool), keys and time excluded.
        time_column: the event-time column.
        id_column: the event id column (deduplication).
        arrival_column: the history column holding the arrival order (stream offset).
        allowed_lateness: how far behind the largest event time an event may arrive.
        history: offline history: a Parquet path or glob, or ``postgresql://...#table``.
    """

    name: str
    schema: Mapping[str, str]
    time_column: str = "event_time"
    id_column: str = "event_id"
    arrival_column: str = "arrival"
    allowed_lateness: timedelta | int = 0
    history: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "event source")
        for col, kind in self.schema.items():
            check_name(col, "column")
            if kind not in KINDS:
                raise InvalidInput(f"event source {self.name!r}: column {col!r} has unknown "
                                   f"kind {kind!r}; use one of {', '.join(KINDS)}")

    @property
    def lateness_ms(self) -> int:
        """Allowed lateness in milliseconds."""
        return duration_ms(self.allowed_lateness, what="allowed lateness")


@dataclass(frozen=True)
class FeatureView:
    """Streaming features of one entity computed from one event source.

    Attributes:
        name: the view's name (online store namespace).
        entity: what the features describe; events carry its key column.
        source: the events.
        features: the aggregations.
        ttl: how long online values stay valid after they were written (None: forever).
    """

    name: str
    entity: Entity
    source: EventSource
    features: tuple[Aggregation, ...]
    ttl: timedelta | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "feature view")
        object.__setattr__(self, "features", tuple(self.features))
        if not self.features:
            raise InvalidInput(f"feature view {self.name!r} has no features")
        seen: set[str] = set()
        for f in self.features:
            if f.name in seen:
                raise InvalidInput(f"feature view {self.name!r}: feature {f.name!r} twice")
            seen.add(f.name)
            if f.column is not None and f.column not in self.source.schema:
                raise InvalidInput(f"feature {f.name!r}: column {f.column!r} is not in event "
                                   f"source {self.source.name!r}")
            if f.function in _NUMERIC_FUNCTIONS and f.column is not None and \
                    self.source.schema[f.column] not in ("float", "int"):
                raise InvalidInput(f"feature {f.name!r}: {f.function} needs a numeric column, "
                                   f"{f.column!r} is {self.source.schema[f.column]}")

    @property
    def feature_names(self) -> list[str]:
        """The names of the view's features, in order."""
        return [f.name for f in self.features]


@dataclass(frozen=True)
class TableFeatureView:
    """Batch features read from a table: the latest row per entity at or before ``t``.

    Attributes:
        name: the view's name.
        entity: what the rows describe.
        table: a Parquet path or glob, or ``postgresql://...#table``.
        columns: feature column -> kind.
        time_column: when each row became true.
        ttl: how long online values stay valid (None: forever).
    """

    name: str
    entity: Entity
    table: str
    columns: Mapping[str, str]
    time_column: str = "event_time"
    ttl: timedelta | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "feature view")
        if not self.columns:
            raise InvalidInput(f"table feature view {self.name!r} has no columns")
        for col, kind in self.columns.items():
            check_name(col, "column")
            if kind not in KINDS:
                raise InvalidInput(f"column {col!r} has unknown kind {kind!r}")

    @property
    def feature_names(self) -> list[str]:
        """The names of the view's features, in order."""
        return list(self.columns)


@dataclass(frozen=True)
class RequestFeature:
    """A feature computed from the request itself (e.g. the distance of this order).

    Attributes:
        name: the feature's name.
        kind: float, int, string or bool.
        field: the request field read (default: ``name``) when ``compute`` is None.
        compute: a function of the whole request returning the value.
    """

    name: str
    kind: str = "float"
    field: str | None = None
    compute: Callable[[Mapping[str, Any]], Any] | None = dataclasses.field(
        default=None, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name, "request feature")
        if self.kind not in KINDS:
            raise InvalidInput(f"request feature {self.name!r}: unknown kind {self.kind!r}")
