"""The autotuner: real measurements, the per-hardware cache, and the runtime picking it up."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pytest

from augur.errors import ConfigError
from augur.registry import ModelVersion, Registry, TuningCache
from augur.runtime import (
    RuntimeOptions,
    hardware_fingerprint,
    load,
    runtime_version,
    usable_cores,
)
from augur.tuning import fusion_report, synthetic_feeds, tune


@pytest.fixture
def iris(registry: Registry) -> ModelVersion:
    from augur.convert import export
    from augur.examples import iris_forest

    ex = iris_forest(n_estimators=20)
    return export(ex.model, "iris", sample=ex.X, registry=registry)


def test_tune_measures_then_hits_the_cache(registry: Registry, iris: ModelVersion) -> None:
    first = tune(iris.ref, registry=registry, budget_s=3.0)
    assert not first.cached
    rep = first.report
    stages = [t["stage"] for t in rep["trials"]]
    assert stages[0] == "defaults"
    assert {"graph_optimization_level", "intra_op_threads"} <= set(stages)
    p50s = [t["p50_ms"] for t in rep["trials"]]
    assert all(p > 0 for p in p50s) and len(set(p50s)) > 1  # measured, not made up
    assert all(t["p99_ms"] >= t["p50_ms"] for t in rep["trials"])
    assert rep["default_p50_ms"] > 0 and rep["speedup"] >= 1.0
    assert [b["batch_size"] for b in rep["batching"]] == [1, 4, 16, 64]
    assert first.options.batch_size in (1, 4, 16, 64)
    assert rep["hardware"]["fingerprint"] == hardware_fingerprint()
    entry = TuningCache(registry.db).get(iris.artifact, hardware_fingerprint(),
                                         runtime_version())
    assert entry is not None and entry["options"] == first.options.to_dict()

    second = tune(iris.ref, registry=registry, budget_s=3.0)
    assert second.cached and second.options == first.options
    # The runtime loads the tuned options by itself.
    assert load(iris.ref, registry=registry).options == first.options
    again = tune(iris.ref, registry=registry, budget_s=2.0, force=True)
    assert not again.cached


def test_throughput_objective_measures_batches_side_by_side(
        registry: Registry, iris: ModelVersion) -> None:
    result = tune(iris.ref, registry=registry, budget_s=4.0)
    rep = result.report
    assert rep["objective"] == "throughput"
    seen = [t["instances"] for t in rep["concurrency"]]
    assert seen[0] == 1 and seen == sorted(seen) and len(seen) == min(usable_cores(), 4)
    rates = [t["rows_s"] for t in rep["concurrency"]]
    assert all(r > 0 for r in rates) and len(set(rates)) == len(rates)  # measured
    assert all(t["runs"] > 0 and t["p99_ms"] >= t["p50_ms"] for t in rep["concurrency"])
    assert rep["default_rows_s"] > 0 and rep["speedup"] == rep["throughput_speedup"] >= 1.0
    assert rep["batch_size"] == result.options.batch_size
    # what is kept is exactly the head-to-head's fastest, reported at its own rate
    head = rep["head_to_head"]
    kept = [h for h in head if h["kept"]]
    assert len(kept) == 1 and kept[0]["rows_s"] == max(h["rows_s"] for h in head)
    assert rep["tuned_rows_s"] == kept[0]["rows_s"]
    assert (result.options.instances or 1) == rep["instances"] == kept[0]["instances"]
    kept_options = RuntimeOptions.from_dict(kept[0]["options"])
    assert result.options.with_(batch_size=None, batch_delay_ms=None, instances=None) == \
        kept_options.with_(batch_size=None, batch_delay_ms=None, instances=None)
    base = max(h["rows_s"] for h in head if h["contender"] != "tuned")
    assert rep["speedup"] == pytest.approx(kept[0]["rows_s"] / base)
    assert rep["kept_defaults"] == (kept_options == RuntimeOptions() and rep["instances"] == 1)
    # a cached throughput result does not answer a latency question
    latency = tune(iris.ref, registry=registry, budget_s=3.0, objective="latency")
    assert not latency.cached and latency.options.instances is None
    assert "concurrency" not in latency.report
    assert latency.report["speedup"] == latency.report["latency_speedup"]
    assert tune(iris.ref, registry=registry, budget_s=3.0, objective="latency").cached


def _fake_measurements(monkeypatch: pytest.MonkeyPatch, rate: Any) -> None:
    """Measurements with a known outcome: every option but the defaults wins the latency
    search, and ``rate(options, instances)`` is each throughput contender's rows/s."""
    from augur.tuning import tuner
    from augur.tuning.probe import Timing

    def time_options(data: Any, sig: Any, feeds: Any, options: RuntimeOptions,
                     budget_s: float) -> Timing:
        p50 = 1.0 if options == RuntimeOptions() else 0.5
        return Timing(options, p50, p50, 20, 0.0)

    monkeypatch.setattr(tuner, "time_options", time_options)
    monkeypatch.setattr(tuner, "head_to_head", lambda *a, **k: (1.0, 0.5))
    monkeypatch.setattr(tuner, "throughput_head_to_head", lambda data, sig, feeds, size,
                        contenders, budget: [rate(o, n) for o, n in contenders])


