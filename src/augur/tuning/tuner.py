"""The autotuner: measure execution options on this machine, keep the best, cache it.

Two objectives, as Triton's model analyzer has:

* ``throughput`` (the default): rows per second of the server under load. After the
  latency search below picks the session options and the server's batch size, the
  tuner runs 1, 2... instances of the model at the same time (each a batch in its
  own thread, with the cores shared out as ONNX Runtime threads) and keeps the
  configuration that moves the most rows per second. ONNX Runtime's defaults are
  measured the same way at the same batch size, both called one batch at a time and
  from as many threads as the winner uses, and the better of the two is the baseline.
* ``latency``: single-row p50 latency of one request at a time.

The latency search (coordinate descent, each step keeps the best so far): graph
optimization level, then intra-op threads, then thread spinning, then execution mode
(parallel with inter-op threads), then execution providers (CUDA when this ONNX
Runtime has it), then the server's batch size and batching delay. Every winner is
finally run head to head against the defaults, in turns, and kept only if it really
is faster.

The result is cached in the registry (:class:`augur.registry.TuningCache`)
keyed by artifact hash + hardware fingerprint + ONNX Runtime version;
:func:`augur.runtime.load` and the server pick it up by themselves.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from augur.errors import ConfigError
from augur.registry import ModelVersion, Registry, TuningCache
from augur.runtime import (
    RuntimeOptions,
    hardware_description,
    hardware_fingerprint,
    load_bytes,
    runtime_version,
    to_feeds,
    usable_cores,
)
from augur.tuning.fusions import fusion_report
from augur.tuning.probe import (
    Timing,
    batch_throughput,
    head_to_head,
    served_throughput,
    synthetic_feeds,
    throughput_head_to_head,
    time_options,
)

BATCH_SIZES = (1, 4, 16, 64)
MIN_BUDGET_S = 2.0
MAX_INSTANCES = 4
OBJECTIVES = ("throughput", "latency")


@dataclass(frozen=True)
class TuningResult:
    """The options kept for a version on this machine, and how they were found."""

    version: ModelVersion
    options: RuntimeOptions
    report: dict[str, Any]
    cached: bool


def _candidates(stage: str, best: RuntimeOptions) -> list[RuntimeOptions]:
    import onnxruntime as ort

    cores = usable_cores()
    if stage == "graph_optimization_level":
        return [best.with_(graph_optimization_level=lv)
                for lv in ("disable", "basic", "extended", "all")]
    if stage == "intra_op_threads":
        counts = sorted({1, max(1, cores // 2), cores})
        return [best.with_(intra_op_threads=n) for n in counts]
    if stage == "spinning":
        # Idle pool threads spin by default; on a busy machine they steal the cores.
        off = {"session_config": {"session.intra_op.allow_spinning": "0",
                                  "session.inter_op.allow_spinning": "0"}}
        return [best.with_(extra={**best.extra, **off})] if best.intra_op_threads != 1 else []
    if stage == "execution_mode":
        return [best.with_(execution_mode="parallel", inter_op_threads=min(2, cores))] \
            if cores > 1 else []
    if stage == "providers":
        have = ort.get_available_providers()
        return [best.with_(providers=(p, "CPUExecutionProvider"))
                for p in ("CUDAExecutionProvider",) if p in have]
    raise ConfigError(f"unknown tuning stage {stage!r}")


def _choose_batching(data: bytes, version: ModelVersion, feeds: dict[str, np.ndarray],
                     options: RuntimeOptions, budget_s: float) -> tuple[int, float, list[Any]]:
    """Smallest batch reaching 90 % of the best rows/s; delay: half its run time."""
    model = load_bytes(data, version.signature, options)
    table = []
    for size in BATCH_SIZES:
        rows_s, ms = batch_throughput(model, feeds, size, budget_s / len(BATCH_SIZES))
        table.append({"batch_size": size, "rows_s": rows_s, "batch_ms": ms})
    peak = max(r["rows_s"] for r in table)
    chosen = next(r for r in table if r["rows_s"] >= 0.9 * peak)
    # Waiting about half a batch's run time fills batches without doubling latency.
    delay = float(min(10.0, max(0.5, chosen["batch_ms"] / 2))) if chosen["batch_size"] > 1 \
        else 0.0
    return int(chosen["batch_size"]), round(delay, 2), table


def _choose_instances(artifact: bytes, version: ModelVersion, feeds: dict[str, np.ndarray],
                      options: RuntimeOptions, size: int, budget_s: float,
                      ) -> tuple[RuntimeOptions, int, list[dict[str, Any]]]:
    """The (session options, instances) that move the most rows/s at batch ``size``."""
    cores = usable_cores()
    candidates = [(options, 1)] + [
        (options.with_(intra_op_threads=max(1, cores // k)), k)
        for k in range(2, min(cores, MAX_INSTANCES) + 1)]
    per = budget_s / len(candidates)
    measured = [served_throughput(artifact, version.signature, feeds, opts, size, k, per)
                for opts, k in candidates]
    best = max(measured, key=lambda t: t.rows_s)
    return best.options, best.instances, [t.to_dict() for t in measured]


def _contenders(defaults: RuntimeOptions, served: RuntimeOptions, instances: int,
                ) -> list[tuple[str, RuntimeOptions, int]]:
    """The head-to-head of the throughput objective: (label, options, instances), each
    configuration once (the search's winner may be one of the defaults' own)."""
    out = [("defaults", defaults, 1)]
    if instances > 1:
        out.append(("defaults from threads", defaults, instances))
    if (served, instances) not in [(o, n) for _, o, n in out]:
        out.append(("tuned", served, instances))
    return out


def tune(ref: str | ModelVersion, *, registry: Registry | None = None, budget_s: float = 60.0,
         data: Any = None, force: bool = False, objective: str = "throughput") -> TuningResult:
    """Find and cache the fastest execution options for a version on this machine.

    Args:
        ref: the version to tune (``name``, ``name:3``, ``name@alias``).
        registry: where it lives (default: ``$AUGUR_HOME``).
        budget_s: total time to spend measuring.
        data: inputs to time with (anything :func:`augur.runtime.to_feeds`
            accepts); by default made up from the signature.
        force: measure again even when this hardware has a cached result.
        objective: ``throughput`` (rows/s of the server under load, the default)
            or ``latency`` (single-row p50 of one request at a time).

    Returns:
        The kept options and the report; ``cached`` says whether it came from the cache.

    Raises:
        ConfigError: the budget is too small or the objective unknown.
        ModelNotFound: the reference matches nothing.
    """
    if budget_s < MIN_BUDGET_S:
        raise ConfigError(f"the tuning budget must be at least {MIN_BUDGET_S:g} s, "
                          f"got {budget_s:g} s")
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    reg = registry or Registry()
    version = ref if isinstance(ref, ModelVersion) else reg.resolve(ref)
    cache = TuningCache(reg.db)
    hw, rt = hardware_fingerprint(), runtime_version()
    if not force:
        entry = cache.get(version.artifact, hw, rt)
        if entry is not None and entry["report"].get("objective", "latency") == objective:
            return TuningResult(version, RuntimeOptions.from_dict(entry["options"]),
                                entry["report"], cached=True)
    started = time.perf_counter()

    def left() -> float:
        return budget_s - (time.perf_counter() - started)

    artifact = reg.read_artifact(version)
    feeds = (synthetic_feeds(version.signature) if data is None
             else to_feeds(version.signature, data))
    fusions = fusion_report(artifact)
    stages = ("graph_optimization_level", "intra_op_threads", "spinning", "execution_mode",
              "providers")
    n_trials = sum(len(_candidates(s, RuntimeOptions())) for s in stages) + 1
    share = 0.6 if objective == "latency" else 0.35
    per_trial = max(0.2, share * left() / n_trials)
    defaults = RuntimeOptions()
    baseline = time_options(artifact, version.signature, feeds, defaults, per_trial)
    trials: list[dict[str, Any]] = [{"stage": "defaults", **baseline.to_dict()}]
    best: Timing = baseline
    for stage in stages:
        for cand in _candidates(stage, best.options):
            if cand == best.options:
                continue
            t = time_options(artifact, version.signature, feeds, cand, per_trial)
            trials.append({"stage": stage, **t.to_dict()})
            if t.p50_ms < best.p50_ms:
                best = t
    batch_size, delay, batching = _choose_batching(
        artifact, version, feeds, best.options,
        max(0.4, (0.4 if objective == "latency" else 0.25) * left()))
    p50_default, p50_best = head_to_head(artifact, version.signature, feeds, defaults,
                                         best.options, rounds=100_000,
                                         budget_s=max(0.5, (0.9 if objective == "latency"
                                                            else 0.15) * left()))
    faster = best.options != defaults and p50_best < p50_default
    chosen = best.options if faster else defaults
    report: dict[str, Any] = {
        "model": version.ref, "artifact": version.artifact, "hardware": hardware_description(),
        "objective": objective, "budget_s": budget_s,
        "default_p50_ms": p50_default, "tuned_p50_ms": p50_best if faster else p50_default,
        "latency_speedup": p50_default / p50_best if faster else 1.0,
        "trials": trials, "batching": batching, "fusions": fusions,
    }
    instances = 1
    if objective == "throughput":
        served, k, concurrency = _choose_instances(
            artifact, version, feeds, chosen, batch_size, max(0.4, 0.45 * left()))
        contenders = _contenders(defaults, served, k)
        rates = throughput_head_to_head(artifact, version.signature, feeds, batch_size,
                                        [(o, n) for _, o, n in contenders],
                                        max(0.6, 0.85 * left()))
        # Keep exactly the contender measured fastest, at its own measured rate. The
        # baseline is the better way of calling ONNX Runtime with its defaults: one
        # batch at a time, or from as many threads as the search's winner uses.
        win = max(range(len(rates)), key=rates.__getitem__)
        _, chosen, instances = contenders[win]
        base_rate = max(r for (label, _, _), r in zip(contenders, rates, strict=True)
                        if label != "tuned")
        gain = rates[win] / base_rate
        threads = [r for (label, _, _), r in zip(contenders, rates, strict=True)
                   if label == "defaults from threads"]
        report.update({
            "instances": instances, "concurrency": concurrency, "batch_size": batch_size,
            "head_to_head": [{"contender": label, "options": o.to_dict(), "instances": n,
                              "rows_s": r, "kept": i == win}
                             for i, ((label, o, n), r) in
                             enumerate(zip(contenders, rates, strict=True))],
            "default_rows_s": rates[0],
            "default_rows_s_threads": threads[0] if threads else None,
            "tuned_rows_s": rates[win], "throughput_speedup": gain, "speedup": gain})
    else:
        report["speedup"] = report["latency_speedup"]
    options = chosen.with_(batch_size=batch_size, batch_delay_ms=delay,
                           instances=instances if instances > 1 else None)
    single = next(r["rows_s"] for r in batching if r["batch_size"] == 1)
    batched = next(r["rows_s"] for r in batching if r["batch_size"] == batch_size)
    report.update({"kept_defaults": chosen == defaults and instances == 1,
                   "batching_speedup": batched / single,
                   "spent_s": round(time.perf_counter() - started, 2),
                   "load": os.getloadavg()[0]})
    cache.put(version.artifact, hw, rt, options.to_dict(), report)
    return TuningResult(version, options, report, cached=False)
