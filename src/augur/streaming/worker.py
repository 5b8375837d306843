"""The generic worker loop: fetch a batch, hand it to a handler, commit what is durable.

The handler owns the effects (window state, store writes) and says which position
its effects are durable up to; only then does the worker acknowledge to the
transport. On start the handler reports its durable position and the worker
subscribes just after it, so a worker killed at any instant resumes with no event
lost; messages at or before the durable position are skipped (idempotent by offset),
so none is applied twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from augur.streaming.transport import Message, Transport, position_order

log = logging.getLogger(__name__)


class BatchHandler(Protocol):
    """What a worker drives: the streaming feature engine implements it."""

    async def start(self) -> str | None:
        """Restore state; return the position it is durable up to (None: nothing yet)."""
        ...

    async def handle(self, messages: list[Message]) -> str | None:
        """Apply a batch; return the position now durable, if it moved."""
        ...

    async def flush(self) -> str | None:
        """Make everything applied durable; return that position."""
        ...


@dataclass
class WorkerStats:
    """What a worker run did."""

    batches: int = 0
    messages: int = 0
    skipped: int = 0
    committed: str | None = None


class StreamWorker:
    """Consumes one stream as one member of a group and drives a handler.

    Args:
        transport: where the events come from.
        handler: what applies them.
        group: the consumer group (durable consumer) name.
        batch_size: most messages handed over at once.
        fetch_timeout: seconds one fetch waits for messages.
    """

    def __init__(self, transport: Transport, handler: BatchHandler, *, group: str,
                 batch_size: int = 1000, fetch_timeout: float = 0.05) -> None:
        self.transport, self.handler, self.group = transport, handler, group
        self.batch_size, self.fetch_timeout = batch_size, fetch_timeout
        self.stats = WorkerStats()

    async def run(self, stop: asyncio.Event | None = None, *, idle_exit: float | None = None,
                  max_messages: int | None = None) -> WorkerStats:
        """Consume until ``stop`` is set, ``idle_exit`` seconds pass with no message, or
        ``max_messages`` were handled; flush and commit before returning.

        Raises:
            ServiceUnavailable: the transport failed.
        """
        durable = await self.handler.start()
        sub = await self.transport.subscribe(self.group, durable)
        applied: tuple[int, int] | None = None
        if durable is not None:
            applied = position_order(durable)
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        try:
            while not (stop is not None and stop.is_set()):
                if max_messages is not None and self.stats.messages >= max_messages:
                    break
                want = self.batch_size if max_messages is None else min(
                    self.batch_size, max_messages - self.stats.messages)
                batch = await sub.fetch(want, self.fetch_timeout)
                if not batch:
                    if idle_exit is not None and loop.time() - idle_since >= idle_exit:
                        break
                    continue
                idle_since = loop.time()
                fresh = [m for m in batch if applied is None or m.order > applied]
                self.stats.skipped += len(batch) - len(fresh)
                if not fresh:
                    continue
                applied = fresh[-1].order
                position = await self.handler.handle(fresh)
                self.stats.batches += 1
                self.stats.messages += len(fresh)
                if position is not None:
                    await sub.commit(position)
                    self.stats.committed = position
            position = await self.handler.flush()
            if position is not None:
                await sub.commit(position)
                self.stats.committed = position
        finally:
            await sub.close()
        return self.stats
