"""One model version in the server's memory: the runtime model, its batcher,
its validator, its precomputed metric children and what it costs in memory.

A version's cost is measured when it loads: the growth of the process's resident
memory across session creation and warm-up (ORT arenas, prepacked weights,
constant-folded tensors), taken under a process-wide lock so that two loads never
see each other's growth. Freed heap pages are handed back to the OS (glibc's
``malloc_trim``) on both sides of the measure, so a load cannot hide in pages an
evicted version left behind and is not charged its own garbage (the artifact bytes);
the trim before is skipped where nothing was freed since the last one.

A version is measured once: loaded again (after an eviction) it is charged the growth
measured the first time, and its load is not measured. Such a load trims only once
more than a share of the budget may sit freed in the heap (:data:`TRIM_SHARE`): every
page a trim hands back faults in again in the loads that follow (serving_many_models,
1.2 MB models, 64 MB budget: a load's mean time was ~27 ms with a trim on each side
of every load, ~22 ms with this rule, ~13-16 ms with no trim on reloads, which let
the peak resident memory grow ~40-60 MiB more).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

from augur.registry import ModelVersion, Registry
from augur.runtime import LoadedModel, RuntimeOptions, load, load_bytes, tuned_options
from augur.runtime.validation import FeedValidator, warmup_feeds
from augur.serving.batcher import AdaptiveBatcher
from augur.serving.metrics import ServerMetrics, VersionMetrics
from augur.serving.settings import ModelSettings, ServerSettings

log = logging.getLogger("augur.serving")

#: A warm-up run slower than this puts the model on a worker thread (``auto``),
#: so a long run never stalls the event loop.
INLINE_LIMIT_S = 0.002

#: Resident-memory growth below this is not charged: the heap grows in steps, a
#: worker thread's first load creates its malloc arena and requests served meanwhile
#: allocate too, so a small growth says nothing about the version (it is charged
#: its artifact).
MEASURE_FLOOR_BYTES = 2**20

# RSS is process-wide: every measured section in the process takes this lock, or
# concurrent loads (of any server in the process) would each be charged the other's
# growth. It is the one process-wide object here, because the resource is.
_MEASURE_LOCK = threading.Lock()

#: An unmeasured load trims once dropped versions and unmeasured loads' garbage may
#: hold more than ``1/TRIM_SHARE`` of the memory budget freed but resident (the
#: process's resident memory grows by about that much, the loads skip most trims).
TRIM_SHARE = 2


@dataclass(frozen=True)
class MeasureCounts:
    """Loads measured and trims done by one meter (for tests and diagnostics)."""

    measures: int
    trims: int


class MemoryMeter:
    """Measures loads and tracks the bytes freed to the heap since the last trim.

    One per model manager. The estimate of freed bytes grows when the manager drops a
    version (its cost) and when an unmeasured load leaves its artifact behind; what
    came before the first trim is unknown, so the first load trims.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending = 1
        self.measures = 0
        self.trims = 0

    def freed(self, nbytes: int) -> None:
        """Count ``nbytes`` as freed to the heap (a dropped version, a load's garbage)."""
        with self._lock:
            self.pending += nbytes

    def trim(self) -> None:
        """Hand freed heap pages back to the OS now."""
        with self._lock:
            self.pending = 0
            self.trims += 1
        _release_freed_memory()

    def counts(self) -> MeasureCounts:
        """How many loads this meter measured and how many trims it did."""
        return MeasureCounts(self.measures, self.trims)


def resident_bytes() -> int | None:
    """Resident memory of this process (``None`` where ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim with
        return None
    return trim


def _release_freed_memory() -> None:
    """Hand the heap pages freed by dropped versions back to the OS (glibc only).

    Without it a load reuses those pages, its resident-memory growth reads as zero
    and the version would be charged only its artifact; the process also keeps the
    memory of every version it ever evicted."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _prime_runtime() -> None:
    """Pay ONNX Runtime's one-off start-up (library pages, first session) outside any
    measurement, so the first version loaded is not charged tens of megabytes."""
    import numpy as np
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "augur-prime",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    load_bytes(model.SerializeToString()).run({"x": np.zeros(1, dtype=np.float32)})