def test_no_throughput_gain_keeps_the_measured_defaults(
        registry: Registry, iris: ModelVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    # The latency search's winner loses the throughput head-to-head: the defaults, the
    # fastest configuration measured there, are kept and reported at their own rate.
    _fake_measurements(monkeypatch, lambda o, n: 1000.0 if o == RuntimeOptions() and n == 1
                       else 900.0)
    result = tune(iris.ref, registry=registry, budget_s=2.0)
    rep = result.report
    assert result.options.with_(batch_size=None, batch_delay_ms=None) == RuntimeOptions()
    assert rep["kept_defaults"] and rep["instances"] == 1
    assert rep["tuned_rows_s"] == rep["default_rows_s"] == 1000.0 and rep["speedup"] == 1.0


def test_a_throughput_gain_is_reported_at_the_winners_own_rate(
        registry: Registry, iris: ModelVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_measurements(monkeypatch, lambda o, n: 1000.0 if o == RuntimeOptions() else 1500.0)
    result = tune(iris.ref, registry=registry, budget_s=2.0)
    rep = result.report
    assert result.options.with_(batch_size=None, batch_delay_ms=None, instances=None) != \
        RuntimeOptions()
    assert rep["tuned_rows_s"] == 1500.0 and rep["speedup"] == 1.5 and not rep["kept_defaults"]
    assert [h["kept"] for h in rep["head_to_head"]].count(True) == 1


def test_unknown_objective(registry: Registry, iris: ModelVersion) -> None:
    with pytest.raises(ConfigError, match="objective must be one of"):
        tune(iris.ref, registry=registry, objective="speed")


def test_other_hardware_falls_back_to_defaults_with_a_log_line(
        registry: Registry, iris: ModelVersion, caplog: pytest.LogCaptureFixture) -> None:
    TuningCache(registry.db).put(iris.artifact, "another-machine", runtime_version(),
                                 RuntimeOptions(intra_op_threads=7).to_dict())
    with caplog.at_level(logging.INFO, logger="augur.runtime"):
        model = load(iris.ref, registry=registry)
    assert model.options == RuntimeOptions()
    assert "other hardware" in caplog.text


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"),
                    reason="needs two cores and CPU affinity")
def test_a_process_pinned_to_fewer_cores_is_other_hardware() -> None:
    everything = os.sched_getaffinity(0)
    whole = hardware_fingerprint()
    try:
        os.sched_setaffinity(0, {min(everything)})
        assert usable_cores() == 1
        assert hardware_fingerprint() != whole
    finally:
        os.sched_setaffinity(0, everything)
    assert hardware_fingerprint() == whole


def test_budget_too_small(registry: Registry, iris: ModelVersion) -> None:
    with pytest.raises(ConfigError, match="at least 2 s"):
        tune(iris.ref, registry=registry, budget_s=0.5)


def test_fusion_report_counts_nodes_of_the_optimized_graph() -> None:
    torch = pytest.importorskip("torch")
    from augur.convert import convert

    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    data = convert(net, torch.zeros(4, 8)).onnx
    rep = fusion_report(data)
    assert rep["original"]["nodes"] == 3
    assert rep["original"]["ops"] == {"Gemm": 2, "Relu": 1}
    extended = rep["levels"]["extended"]
    # Gemm + Relu become one FusedGemm node.
    assert extended["added"].get("FusedGemm") == 1 and extended["removed"]["Relu"] == 1
    assert extended["nodes"] == 2


def test_synthetic_feeds_follow_the_signature(examples_registry: Registry) -> None:
    diabetes = examples_registry.resolve("diabetes")
    feeds = synthetic_feeds(diabetes.signature, rows=5)
    out = load(diabetes, registry=examples_registry).run(feeds)
    assert next(iter(out.values())).shape[0] == 5
    text_sig: Any = _text_signature()
    tfeeds = synthetic_feeds(text_sig, rows=3)
    assert tfeeds["text"].shape == (3,) and isinstance(tfeeds["text"][0], str)
    assert np.all([len(t.split()) >= 4 for t in tfeeds["text"]])


def _text_signature() -> Any:
    from augur.signature import Signature, TensorSpec

    return Signature(inputs=(TensorSpec("text", "BYTES", (-1,)),),
                     outputs=(TensorSpec("embeddings", "FP32", (-1, 4)),))
