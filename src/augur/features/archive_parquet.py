"""The default event archive: Parquet files partitioned by source and date.

Layout under the archive folder (``$AUGUR_HOME/archive`` by default)::

    source=orders/
      date=2026-11-28/shop_orders.000000000001-000000904711.parquet   published events
      date=2026-11-29/shop_orders.000000904712-000001809020.parquet
      _staging/shop_orders.arrows       staged events (Arrow IPC stream, never read as data)
      _staging/shop_orders.lock         held by the running worker

A published file holds the writer's events ``first..last`` (``_seq``) and sits in
the partition of the day (UTC) its last event was consumed. Checkpoints come every
second or so, far too often for a file each: consumed events are appended to the
staging stream, fsynced when a checkpoint is due (sealed), and published together
as one Parquet file (written aside, fsynced, renamed into its partition) once
checkpoints cover them and enough have gathered, and when the worker stops.
Training sees published events only, so at most ``rotate_seconds`` late.
Any other reader (DuckDB, Spark, pandas) can glob ``source=*/date=*/*.parquet``.
"""

from __future__ import annotations

import bisect
import glob
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
import pyarrow.parquet as pq

from augur.errors import StoreError
from augur.features.archive import (
    ROW_GROUP,
    ArchiveCount,
    BufferedWriter,
    check_source,
    check_writer,
    day_of,
)
from augur.features.archive_rows import ARCHIVED_AT, OUTCOME, POSITION, SEQ
from augur.features.definitions import FeatureView
from augur.streaming import Message
from augur.streaming.transport import position_order

