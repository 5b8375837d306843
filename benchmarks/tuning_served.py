"""Does the server gain what ``augur tune`` measured? MiniLM served end to end, side by side.

The same MiniLM sentence encoder (tokenizer in the graph) is served by ``augur
serve`` three times, each under the same closed-loop load of single-sentence v2
requests (``--concurrency`` clients, an asyncio httpx load generator pinned to
core 1, the server free to use both cores):

1. ONNX Runtime's defaults: ``intra_op_threads = 0``, one batch at a time;
2. augur's untuned default: one ORT thread per run, one batch at a time;
3. the options ``augur tune`` cached (session options, batch size, delay, instances).

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


def serve_and_measure(name: str, home: Path, settings: str, args: argparse.Namespace,
                      ) -> tuple[float, float, float, int]:
    config = home.parent / f"{name}.toml"
    config.write_text(settings)
    target, port, _grpc = augur_server(name, home, config, ["minilm"])
    target.cpu = None
    target.start(home.parent)
    try:
        url = f"http://127.0.0.1:{port}/v2/models/minilm/infer"
        return asyncio.run(_drive(url, minilm_body(), args.concurrency, args.duration,
                                  args.warmup))
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
        for label, (rps, p50, p99, failed) in rows:
            print(f"{label:<44}{rps:>8.1f}{p50:>9.2f}{p99:>9.2f}{failed:>8}")
        tuned = rows[-1][1][0]
        print(f"\ntuned / ORT defaults: {tuned / rows[0][1][0]:.2f}x req/s; "
              f"tuned / augur untuned: {tuned / rows[1][1][0]:.2f}x req/s")


if __name__ == "__main__":
    main()
