"""The local engine: read, predict and write at the same time, in bounded memory.

One thread reads chunks and hands each to a small thread pool for inference
(ONNX Runtime releases the GIL, so chunks really run in parallel); the calling
thread takes the results back in source order and commits them. At most
``workers + 2`` chunks are in memory at once, whatever the input size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from augur.batch.inference import ChunkPredictor
from augur.batch.predictions import PredictionChunk, Progress
from augur.batch.sink import Sink
from augur.batch.sources import Source

_DONE = object()


@dataclass(frozen=True)
class EngineTask:
    """What an engine needs to run a job's chunks.

    Attributes:
        run_id, model, version: written with every prediction.
        chunk_size: rows per chunk.
        start: progress already committed (chunks before ``start.chunks`` are skipped).
        on_commit: called after each chunk commits, with the new progress and the chunk.
    """

    run_id: str
    model: str
    version: int
    chunk_size: int
    start: Progress
    on_commit: Callable[[Progress, PredictionChunk], None]


class LocalEngine:
    """Runs a job in this process with overlapped reading, inference and writing.

    Args:
        workers: chunks predicted at once.
    """

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, workers)

    def run(self, source: Source, sink: Sink, predictor: ChunkPredictor,
            task: EngineTask) -> Progress:
        """Predict every chunk after ``task.start`` and commit each to ``sink`` in order.

        Returns:
            The final progress.

        Raises:
            Whatever reading, predicting or writing raised first; chunks before it
            stay committed.
        """
        futures: queue.Queue[Any] = queue.Queue(maxsize=self.workers + 1)
        stop = threading.Event()
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="augur-batch-predict")

        def read() -> None:
            offset = 0
            try:
                for index, frame in enumerate(source.chunks(task.chunk_size)):
                    if stop.is_set():
                        return
                    n = len(frame)
                    if index >= task.start.chunks:
                        fut = pool.submit(predictor.predict_chunk, index, frame, offset)
                        _put(futures, fut, stop)
                    offset += n
            except BaseException as exc:  # handed to the writer, which re-raises it
                _put(futures, exc, stop)
            finally:
                _put(futures, _DONE, stop)

        reader = threading.Thread(target=read, name="augur-batch-read", daemon=True)
        reader.start()
        progress = task.start
        try:
            while True:
                item = futures.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                chunk: PredictionChunk = item.result()
                progress = progress.advance(chunk)
                sink.write(task.run_id, task.model, task.version, chunk, progress)
                task.on_commit(progress, chunk)
        finally:
            stop.set()
            _drain(futures)
            reader.join(timeout=30)
            pool.shutdown(wait=True, cancel_futures=True)
        return progress


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


def _drain(q: queue.Queue[Any]) -> None:
    while True:
        try:
            item = q.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, Future):
            item.cancel()
