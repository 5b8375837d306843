"""Many models in one server: 1,000 small registered models under a memory budget.

Registers ``--models`` small, distinct ONNX models (a two-layer perceptron with
its own random weights each, ~70 KB), starts ``augur serve`` over them pinned to
core 0 with ``--memory-budget``, and sends single-row v2 requests whose model is
drawn from a Zipf popularity (exponent ``--zipf``) for ``--seconds``, from a few
concurrent clients on core 1. It prints:

- resident memory of the server (after start, peak, at the end) next to the
  budget and the server's own accounting at the end: the bytes it charges against
  the budget (each version's measured load growth, or its artifact where that is
  more) and the artifact bytes of the same versions, with the ratios of peak RSS
  (and of peak RSS less the RSS after start) to the budget;
- the hit rate: requests answered by an already-loaded model, i.e. one minus the
  loads the server counted (models loaded now + evictions) over requests, over
  the whole run and after the first fifth (the warm-up of an empty cache);
- the cold-load latency p50/p99 as the client saw it: the server counted K loads,
  and the K slowest requests are taken as the cold ones (a load costs
  milliseconds, a hit a fraction of one), next to the hit p50/p99.

    .venv/bin/python benchmarks/serving_many_models.py              # ~1 minute
    .venv/bin/python benchmarks/serving_many_models.py --models 200 --seconds 10
    .venv/bin/python benchmarks/serving_many_models.py --models 100 --hidden 8192 \
        --memory-budget 64MB     # ~1 MB models, whose sessions cost more than that
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving_targets import augur_server

from augur.config import parse_bytes

IN, HIDDEN, OUT = 32, 512, 4


def tiny_model(seed: int, hidden: int = HIDDEN) -> bytes:
    """A distinct two-layer perceptron as ONNX bytes (input [-1, 32] -> probabilities [-1, 4])."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
             for name, shape in (("w1", (IN, hidden)), ("b1", (hidden,)), ("w2", (hidden, OUT)),
                                 ("b2", (OUT,)))]
    nodes = [helper.make_node("MatMul", ["input", "w1"], ["h"]),
             helper.make_node("Add", ["h", "b1"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["hr"]),
             helper.make_node("MatMul", ["hr", "w2"], ["o"]),
             helper.make_node("Add", ["o", "b2"], ["ob"]),
             helper.make_node("Softmax", ["ob"], ["probabilities"], axis=-1)]
    graph = helper.make_graph(
        nodes, f"tiny{seed}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", IN])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", OUT])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def register_models(home: Path, count: int, hidden: int = HIDDEN) -> int:
    """Register ``count`` tiny models as m0000..; return the size of one artifact."""
    import onnx

    from augur.registry import Registry
    from augur.signature import Signature

    registry = Registry(home)
    size = 0
    signature = None
    for i in range(count):
        data = tiny_model(i, hidden)
        if signature is None:
            signature = Signature.from_onnx(onnx.load_model_from_string(data))
            size = len(data)
        registry.register(f"m{i:04d}", data, signature)
    return size


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (MLServer-style workers included)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(match.group(1)) * 1024 if match else 0
    return total


def server_counts(base: str) -> dict[str, float]:
    import httpx

    text = httpx.get(f"{base}/metrics", timeout=30).text
    out = {"loaded": 0.0, "evictions": 0.0, "memory": 0.0, "artifacts": 0.0, "load_sum": 0.0,
           "load_count": 0.0}
    patterns = {"loaded": r"^augur_models_loaded (\S+)", "evictions":
                r"^augur_model_evictions_total (\S+)", "memory":
                r"^augur_models_memory_bytes (\S+)", "artifacts":
                r"^augur_models_artifact_bytes (\S+)"}
    for key, pattern in patterns.items():
        match = re.search(pattern, text, re.M)
        out[key] = float(match.group(1)) if match else 0.0
    for match in re.finditer(r"^augur_model_load_seconds_(sum|count)\{[^}]*\} (\S+)", text, re.M):
        out[f"load_{match.group(1)}"] += float(match.group(2))
    return out


