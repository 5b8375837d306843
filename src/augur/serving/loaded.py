"""One model version in the server's memory: the runtime model, its batcher,
its validator and its precomputed metric children."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any

from augur.registry import ModelVersion, Registry
from augur.runtime import LoadedModel, RuntimeOptions, load, tuned_options
from augur.serving.batcher import AdaptiveBatcher
from augur.serving.metrics import ServerMetrics, VersionMetrics
from augur.serving.settings import ModelSettings, ServerSettings
from augur.serving.validation import FeedValidator, warmup_feeds

log = logging.getLogger("augur.serving")

#: A warm-up run slower than this puts the model on a worker thread (``auto``),
#: so a long run never stalls the event loop.
INLINE_LIMIT_S = 0.002


class LoadedVersion:
    """A version ready for requests.

    Attributes:
        name, version: which version (``version_text`` is its label).
        model: the runtime model.
        batcher: its adaptive batcher.
        validator: its request validator.
        metrics: label children for its requests.
        size: artifact bytes (what the memory budget counts).
        load_seconds: time to create the session and warm it.
        last_used: a counter the manager bumps per request (for LRU).
    """

    __slots__ = ("batcher", "last_used", "load_seconds", "metadata", "metrics", "model", "name",
                 "size", "validator", "version", "version_text")

    def __init__(self, model: LoadedModel, mv: ModelVersion, batcher: AdaptiveBatcher,
                 metrics: VersionMetrics, load_seconds: float) -> None:
        self.model = model
        self.name = mv.name
        self.version = mv.version
        self.version_text = str(mv.version)
        self.batcher = batcher
        self.validator = FeedValidator(mv.signature)
        self.metrics = metrics
        self.size = mv.size
        self.load_seconds = load_seconds
        self.last_used = 0
        self.metadata: dict[str, Any] = {
            "name": mv.name,
            "versions": [str(mv.version)],
            "platform": "onnxruntime_onnx",
            "inputs": [s.to_dict() for s in mv.signature.inputs],
            "outputs": [s.to_dict() for s in mv.signature.outputs],
        }

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


def tuned_batching(model_settings: ModelSettings, options: RuntimeOptions,
                   explicit: frozenset[str]) -> ModelSettings:
    """The batching settings of a version: its tuned batch size, delay and instances,
    unless the model's own settings (``[models.NAME]``) name them explicitly."""
    changes: dict[str, Any] = {}
    if options.batch_size is not None and "max_batch_size" not in explicit:
        changes["max_batch_size"] = max(1, int(options.batch_size))
    if options.batch_delay_ms is not None and "max_delay_ms" not in explicit:
        changes["max_delay_ms"] = max(0.0, float(options.batch_delay_ms))
    if options.instances is not None and "instances" not in explicit:
        changes["instances"] = max(1, int(options.instances))
    return replace(model_settings, **changes) if changes else model_settings


def load_version(registry: Registry, mv: ModelVersion, settings: ServerSettings,
                 metrics: ServerMetrics, executor: Executor) -> LoadedVersion:
    """Load and warm one version (blocking: call it from a worker thread).

    Raises:
        InvalidArtifact: ONNX Runtime cannot load the artifact.
        AugurError: the warm-up run failed; the version must not take traffic.
    """
    started = time.perf_counter()
    model_settings = settings.for_model(mv.name)
    options = tuned_options(registry, mv) or RuntimeOptions(
        intra_op_threads=model_settings.intra_op_threads)
    model = load(mv, registry=registry, options=options)
    model_settings = tuned_batching(model_settings, options,
                                    settings.model_overrides.get(mv.name, frozenset()))
    run_seconds = 0.0
    if settings.warmup:
        feeds = warmup_feeds(mv.signature)
        model.run(feeds)  # the first run pays for lazy initialisation
        t0 = time.perf_counter()
        model.run(feeds)
        run_seconds = time.perf_counter() - t0
    executor_kind = model_settings.executor
    inline = executor_kind == "inline" or (executor_kind == "auto"
                                           and run_seconds < INLINE_LIMIT_S)
    vm = metrics.for_version(mv.name, str(mv.version))
    batch_rows = vm.batch_size.observe
    batcher = AdaptiveBatcher(model.run, model_settings, inline=inline, executor=executor,
                              on_batch=batch_rows)
    return LoadedVersion(model, mv, batcher, vm, time.perf_counter() - started)
