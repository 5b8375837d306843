"""The default event archive: Parquet files partitioned by source and date.

Layout under the archive folder (``$AUGUR_HOME/archive`` by default)::

    source=orders/
      date=2026-11-28/shop_orders.000000000001-000000004711.parquet   committed batches
      date=2026-11-29/shop_orders.000000004712-000000009020.parquet
      _staging/shop_orders.parquet      the pending batch (never read as data)
      _staging/shop_orders.lock         held by the running worker

A committed file holds the writer's events ``first..last`` (``_seq``) and sits in
the partition of the day (UTC) its last event was consumed. The pending batch is
written row group by row group as events come, closed and fsynced when sealed,
and committed by an atomic rename into its date partition after the checkpoint.
Any other reader (DuckDB, Spark, pandas) can glob ``source=*/date=*/*.parquet``.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from augur.errors import StoreError
from augur.features.archive import (
    ARCHIVED_AT,
    OUTCOME,
    POSITION,
    SEQ,
    ArchiveCount,
    BufferedWriter,
    check_source,
    check_writer,
    day_of,
)
from augur.features.definitions import FeatureView
from augur.streaming import position_order

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
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

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
    """The running worker's side of a :class:`ParquetArchive`."""

    def __init__(self, archive: ParquetArchive, view: FeatureView, name: str) -> None:
        super().__init__(view, name)
        self.archive = archive
        self._dir = archive.source_dir(self.source)
        self._staging = self._dir / "_staging" / f"{self.name}.parquet"
        self._lock: IO[bytes] | None = None
        self._file: IO[bytes] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._batch: tuple[int, int, int] | None = None  # (first, last, last consumed ms)
        self._first = 0

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
        try:
            pending = pq.read_table(self._staging, columns=[SEQ, POSITION, ARCHIVED_AT])
        except (pa.ArrowInvalid, OSError) as exc:  # killed while writing it: after the checkpoint
            log.info("%s: discarding an unfinished pending batch: %s", self.name, exc)
            self._staging.unlink()
            return next_seq
        seqs = pending.column(SEQ)
        if pending.num_rows and position is not None and position_order(
                pending.column(POSITION)[-1].as_py()) <= position_order(position):
            first, last = seqs[0].as_py(), seqs[-1].as_py()
            if last < next_seq:  # committed already; only the staging entry came back
                self._staging.unlink()
                return next_seq
            if first != next_seq:
                raise StoreError(f"archive {self.archive.root}: the pending batch of "
                                 f"{self.name!r} starts at {first}, expected {next_seq}")
            stamps = pending.column(ARCHIVED_AT).cast(pa.int64()).to_pylist()
            self._batch = (first, last, max(stamps))
            self._commit()
            log.info("%s: committed the pending batch %d..%d", self.name, first, last)
            return int(last) + 1
        self._staging.unlink()
        return next_seq

    def _committed_position(self, path: Path) -> str:
        try:
            positions = pq.read_table(path, columns=[POSITION]).column(POSITION)
        except (pa.ArrowInvalid, OSError) as exc:
            raise StoreError(f"archive file {path} cannot be read: {exc}") from exc
        return str(positions[-1].as_py())

    def _append(self, batch: pa.RecordBatch) -> None:
        try:
            if self._parquet is None:
                self._file = open(self._staging, "wb")  # noqa: SIM115 - closed in _seal
                self._parquet = pq.ParquetWriter(self._file, self.layout.schema)
                self._first = batch.column(0)[0].as_py()
            self._parquet.write_batch(batch)
        except OSError as exc:
            raise StoreError(f"archive {self.archive.root}: cannot write "
                             f"{self._staging}: {exc}") from exc

    def _seal(self, last_seq: int, last_position: str) -> None:
        if self._parquet is None or self._file is None:
            return
        try:
            self._parquet.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as exc:
            raise StoreError(f"archive {self.archive.root}: cannot write "
                             f"{self._staging}: {exc}") from exc
        self._parquet = self._file = None
        self._batch = (self._first, last_seq, self.last_at)

    def _commit(self) -> None:
        if self._batch is None:
            return
        first, last, at = self._batch
        folder = self._dir / f"date={day_of(at)}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(self._staging, folder / f"{self.name}.{first:012d}-{last:012d}.parquet")
            _fsync_dir(folder)  # the new name is durable; a staging entry that comes back
            # after a power loss is recognised as committed by the next recovery
        except OSError as exc:
            raise StoreError(f"archive {self.archive.root}: cannot commit "
                             f"{self._staging}: {exc}") from exc
        self._batch = None

    def close(self) -> None:
        """Close the pending file (the next recovery settles it) and release the lock."""
        if self._parquet is not None:
            try:
                self._parquet.close()
            finally:
                if self._file is not None:
                    self._file.close()
            self._parquet = self._file = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
