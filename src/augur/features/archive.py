"""The event archive: every event a stream worker consumed, its stream position and outcome.

Training reads what serving saw only if it reads the same events in the same order
and drops the same ones. A history exported from a warehouse has neither the
arrival order nor the worker's verdicts; the archive has both. The feature worker
appends each consumed event with:

* ``_seq``: 1, 2, 3, ... per writer (the worker's checkpoint name, by default the
  view's name), in the order the worker applied the events: the arrival order;
* ``_position``: the transport's offset (a Redis entry id, a JetStream sequence);
* ``_outcome``: ``accepted``, ``duplicate``, ``late`` (beyond the allowed lateness,
  dropped) or ``invalid``;
* ``_archived_at``: when the worker consumed it (UTC, milliseconds);
* the event's entity key, time (integer epoch milliseconds, as the engines see it), id and schema
  columns, typed by the source's schema; ``_raw``: the whole event as JSON when it
  is invalid or a value does not fit its column's kind (that column is then null).

Writes are batched and committed with the worker's checkpoint in two phases. Rows
are appended to a *pending* batch as they come; just before the checkpoint the
batch is sealed with its last stream position (durable, invisible to readers);
once the checkpoint is written the batch is committed (visible). A worker that
restarts from checkpoint ``P`` recovers first: a sealed batch ending at or before
``P`` is committed, anything else pending is discarded and will be archived again
from the stream, so nothing is lost or archived twice.

Backends: Parquet files under ``$AUGUR_HOME/archive`` (default,
:mod:`augur.features.archive_parquet`) and a PostgreSQL table
(:mod:`augur.features.archive_postgres`);
:func:`~augur.features.store_factory.open_archive` picks one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa

from augur.config import parse_duration
from augur.errors import ConfigError, InvalidInput
from augur.features.archive_rows import ArchiveLayout
from augur.features.clock import to_millis
from augur.features.definitions import FeatureView, check_name
from augur.streaming import Message

DEFAULT_ARCHIVE = "$AUGUR_HOME/archive"
ROW_GROUP = 65_536  # rows converted to Arrow (and appended to the pending batch) at once
_FIRST_MS, _LAST_MS = -62_135_596_800_000, 253_402_300_799_999  # 0001-01-01 .. 9999-12-31
_WRITER = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


def check_writer(name: str) -> str:
    """Return ``name`` if it can name an archive writer (letters, digits, ``_.-``)."""
    if not isinstance(name, str) or not _WRITER.fullmatch(name) or name.startswith("."):
        raise ConfigError(f"archive writer name {name!r}: use letters, digits and _.- "
                          "(at most 100, not starting with .)")
    return name


@dataclass(frozen=True)
class ArchiveCount:
    """How many events one writer archived with one outcome, and when."""

    source: str
    writer: str
    outcome: str
    events: int
    first_at: int | None
    last_at: int | None


class ArchiveWriter(Protocol):
    """One worker's side of the archive (see the module docstring for the protocol)."""

    def recover(self, position: str | None) -> None:
        """Settle what a killed worker left pending against checkpoint ``position``.

        Raises:
            StoreError: the archive holds committed events after ``position`` (the
                online store lost its checkpoint), or another worker holds the writer.
        """
        ...

    def add(self, messages: Sequence[Message], outcomes: Sequence[str], at_ms: int) -> None:
        """Append consumed messages and their outcomes to the pending batch."""
        ...

    def seal(self) -> bool:
        """Make the pending batch durable before the checkpoint; False if it was empty."""
        ...

    def commit(self) -> None:
        """Make the sealed batch visible (after the checkpoint was written)."""
        ...

    def close(self) -> None:
        """Release the writer (a pending batch is left for the next recovery)."""
        ...


