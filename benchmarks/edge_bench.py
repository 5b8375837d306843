"""In-browser (onnxruntime-web, WASM) prediction against native ONNX Runtime (issue 7).

The same registered model and the same rows run twice:

- ``native``: ``augur.runtime`` (ONNX Runtime's CPU provider) in this process,
  with as many intra-op threads as the browser's WASM backend uses;
- ``wasm``: the edge page in headless Chromium (Debian's chromium, driven by
  Playwright), the bundle served by augur's own edge routes, cross-origin
  isolated so WASM threads are on.

For each model and batch size it prints the median latency of the model run
alone (``session.run``) and of the whole ``predict(records)`` call (records ->
tensors -> run -> outputs), the throughput, and the ratio wasm / native. The
published WebAssembly slowdown is 1.45-1.55x; the target is <= 2x on the model run.

Models: the iris forest (100 trees), the diabetes pipeline (scaler, one-hot of a
string column, boosting) and an MLP (30 -> 256 -> 256 -> 2, dense float work).

    python benchmarks/edge_bench.py                    # all models, batches 1 and 256
    python benchmarks/edge_bench.py --quick            # fewer repeats
    python benchmarks/edge_bench.py --models mlp --batches 1,64,1024 --repeats 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def build_registry(home: Path, models: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Register the benchmark models; return model name -> its data set as records."""
    from augur.convert import export
    from augur.edge.parity import records_of
    from augur.examples import (
        breast_cancer_frame,
        diabetes_pipeline,
        iris_forest,
    )
    from augur.registry import Registry

    reg = Registry(home)
    data: dict[str, list[dict[str, Any]]] = {}
    for name in models:
        if name == "iris":
            ex = iris_forest()
        elif name == "diabetes":
            ex = diabetes_pipeline()
        elif name == "mlp":
            from sklearn.neural_network import MLPClassifier
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            X, y = breast_cancer_frame()
            model = make_pipeline(StandardScaler(), MLPClassifier(
                hidden_layer_sizes=(256, 256), max_iter=200, random_state=0)).fit(X, y)
            export(model, "mlp", sample=X, registry=reg)
            data["mlp"] = records_of(X)
            continue
        else:
            raise SystemExit(f"unknown model {name!r}; choose from iris, diabetes, mlp")
        export(ex.model, ex.name, sample=ex.X, registry=reg)
        data[name] = records_of(ex.X)
    return data


def rows_of(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return [records[i % len(records)] for i in range(n)]


def native_times(model: Any, records: list[dict[str, Any]], feeds: dict[str, Any],
                 samples: int, inner: int) -> tuple[list[float], list[float]]:
    """``samples`` timings of the model run and of ``predict(records)``, per call."""
    run, total = [], []
    for _ in range(samples):  # blocks of `inner` calls, as in the browser
        t = time.perf_counter()
        for _ in range(inner):
            model.predict(records)
        total.append((time.perf_counter() - t) / inner)
        t = time.perf_counter()
        for _ in range(inner):
            model.run(feeds)
        run.append((time.perf_counter() - t) / inner)
    return run, total


def measure(native: Any, page: Any, records: list[dict[str, Any]], repeats: int,
            warmup_s: float) -> dict[str, list[float]]:
    """Native and in-browser timings, interleaved in rounds so that a burst of load
    from elsewhere on the machine hits both sides alike."""
    from augur.runtime import to_feeds

    feeds = to_feeds(native.signature, records)
    inner = max(1, 64 // len(records))
    until = time.perf_counter() + warmup_s
    while time.perf_counter() < until:
        native.predict(records)
    # The browser's warm-up lets V8 tier the hot WASM functions up from its baseline compiler.
    page.time_runs(records, 1, warmup_s=warmup_s, inner=1)
    out: dict[str, list[float]] = {"n_run": [], "n_total": [], "w_run": [], "w_total": []}
    rounds = 10
    for _ in range(rounds):
        n_run, n_total = native_times(native, records, feeds, max(1, repeats // rounds), inner)
        pairs = page.time_runs(records, max(1, repeats // rounds), inner=inner)
        out["n_run"] += n_run
        out["n_total"] += n_total
        out["w_run"] += [r for _, r in pairs]
        out["w_total"] += [t for t, _ in pairs]
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}" if seconds < 0.01 else f"{seconds * 1000:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="iris,diabetes,mlp")
    parser.add_argument("--batches", default="1,256")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="30 repeats, 1 s warm-up")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of untimed predictions before each measurement")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads on both sides (default: the browser's choice)")
    args = parser.parse_args(argv)
    repeats = 30 if args.quick else args.repeats
    if args.quick:
        args.warmup = min(args.warmup, 1.0)
    batches = [int(b) for b in args.batches.split(",")]
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    from augur.edge import EdgeBrowser, EdgeHost
    from augur.registry import Registry
    from augur.runtime import RuntimeOptions, load

    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (1/5/15 min), {os.cpu_count()} CPUs")
    header = (f"{'model':<9} {'batch':>5} | {'run native':>10} {'run wasm':>9} {'ratio':>6} | "
              f"{'predict native':>14} {'predict wasm':>12} {'ratio':>6} | "
              f"{'rows/s native':>13} {'rows/s wasm':>11}")
    lines = []
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="augur-edge-bench-") as tmp:
        data = build_registry(Path(tmp) / "home", models)
        reg = Registry(Path(tmp) / "home")
        with EdgeHost(reg) as host, EdgeBrowser() as browser:
            for name in models:
                query = f"?threads={args.threads}" if args.threads else ""
                page = browser.open(host.page_url(f"{name}:1") + query)
                info = page.wait_ready()
                native = load(f"{name}:1", registry=reg,
                              options=RuntimeOptions(intra_op_threads=info["threads"]))
                print(f"{name}: wasm backend {info['backend']}, {info['threads']} thread(s), "
                      f"cross-origin isolated {info['crossOriginIsolated']}, page load "
                      f"{info['loadSeconds'] * 1000:.0f} ms; native {info['threads']} thread(s)")
                for batch in batches:
                    rows = rows_of(data[name], batch)
                    m = measure(native, page, rows, repeats, args.warmup)
                    nr, wr = statistics.median(m["n_run"]), statistics.median(m["w_run"])
                    nt, wt = statistics.median(m["n_total"]), statistics.median(m["w_total"])
                    worst = max(worst, wr / nr)
                    lines.append(f"{name:<9} {batch:>5} | {ms(nr):>10} {ms(wr):>9} "
                                 f"{wr / nr:>5.2f}x | {ms(nt):>14} {ms(wt):>12} "
                                 f"{wt / nt:>5.2f}x | {batch / nr:>13,.0f} {batch / wr:>11,.0f}")
    print()
    print("median milliseconds per call; rows/s from the model run alone")
    print(header)
    print("-" * len(header))
    print("\n".join(lines))
    print(f"\nworst model-run ratio wasm/native: {worst:.2f}x (target <= 2x: "
          f"{'met' if worst <= 2 else 'NOT met'})")
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (1/5/15 min); repeats {repeats}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
