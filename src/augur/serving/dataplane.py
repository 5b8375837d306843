"""The protocol-neutral data plane every transport (REST, gRPC) calls.

Transports decode their wire format into :mod:`augur.serving.types`, call one
method here, and encode the result; errors are :mod:`augur.errors` classes that
each transport maps to its own status codes.

A request flows: model resolution (name, version or alias; canary split) ->
enrichment -> validation -> the version's adaptive batcher -> ONNX Runtime ->
response (and, with a shadow, a mirrored copy compared in the background).

Extension point: enrichment (:mod:`augur.serving.enrichment`) runs after resolution
and before validation, for every transport.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np

import augur
from augur.errors import AugurError, InvalidInput, ModelNotFound
from augur.registry import DEFAULT_ALIAS, ModelVersion, parse_reference
from augur.runtime import to_feeds
from augur.serving.enrichment import Enricher, Enrichment
from augur.serving.loaded import LoadedVersion
from augur.serving.manager import ModelManager
from augur.serving.traffic import TrafficPolicy, TrafficState, outputs_agree
from augur.serving.types import InferenceRequest, InferenceResponse, ResponseOutput
from augur.signature import NUMPY_TO_V2

if TYPE_CHECKING:
    from augur.serving.batch_control import BatchControl
    from augur.serving.prediction_stores import PredictionStores

log = logging.getLogger("augur.serving")

EXTENSIONS = ["binary_tensor_data", "model_repository", "parameters"]

__all__ = ["DataPlane", "Enricher", "Enrichment"]


class DataPlane:
    """Health, metadata, inference and model control, for every transport.

    Args:
        manager: the model manager (owns loading, routing and eviction).
        enrichers: steps run before validation, in order.
    """

    def __init__(self, manager: ModelManager, enrichers: list[Enricher] | None = None) -> None:
        self.manager = manager
        self.metrics = manager.metrics
        self.enrichers = list(enrichers or [])
        #: the prediction stores of lookups and hybrid models (set by create_dataplane)
        self.predictions: PredictionStores | None = None
        #: schedules and batch runs started by this server (set by create_dataplane)
        self.batch: BatchControl | None = None
        self.traffic: dict[str, TrafficState] = {}
        self._base_names: dict[str, str | None] = {}
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self._ready = False
        self._preload_errors: dict[str, str] = {}
        for name, ms in manager.settings.models.items():
            if ms.canary or ms.shadow:
                self.set_traffic(name, TrafficPolicy(ms.canary, ms.canary_percent, ms.shadow))

    async def start(self) -> None:
        """Start the manager and load the preloaded references."""
        await self.manager.start()
        for ref in self.manager.settings.preload:
            try:
                await self.manager.load(ref)
            except AugurError as exc:
                self._preload_errors[ref] = str(exc)
                log.error("preloading %s failed: %s", ref, exc)
        self._ready = True

    async def stop(self) -> None:
        """Finish shadow comparisons and stop the manager."""
        self._ready = False
        if self._shadow_tasks:
            await asyncio.gather(*self._shadow_tasks, return_exceptions=True)
        await self.manager.stop()
        for enricher in self.enrichers:
            close = getattr(enricher, "close", None)
            if close is not None:
                close()
        if self.predictions is not None:
            self.predictions.close()

    # -- health and metadata ------------------------------------------------------

    async def live(self) -> bool:
        """Whether the server process answers."""
        return True

    async def ready(self) -> bool:
        """Whether the server started and every preloaded model is loaded."""
        return self._ready and not self._preload_errors

    async def server_metadata(self) -> dict[str, Any]:
        """v2 server metadata: name, version, extensions."""
        return {"name": "augur", "version": augur.__version__, "extensions": EXTENSIONS}

    async def model_metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        """v2 model metadata of the version a reference resolves to.

        Raises:
            ModelNotFound, InvalidReference: the reference matches nothing.
        """
        key = await self.manager.resolve(name, version)
        mv: ModelVersion = await self.manager.run_blocking(self.manager.registry.get, *key)
        versions: list[ModelVersion] = await self.manager.run_blocking(
            self.manager.registry.versions, key[0])
        sig = mv.signature
        return {
            "name": mv.name,
            "versions": [str(v.version) for v in versions],
            "platform": "onnxruntime_onnx",
            "inputs": [s.to_dict() for s in sig.inputs],
            "outputs": [s.to_dict() for s in sig.outputs],
            "parameters": {"version": str(mv.version), "framework": mv.framework,
                           "task": sig.task, "columns": [c.name for c in sig.columns]},
        }

    async def model_ready(self, name: str, version: str | None = None) -> bool:
        """Whether the version would answer now; loads it (lazily) if it can.

        Raises:
            ModelNotFound, InvalidReference: the reference matches nothing.
        """
        try:
            await self.manager.get(name, version)
        except ModelNotFound:
            raise
        except AugurError:
            return False
        return True

    # -- inference ------------------------------------------------------------------

    async def infer(self, name: str, version: str | None,
                    request: InferenceRequest) -> InferenceResponse:
        """Run one v2 inference request.

        Args:
            name: model name or reference (``fraud``, ``fraud@canary``).
            version: a version number as text, or ``None``.
            request: decoded inputs; ``parameters["timeout"]`` (microseconds, as in
                Triton) bounds the wait; ``parameters["binary_data_output"]`` asks
                for every output in the binary extension.

        Raises:
            ModelNotFound, InvalidInput, Overloaded, RequestTimeout, ModelNotReady.
        """
        started = time.perf_counter()
        version = version or None  # gRPC sends "" for "no version"
        entry = self.manager.lookup(name, version) or await self._resolve(name, version)
        state = self._traffic_for(name) if self.traffic and version is None else None
        if state is not None and state.pick_canary():
            entry = await self.manager.get(state.policy.canary or name)
            self.metrics.canary.labels(entry.name, entry.version_text).inc()
        try:
            if self.enrichers:
                enriched = await self._enrich(entry, request)
                if isinstance(enriched, InferenceResponse):
                    entry.metrics.requests.inc()
                    entry.metrics.latency.observe(time.perf_counter() - started)
                    return enriched
                request = enriched
            feeds: dict[str, np.ndarray] = {}
            for tensor in request.inputs:
                if tensor.name in feeds:
                    raise InvalidInput(f"input {tensor.name!r} is given twice")
                feeds[tensor.name] = tensor.data
            feeds = entry.validator.check(feeds)
            wanted = [o.name for o in request.outputs] if request.outputs else None
            timeout = _timeout_seconds(request.parameters) if request.parameters else None
            result, queued = await entry.batcher.enqueue(feeds, wanted, timeout)
            for enricher in self.enrichers:
                await enricher.complete(entry, request, result)
        except AugurError as exc:
            self.metrics.error(entry.name, entry.version_text, type(exc).__name__)
            raise
        if state is not None and state.policy.shadow:
            self._mirror(state, entry, feeds, wanted, result)
        binary = _binary_outputs(request) if request.parameters or request.outputs else None
        if binary is None:
            outputs = [ResponseOutput(out, _DATATYPES.get(arr.dtype) or _datatype(arr),
                                      list(arr.shape), arr, False)
                       for out, arr in result.items()]
        else:
            outputs = [ResponseOutput(out, _datatype(arr), list(arr.shape), arr,
                                      binary is True or (isinstance(binary, set) and out in binary))
                       for out, arr in result.items()]
        m = entry.metrics
        m.requests.inc()
        m.queue_time.observe(queued)
        m.latency.observe(time.perf_counter() - started)
        return InferenceResponse(entry.name, entry.version_text, outputs, id=request.id)

    async def predict(self, name: str, instances: Any) -> tuple[LoadedVersion, list[Any]]:
        """Plain JSON prediction: rows or records in, one prediction per row out.

        Returns:
            The version that answered and the predictions (a value per row for a
            one-output model, else a mapping of output name to value).

        Raises:
            InvalidInput: the instances do not match the signature.
        """
        if not isinstance(instances, list) or not instances:
            raise InvalidInput('"instances" must be a non-empty list of rows or records')
        started = time.perf_counter()
        entry = self.manager.lookup(name, None) or await self._resolve(name, None)
        try:
            after: list[Callable[[dict[str, np.ndarray]], Awaitable[None]]] = []
            feeds: dict[str, np.ndarray] | None = None
            for enricher in self.enrichers:
                done = await enricher.enrich_instances(entry, instances)
                if done.predictions is not None:
                    entry.metrics.requests.inc()
                    entry.metrics.latency.observe(time.perf_counter() - started)
                    return entry, done.predictions
                if done.after is not None:
                    after.append(done.after)
                if done.feeds is not None:
                    feeds = done.feeds
                    break
                if done.instances is not None:
                    instances = done.instances
            if feeds is None:
                feeds = to_feeds(entry.model.signature, instances)
            result, queued = await entry.batcher.submit(feeds)
            for callback in after:
                await callback(result)
        except AugurError as exc:
            self.metrics.error(entry.name, entry.version_text, type(exc).__name__)
            raise
        columns: dict[str, Any] = {}
        for key, arr in result.items():
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr[:, 0]
            # float32 stays numpy so orjson prints it at float32 precision
            columns[key] = arr if arr.dtype.kind == "f" else arr.tolist()
        predictions: list[Any]
        if len(columns) == 1:
            predictions = list(next(iter(columns.values())))
        else:
            n = len(next(iter(columns.values())))
            predictions = [{k: v[i] for k, v in columns.items()} for i in range(n)]
        entry.metrics.requests.inc()
        entry.metrics.queue_time.observe(queued)
        entry.metrics.latency.observe(time.perf_counter() - started)
        return entry, predictions

    async def _resolve(self, name: str, version: str | None) -> LoadedVersion:
        try:
            return await self.manager.get(name, version)
        except AugurError as exc:  # unknown names share one label set (no cardinality blow-up)
            self.metrics.error("", "", type(exc).__name__)
            raise

    async def _enrich(self, entry: LoadedVersion,
                      request: InferenceRequest) -> InferenceRequest | InferenceResponse:
        for enricher in self.enrichers:
            out = await enricher.enrich(entry, request)
            if isinstance(out, InferenceResponse):
                return out
            request = out
        return request

    # -- canary and shadow ------------------------------------------------------------

    def set_traffic(self, name: str, policy: TrafficPolicy) -> None:
        """Set (or with an inactive policy, clear) the canary and shadow of ``name``."""
        base = parse_reference(name).name
        if policy.active:
            self.traffic[base] = TrafficState(policy)
        else:
            self.traffic.pop(base, None)

    def _traffic_for(self, name: str) -> TrafficState | None:
        base = self._base_names.get(name, "")
        if base == "":
            try:
                ref = parse_reference(name)
            except AugurError:
                return None
            applies = ref.version is None and ref.alias in (None, DEFAULT_ALIAS)
            base = ref.name if applies else None
            self._base_names[name] = base
        return self.traffic.get(base) if base is not None else None

    def _mirror(self, state: TrafficState, primary: LoadedVersion,
                feeds: dict[str, np.ndarray], wanted: list[str] | None,
                result: dict[str, np.ndarray]) -> None:
        task = asyncio.create_task(self._shadow(state, primary, feeds, wanted, result))
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def _shadow(self, state: TrafficState, primary: LoadedVersion,
                      feeds: dict[str, np.ndarray], wanted: list[str] | None,
                      result: dict[str, np.ndarray]) -> None:
        stats = state.shadow_stats
        shadow_version = "?"
        try:
            shadow = await self.manager.get(state.policy.shadow or primary.name)
            shadow_version = shadow.version_text
            if shadow.batcher.pending >= shadow.batcher.settings.max_queue_size:
                stats.dropped += 1
                outcome = "dropped"
            else:
                answer, _ = await shadow.batcher.submit(shadow.validator.check(feeds), wanted)
                agree = outputs_agree(result, answer)
                outcome = "agree" if agree else "disagree"
                if agree:
                    stats.agree += 1
                else:
                    stats.disagree += 1
        except AugurError as exc:
            stats.errors += 1
            outcome = "error"
            log.warning("shadow %s failed: %s", state.policy.shadow, exc)
        self.metrics.shadow.labels(primary.name, primary.version_text, shadow_version,
                                   outcome).inc()

    # -- model control ------------------------------------------------------------------

    async def repository_index(self, ready_only: bool = False) -> list[dict[str, Any]]:
        """v2 repository index: every registered model and its state."""
        models = await self.manager.run_blocking(self.manager.registry.list_models)
        loaded: dict[str, list[LoadedVersion]] = {}
        for entry in self.manager.loaded():
            loaded.setdefault(entry.name, []).append(entry)
        index: list[dict[str, Any]] = []
        for info in models:
            for entry in sorted(loaded.get(info.name, []), key=lambda e: e.version):
                index.append({"name": info.name, "version": entry.version_text,
                              "state": "READY", "reason": ""})
            if info.name not in loaded and not ready_only:
                failed = [f for f in self.manager.failures.values() if f.name == info.name]
                index.append({"name": info.name, "version": str(info.latest or ""),
                              "state": "UNAVAILABLE",
                              "reason": failed[-1].error if failed else "not loaded"})
        return index

    async def load_model(self, name: str) -> LoadedVersion:
        """Load (and warm) the version ``name`` resolves to."""
        return await self.manager.load(name)

    async def unload_model(self, name: str) -> int:
        """Unload every version of a model; return how many were in memory."""
        return await self.manager.unload(name)


def _timeout_seconds(parameters: dict[str, Any]) -> float | None:
    if not parameters or "timeout" not in parameters:
        return None
    value = parameters["timeout"]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidInput(f'parameter "timeout" must be a positive number of microseconds, '
                           f"got {value!r}")
    return float(value) / 1e6


def _binary_outputs(request: InferenceRequest) -> bool | set[str] | None:
    if request.parameters and request.parameters.get("binary_data_output"):
        return True
    if request.outputs:
        chosen = {o.name for o in request.outputs if o.binary_data}
        return chosen or None
    return None


_DTYPE_NAMES: dict[str, str] = dict(NUMPY_TO_V2)
#: v2 datatype by numpy dtype, filled as outputs are seen (a dict hit per output)
_DATATYPES: dict[np.dtype[Any], str] = {}


def _datatype(arr: np.ndarray) -> str:
    name = _DTYPE_NAMES.get(arr.dtype.str)
    if name is None:
        name = "BYTES" if arr.dtype.kind in "OUS" else NUMPY_TO_V2.get(
            arr.dtype.newbyteorder("=").str, "BYTES")
    if len(_DATATYPES) < 64:
        _DATATYPES[arr.dtype] = name
    return name
