"""The protocol-neutral data plane: one request pipeline for every protocol.

Codecs (:mod:`augur.serving.codecs`) turn v2 JSON and binary bodies, gRPC messages
and plain JSON instances into one :class:`~augur.serving.types.InferenceRequest`;
:meth:`DataPlane.infer` then runs the same steps for all of them:

model resolution (name, version or alias) -> decoding (after resolution, so an
unknown model is a 404 before a malformed body is a 400) -> canary split ->
enrichment (hybrid lookups, feature assembly) -> feeds by the signature
(:mod:`augur.serving.feeds`) -> the version's adaptive batcher -> ONNX Runtime ->
write-backs -> shadow mirror (compared in the background) -> metrics.

Errors are :mod:`augur.errors` classes; each transport maps them through the one
table of :mod:`augur.http.status`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

import augur
from augur.errors import AugurError, InvalidName, InvalidReference, ModelNotFound
from augur.registry import DEFAULT_ALIAS, ModelVersion, parse_reference
from augur.serving.enrichment import Enricher
from augur.serving.feeds import request_feeds
from augur.serving.loaded import LoadedVersion
from augur.serving.manager import ModelManager
from augur.serving.traffic import TrafficPolicy, TrafficState, outputs_agree
from augur.serving.types import InferenceRequest, InferenceResponse, ResponseOutput

if TYPE_CHECKING:
    from augur.serving.batch_control import BatchControl
    from augur.serving.prediction_stores import PredictionStores

log = logging.getLogger("augur.serving")

EXTENSIONS = ["binary_tensor_data", "model_repository", "parameters"]

#: A decoded request, or how to decode one once the model is resolved.
RequestSource = InferenceRequest | Callable[[], InferenceRequest]

__all__ = ["DataPlane", "Enricher"]


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
            ModelNotFound, InvalidReference, InvalidName: the reference matches nothing
                or is malformed.
        """
        try:
            await self.manager.get(name, version)
        except (ModelNotFound, InvalidName, InvalidReference):
            raise
        except AugurError:
            return False
        return True

    # -- inference ------------------------------------------------------------------

    async def infer(self, name: str, version: str | None,
                    request: RequestSource) -> InferenceResponse:
        """Run one inference request, whatever protocol it came in.

        Args:
            name: model name or reference (``fraud``, ``fraud@canary``, ``fraud:3``).
            version: a version number as text (the v2 ``/versions/{v}`` segment), or
                ``None``; ``""`` counts as ``None`` (gRPC's "no version").
            request: the decoded request, or a callable that decodes it; it is called
                after the model resolved, so an unknown model is reported first.

        Raises:
            ModelNotFound, InvalidReference, InvalidName: the reference matches nothing.
            InvalidInput: the request does not fit the protocol or the signature.
            Overloaded, RequestTimeout, ModelNotReady, FeatureUnavailable.
        """
        started = time.perf_counter()
        version = version or None
        entry = self.manager.lookup(name, version) or await self._resolve(name, version)
        if not isinstance(request, InferenceRequest):
            try:
                request = request()
            except AugurError as exc:
                self.metrics.error(entry.name, entry.version_text, type(exc).__name__)
                raise
        state = self._traffic_for(name) if self.traffic and version is None else None
        if state is not None and state.pick_canary():
            entry = await self.manager.get(state.policy.canary or name)
            self.metrics.canary.labels(entry.name, entry.version_text).inc()
        feeds: dict[str, np.ndarray] = {}
        try:
            for enricher in self.enrichers:
                enriched = await enricher.enrich(entry, request)
                if isinstance(enriched, InferenceResponse):
                    entry.metrics.requests.inc()
                    entry.metrics.latency.observe(time.perf_counter() - started)
                    return enriched
                request = enriched
            feeds = request_feeds(entry, request)
            wanted = [o.name for o in request.outputs] if request.outputs else None
            result, queued = await entry.batcher.enqueue(feeds, wanted, request.timeout)
            for enricher in self.enrichers:
                await enricher.complete(entry, request, result)
        except AugurError as exc:
            self.metrics.error(entry.name, entry.version_text, type(exc).__name__)
            raise
        if state is not None and state.policy.shadow:
            self._mirror(state, entry, feeds, wanted, result)
        m = entry.metrics
        m.requests.inc()
        m.queue_time.observe(queued)
        m.latency.observe(time.perf_counter() - started)
        return InferenceResponse(entry.name, entry.version_text,
                                 [ResponseOutput(out, arr) for out, arr in result.items()],
                                 id=request.id)

    async def _resolve(self, name: str, version: str | None) -> LoadedVersion:
        try:
            return await self.manager.get(name, version)
        except AugurError as exc:  # unknown names share one label set (no cardinality blow-up)
            self.metrics.error("", "", type(exc).__name__)
            raise

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
        """Unload every version of a model; return how many were in memory.

        Raises:
            ModelNotFound: nothing was loaded and no such model is registered.
        """
        count = await self.manager.unload(name)
        if not count:
            await self.manager.run_blocking(self.manager.registry.versions,
                                            parse_reference(name).name)
        return count
