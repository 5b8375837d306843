"""The streaming feature worker's handler: events -> engine -> online store, durably.

Recovery design (chosen over replaying the whole stream): every
``checkpoint_interval`` seconds the handler writes the engine's full snapshot and
the position of the last event it applied *in the same store transaction* as the
values. A killed worker restarts from that checkpoint and the worker re-reads the
stream just after its position: events applied after the checkpoint are applied
again to the restored state, which reproduces exactly the same values, and no
event is counted twice because the restored state has not seen them. Deduplication
by event id additionally drops redeliveries by the producer.

With an :class:`~augur.features.archive.EventArchive`, every consumed event is also
archived with its position and outcome. The archive's pending batch is sealed just
before each checkpoint is written and committed just after, and a restart first
settles what was pending against the checkpoint it resumes from (see
:mod:`augur.features.archive`), so the archive holds each consumed event once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from augur.features.archive import ArchiveWriter, EventArchive, now_ms
from augur.features.definitions import FeatureView
from augur.features.metrics import StreamMetrics
from augur.features.online import Checkpoint, OnlineStore
from augur.features.streaming import StreamingEngine
from augur.streaming import Message, StreamWorker, Transport, WorkerStats

log = logging.getLogger(__name__)


class FeatureStreamHandler:
    """Drives a :class:`StreamingEngine` for a :class:`~augur.streaming.StreamWorker`.

    Args:
        view: the feature view computed.
        store: where values and checkpoints go.
        checkpoint_interval: seconds between checkpoints (0: after every batch).
        name: checkpoint name (default: the view's name).
        metrics: Prometheus counters to update after each batch.
        archive: where to archive every consumed event (None: nowhere).
    """

    def __init__(self, view: FeatureView, store: OnlineStore, *,
                 checkpoint_interval: float = 1.0, name: str | None = None,
                 metrics: StreamMetrics | None = None,
                 archive: EventArchive | None = None) -> None:
        self.view, self.store, self.metrics = view, store, metrics
        self.engine = StreamingEngine(view)
        self.checkpoint_interval = checkpoint_interval
        self.name = name or view.name
        self.archive: ArchiveWriter | None = None if archive is None else archive.writer(
            view, self.name)
        self._ttl = None if view.ttl is None else view.ttl.total_seconds()
        self._position: str | None = None
        self._durable: str | None = None
        self._last_checkpoint = time.monotonic()

    async def start(self) -> str | None:
        """Restore the last checkpoint; return its position."""
        cp = self.store.load_checkpoint(self.name)
        if cp is not None:
            self.engine.restore(cp.state)
            self._position = self._durable = cp.position
            log.info("%s: resumed after position %s", self.name, cp.position)
        if self.archive is not None:
            self.archive.recover(self._durable)
        return self._durable

    async def handle(self, messages: list[Message]) -> str | None:
        """Apply a batch and write the changed values (with a checkpoint when due)."""
        if self.archive is None:
            self.engine.process([m.event for m in messages])
        else:
            outcomes: list[str] = []
            self.engine.process([m.event for m in messages], outcomes)
            self.archive.add(messages, outcomes, now_ms())
        self._position = messages[-1].position
        if self.metrics is not None:
            self.metrics.observe(self.view.name, self.engine.stats, self.engine.max_time)
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_interval
        return self._write(checkpoint=due)

    async def flush(self) -> str | None:
        """Write a checkpoint now."""
        return self._write(checkpoint=True)

    def close(self) -> None:
        """Release the archive writer (what is pending is settled by the next start)."""
        if self.archive is not None:
            self.archive.close()

    def _write(self, *, checkpoint: bool) -> str | None:
        t, changed = self.engine.take_changes()
        cp = None
        if checkpoint and self._position != self._durable:
            cp = Checkpoint(self.name, self._position, self.engine.snapshot())
            if self.archive is not None:
                self.archive.seal()  # durable, not yet visible: the checkpoint decides
        if changed or cp is not None:
            self.store.write(self.view.name, changed, t if t is not None else 0,
                             ttl_s=self._ttl, checkpoint=cp)
        if cp is None:
            return None
        if self.archive is not None:
            self.archive.commit()
        self._durable = self._position
        self._last_checkpoint = time.monotonic()
        return self._durable


async def run_feature_worker(view: FeatureView, transport: Transport, store: OnlineStore, *,
                             group: str | None = None, checkpoint_interval: float = 1.0,
                             batch_size: int = 1000, stop: asyncio.Event | None = None,
                             idle_exit: float | None = None,
                             max_messages: int | None = None,
                             metrics: StreamMetrics | None = None,
                             archive: EventArchive | None = None) -> WorkerStats:
    """Consume ``view``'s events from ``transport`` into ``store`` until stopped.

    Args:
        view: the streaming feature view.
        transport: the event stream.
        store: the online store (values and checkpoints).
        group: consumer group / durable name (default ``augur-<view>``).
        checkpoint_interval: seconds between checkpoints.
        batch_size: most events per batch.
        stop: set it to stop (after a final checkpoint).
        idle_exit: stop after this many seconds without events.
        max_messages: stop after this many events.
        metrics: Prometheus counters to update.
        archive: where to archive every consumed event, with its position and outcome
            (None: nowhere).

    Returns:
        The worker's counters.

    Raises:
        StoreError: the archive cannot be written, or it is ahead of the checkpoint.
        ServiceUnavailable: the transport or a store cannot be reached.
    """
    handler = FeatureStreamHandler(view, store, checkpoint_interval=checkpoint_interval,
                                   metrics=metrics, archive=archive)
    worker = StreamWorker(transport, handler, group=group or f"augur-{view.name}",
                          batch_size=batch_size)
    try:
        return await worker.run(stop, idle_exit=idle_exit, max_messages=max_messages)
    finally:
        handler.close()
