"""The compression report: size, parameters, speed and quality, measured here.

Every number comes from running the two artifacts (parent and compressed) on
this machine with ONNX Runtime's default options, on the caller's validation
rows: nothing is estimated.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from augur.compression.graph import parameter_counts, rows_of, take_rows
from augur.compression.quality import compare_quality
from augur.compression.quantize import cpu_has_vnni
from augur.runtime import LoadedModel, hardware_description, load_bytes
from augur.signature import Signature

BATCH = 64


@dataclass(frozen=True)
class Performance:
    """Measured size and speed of one artifact."""

    size_bytes: int
    parameters: int
    nonzero_parameters: int
    latency_p50_ms: float
    latency_p99_ms: float
    latency_samples: int
    throughput_rows_s: float


@dataclass(frozen=True)
class CompressionReport:
    """What a compression did to size, speed and quality (stored with the version)."""

    method: str
    params: dict[str, Any]
    parent: str
    compressed: Performance
    original: Performance
    quality: dict[str, Any]
    machine: dict[str, Any] = field(default_factory=dict)

    @property
    def quality_drop(self) -> float:
        return float(self.quality.get("drop", 0.0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        """Flat numbers for ``ModelVersion.metrics``."""
        c, o = self.compressed, self.original
        out = {f"compression_{k}": float(v) for k, v in asdict(c).items()}
        out["compression_size_ratio"] = o.size_bytes / c.size_bytes
        out["compression_latency_ratio"] = o.latency_p50_ms / c.latency_p50_ms
        out["compression_quality_drop"] = self.quality_drop
        for k, v in self.quality.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                out[f"quality_{k}"] = float(v)
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Table rows: parent, compressed and their ratio."""
        o, c = self.original, self.compressed

        def row(label: str, p: Performance) -> dict[str, Any]:
            return {"model": label, "size_mb": p.size_bytes / 1e6, "params": p.parameters,
                    "nonzero": p.nonzero_parameters, "p50_ms": p.latency_p50_ms,
                    "p99_ms": p.latency_p99_ms, "rows_s@64": p.throughput_rows_s}

        ratio = {"model": "ratio", "size_mb": o.size_bytes / c.size_bytes,
                 "params": o.parameters / max(c.parameters, 1),
                 "nonzero": o.nonzero_parameters / max(c.nonzero_parameters, 1),
                 "p50_ms": o.latency_p50_ms / c.latency_p50_ms,
                 "p99_ms": o.latency_p99_ms / c.latency_p99_ms,
                 "rows_s@64": c.throughput_rows_s / o.throughput_rows_s}
        return [row(f"parent {self.parent}", o), row(self.method, c), ratio]

    def notes(self) -> list[str]:
        """Plain-language remarks (slower int8, quality)."""
        notes = []
        q = {k: v for k, v in self.quality.items() if isinstance(v, float)}
        notes.append("quality: " + ", ".join(f"{k}={v:.4g}" for k, v in q.items()))
        slower = self.compressed.latency_p50_ms / self.original.latency_p50_ms
        if slower > 1.05:  # within 5 %, timings on a shared machine are a tie
            why = ""
            if "quantize" in self.method and not self.machine.get("vnni"):
                why = " (this CPU lacks VNNI: int8 dot products are emulated)"
            notes.append(f"the compressed model is SLOWER per row than its parent: p50 "
                         f"{slower:.2f}x{why}")
        notes.append(f"measured on {self.machine.get('cores')} cores, load average "
                     f"{self.machine.get('load_1m', 0.0):.2f}")
        return notes


def _timed(model: LoadedModel, feeds: dict[str, np.ndarray]) -> float:
    start = time.perf_counter()
    model.run(feeds)
    return time.perf_counter() - start


def measure_pair(models: list[tuple[bytes, Signature]], feeds: dict[str, np.ndarray], *,
                 budget_s: float = 2.0, max_samples: int = 300) -> list[Performance]:
    """Measure size, parameters, single-row latency and batch-64 throughput of artifacts.

    The models run in turns (A, B, A, B...), so a burst of load from other
    processes slows all of them alike and the ratios stay honest.

    Args:
        models: ONNX bytes with their signatures (parent first).
        feeds: validation rows as model feeds (rows are cycled for latency and
            tiled to a batch of 64 for throughput).
        budget_s: rough time allowed for each of the two measurements, per model.
        max_samples: most single-row runs per model.
    """
    loaded = [load_bytes(data, sig) for data, sig in models]
    n = rows_of(feeds)
    singles = [take_rows(feeds, slice(i, i + 1)) for i in range(min(n, 64))]
    for model in loaded:
        for f in singles[:3]:
            model.run(f)
    times: list[list[float]] = [[] for _ in loaded]
    deadline = time.perf_counter() + budget_s * len(loaded)
    k = 0
    while k < max_samples and (k < 20 or time.perf_counter() < deadline):
        for model, ts in zip(loaded, times, strict=True):
            ts.append(_timed(model, singles[k % len(singles)]))
        k += 1
    batch = take_rows(feeds, np.arange(BATCH) % n)
    spent = [0.0 for _ in loaded]
    for model in loaded:
        model.run(batch)
    runs = 0
    deadline = time.perf_counter() + budget_s * len(loaded)
    while runs < 2 or (time.perf_counter() < deadline and runs < 50):
        for i, model in enumerate(loaded):
            spent[i] += _timed(model, batch)
        runs += 1
    out = []
    for (data, _), ts, sp in zip(models, times, spent, strict=True):
        total, nonzero = parameter_counts(data)
        lat = np.array(ts) * 1e3
        out.append(Performance(size_bytes=len(data), parameters=total,
                               nonzero_parameters=nonzero,
                               latency_p50_ms=float(np.percentile(lat, 50)),
                               latency_p99_ms=float(np.percentile(lat, 99)),
                               latency_samples=len(ts), throughput_rows_s=BATCH * runs / sp))
    return out


def outputs_on(data: bytes, signature: Signature, feeds: dict[str, np.ndarray],
               batch: int = 256) -> dict[str, np.ndarray]:
    """Run ``data`` over all rows of ``feeds`` (in batches) and join the outputs."""
    model = load_bytes(data, signature)
    n = rows_of(feeds)
    parts: dict[str, list[np.ndarray]] = {}
    for i in range(0, n, batch):
        for k, v in model.run(take_rows(feeds, slice(i, i + batch))).items():
            parts.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in parts.items()}


def build_report(method: str, params: dict[str, Any], parent_ref: str, parent_data: bytes,
                 child_data: bytes, signature: Signature, feeds: dict[str, np.ndarray],
                 truth: np.ndarray | None, *, budget_s: float = 2.0) -> CompressionReport:
    """Measure parent and child on the same validation feeds and compare their outputs."""
    quality = compare_quality(signature, outputs_on(parent_data, signature, feeds),
                              outputs_on(child_data, signature, feeds), truth)
    original, compressed = measure_pair([(parent_data, signature), (child_data, signature)],
                                        feeds, budget_s=budget_s)
    machine = {"cpu": hardware_description()["cpu"], "cores": os.cpu_count(),
               "vnni": cpu_has_vnni(), "load_1m": os.getloadavg()[0]}
    return CompressionReport(method=method, params=params, parent=parent_ref,
                             compressed=compressed, original=original, quality=quality,
                             machine=machine)
