"""The multi-model manager: which versions are in memory and where refs point.

Versions load lazily on first use (concurrent first requests share one load),
are warmed before they take traffic, and idle ones are evicted least recently
used first to stay under the memory budget. The budget counts each version's
cost as measured when it first loaded (see :attr:`LoadedVersion.cost`); a
version's cost is remembered, so loading it again makes room for what it really
takes and is not measured again.
References (``fraud``, ``fraud@canary``, ``fraud`` + version ``3``) resolve
through a route table keyed by the reference as sent. Only canonical spellings get
that far (the registry refuses whitespace, leading zeros and non-ASCII digits), and
the table is bounded (:data:`MAX_ROUTES`, oldest first out), so no spelling game
can grow it. When the registry's alias epoch moves, the routes that follow aliases
are re-resolved from one read of every model's aliases, in memory; a moved alias
switches only after its new version loaded and warmed, and a version that fails
to load never takes traffic (the old route stays, the failure is reported).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from augur.errors import AugurError, InvalidReference, ModelNotFound, ModelNotReady, Overloaded
from augur.http import error_message
from augur.registry import (
    DEFAULT_ALIAS,
    ModelInfo,
    ModelVersion,
    Reference,
    Registry,
    parse_reference,
    parse_version,
)
from augur.serving.loaded import LoadedVersion, MemoryMeter, charge, load_version
from augur.serving.metrics import ServerMetrics
from augur.serving.settings import ServerSettings

log = logging.getLogger("augur.serving")

T = TypeVar("T")
RouteKey = tuple[str, str | None]
VersionKey = tuple[str, int]

#: Routes remembered at most; beyond it the oldest is forgotten (and resolved again
#: from the registry when it is next used).
MAX_ROUTES = 10_000


@dataclass
class LoadFailure:
    """Why a version could not be loaded."""

    name: str
    version: int
    error: str
    at: float = field(default_factory=time.time)


class ModelManager:
    """Loads, routes, swaps and evicts model versions for one server.

    Args:
        registry: where versions come from.
        settings: memory budget, batching and warm-up settings.
        metrics: where load times and counts go (a private set if omitted).
    """

    def __init__(self, registry: Registry, settings: ServerSettings,
                 metrics: ServerMetrics | None = None) -> None:
        self.registry = registry
        self.settings = settings
        self.metrics = metrics or ServerMetrics()
        self.executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="augur")
        # Loads run one at a time anyway (each holds the measure lock, see
        # augur.serving.loaded); on a thread of their own, queued loads do not hold
        # the worker threads that registry reads and ``thread`` executors need.
        self._loader = ThreadPoolExecutor(1, thread_name_prefix="augur-load")
        self.failures: dict[VersionKey, LoadFailure] = {}
        #: measures loads and counts freed memory for this manager's budget
        self.meter = MemoryMeter()
        self._entries: dict[VersionKey, LoadedVersion] = {}
        self._measured: dict[VersionKey, int] = {}
        self._loading: dict[VersionKey, asyncio.Future[LoadedVersion]] = {}
        self._routes: dict[RouteKey, VersionKey] = {}
        self._epoch = -1
        self._tick = 0
        self._poller: asyncio.Task[None] | None = None
        self._refresh_lock: asyncio.Lock | None = None
        self.metrics.artifact_memory.set_function(lambda: float(self.artifact_bytes()))

    # -- life cycle -------------------------------------------------------------

    async def start(self) -> None:
        """Read the alias epoch and start polling it."""
        self._refresh_lock = asyncio.Lock()
        self._epoch = await self.run_blocking(self.registry.alias_epoch)
        self._poller = asyncio.create_task(self._poll(), name="augur-alias-poller")

    async def stop(self) -> None:
        """Stop polling and drop every version."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        self._entries.clear()
        self._routes.clear()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._loader.shutdown(wait=False, cancel_futures=True)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alias_poll_seconds)
            try:
                epoch = await self.run_blocking(self.registry.alias_epoch)
                if epoch != self._epoch:
                    await self.refresh(epoch)
            except Exception:  # the registry may be briefly locked; try next time
                log.exception("polling the registry for moved aliases failed")

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (registry I/O, model loads) on the worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)

    # -- the hot path -----------------------------------------------------------

    def lookup(self, name: str, version: str | None) -> LoadedVersion | None:
        """The loaded version a route points at, without I/O (``None``: use :meth:`get`)."""
        target = self._routes.get((name, version))
        if target is None:
            return None
        entry = self._entries.get(target)
        if entry is not None:
            self._tick += 1
            entry.last_used = self._tick
        return entry

    async def get(self, name: str, version: str | None = None) -> LoadedVersion:
        """Resolve a reference and return its version, loading it if needed.

        Args:
            name: a model name, or a reference (``fraud@canary``, ``fraud:3``).
            version: a version number as text (the v2 ``/versions/{v}`` segment).

        Raises:
            ModelNotFound: nothing matches.
            InvalidReference: the reference is malformed.
            ModelNotReady: the version cannot be loaded.
            Overloaded: the memory budget is held by models in use.
        """
        version = version or None
        entry = self.lookup(name, version)
        if entry is not None:
            return entry
        key = await self.resolve(name, version)
        entry = await self.ensure(key)
        self._tick += 1
        entry.last_used = self._tick
        return entry

    async def resolve(self, name: str, version: str | None) -> VersionKey:
        """Resolve a reference to ``(model, version)`` and remember the route."""
        key = (name, version or None)
        target = self._routes.get(key)
        if target is None:
            mv = await self.run_blocking(self.registry.resolve, route_reference(*key))
            target = (mv.name, mv.version)
            if len(self._routes) >= MAX_ROUTES:
                del self._routes[next(iter(self._routes))]
            self._routes[key] = target
        return target

    # -- loading ----------------------------------------------------------------

    async def ensure(self, key: VersionKey) -> LoadedVersion:
        """Return a loaded version, loading (once, however many callers wait) if needed."""
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._loading[key] = pending
            try:
                entry = await self._load(key)
            except BaseException as exc:
                pending.set_exception(exc)
                pending.exception()  # mark retrieved: other waiters may not exist
                raise
            finally:
                del self._loading[key]
            pending.set_result(entry)
            return entry
        return await asyncio.shield(pending)

    async def _load(self, key: VersionKey) -> LoadedVersion:
        name, number = key
        mv: ModelVersion = await self.run_blocking(self.registry.get, name, number)
        # Until a version has loaded once its cost is unknown; its artifact is the floor.
        measured_before = self._measured.get(key)
        expected = charge(mv.size, measured_before or 0)
        try:
            self._make_room(mv.ref, expected)
        except ModelNotReady as exc:
            self._failed(key, exc)
            raise
        started = time.perf_counter()
        try:
            entry: LoadedVersion = await asyncio.get_running_loop().run_in_executor(
                self._loader, load_version, self.registry, mv, self.settings, self.metrics,
                self.executor, self.meter, measured_before)
        except AugurError as exc:
            self._failed(key, exc)
            raise ModelNotReady(f"{mv.ref} failed to load: {exc}") from exc
        except Exception as exc:
            self._failed(key, exc)
            raise ModelNotReady(f"{mv.ref} failed to load: {exc}") from exc
        self._measured[key] = entry.measured_bytes
        try:
            # Other loads may have finished meanwhile, and the measured cost may exceed
            # the artifact the room was made for.
            self._make_room(f"{mv.ref} (as loaded: {entry.measured_bytes} bytes measured)",
                            entry.cost)
        except ModelNotReady as exc:
            self._failed(key, exc)
            raise
        self.metrics.load_time.labels(name, str(number)).observe(time.perf_counter() - started)
        self.failures.pop(key, None)
        self._entries[key] = entry
        self.metrics.loaded.set(len(self._entries))
        log.info("loaded %s in %.3f s: %d artifact bytes, %d measured, %d charged",
                 mv.ref, entry.load_seconds, entry.artifact_bytes, entry.measured_bytes,
                 entry.cost)
        return entry

    def _failed(self, key: VersionKey, exc: BaseException) -> None:
        # kept as clients may read it (index, admin listing): scrubbed of paths and secrets
        self.failures[key] = LoadFailure(key[0], key[1], error_message(exc))
        self.metrics.load_failures.labels(key[0], str(key[1])).inc()
        log.error("loading %s:%d failed: %s", key[0], key[1], exc)

    def _make_room(self, ref: str, need: int) -> None:
        """Evict idle versions, least recently used first, until ``need`` more bytes fit.

        Raises:
            ModelNotReady: ``need`` is more than the whole budget.
            Overloaded: the budget is held by versions in use.
        """
        budget = self.settings.memory_budget
        if budget is None:
            return
        if need > budget:
            raise ModelNotReady(f"{ref} needs {need} bytes, more than the whole memory budget "
                                f"({budget} bytes)")
        idle = sorted((e for e in self._entries.values() if e.batcher.idle),
                      key=lambda e: e.last_used)
        while self.memory_bytes() + need > budget and idle:
            victim = idle.pop(0)
            self._drop((victim.name, victim.version))
            self.metrics.evictions.inc()
            log.info("evicted %s:%d (idle, memory budget)", victim.name, victim.version)
        if self.memory_bytes() + need > budget:
            raise Overloaded(f"cannot load {ref} ({need} bytes): the memory budget ({budget} "
                             "bytes) is held by models in use; retry later")

    def _drop(self, key: VersionKey) -> None:
        # In-flight requests hold the entry itself, so they finish on it; its memory
        # is counted as freed now, which the next load's trim hands back.
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.meter.freed(entry.cost)
        self.metrics.loaded.set(len(self._entries))

    # -- explicit control ---------------------------------------------------------

    async def load(self, ref: str) -> LoadedVersion:
        """Load (and warm) the version a reference points at; it then stays routed."""
        return await self.get(ref)

    async def unload(self, name: str) -> int:
        """Drop every loaded version of ``name`` and forget their measured costs (a
        version refused as too big is measured again on its next load); return how many
        went."""
        ref_name = parse_reference(name).name
        keys = [k for k in self._entries if k[0] == ref_name]
        for key in keys:
            self._drop(key)
        for key in [k for k in self._measured if k[0] == ref_name]:
            del self._measured[key]
        for route in [r for r, t in self._routes.items() if t[0] == ref_name]:
            del self._routes[route]
        return len(keys)

    async def move_alias(self, name: str, alias: str, version: int, *,
                         force: bool = False) -> int | None:
        """Point ``name@alias`` at ``version`` once that version is loaded and warm.

        Returns:
            The version the alias pointed at before.

        Raises:
            ModelNotFound: no such version.
            IncompatibleSignature: its signature would break the alias's clients
                (unless ``force``); the alias did not move.
            ModelNotReady: the version failed to load; the alias did not move.
        """
        await self.ensure((name, version))
        previous: int | None = await self.run_blocking(
            lambda: self.registry.set_alias(name, alias, version, force=force))
        await self.refresh()
        return previous

    async def rollback(self, name: str, alias: str) -> int:
        """Move ``name@alias`` one step back through its history (loaded first)."""
        target: int = await self.run_blocking(self.registry.rollback_target, name, alias)
        await self.ensure((name, target))
        mv: ModelVersion = await self.run_blocking(self.registry.rollback, name, alias)
        await self.refresh()
        return mv.version

    async def refresh(self, epoch: int | None = None) -> None:
        """Re-resolve every route; switch each only after its new version is warm."""
        assert self._refresh_lock is not None, "start() the manager first"
        async with self._refresh_lock:
            if epoch is None:
                epoch = await self.run_blocking(self.registry.alias_epoch)
            models = {m.name: m for m in await self.run_blocking(self.registry.list_models)}
            for route, old in list(self._routes.items()):
                try:
                    new = resolve_in(models, parse_reference(route_reference(*route)))
                except AugurError as exc:
                    log.warning("route %s no longer resolves (%s); it keeps %s:%d",
                                route, exc, *old)
                    continue
                if new == old:
                    continue
                try:
                    await self.ensure(new)
                except AugurError as exc:
                    log.error("%s:%d cannot take traffic (%s); %s stays on %s:%d",
                              *new, exc, route[0], *old)
                    continue
                self._routes[route] = new
                log.info("%s now routes to %s:%d (was %d)", route[0], *new, old[1])
            self._epoch = epoch if epoch is not None else self._epoch
            self._retire()

    def _retire(self) -> None:
        """Drop versions no route points at any more (requests in flight keep theirs)."""
        routed = set(self._routes.values())
        for key in [k for k in self._entries if k not in routed]:
            self._drop(key)

    # -- inspection ---------------------------------------------------------------

    def loaded(self) -> list[LoadedVersion]:
        """The versions in memory."""
        return list(self._entries.values())

    def is_loaded(self, key: VersionKey) -> bool:
        return key in self._entries

    def memory_bytes(self) -> int:
        """Bytes charged against the budget by the versions in memory (their costs)."""
        return sum(e.cost for e in self._entries.values())

    def artifact_bytes(self) -> int:
        """Artifact bytes of the versions in memory."""
        return sum(e.artifact_bytes for e in self._entries.values())

    def measured_bytes(self) -> int:
        """Resident-memory growth measured when the versions in memory loaded."""
        return sum(e.measured_bytes for e in self._entries.values())