class EventArchive(Protocol):
    """Where workers archive events and training sets read them."""

    def writer(self, view: FeatureView, name: str | None = None) -> ArchiveWriter:
        """The writer for ``view``'s worker called ``name`` (default: the view's name)."""
        ...

    def history(self, view: FeatureView, name: str | None = None) -> Any | None:
        """The committed events archived for ``view`` (a location the batch engine reads),
        or None when nothing is archived."""
        ...

    def counts(self, source: str, since_ms: int | None = None) -> list[ArchiveCount]:
        """Events archived for ``source`` since ``since_ms``, per writer and outcome."""
        ...

    def describe(self) -> str:
        """Where the archive is, for messages (no password)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class BufferedWriter:
    """Sequence numbering and Arrow conversion shared by the archive backends.

    Subclasses implement ``_recover(position) -> next_seq``, ``_append(table)``,
    ``_seal(last_seq, last_position)``, ``_commit()`` and ``close()``.
    """

    flush_rows = ROW_GROUP  # converted rows gathered before they are appended

    def __init__(self, view: FeatureView, name: str) -> None:
        self.layout = ArchiveLayout(view)
        self.source, self.name = view.source.name, check_writer(name)
        self.next_seq = 1
        self._batches: list[pa.RecordBatch] = []
        self._buffered = 0
        self._pending = 0  # rows appended since the last seal
        self._last_position: str | None = None
        self._sealed = False
        self.last_at = 0  # the latest consumption time (ms) of the pending batch

    def recover(self, position: str | None) -> None:
        """See :meth:`ArchiveWriter.recover`."""
        self.next_seq = self._recover(position)

    def add(self, messages: Sequence[Message], outcomes: Sequence[str], at_ms: int) -> None:
        """See :meth:`ArchiveWriter.add`.

        The messages become Arrow rows at once: holding the consumed event dicts until a
        flush would leave the garbage collector that many more objects to walk.
        """
        if not messages:
            return
        self._batches.append(self.layout.record_batch(
            self.next_seq + self._buffered, [(messages, outcomes, at_ms)]))
        self.last_at = max(self.last_at, at_ms)
        self._buffered += len(messages)
        self._last_position = messages[-1].position
        if self._buffered >= self.flush_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        self._append(pa.Table.from_batches(self._batches, self.layout.schema))
        self.next_seq += self._buffered
        self._pending += self._buffered
        self._batches, self._buffered = [], 0

    def seal(self) -> bool:
        """See :meth:`ArchiveWriter.seal`."""
        self._flush()
        if not self._pending or self._last_position is None:
            return False
        self._seal(self.next_seq - 1, self._last_position)
        self._pending, self._sealed = 0, True
        return True

    def commit(self) -> None:
        """See :meth:`ArchiveWriter.commit`."""
        if self._sealed:
            self._commit()
            self._sealed = False

    def _recover(self, position: str | None) -> int:
        raise NotImplementedError

    def _append(self, table: pa.Table) -> None:
        raise NotImplementedError

    def _seal(self, last_seq: int, last_position: str) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def day_of(ms: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of epoch milliseconds ``ms``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def parse_since(text: str, now: int | None = None) -> int:
    """Epoch milliseconds of ``--since``: ISO-8601, epoch ms, or a duration ago (``24h``).

    Raises:
        ConfigError: none of those (ASCII only: other scripts' digits are refused), or
            a time outside the years 1 to 9999.
    """
    s = text.strip()
    problem = ConfigError(f"--since {text!r}: expected an ISO-8601 date or time, epoch "
                          "milliseconds, or a duration ago such as 24h or 7d (years 1-9999)")
    if not s.isascii():
        raise problem
    try:
        if s.isdigit():
            ms = int(s)
        elif s and s[-1].isalpha() and not s[0].isalpha() and "-" not in s and ":" not in s:
            ms = (now if now is not None else now_ms()) - int(parse_duration(s) * 1000)
        else:
            ms = to_millis(s, what="--since")
    except (InvalidInput, ConfigError, OverflowError, ValueError) as exc:
        raise problem from exc
    if not _FIRST_MS <= ms <= _LAST_MS:
        raise problem
    return ms


def check_source(name: str) -> str:
    """Return ``name`` if it can be an event source's name; else raise InvalidName."""
    return check_name(name, "event source")
