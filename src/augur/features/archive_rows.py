"""The archive's rows: how events a worker consumed become typed Arrow columns.

One :class:`ArchiveLayout` per view: the archive's own columns (``_seq``,
``_position``, ``_outcome``, ``_archived_at``, ``_raw``), then the entity key, event
time (epoch ms) and id as the engines see them (keys and ids as text), then the
source's schema columns typed by kind. Whole columns are converted by pyarrow; a
column holding a value of another kind is converted value by value, that value
stored as null and its event kept whole as JSON in ``_raw``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from augur.errors import ConfigError, InvalidInput
from augur.features.clock import to_millis
from augur.features.definitions import FeatureView
from augur.features.streaming import INVALID
from augur.streaming import Message

SEQ, POSITION, OUTCOME, ARCHIVED_AT, RAW = "_seq", "_position", "_outcome", "_archived_at", "_raw"
ARCHIVE_COLUMNS = (SEQ, POSITION, OUTCOME, ARCHIVED_AT, RAW)
_MS = pa.timestamp("ms", tz="UTC")
_KINDS = {"float": pa.float64(), "int": pa.int64(), "string": pa.string(), "bool": pa.bool_()}


def _fits(kind: str, value: Any) -> tuple[bool, Any]:
    """``(True, value as stored)`` if ``value`` fits a column of ``kind``; None always fits."""
    if value is None:
        return True, None
    t = type(value)
    if kind == "float":
        if t is float or t is int or t is bool:
            return (True, float(value)) if t is not int or abs(value) < 2**63 else (False, None)
        return False, None
    if kind == "int":
        if (t is float and value.is_integer()) or t is bool:
            value = int(value)
        elif t is not int:
            return False, None
        return (True, value) if -2**63 <= value < 2**63 else (False, None)
    if kind == "bool":
        return (True, value) if t is bool else (False, None)
    return (True, value) if t is str else (False, None)


def _millis(value: Any) -> int | None:
    if type(value) is int and -2**63 <= value < 2**63:
        return value
    try:
        ms = to_millis(value)
    except (InvalidInput, TypeError, ValueError, OverflowError):
        return None
    return ms if -2**63 <= ms < 2**63 else None


def _raw_json(event: Mapping[str, Any]) -> str:
    """The whole event as JSON text, whatever it holds."""
    try:
        return orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits, which the standard library can write
        return json.dumps(event, default=str)


def _text(value: Any) -> str | None:
    return value if type(value) is str else None if value is None else str(value)


class ArchiveLayout:
    """The archive's columns for one view and the conversion of consumed events to rows.

    Args:
        view: the feature view whose worker archives.

    Raises:
        ConfigError: a column of the source uses a name the archive reserves.
    """

    def __init__(self, view: FeatureView) -> None:
        src = view.source
        self.view = view
        self.key, self.time, self.id = view.entity.key, src.time_column, src.id_column
        self.columns = [(c, kind) for c, kind in src.schema.items()
                        if c not in (self.key, self.time, self.id)]
        taken = [c for c in (self.key, self.time, self.id, *src.schema) if c in ARCHIVE_COLUMNS]
        if taken:
            raise ConfigError(f"event source {src.name!r}: column {taken[0]!r} is a name the "
                              f"archive reserves ({', '.join(ARCHIVE_COLUMNS)})")
        fields = [pa.field(SEQ, pa.int64(), nullable=False), pa.field(POSITION, pa.string()),
                  pa.field(OUTCOME, pa.string()), pa.field(ARCHIVED_AT, _MS),
                  pa.field(self.key, pa.string()), pa.field(self.time, pa.int64()),
                  pa.field(self.id, pa.string())]
        fields += [pa.field(c, _KINDS[kind]) for c, kind in self.columns]
        fields.append(pa.field(RAW, pa.string()))
        self.schema = pa.schema(fields)

    def record_batch(self, first_seq: int,
                     chunks: Sequence[tuple[Sequence[Message], Sequence[str], int]],
                     ) -> pa.RecordBatch:
        """Rows ``first_seq, first_seq + 1, ...`` of consumed ``(messages, outcomes, at_ms)``.

        Columns are converted whole by pyarrow; only a column holding a value of another
        kind is converted value by value (that value becomes null and its event is kept
        whole in ``_raw``).
        """
        events: list[Mapping[str, Any]] = []
        positions: list[str] = []
        outcomes: list[str] = []
        for messages, verdicts, _at in chunks:
            events.extend([m.event for m in messages])
            positions.extend([m.position for m in messages])
            outcomes.extend(verdicts)
        n = len(events)
        at = np.repeat(np.array([c[2] for c in chunks], np.int64), [len(c[0]) for c in chunks])
        raw: list[str | None] = [None] * n
        if INVALID in outcomes:
            for i, outcome in enumerate(outcomes):
                if outcome == INVALID:
                    raw[i] = _raw_json(events[i])
        arrays = [pa.array(np.arange(first_seq, first_seq + n, dtype=np.int64)),
                  pa.array(positions, pa.string()), pa.array(outcomes, pa.string()),
                  pa.array(at).cast(_MS),
                  self._column(self.key, "key", events, raw),
                  self._column(self.time, "time", events, raw),
                  self._column(self.id, "key", events, raw),
                  *(self._column(c, kind, events, raw) for c, kind in self.columns),
                  pa.array(raw, pa.string())]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    @staticmethod
    def _column(name: str, kind: str, events: Sequence[Mapping[str, Any]],
                raw: list[str | None]) -> pa.Array:
        """One column; ``kind`` is a schema kind, or ``key`` (text) or ``time`` (ms)."""
        values = [e.get(name) for e in events]
        try:
            if kind in ("int", "time"):  # pyarrow would truncate 3.5 into int64: infer
                found = pa.array(values)
                if pa.types.is_integer(found.type) or pa.types.is_null(found.type):
                    return found.cast(pa.int64())
            else:
                return pa.array(values, _KINDS.get(kind, pa.string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            pass
        if kind == "key":  # as the engines see keys and ids: as text
            return pa.array([_text(v) for v in values], pa.string())
        if kind == "time":
            return pa.array([_millis(v) for v in values], pa.int64())
        out: list[Any] = []
        for i, v in enumerate(values):
            ok, stored = _fits(kind, v)
            if not ok and raw[i] is None:
                raw[i] = _raw_json(events[i])
            out.append(stored)
        return pa.array(out, _KINDS[kind])
