"""The model manager: lazy load once, LRU under a budget of measured costs, hot swap,
failed loads."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest

from augur.errors import ModelNotFound, ModelNotReady
from augur.registry import Registry
from augur.serving import ModelManager, ServerSettings
from augur.serving.loaded import MEASURE_FLOOR_BYTES, TRIM_SHARE, MeasureCounts
from augur.serving.metrics import ServerMetrics
from augur.signature import Signature

#: Rows of the tensor the big model's warm-up expands its input to (16 MiB of FP32).
EXPAND_ROWS = 2**20


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
        # a forest's session grows the process by less than the noise floor
        assert all(e.cost == e.artifact_bytes == size for e in manager.loaded())
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


def _register_expanding(registry: Registry, *names: str) -> None:
    """Register a ~200-byte model whose warm-up expands its input to 16 MiB, which the
    session's arena keeps: its memory is far more than its artifact."""
    from onnx import TensorProto, helper, numpy_helper

    shape = numpy_helper.from_array(np.array([EXPAND_ROWS, 4], dtype=np.int64), "shape")
    nodes = [helper.make_node("Expand", ["input", "shape"], ["big"]),
             helper.make_node("ReduceSum", ["big"], ["total"], keepdims=1),
             helper.make_node("Add", ["input", "total"], ["output"])]
    graph = helper.make_graph(
        nodes, "expanding",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4])], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for name in names:
        registry.register(name, model.SerializeToString(), Signature.from_onnx(model))


async def _measured_cost(registry: Registry, name: str) -> int:
    manager = ModelManager(registry, _settings())
    await manager.start()
    try:
        return (await manager.get(name)).cost
    finally:
        await manager.stop()


async def test_version_is_charged_its_measured_memory_and_evicted_on_it(
        iris_registry: Registry) -> None:
    _register_expanding(iris_registry, "big1", "big2")
    cost = await _measured_cost(iris_registry, "big1")
    budget = cost * 3 // 2  # one expanding model and the small forest fit, not two
    manager = ModelManager(iris_registry, _settings(memory_budget=budget))
    await manager.start()
    try:
        big = await manager.get("big1")
        assert big.artifact_bytes < 1000
        assert big.measured_bytes >= EXPAND_ROWS * 4 * 4 > MEASURE_FLOOR_BYTES
        assert big.cost == big.measured_bytes
        await manager.get("a")
        await manager.get("big2")  # its artifact fits; its measured cost evicts big1
        assert sorted(e.name for e in manager.loaded()) == ["a", "big2"]
        assert manager.metrics.registry.get_sample_value("augur_model_evictions_total") == 1
        assert manager.memory_bytes() <= budget
        assert manager.memory_bytes() == sum(e.cost for e in manager.loaded())
        assert manager.artifact_bytes() == sum(e.artifact_bytes for e in manager.loaded())
    finally:
        await manager.stop()


async def test_reloaded_version_is_charged_its_first_measure_without_measuring(
        iris_registry: Registry) -> None:
    _register_expanding(iris_registry, "big1", "big2")
    cost = await _measured_cost(iris_registry, "big1")
    manager = ModelManager(iris_registry, _settings(memory_budget=cost * 3 // 2))
    await manager.start()
    try:
        first = await manager.get("big1")
        second = await manager.get("big2")  # evicts big1
        assert not manager.is_loaded(("big1", 1))
        counts = manager.meter.counts()
        again = await manager.get("big1")  # evicts big2: freed more than half the budget?
        # (big2's cost is its measured growth, which a loaded machine can blur)
        trims = int(second.cost > manager.settings.memory_budget // TRIM_SHARE)
        assert manager.meter.counts() == MeasureCounts(counts.measures, counts.trims + trims)
        assert again is not first and again.measured_bytes == first.measured_bytes
        assert again.cost == first.cost and manager.memory_bytes() == again.cost
    finally:
        await manager.stop()


async def test_measured_load_trims_before_only_after_something_was_freed(
        iris_registry: Registry) -> None:
    manager = ModelManager(iris_registry, _settings())
    await manager.start()
    try:
        await manager.get("a")
        counts = manager.meter.counts()
        await manager.get("b")  # nothing freed since a's trim: b trims after its load only
        assert manager.meter.counts() == MeasureCounts(counts.measures + 1, counts.trims + 1)
        await manager.unload("a")
        counts = manager.meter.counts()
        await manager.get("a")  # a's pages were freed: a trims before and after
        assert manager.meter.counts() == MeasureCounts(counts.measures + 1, counts.trims + 2)
    finally:
        await manager.stop()


async def test_version_measured_over_the_whole_budget_never_serves(
        iris_registry: Registry) -> None:
    _register_expanding(iris_registry, "big")
    budget = 4 * MEASURE_FLOOR_BYTES  # far above the artifact, below the 16 MiB it expands to
    manager = ModelManager(iris_registry, _settings(memory_budget=budget))
    await manager.start()
    try:
        for _ in range(2):  # then refused on the cost remembered from its load
            with pytest.raises(ModelNotReady, match="more than the whole memory budget"):
                await manager.get("big")
        assert manager.loaded() == [] and ("big", 1) in manager.failures
        assert _load_count(manager.metrics, "big", "1") == 0
        assert (await manager.get("a")).cost <= budget
    finally:
        await manager.stop()
