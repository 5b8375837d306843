"""Inputs to tune with, and the timing of one set of execution options.

With no data given, inputs are made up from the signature: random numbers for
numeric columns and tensors, a few words for strings and text. Execution speed
rarely depends on the values, only on shapes, which the signature fixes.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from augur.runtime import LoadedModel, RuntimeOptions, load_bytes, to_feeds
from augur.signature import Signature

_WORDS = ("the", "model", "answers", "quickly", "when", "tuned", "on", "this", "machine",
          "with", "care", "and", "honest", "measurements", "of", "latency")


def synthetic_feeds(signature: Signature, rows: int = 64, seq: int = 16,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """Made-up inputs of ``rows`` rows that satisfy ``signature``.

    Dynamic axes other than the batch axis get ``seq`` elements.
    """
    rng = np.random.default_rng(seed)
    if signature.columns:
        table: dict[str, list[Any]] = {}
        for col in signature.columns:
            if col.kind == "string":
                table[col.name] = [str(rng.choice(_WORDS)) for _ in range(rows)]
            elif col.kind == "int":
                table[col.name] = rng.integers(0, 3, rows).tolist()
            elif col.kind == "bool":
                table[col.name] = rng.integers(0, 2, rows).astype(bool).tolist()
            else:
                table[col.name] = rng.normal(size=rows).tolist()
        return to_feeds(signature, table)
    feeds: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        shape = [rows] + [d if d >= 0 else seq for d in spec.shape[1:]]
        if spec.datatype == "BYTES":
            n = int(np.prod(shape))
            words = [" ".join(rng.choice(_WORDS, size=int(rng.integers(4, 14))))
                     for _ in range(n)]
            feeds[spec.name] = np.array(words, dtype=object).reshape(shape)
        elif spec.numpy_dtype.kind in "iub":
            feeds[spec.name] = np.ones(shape, dtype=spec.numpy_dtype)
        else:
            feeds[spec.name] = rng.normal(size=shape).astype(spec.numpy_dtype)
    return feeds


@dataclass(frozen=True)
class Timing:
    """Single-row latency and batch throughput of one set of options."""

    options: RuntimeOptions
    p50_ms: float
    p99_ms: float
    samples: int
    load_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"options": _short(self.options), "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
                "samples": self.samples, "load_s": self.load_s}


def _short(options: RuntimeOptions) -> dict[str, Any]:
    d = options.to_dict()
    out = {k: d[k] for k in ("graph_optimization_level", "intra_op_threads",
                             "inter_op_threads", "execution_mode", "providers")}
    if d["extra"].get("session_config"):
        out["session_config"] = d["extra"]["session_config"]
    return out


def _row(feeds: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    n = len(next(iter(feeds.values())))
    return {k: v[i % n:i % n + 1] for k, v in feeds.items()}


def time_options(data: bytes, signature: Signature, feeds: dict[str, np.ndarray],
                 options: RuntimeOptions, budget_s: float, min_samples: int = 15) -> Timing:
    """Load with ``options`` and time single-row runs for about ``budget_s`` seconds."""
    model = load_bytes(data, signature, options)
    try:
        for i in range(3):
            model.run(_row(feeds, i))
        times: list[float] = []
        deadline = time.perf_counter() + budget_s
        while len(times) < min_samples or time.perf_counter() < deadline:
            row = _row(feeds, len(times))
            start = time.perf_counter()
            model.run(row)
            times.append(time.perf_counter() - start)
            if len(times) >= 100_000:
                break
        lat = np.array(times) * 1e3
        return Timing(options, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)),
                      len(times), model.load_seconds)
    finally:
        _release(model)


def _release(model: LoadedModel) -> None:
    # Each session owns thread pools that spin; drop it before measuring the next one.
    del model
    gc.collect()


def head_to_head(data: bytes, signature: Signature, feeds: dict[str, np.ndarray],
                 a: RuntimeOptions, b: RuntimeOptions, rounds: int = 200,
                 budget_s: float = 4.0) -> tuple[float, float]:
    """p50 single-row latency (ms) of ``a`` and ``b``, run in turns so load hits both alike."""
    ma, mb = load_bytes(data, signature, a), load_bytes(data, signature, b)
    ta: list[float] = []
    tb: list[float] = []
    for i in range(3):
        ma.run(_row(feeds, i))
        mb.run(_row(feeds, i))
    deadline = time.perf_counter() + budget_s
    i = 0
    while i < rounds and (i < 20 or time.perf_counter() < deadline):
        row = _row(feeds, i)
        for model, ts in ((ma, ta), (mb, tb)) if i % 2 == 0 else ((mb, tb), (ma, ta)):
            start = time.perf_counter()
            model.run(row)
            ts.append(time.perf_counter() - start)
        i += 1
    return float(np.median(ta) * 1e3), float(np.median(tb) * 1e3)


def _batch(feeds: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """``size`` rows of ``feeds``, repeating them when there are fewer."""
    n = len(next(iter(feeds.values())))
    idx = np.arange(size) % n
    return {k: v[idx] for k, v in feeds.items()}


def batch_throughput(model: LoadedModel, feeds: dict[str, np.ndarray], size: int,
                     budget_s: float) -> tuple[float, float]:
    """(rows per second, ms per batch) at batch ``size``."""
    batch = _batch(feeds, size)
    model.run(batch)
    runs = 0
    spent = 0.0
    while runs < 2 or (spent < budget_s and runs < 200):
        start = time.perf_counter()
        model.run(batch)
        spent += time.perf_counter() - start
        runs += 1
    return size * runs / spent, spent / runs * 1e3


@dataclass(frozen=True)
class Throughput:
    """Rows per second of one configuration under a served workload."""

    options: RuntimeOptions
    instances: int
    rows_s: float
    p50_ms: float
    p99_ms: float
    runs: int

    def to_dict(self) -> dict[str, Any]:
        return {"options": _short(self.options), "instances": self.instances,
                "rows_s": self.rows_s, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
                "runs": self.runs}


def _loaded_run(model: LoadedModel, batch: dict[str, np.ndarray], callers: int,
                seconds: float) -> tuple[int, float, list[float]]:
    """``callers`` threads run ``batch`` back to back for ``seconds``: (runs, elapsed, times)."""
    times: list[list[float]] = [[] for _ in range(callers)]
    stop = time.perf_counter() + seconds

    def work(mine: list[float]) -> None:
        # ONNX Runtime releases the GIL inside run, so the callers really overlap.
        while True:
            start = time.perf_counter()
            model.run(batch)
            end = time.perf_counter()
            mine.append(end - start)
            if end >= stop:
                return

    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in times[1:]]
    started = time.perf_counter()
    for th in threads:
        th.start()
    work(times[0])
    for th in threads:
        th.join()
    flat = [t for ts in times for t in ts]
    return len(flat), time.perf_counter() - started, flat


def served_throughput(data: bytes, signature: Signature, feeds: dict[str, np.ndarray],
                      options: RuntimeOptions, size: int, instances: int,
                      budget_s: float) -> Throughput:
    """Rows/s of ``instances`` batches of ``size`` rows running at the same time.

    This is the server under load: every instance always has a batch to run. Loading
    the session counts against ``budget_s``.
    """
    deadline = time.perf_counter() + budget_s
    model = load_bytes(data, signature, options)
    try:
        batch = _batch(feeds, size)
        _loaded_run(model, batch, instances, min(0.05, budget_s / 10))  # warm every thread
        runs, elapsed, times = _loaded_run(model, batch, instances,
                                           max(0.05, deadline - time.perf_counter()))
        lat = np.array(times) * 1e3
        return Throughput(options, instances, size * runs / elapsed,
                          float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), runs)
    finally:
        _release(model)


def throughput_head_to_head(data: bytes, signature: Signature, feeds: dict[str, np.ndarray],
                            size: int, contenders: list[tuple[RuntimeOptions, int]],
                            budget_s: float, rounds: int = 6) -> list[float]:
    """Rows/s of each (options, instances) at batch ``size``, measured in turns.

    Every contender gets ``rounds`` short windows, interleaved (A, B, C, A, B, C...),
    so load from other processes hits all of them alike. Loading the sessions counts
    against ``budget_s``.
    """
    deadline = time.perf_counter() + budget_s
    models = [load_bytes(data, signature, opts) for opts, _ in contenders]
    try:
        batch = _batch(feeds, size)
        cost = 0.05
        for model, (_, instances) in zip(models, contenders, strict=True):
            cost = max(cost, _loaded_run(model, batch, instances, 0.02)[1])
        # A window holds at least one run, so long runs get fewer rounds, not overtime.
        left = deadline - time.perf_counter()
        rounds = max(1, min(rounds, int(left / (len(models) * cost))))
        window = max(0.05, left / (rounds * len(models)))
        rows = [0] * len(models)
        spent = [0.0] * len(models)
        for _ in range(rounds):
            for i, (model, (_, instances)) in enumerate(zip(models, contenders, strict=True)):
                runs, elapsed, _times = _loaded_run(model, batch, instances, window)
                rows[i] += runs * size
                spent[i] += elapsed
        return [r / s for r, s in zip(rows, spent, strict=True)]
    finally:
        for model in models:
            _release(model)