log = logging.getLogger(__name__)
_FILE = re.compile(r"^(?P<writer>.+)\.(?P<first>\d{12,})-(?P<last>\d{12,})\.parquet$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ParquetArchive:
    """Archived events as Parquet files under ``root`` (see the module docstring).

    Args:
        root: the archive folder (created when the first worker writes).
        rotate_rows: staged events that make a worker publish a Parquet file.
        rotate_seconds: the longest a worker keeps events staged (unseen by training).
    """

    def __init__(self, root: Path, *, rotate_rows: int = 1_000_000,
                 rotate_seconds: float = 60.0) -> None:
        self.root = Path(root)
        self.rotate_rows, self.rotate_seconds = rotate_rows, rotate_seconds

    def describe(self) -> str:
        """The archive folder."""
        return str(self.root)

    def source_dir(self, source: str) -> Path:
        """The folder of ``source``'s partitions."""
        return self.root / f"source={check_source(source)}"

    def committed(self, source: str, writer: str, since_day: str | None = None,
                  ) -> list[tuple[int, int, Path]]:
        """``(first, last, path)`` of ``writer``'s committed files, fewest that cover them."""
        found: list[tuple[int, int, Path]] = []
        pattern = str(self.source_dir(source) / "date=*" / f"{glob.escape(writer)}.*.parquet")
        for name in glob.glob(pattern):
            path = Path(name)
            m = _FILE.fullmatch(path.name)
            if m is None or m["writer"] != writer:
                continue
            if since_day is not None and path.parent.name.removeprefix("date=") < since_day:
                continue
            found.append((int(m["first"]), int(m["last"]), path))
        # Prefer the widest file at each start; skip files another one already covers.
        found.sort(key=lambda f: (f[0], -f[1]))
        out: list[tuple[int, int, Path]] = []
        for f in found:
            if out and f[1] <= out[-1][1]:
                continue
            out.append(f)
        return out

    def writers(self, source: str) -> list[str]:
        """Names of the writers with committed files for ``source``."""
        names = set()
        for path in self.source_dir(source).glob("date=*/*.parquet"):
            m = _FILE.fullmatch(path.name)
            if m is not None:
                names.add(m["writer"])
        return sorted(names)

    def writer(self, view: FeatureView, name: str | None = None) -> ParquetArchiveWriter:
        """The writer of ``view``'s worker called ``name`` (default: the view's name)."""
        return ParquetArchiveWriter(self, view, view.name if name is None else name)

    def history(self, view: FeatureView, name: str | None = None) -> list[str] | None:
        """The committed files archived for ``view`` in order, or None."""
        files = self.committed(view.source.name, check_writer(view.name if name is None else name))
        return [str(f[2]) for f in files] or None

    def counts(self, source: str, since_ms: int | None = None) -> list[ArchiveCount]:
        """Events archived for ``source`` since ``since_ms``, per writer and outcome.

        Raises:
            StoreError: a file cannot be read.
        """
        since_day = None if since_ms is None else day_of(since_ms)
        out: list[ArchiveCount] = []
        con = duckdb.connect()
        try:
            for writer in self.writers(source):
                files = [str(f[2]) for f in self.committed(source, writer, since_day)]
                if not files:
                    continue
                try:
                    rows = con.execute(
                        f"SELECT {OUTCOME}, count(*), epoch_ms(min({ARCHIVED_AT})), "
                        f"epoch_ms(max({ARCHIVED_AT})) FROM read_parquet(?, union_by_name = true, "
                        f"hive_partitioning = false) "
                        f"WHERE epoch_ms({ARCHIVED_AT}) >= ? GROUP BY 1 ORDER BY 1",
                        [files, since_ms if since_ms is not None else -2**62]).fetchall()
                except duckdb.Error as exc:
                    raise StoreError(f"archive {self.root}: cannot read {source!r} "
                                     f"({writer}): {exc}") from exc
                out.extend(ArchiveCount(source, writer, r[0], r[1], r[2], r[3]) for r in rows)
        finally:
            con.close()
        return out

    def close(self) -> None:
        """Nothing to release."""


class ParquetArchiveWriter(BufferedWriter):
    """The running worker's side of a :class:`ParquetArchive`.

    Consumed rows are appended to an Arrow IPC stream in ``_staging`` (readable up
    to its last whole batch after a kill), which each seal fsyncs. Once a checkpoint
    covers them, staged rows are published as one Parquet file when ``rotate_rows``
    rows or ``rotate_seconds`` have gathered, when the day (UTC) changes, and when
    the worker stops.
    """

    def __init__(self, archive: ParquetArchive, view: FeatureView, name: str) -> None:
        super().__init__(view, name)
        self.archive = archive
        self._dir = archive.source_dir(self.source)
        self._staging = self._dir / "_staging" / f"{self.name}.arrows"
        self._lock: IO[bytes] | None = None
        self._file: IO[bytes] | None = None
        self._ipc: pa.ipc.RecordBatchStreamWriter | None = None
        self._staged = self._durable = 0  # rows staged; of those, covered by a checkpoint
        self._since, self._day = 0.0, ""  # when the first staged row came, and its day

    def _take_lock(self) -> None:
        import fcntl

        self._staging.parent.mkdir(parents=True, exist_ok=True)
        lock = open(self._staging.with_suffix(".lock"), "ab")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StoreError(f"archive {self.archive.root}: another worker is archiving "
                             f"{self.source!r} as {self.name!r}") from None
        self._lock = lock

    def _recover(self, position: str | None) -> int:
        try:
            self._take_lock()
        except OSError as exc:
            raise StoreError(f"archive {self.archive.root}: {exc}") from exc
        committed = self.archive.committed(self.source, self.name)
        next_seq = committed[-1][1] + 1 if committed else 1
        if committed:
            last = self._committed_position(committed[-1][2])
            if position is None or position_order(last) > position_order(position):
                raise StoreError(
                    f"archive {self.archive.root} holds events 1..{next_seq - 1} of "
                    f"{self.source!r} as {self.name!r} up to stream position {last}, but the "
                    f"online store's checkpoint is at {position}: the worker would archive "
                    f"them again. Restore the online store's checkpoint, move {self._dir} "
                    "aside, or archive elsewhere.")
        if not self._staging.exists():
            return next_seq
        staged = self._read_staged()
        # Keep what a checkpoint covers and no published file holds; the rest comes again.
        keep = staged.filter(pc.greater_equal(staged.column(SEQ), next_seq))
        positions = keep.column(POSITION).to_pylist() if position is not None else []
        cut = bisect.bisect_right(positions, position_order(position or "0"), key=position_order)
        if cut:
            self._publish(keep.slice(0, cut))
            log.info("%s: published %d staged events the checkpoint covers", self.name, cut)
            next_seq = keep.column(SEQ)[cut - 1].as_py() + 1
        self._staging.unlink()
        return int(next_seq)

    def _read_staged(self) -> pa.Table:
        """The whole batches of the staging stream (a kill may have torn the last one)."""
        batches: list[pa.RecordBatch] = []
        try:
            with pa.memory_map(str(self._staging)) as source, \
                    pa.ipc.open_stream(source) as reader:
                while True:
                    batches.append(reader.read_next_batch())
        except StopIteration:
            pass
        except (pa.ArrowInvalid, OSError) as exc:
            log.info("%s: the staged events end in a torn batch: %s", self.name, exc)
        return pa.Table.from_batches(batches, self.layout.schema)

    def _committed_position(self, path: Path) -> str:
        try:
            positions = pq.read_table(path, columns=[POSITION]).column(POSITION)
        except (pa.ArrowInvalid, OSError) as exc:
            raise StoreError(f"archive file {path} cannot be read: {exc}") from exc
        return str(positions[-1].as_py())

    def add(self, messages: Sequence[Message], outcomes: Sequence[str], at_ms: int) -> None:
        """Append consumed messages; a new day (UTC) starts a new file when it can."""
        if self._staged and self._staged == self._durable and not self._batches and \
                day_of(at_ms) != self._day:
            self._publish_staged()
        super().add(messages, outcomes, at_ms)

    def _append(self, table: pa.Table) -> None:
        try:
            if self._ipc is None:
                self._file = open(self._staging, "wb")  # noqa: SIM115 - closed in _unstage
                self._ipc = pa.ipc.new_stream(self._file, self.layout.schema)
                self._since, self._day = time.monotonic(), day_of(self.last_at)
            self._ipc.write_table(table)
        except OSError as exc:
            raise StoreError(f"archive {self.archive.root}: cannot write "
                             f"{self._staging}: {exc}") from exc
        self._staged += table.num_rows

    def _seal(self, last_seq: int, last_position: str) -> None:
        if self._file is None:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise StoreError(f"archive {self.archive.root}: cannot write "
                             f"{self._staging}: {exc}") from exc

    def _commit(self) -> None:
        self._durable = self._staged
        if self._durable and (self._durable >= self.archive.rotate_rows
                              or time.monotonic() - self._since >= self.archive.rotate_seconds
                              or day_of(self.last_at) != self._day):
            self._publish_staged()

    def _publish_staged(self) -> None:
        self._unstage()
        self._publish(self._read_staged())
        self._staging.unlink()
        self._staged = self._durable = 0

    def _unstage(self) -> None:
        if self._ipc is not None:
            self._ipc.close()
        if self._file is not None:
            self._file.close()
        self._ipc = self._file = None

    def _publish(self, table: pa.Table) -> None:
        """Write ``table`` (rows a checkpoint covers) as a committed Parquet file."""
        if not table.num_rows:
            return
        seqs = table.column(SEQ)
        first, last = seqs[0].as_py(), seqs[-1].as_py()
        at = pc.max(table.column(ARCHIVED_AT)).cast(pa.int64()).as_py()
        folder = self._dir / f"date={day_of(at)}"
        tmp = self._staging.with_suffix(".parquet")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                pq.write_table(table, f, compression="zstd", use_dictionary=[OUTCOME],
                               row_group_size=ROW_GROUP * 4)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / f"{self.name}.{first:012d}-{last:012d}.parquet")
            _fsync_dir(folder)
        except OSError as exc:
            raise StoreError(f"archive {self.archive.root}: cannot publish events "
                             f"{first}..{last}: {exc}") from exc

    def close(self) -> None:
        """Publish what checkpoints cover, if that is all that is staged; release the lock.

        Staged rows no checkpoint covers yet (the worker failed) stay for the next
        recovery to settle.
        """
        try:
            if self._staged and self._staged == self._durable:
                self._publish_staged()
            else:
                self._unstage()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