def route_reference(name: str, version: str | None) -> str:
    """The reference a route names: ``name`` (or a reference), plus a v2 version segment.

    Raises:
        InvalidReference: both a reference and a version, or a version that is not a
            canonical positive integer.
        InvalidName: the name breaks the naming rules.
    """
    if version is None:
        parse_reference(name)
        return name
    ref = parse_reference(name)
    if ref.alias is not None or ref.version is not None:
        raise InvalidReference(f"model {name!r} is a reference; give either it or a "
                               f"version ({version!r}), not both")
    return f"{name}:{parse_version(version)}"


def resolve_in(models: dict[str, ModelInfo], ref: Reference) -> VersionKey:
    """Where ``ref`` points given every model's aliases and latest version (no I/O).

    Raises:
        ModelNotFound: the model or alias is gone.
    """
    info = models.get(ref.name)
    if info is None or info.latest is None:
        raise ModelNotFound(f"no model named {ref.name!r}")
    if ref.version is not None:
        return (ref.name, ref.version)
    if ref.alias is not None:
        if ref.alias not in info.aliases:
            raise ModelNotFound(f"model {ref.name!r} has no alias {ref.alias!r}")
        return (ref.name, info.aliases[ref.alias])
    return (ref.name, info.aliases.get(DEFAULT_ALIAS, info.latest))
