"""The Ray engine: the same job on Ray Data, for more than one machine.

Every call into Ray goes through :class:`RayCluster`, so the logic around it
(turning Ray's output back into committed chunks) reads like the local engine
and could be tested with a fake cluster. The model travels to the actors as
the registry's artifact bytes; each actor builds its own ONNX Runtime session
and runs the very same :class:`~augur.batch.inference.ChunkPredictor` as the
local engine, so both engines store identical predictions.

Parquet inputs are read by Ray itself (``read_parquet``); other inputs are
read here chunk by chunk and handed to Ray (so they must fit in memory). A Ray
run is not resumed chunk by chunk: rerunning it from the start is safe because
every sink upserts by (key, model).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from augur.batch.engine import EngineTask
from augur.batch.inference import BadRows, ChunkPredictor
from augur.batch.predictions import PredictionChunk, Progress, RowError
from augur.batch.sink import Sink
from augur.batch.sources import ParquetSource, Source
from augur.errors import ServiceUnavailable
from augur.registry import ModelVersion, Registry
from augur.runtime import load_bytes
from augur.signature import Signature


class RayPredictorActor:
    """Held by each Ray actor: one ONNX Runtime session, predicting pandas batches.

    Returns one output row per input row, in order: ``key``, ``outputs`` (JSON,
    or null) and ``error`` (the reason, or null).
    """

    def __init__(self, artifact: bytes, signature: dict[str, Any], key: str) -> None:
        model = load_bytes(artifact, Signature.from_dict(signature))
        self.predictor = ChunkPredictor(model, key)

    def __call__(self, frame: Any) -> Any:
        import pandas as pd

        chunk = self.predictor.predict_chunk(0, frame, 0)
        n = chunk.rows_in
        keys: list[str | None] = [None] * n
        outputs: list[str | None] = [None] * n
        errors: list[str | None] = [None] * n
        bad = np.zeros(n, dtype=bool)
        for e in chunk.errors:
            bad[e.row], keys[e.row], errors[e.row] = True, e.key, e.reason
        for pos, k, o in zip(np.flatnonzero(~bad).tolist(), chunk.keys, chunk.outputs,
                             strict=True):
            keys[pos], outputs[pos] = k, o
        return pd.DataFrame({"key": keys, "outputs": outputs, "error": errors})


class RayCluster:
    """The one wrapper around Ray: start or join a cluster, build and run datasets.

    Args:
        address: a cluster to join (``ray://host:10001`` or ``host:6379``);
            ``None`` starts a local one.
        num_cpus: CPUs of a local cluster (default: all).
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._started = False

    def start(self) -> None:
        """Connect, starting a local cluster when no address is given.

        Raises:
            ServiceUnavailable: the cluster cannot be reached.
        """
        import ray

        if ray.is_initialized():
            return
        try:
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ServiceUnavailable(f"cannot reach the Ray cluster at {self.address}: "
                                     f"{exc}") from exc
        self._started = True
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # rows come back in source order
        ctx.enable_progress_bars = False

    def shutdown(self) -> None:
        """Disconnect (and stop the local cluster) if :meth:`start` connected."""
        import ray

        if self._started:
            ray.shutdown()
            self._started = False

    def read_parquet(self, paths: list[str]) -> Any:
        import ray

        return ray.data.read_parquet(paths)

    def from_frames(self, frames: list[Any]) -> Any:
        import ray

        return ray.data.from_pandas(frames)

    def predict(self, dataset: Any, artifact: bytes, signature: dict[str, Any], key: str,
                batch_size: int, actors: int) -> Any:
        """Map ``dataset`` through a pool of :class:`RayPredictorActor`."""
        return dataset.map_batches(RayPredictorActor, batch_size=batch_size,
                                   batch_format="pandas", concurrency=actors, num_cpus=1,
                                   fn_constructor_kwargs={"artifact": artifact,
                                                          "signature": signature, "key": key})

    def iter_frames(self, dataset: Any, batch_size: int) -> Any:
        return dataset.iter_batches(batch_size=batch_size, batch_format="pandas")


class RayEngine:
    """Runs a job on Ray Data and commits its output to the sink chunk by chunk.

    Args:
        address: the cluster (default: a local one).
        actors: model actors in the pool.
        num_cpus: CPUs of a local cluster.
        cluster: an already built cluster wrapper (tests, or to share one).
    """

    def __init__(self, address: str | None = None, *, actors: int = 1,
                 num_cpus: int | None = None, cluster: RayCluster | None = None) -> None:
        self.cluster = cluster or RayCluster(address, num_cpus)
        self.actors = actors

    def run(self, source: Source, sink: Sink, predictor: ChunkPredictor, task: EngineTask,
            registry: Registry, version: ModelVersion) -> Progress:
        """Predict the whole source on Ray; return the final progress.

        Raises:
            ServiceUnavailable: Ray cannot start or be reached.
            BadRows: a row failed and the predictor has ``fail_fast``.
        """
        self.cluster.start()
        try:
            if isinstance(source, ParquetSource):
                dataset = self.cluster.read_parquet([str(f) for f in source.files()])
            else:
                dataset = self.cluster.from_frames(list(source.chunks(task.chunk_size)))
            mapped = self.cluster.predict(dataset, registry.read_artifact(version),
                                          version.signature.to_dict(), predictor.key,
                                          task.chunk_size, self.actors)
            progress, offset = Progress(), 0
            for index, frame in enumerate(self.cluster.iter_frames(mapped, task.chunk_size)):
                chunk = _chunk_of(index, frame, offset)
                if chunk.errors and predictor.fail_fast:
                    e = chunk.errors[0]
                    raise BadRows(f"row {e.row} (key {e.key!r}): {e.reason}")
                offset += chunk.rows_in
                progress = progress.advance(chunk)
                sink.write(task.run_id, task.model, task.version, chunk, progress)
                task.on_commit(progress, chunk)
            return progress
        finally:
            self.cluster.shutdown()


def _chunk_of(index: int, frame: Any, offset: int) -> PredictionChunk:
    failed = frame["error"].notna().to_numpy()
    keys = frame["key"].tolist()
    outputs = frame["outputs"].tolist()
    reasons = frame["error"].tolist()
    chunk = PredictionChunk(index=index, rows_in=len(frame))
    chunk.keys = [k for k, f in zip(keys, failed, strict=True) if not f]
    chunk.outputs = [o for o, f in zip(outputs, failed, strict=True) if not f]
    chunk.errors = [RowError(row=offset + int(i), key=keys[i], reason=reasons[i])
                    for i in np.flatnonzero(failed).tolist()]
    return chunk