class LoadedVersion:
    """A version ready for requests.

    Attributes:
        name, version: which version (``version_text`` is its label).
        model: the runtime model.
        batcher: its adaptive batcher.
        validator: its request validator (the runtime model's).
        strict_datatypes: refuse tensors whose declared datatype is not the
            signature's (``convert_datatypes = false``, the default).
        metrics: label children for its requests.
        artifact_bytes: bytes of the ONNX artifact.
        measured_bytes: resident-memory growth across session creation and
            warm-up (0 where it could not be measured).
        cost: bytes charged against the memory budget (see :attr:`cost`).
        load_seconds: time to create the session and warm it.
        last_used: a counter the manager bumps per request (for LRU).
    """

    __slots__ = ("artifact_bytes", "batcher", "last_used", "load_seconds", "measured_bytes",
                 "metrics", "model", "name", "strict_datatypes", "validator", "version",
                 "version_text")

    def __init__(self, model: LoadedModel, mv: ModelVersion, batcher: AdaptiveBatcher,
                 metrics: VersionMetrics, load_seconds: float, measured_bytes: int = 0,
                 strict_datatypes: bool = True) -> None:
        self.model = model
        self.name = mv.name
        self.version = mv.version
        self.version_text = str(mv.version)
        self.batcher = batcher
        self.validator: FeedValidator = model.validator
        self.strict_datatypes = strict_datatypes
        self.metrics = metrics
        self.artifact_bytes = mv.size
        self.measured_bytes = measured_bytes
        self.load_seconds = load_seconds
        self.last_used = 0

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def cost(self) -> int:
        """Bytes charged against the memory budget (see :func:`charge`)."""
        return charge(self.artifact_bytes, self.measured_bytes)


def charge(artifact_bytes: int, measured_bytes: int) -> int:
    """Bytes a version is charged: its measured growth, or its artifact bytes where
    those are more or the growth is below the noise floor."""
    measured = measured_bytes if measured_bytes >= MEASURE_FLOOR_BYTES else 0
    return max(artifact_bytes, measured)


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
                 metrics: ServerMetrics, executor: Executor, meter: MemoryMeter,
                 measured_before: int | None = None) -> LoadedVersion:
    """Load and warm one version (blocking: call it from a worker thread).

    Args:
        meter: the manager's memory meter (measures, trims, freed bytes).
        measured_before: the growth measured when this version loaded before; given,
            the version is charged it again and this load is not measured.

    Raises:
        InvalidArtifact: ONNX Runtime cannot load the artifact.
        AugurError: the warm-up run failed; the version must not take traffic.
    """
    started = time.perf_counter()
    model_settings = settings.for_model(mv.name)
    options = tuned_options(registry, mv) or RuntimeOptions(
        intra_op_threads=model_settings.intra_op_threads)
    run_seconds = 0.0
    before = after = None
    # An unmeasured load takes the lock too: its growth must not land in another's measure.
    with _MEASURE_LOCK:
        _prime_runtime()
        if measured_before is None:
            meter.measures += 1
            if meter.pending:  # else there are no freed pages the load could hide in
                meter.trim()
            before = resident_bytes()
        elif meter.pending > (settings.memory_budget or 0) // TRIM_SHARE:
            meter.trim()
        meter.freed(mv.size)  # its garbage, unless the measure's trim after hands it back
        model = load(mv, registry=registry, options=options)
        if settings.warmup:
            feeds = warmup_feeds(mv.signature)
            model.run(feeds)  # the first run pays for lazy initialisation (and grows arenas)
            t0 = time.perf_counter()
            model.run(feeds)
            run_seconds = time.perf_counter() - t0
        if measured_before is None:
            meter.trim()  # the artifact's bytes and parsed copy are garbage now
            after = resident_bytes()
    if measured_before is not None:
        measured = measured_before
    else:
        measured = max(0, after - before) if before is not None and after is not None else 0
    model_settings = tuned_batching(model_settings, options,
                                    settings.model_overrides.get(mv.name, frozenset()))
    executor_kind = model_settings.executor
    inline = executor_kind == "inline" or (executor_kind == "auto"
                                           and run_seconds < INLINE_LIMIT_S)
    vm = metrics.for_version(mv.name, str(mv.version))
    batch_rows = vm.batch_size.observe
    batcher = AdaptiveBatcher(model.run, model_settings, inline=inline, executor=executor,
                              on_batch=batch_rows)
    return LoadedVersion(model, mv, batcher, vm, time.perf_counter() - started, measured,
                         strict_datatypes=not model_settings.convert_datatypes)
