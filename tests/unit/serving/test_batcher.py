"""The adaptive batcher: immediate dispatch when idle, batching under load, bounds."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from augur.errors import InvalidInput, Overloaded, RequestTimeout
from augur.serving.batcher import AdaptiveBatcher
from augur.serving.settings import ModelSettings

Feeds = dict[str, np.ndarray]


class Doubler:
    """A model that doubles its input and records the rows of every run."""

    def __init__(self, pause: float = 0.0) -> None:
        self.runs: list[int] = []
        self.pause = pause
        self.gate: threading.Event | None = None

    def __call__(self, feeds: Feeds, outputs: list[str] | None) -> Feeds:
        x = feeds["x"]
        if (x < 0).any():
            raise InvalidInput("negative input")
        if self.gate is not None:
            self.gate.wait(5)
        if self.pause:
            time.sleep(self.pause)
        self.runs.append(len(x))
        return {"y": x * 2}


def _x(*values: float) -> Feeds:
    return {"x": np.array(values, dtype=np.float32).reshape(-1, 1)}


async def test_lone_request_runs_at_once_alone() -> None:
    model = Doubler()
    batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=8, max_delay_ms=60_000))
    # with a one-minute fill delay, only an immediate dispatch finishes within the guard
    out, _ = await asyncio.wait_for(batcher.submit(_x(3)), 10)
    assert out["y"].tolist() == [[6.0]] and model.runs == [1]


async def test_under_load_a_partial_batch_waits_until_full() -> None:
    model = Doubler()
    model.gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=8, max_delay_ms=60_000),
                                  inline=False, executor=pool)
        first = asyncio.create_task(batcher.submit(_x(0)))
        await asyncio.sleep(0.05)
        early = [asyncio.create_task(batcher.submit(_x(i))) for i in (1, 2)]
        await asyncio.sleep(0.01)
        model.gate.set()
        await first
        await asyncio.sleep(0.05)
        assert model.runs == [1]  # the two queued requests wait for company
        late = [asyncio.create_task(batcher.submit(_x(i))) for i in range(3, 9)]
        await asyncio.wait_for(asyncio.gather(*early, *late), 10)
    assert model.runs == [1, 8]


async def test_requests_arriving_together_share_one_run_and_get_their_rows() -> None:
    model = Doubler()
    batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=64))
    results = await asyncio.gather(*[batcher.submit(_x(i, i + 0.5)) for i in range(10)])
    assert model.runs == [20]
    for i, (out, _) in enumerate(results):
        assert out["y"].ravel().tolist() == [2 * i, 2 * i + 1]


async def test_batches_respect_the_size_limit() -> None:
    model = Doubler()
    batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=4))
    await asyncio.gather(*[batcher.submit(_x(i)) for i in range(10)])
    assert model.runs == [4, 4, 2]


async def test_one_bad_request_does_not_fail_its_batch_neighbours() -> None:
    batcher = AdaptiveBatcher(Doubler(), ModelSettings(max_batch_size=16))
    results = await asyncio.gather(batcher.submit(_x(1)), batcher.submit(_x(-1)),
                                   batcher.submit(_x(2)), return_exceptions=True)
    assert isinstance(results[1], InvalidInput)
    assert results[0][0]["y"].tolist() == [[2.0]]  # type: ignore[index]
    assert results[2][0]["y"].tolist() == [[4.0]]  # type: ignore[index]


async def test_different_shapes_run_in_separate_groups() -> None:
    model = Doubler()
    batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=16))
    wide = {"x": np.ones((1, 3), dtype=np.float32)}
    a, b = await asyncio.gather(batcher.submit(_x(1)), batcher.submit(wide))
    assert a[0]["y"].shape == (1, 1) and b[0]["y"].shape == (1, 3)
    assert sorted(model.runs) == [1, 1]


async def test_full_queue_is_refused_fast_and_recovers() -> None:
    model = Doubler()
    model.gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=1, max_queue_size=2),
                                  inline=False, executor=pool)
        first = asyncio.create_task(batcher.submit(_x(1)))
        await asyncio.sleep(0.05)  # the model is now busy with the first request
        waiting = [asyncio.create_task(batcher.submit(_x(i))) for i in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded, match="queue is full"):
            await batcher.submit(_x(9))
        model.gate.set()
        await asyncio.gather(first, *waiting)
        out, _ = await batcher.submit(_x(5))
        assert out["y"].tolist() == [[10.0]]


async def test_timeout_fails_the_request_but_not_the_batcher() -> None:
    model = Doubler(pause=0.2)
    with ThreadPoolExecutor(1) as pool:
        batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=1), inline=False,
                                  executor=pool)
        with pytest.raises(RequestTimeout, match="timed out"):
            await batcher.submit(_x(1), timeout=0.01)
        model.pause = 0.0
        await asyncio.sleep(0.25)
        out, _ = await batcher.submit(_x(2), timeout=5)
        assert out["y"].tolist() == [[4.0]]


async def test_requests_queued_while_busy_are_batched_on_a_thread() -> None:
    model = Doubler()
    model.gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=32), inline=False,
                                  executor=pool)
        first = asyncio.create_task(batcher.submit(_x(0)))
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(batcher.submit(_x(i))) for i in range(1, 6)]
        await asyncio.sleep(0.01)
        model.gate.set()
        await asyncio.gather(first, *rest)
    assert model.runs == [1, 5]


class Overlap:
    """A model that records how many of its runs were in flight at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.release = threading.Event()

    def __call__(self, feeds: Feeds, outputs: list[str] | None) -> Feeds:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        self.release.wait(5)
        with self.lock:
            self.now -= 1
        return {"y": feeds["x"] * 2}


@pytest.mark.parametrize("instances", [1, 2, 3])
async def test_instances_bound_the_batches_run_at_the_same_time(instances: int) -> None:
    model = Overlap()
    with ThreadPoolExecutor(4) as pool:
        batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=1, instances=instances),
                                  inline=False, executor=pool)
        tasks = [asyncio.create_task(batcher.submit(_x(i))) for i in range(6)]
        await asyncio.sleep(0.2)
        assert model.now == instances and batcher.pending == 6
        model.release.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert model.most == instances
    assert [out["y"].tolist() for out, _ in results] == [[[2.0 * i]] for i in range(6)]
    assert batcher.idle


async def test_an_inline_batcher_runs_one_batch_whatever_the_instances() -> None:
    model = Doubler()
    batcher = AdaptiveBatcher(model, ModelSettings(max_batch_size=2, instances=4))
    await asyncio.gather(*[batcher.submit(_x(i)) for i in range(5)])
    assert model.runs == [2, 2, 1]
