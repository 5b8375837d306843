"""Does the server gain what ``augur tune`` measured? MiniLM served end to end, side by side.

The same MiniLM sentence encoder (tokenizer in the graph) is served by ``augur
serve`` three times, each under the same closed-loop load of single-sentence v2
requests (``--concurrency`` clients, an asyncio httpx load generator pinned to
core 1, the server free to use both cores):

1. ONNX Runtime's defaults: ``intra_op_threads = 0``, one batch at a time;
2. augur's untuned default: one ORT thread per run, one batch at a time;
3. the options ``augur tune`` cached (session options, batch size, delay, instances).

Each server starts on both cores, as the tuner measured (a server pinned to fewer
cores has another hardware fingerprint and loads no tuned options). After each run
the benchmark reads back what the server actually loaded (``GET /v2/admin/models``:
session options and batching) and prints it next to the figures, so a row labelled
"tuned" shows that it was.

Batching is on in all three (the server's default ``max_batch_size``). Prints
requests/s, p50 and p99 latency, and the tuned server's ratio to each.

    .venv/bin/python benchmarks/tuning_served.py [--duration 8] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving_models import minilm_body
from serving_targets import augur_server


async def _drive(url: str, body: bytes, concurrency: int, duration: float,
                 warmup: float) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    failures = 0
    measure_from = time.perf_counter() + warmup
    stop = measure_from + duration
    headers = {"content-type": "application/json"}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal failures
        while (now := time.perf_counter()) < stop:
            response = await http.post(url, content=body, headers=headers)
            if response.status_code != 200:
                failures += 1
            elif now >= measure_from:
                latencies.append(time.perf_counter() - now)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*[client(http) for _ in range(concurrency)])
    lat = np.array(latencies) * 1e3
    return (len(latencies) / duration, float(np.percentile(lat, 50)),
            float(np.percentile(lat, 99)), failures)


def loaded_options(port: int) -> str:
    """What the server runs minilm with, read back from its admin listing."""
    listing = httpx.get(f"http://127.0.0.1:{port}/v2/admin/models", timeout=10).json()
    entry = next(e for e in listing["loaded"] if e["name"] == "minilm")
    o, b = entry["runtime_options"], entry["batching"]
    spin = ("no-spin" if (o.get("extra") or {}).get("session_config") else "spin")
    return (f"level={o['graph_optimization_level']} intra={o['intra_op_threads'] or 'auto'} "
            f"{o['execution_mode']} {spin}; batch {b['max_batch_size']}, "
            f"delay {b['max_delay_ms']:g} ms, instances {b['instances']}")


def serve_and_measure(name: str, home: Path, settings: str, args: argparse.Namespace,
                      ) -> tuple[tuple[float, float, float, int], str]:
    config = home.parent / f"{name}.toml"
    config.write_text(settings)
    target, port, _grpc = augur_server(name, home, config, ["minilm"])
    target.cpu = None
    # The server inherits this process's affinity: give it both cores, as tuned.
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    try:
        target.start(home.parent)
    finally:
        os.sched_setaffinity(0, {1})  # the load generator
    try:
        url = f"http://127.0.0.1:{port}/v2/models/minilm/infer"
        figures = asyncio.run(_drive(url, minilm_body(), args.concurrency, args.duration,
                                     args.warmup))
        return figures, loaded_options(port)
    finally:
        target.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--budget", type=float, default=60.0, help="tuning budget, seconds")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the load generator; the servers get both cores

    from augur.convert.text import export_sentence_encoder
    from augur.registry import Registry
    from augur.tuning import tune

    with tempfile.TemporaryDirectory(prefix="augur-tune-served-") as tmp:
        home = Path(tmp) / "home"
        reg = Registry(home)
        export_sentence_encoder("minilm", registry=reg)
        base = "[models.minilm]\nexecutor = \"thread\"\n"
        rows = [("ORT defaults", serve_and_measure("ort-defaults", home,
                                                    base + "intra_op_threads = 0\n", args)),
                ("augur untuned", serve_and_measure("untuned", home, base, args))]
        os.sched_setaffinity(0, {0, 1})
        result = tune("minilm", registry=reg, budget_s=args.budget, force=True)
        os.sched_setaffinity(0, {1})
        o = result.options
        rows.append((f"tuned (batch {o.batch_size}, instances {o.instances or 1}, "
                     f"intra {o.intra_op_threads or 'auto'})",
                     serve_and_measure("tuned", home, base, args)))
        print(f"MiniLM over v2 REST, {args.concurrency} clients, {args.duration:g} s each; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        print(f"{'server':<44}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
        for label, ((rps, p50, p99, failed), _loaded) in rows:
            print(f"{label:<44}{rps:>8.1f}{p50:>9.2f}{p99:>9.2f}{failed:>8}")
        print("\nwhat each server loaded (read back from GET /v2/admin/models):")
        for label, (_figures, loaded) in rows:
            print(f"  {label:<44}{loaded}")
        tuned = rows[-1][1][0][0]
        print(f"\ntuned / ORT defaults: {tuned / rows[0][1][0][0]:.2f}x req/s; "
              f"tuned / augur untuned: {tuned / rows[1][1][0][0]:.2f}x req/s")


if __name__ == "__main__":
    main()
