"""The model manager: lazy load once, LRU under a budget, hot swap, failed loads."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest

from augur.errors import ModelNotFound, ModelNotReady
from augur.registry import Registry
from augur.serving import ModelManager, ServerSettings
from augur.serving.metrics import ServerMetrics


def _settings(**kw: object) -> ServerSettings:
    return ServerSettings.from_dict({"http_port": 0, "access_log": "off",
                                     "alias_poll_seconds": 0.05, **kw})


def _load_count(metrics: ServerMetrics, name: str, version: str) -> float:
    value = metrics.registry.get_sample_value("augur_model_load_seconds_count",
                                              {"model": name, "version": version})
    return value or 0.0


async def test_concurrent_first_requests_load_once(iris_registry: Registry) -> None:
    manager = ModelManager(iris_registry, _settings())
    await manager.start()
    try:
        entries = await asyncio.gather(*[manager.get("iris") for _ in range(20)])
        assert len({id(e) for e in entries}) == 1 and entries[0].version == 1
        assert _load_count(manager.metrics, "iris", "1") == 1
        assert manager.lookup("iris", None) is entries[0]
        assert (await manager.get("iris", "2")).version == 2
        with pytest.raises(ModelNotFound):
            await manager.get("nope")
    finally:
        await manager.stop()


async def test_least_recently_used_idle_model_is_evicted(iris_registry: Registry) -> None:
    size = iris_registry.resolve("a").size
    manager = ModelManager(iris_registry, _settings(memory_budget=2 * size + 1))
    await manager.start()
    try:
        await manager.get("a")
        await manager.get("b")
        await manager.get("a")  # b is now the least recently used
        await manager.get("c")
        assert sorted(e.name for e in manager.loaded()) == ["a", "c"]
        assert manager.memory_bytes() <= 2 * size + 1
    finally:
        await manager.stop()


async def test_alias_move_switches_after_warm_and_failed_version_never_serves(
        iris_registry: Registry) -> None:
    manager = ModelManager(iris_registry, _settings())
    await manager.start()
    try:
        assert (await manager.get("iris")).version == 1
        await manager.move_alias("iris", "production", 2)
        assert manager.lookup("iris", None).version == 2  # type: ignore[union-attr]
        iris_registry.set_alias("iris", "production", 1)  # as the CLI would
        for _ in range(100):
            await asyncio.sleep(0.05)
            if manager.lookup("iris", None).version == 1:  # type: ignore[union-attr]
                break
        assert manager.lookup("iris", None).version == 1  # type: ignore[union-attr]

        first = iris_registry.get("iris", 1)
        broken = iris_registry.register("iris", iris_registry.read_artifact(first),
                                        first.signature)
        path: Path = iris_registry.artifact_path(broken)
        os.chmod(path, 0o644)
        path.write_bytes(b"corrupted on disk")
        iris_registry.set_alias("iris", "production", broken.version)
        await asyncio.sleep(0.5)
        entry = manager.lookup("iris", None)
        assert entry is not None and entry.version == 1  # the old version keeps serving
        assert ("iris", broken.version) in manager.failures
        with pytest.raises(ModelNotReady, match="failed to load"):
            await manager.move_alias("iris", "staging", broken.version)
        assert "staging" not in iris_registry.aliases("iris")
        feeds = {"input": np.zeros((1, 4), dtype=np.float32)}
        out, _ = await entry.batcher.submit(entry.validator.check(feeds))
        assert out["label"].shape == (1,)
    finally:
        await manager.stop()
