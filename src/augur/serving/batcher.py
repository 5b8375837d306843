"""Adaptive batching: requests that queue while a model is busy run as one batch.

A request that finds the model idle is dispatched at once (on the next turn of
the event loop, so requests that arrived in the same network read still share
it); only what accumulates while the model runs is batched. The queue is
bounded (:class:`~augur.errors.Overloaded` beyond it) and every request may
carry a deadline (:class:`~augur.errors.RequestTimeout` when it passes).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

from augur.errors import AugurError, ModelNotReady, Overloaded, RequestTimeout
from augur.serving.settings import ModelSettings

Feeds = dict[str, np.ndarray]
RunFn = Callable[[Feeds, list[str] | None], Feeds]
BatchResult = tuple[Feeds, float]


class _Item:
    __slots__ = ("enqueued", "feeds", "future", "outputs", "rows", "timer")

    def __init__(self, feeds: Feeds, outputs: list[str] | None, future: asyncio.Future[Any],
                 enqueued: float) -> None:
        self.feeds = feeds
        self.outputs = outputs
        self.future = future
        self.enqueued = enqueued
        self.timer: asyncio.TimerHandle | None = None
        rows = 1
        for arr in feeds.values():
            rows = arr.shape[0] if arr.ndim else 1
            break
        self.rows = rows

    def key(self) -> Any:
        """What a request may be concatenated with: same inputs, trailing shapes, outputs."""
        parts: list[Any] = []
        for name, arr in self.feeds.items():
            if arr.ndim == 0 or arr.shape[0] != self.rows:
                return object()  # not batchable: a unique key
            parts.append((name, arr.dtype, arr.shape[1:]))
        parts.append(tuple(self.outputs) if self.outputs else None)
        return tuple(parts)


class AdaptiveBatcher:
    """Queue, batch and run the requests of one model version.

    Args:
        run: runs validated feeds through the model (``LoadedModel.run``).
        settings: batch size, delay, queue bound and default timeout.
        inline: run the model on the event loop thread (no thread hop); else in
            ``executor``, up to ``settings.instances`` batches at a time.
        executor: where ``run`` executes when not inline.
        on_batch: called with the rows of every batch run (for metrics).
    """

    def __init__(self, run: RunFn, settings: ModelSettings, *, inline: bool = True,
                 executor: Executor | None = None,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._run = run
        self.settings = settings
        self.inline = inline
        self._executor = executor
        self._on_batch = on_batch
        self._queue: deque[_Item] = deque()
        self._running = 0
        # Inline runs block the loop, so only one can ever be in flight.
        self._instances = 1 if inline else settings.instances
        self._scheduled = False
        self._filling: asyncio.TimerHandle | None = None
        self._last_done = 0.0
        self._max_rows = settings.max_batch_size
        self._max_queue = settings.max_queue_size
        self._delay = settings.max_delay_ms / 1000.0

    @property
    def pending(self) -> int:
        """Requests waiting or running."""
        return len(self._queue) + self._running

    @property
    def idle(self) -> bool:
        return not self._queue and not self._running

    async def submit(self, feeds: Feeds, outputs: list[str] | None = None,
                     timeout: float | None = None) -> BatchResult:
        """Queue one request and wait for its outputs.

        Args:
            feeds: validated input tensors, the batch axis first.
            outputs: output names to return (default all).
            timeout: seconds the request may take (default: the model's ``timeout_ms``).

        Returns:
            The outputs and the seconds the request waited in the queue.

        Raises:
            Overloaded: the queue is full.
            RequestTimeout: the deadline passed first.
        """
        result: BatchResult = await self.enqueue(feeds, outputs, timeout)
        return result

    def enqueue(self, feeds: Feeds, outputs: list[str] | None = None,
                timeout: float | None = None) -> asyncio.Future[BatchResult]:
        """Queue one request; return the future of what :meth:`submit` returns.

        The hot path awaits this future directly (one coroutine frame fewer per
        request than :meth:`submit`).

        Raises:
            Overloaded: the queue is full.
        """
        queue = self._queue
        while queue and queue[0].future.done():
            queue.popleft()
        if len(queue) >= self._max_queue:
            raise Overloaded(f"queue is full ({self._max_queue} requests waiting); "
                             "retry later")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BatchResult] = loop.create_future()
        item = _Item(feeds, outputs, future, time.perf_counter())
        if timeout is None and self.settings.timeout_ms is not None:
            timeout = self.settings.timeout_ms / 1000.0
        if timeout is not None:
            item.timer = loop.call_later(timeout, _expire, item, timeout)
        queue.append(item)
        if self._running < self._instances and not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._dispatch)
        elif self._filling is not None and sum(i.rows for i in queue) >= self._max_rows:
            self._filling.cancel()  # the batch is full: stop waiting for more
            self._filling = None
            loop.call_soon(self._dispatch)
        return future

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        rows = 0
        queue = self._queue
        while queue:
            item = queue[0]
            if item.future.done():
                queue.popleft()
                continue
            if batch and rows + item.rows > self._max_rows:
                break
            batch.append(queue.popleft())
            rows += item.rows
        return batch

    def _dispatch(self) -> None:
        self._scheduled = False
        self._filling = None
        if self._running >= self._instances or not self._queue:
            return
        now = time.perf_counter()
        if self._delay and self._queue[0].enqueued <= self._last_done:
            # Under load (the oldest request queued while the model ran): let a
            # partial batch fill up to the delay. A request that found the model
            # idle never waits.
            oldest = self._queue[0].enqueued
            rows = sum(i.rows for i in self._queue)
            wait = oldest + self._delay - now
            if rows < self._max_rows and wait > 0:
                self._scheduled = True
                self._filling = asyncio.get_running_loop().call_later(wait, self._dispatch)
                return
        batch = self._take()
        if not batch:
            return
        self._running += 1
        if self.inline:
            try:
                results = self._run_batch(batch)
            finally:
                self._running -= 1
            self._finish(batch, results, now)
            return
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self._executor, self._run_batch, batch)
        fut.add_done_callback(lambda f: self._finish_threaded(batch, f, now))
        if self._queue and self._running < self._instances and not self._scheduled:
            self._scheduled = True  # another instance is free: start the next batch too
            loop.call_soon(self._dispatch)

    def _finish_threaded(self, batch: list[_Item], fut: asyncio.Future[list[Any]],
                         started: float) -> None:
        self._running -= 1
        if fut.cancelled():  # the executor shut down under it
            exc: BaseException | None = ModelNotReady("the model was unloaded while running")
        else:
            exc = fut.exception()
        results: list[Any] = [exc] * len(batch) if exc is not None else fut.result()
        self._finish(batch, results, started)

    def _finish(self, batch: list[_Item], results: list[Any], started: float) -> None:
        self._last_done = time.perf_counter()
        for item, result in zip(batch, results, strict=True):
            if item.timer is not None:
                item.timer.cancel()
            if item.future.done():
                continue
            if isinstance(result, BaseException):
                item.future.set_exception(result)
            else:
                item.future.set_result((result, started - item.enqueued))
        if self._queue and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _run_batch(self, batch: list[_Item]) -> list[Any]:
        """Run a batch; return one result (outputs or exception) per item, in order."""
        if len(batch) == 1:
            return [self._run_one(batch[0])]
        results: list[Any] = [None] * len(batch)
        groups: dict[Any, list[int]] = {}
        for i, item in enumerate(batch):
            groups.setdefault(item.key(), []).append(i)
        for indices in groups.values():
            if len(indices) == 1:
                results[indices[0]] = self._run_one(batch[indices[0]])
                continue
            items = [batch[i] for i in indices]
            try:
                split = self._run_concatenated(items)
            except Exception:  # one bad request must not fail its neighbours
                split = [self._run_one(item) for item in items]
            for i, out in zip(indices, split, strict=True):
                results[i] = out
        return results

    def _run_one(self, item: _Item) -> Any:
        if self._on_batch is not None:
            self._on_batch(item.rows)
        try:
            return self._run(item.feeds, item.outputs)
        except AugurError as exc:
            return exc
        except Exception as exc:  # a bug in the model or runtime: report, keep serving
            return AugurError(f"the model failed: {exc}")

    def _run_concatenated(self, items: list[_Item]) -> list[Any]:
        first = items[0]
        feeds = {name: np.concatenate([it.feeds[name] for it in items])
                 for name in first.feeds}
        total = sum(it.rows for it in items)
        if self._on_batch is not None:
            self._on_batch(total)
        outputs = self._run(feeds, first.outputs)
        if any(arr.ndim == 0 or arr.shape[0] != total for arr in outputs.values()):
            raise ValueError("outputs have no batch axis")
        if total == len(items) and 0 < len(outputs) <= 2:
            return _split_rows(outputs, total)
        split: list[Any] = []
        start = 0
        for it in items:
            end = start + it.rows
            split.append({name: arr[start:end] for name, arr in outputs.items()})
            start = end
        return split


def _split_rows(outputs: Feeds, rows: int) -> list[Any]:
    """Split one- or two-output results into one-row pieces (C-level row views, not slices)."""
    names = list(outputs)
    cols = [list(arr.reshape(rows, 1, *arr.shape[1:])) for arr in outputs.values()]
    if len(cols) == 1:
        a = names[0]
        return [{a: x} for x in cols[0]]
    a, b = names
    return [{a: x, b: y} for x, y in zip(cols[0], cols[1], strict=True)]


def _expire(item: _Item, timeout: float) -> None:
    if not item.future.done():
        item.future.set_exception(RequestTimeout(
            f"request timed out after {timeout * 1000:.0f} ms"))