async def drive(base: str, names: list[str], probs: np.ndarray, seconds: float,
                concurrency: int) -> tuple[list[float], int]:
    """Closed-loop clients for ``seconds``; return per-request latencies (ms) and failures."""
    import httpx

    rng = np.random.default_rng(7)
    body = json.dumps({"inputs": [{"name": "input", "shape": [1, IN], "datatype": "FP32",
                                   "data": [0.1] * IN}]}).encode()
    latencies: list[float] = []
    failed = 0
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal failed
        while time.monotonic() < deadline:
            name = names[int(rng.choice(len(names), p=probs))]
            start = time.perf_counter()
            response = await http.post(f"{base}/v2/models/{name}/infer", content=body,
                                       headers={"content-type": "application/json"})
            took = (time.perf_counter() - start) * 1000
            if response.status_code == 200:
                latencies.append(took)
            else:
                failed += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return latencies, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--memory-budget", default="16MB")
    parser.add_argument("--zipf", type=float, default=1.1, help="popularity exponent")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=HIDDEN,
                        help="hidden units per model (512: ~70 KB artifacts)")
    args = parser.parse_args()

    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    with tempfile.TemporaryDirectory(prefix="augur-many-models-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "augur-home"
        started = time.perf_counter()
        size = register_models(home, args.models, args.hidden)
        print(f"registered {args.models} models of {size / 1024:.0f} KB each "
              f"({args.models * size / 2**20:.0f} MB in all) in "
              f"{time.perf_counter() - started:.1f}s; budget {args.memory_budget}", flush=True)
        config = tmp / "serve.toml"
        config.write_text(f'memory_budget = "{args.memory_budget}"\n')
        target, http, _ = augur_server("augur many models", home, config, [])
        target.start(tmp)
        assert target.proc is not None
        pid = target.proc.pid
        base = f"http://127.0.0.1:{http}"
        if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {1})  # the clients on core 1, the server on core 0
        rss_start = rss_bytes(pid)
        peak = [rss_start]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.25):
                peak[0] = max(peak[0], rss_bytes(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        ranks = np.arange(1, args.models + 1, dtype=np.float64)
        probs = ranks ** -args.zipf
        probs /= probs.sum()
        names = [f"m{i:04d}" for i in range(args.models)]
        try:
            before = server_counts(base)
            first, f1 = asyncio.run(drive(base, names, probs, args.seconds / 5, args.concurrency))
            middle = server_counts(base)
            rest, f2 = asyncio.run(drive(base, names, probs, args.seconds * 4 / 5,
                                         args.concurrency))
            after = server_counts(base)
            rss_end = rss_bytes(pid)
        finally:
            stop.set()
            target.stop()

    def loads(a: dict[str, float], b: dict[str, float]) -> float:
        return (b["loaded"] + b["evictions"]) - (a["loaded"] + a["evictions"])

    latencies = np.array(first + rest)
    cold_n = int(loads(before, after))
    order = np.sort(latencies)
    cold, hot = order[len(order) - cold_n:], order[:len(order) - cold_n]
    steady = 1 - loads(middle, after) / max(1, len(rest))
    mib = 2**20
    print(f"\n== {args.models} models, Zipf s={args.zipf}, budget {args.memory_budget}, "
          f"{args.concurrency} clients, {args.seconds:.0f}s ==")
    print(f"requests            {len(latencies):,} ok, {f1 + f2} failed "
          f"({len(latencies) / args.seconds:,.0f} req/s)")
    print(f"hit rate            {1 - cold_n / max(1, len(latencies)):.1%} overall, "
          f"{steady:.1%} after the first fifth")
    print(f"loads / evictions   {cold_n} loads, {after['evictions']:.0f} evictions, "
          f"{after['loaded']:.0f} models loaded at the end")
    budget = parse_bytes(args.memory_budget)
    print(f"budget              {budget / mib:.1f} MiB ({args.memory_budget})")
    print(f"server accounting   {after['memory'] / mib:.1f} MiB charged, "
          f"{after['artifacts'] / mib:.1f} MiB of artifacts, {after['loaded']:.0f} loaded "
          "(at the end)")
    print(f"server RSS          start {rss_start / mib:.0f} MiB, peak {peak[0] / mib:.0f} MiB, "
          f"end {rss_end / mib:.0f} MiB")
    print(f"RSS / budget        peak {peak[0] / budget:.2f}x, peak less start "
          f"{(peak[0] - rss_start) / budget:.2f}x")
    if cold.size:
        print(f"cold requests       p50 {np.percentile(cold, 50):.2f} ms, "
              f"p99 {np.percentile(cold, 99):.2f} ms (the {cold_n} slowest)")
    if after["load_count"]:
        print(f"server load time    mean {after['load_sum'] / after['load_count'] * 1000:.2f} ms "
              "(load and warm-up, from augur_model_load_seconds)")
    if hot.size:
        print(f"hit requests        p50 {np.percentile(hot, 50):.2f} ms, "
              f"p99 {np.percentile(hot, 99):.2f} ms")
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
