"""In-browser (onnxruntime-web, WASM) prediction against native ONNX Runtime (issue 7).

The same registered model and the same rows run twice, with the same number of
intra-op threads (``--threads``, default 1):

- ``native``: ONNX Runtime's CPU provider in this process (``augur.runtime``'s
  session, ORT's defaults);
- ``wasm``: the edge page in headless Chromium (Debian's chromium, driven by
  Playwright), the bundle served by augur's own edge routes, cross-origin
  isolated so WASM threads are allowed.

For each model and batch size it prints the median latency of the model run
alone (``sess.run`` natively, ``session.run`` in the page, both on ready input
tensors) and of the whole ``predict(records)`` call, the throughput, and the
ratio wasm / native. The published WebAssembly slowdown is 1.45-1.55x; the
target is <= 2x on the model run. Where a ratio is above 2x the benchmark
measures why and prints it: which SIMD the WASM build uses, and what the
vector width alone is worth for the model's GEMMs on this CPU (numpy/OpenBLAS
with its 128-bit SSE kernels against its default ones). The ratio itself always
compares ORT's real defaults on both sides.

Models: the iris forest (100 trees), the diabetes pipeline (scaler, one-hot of a
string column, boosting) and an MLP (30 -> 256 -> 256 -> 1, dense float work).

    python benchmarks/edge_bench.py                    # all models, batches 1 and 256
    python benchmarks/edge_bench.py --quick            # fewer repeats
    python benchmarks/edge_bench.py --models mlp --threads 2 --explore   # + session options
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
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


def native_times(native: Any, records: list[dict[str, Any]], feeds: dict[str, Any],
                 samples: int, inner: int) -> tuple[list[float], list[float]]:
    """``samples`` timings of ``sess.run`` alone and of ``predict(records)``, per call."""
    session, names = native.session, native.output_names
    run, total = [], []
    for _ in range(samples):  # blocks of `inner` calls, as in the browser
        t = time.perf_counter()
        for _ in range(inner):
            native.predict(records)
        total.append((time.perf_counter() - t) / inner)
        t = time.perf_counter()
        for _ in range(inner):
            session.run(names, feeds)
        run.append((time.perf_counter() - t) / inner)
    return run, total


def measure(native: Any, page: Any, records: list[dict[str, Any]], repeats: int,
            warmup_s: float) -> dict[str, list[float]]:
    """Native and in-browser timings, interleaved in rounds so that a burst of load
    from elsewhere on the machine hits both sides alike.

    The model run is ``sess.run`` on ready numpy feeds natively and ``session.run``
    on ready ``ort.Tensor`` feeds in the page: the same call on both sides, with no
    record handling inside the clock.
    """
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
        samples = max(1, repeats // rounds)
        n_run, n_total = native_times(native, records, feeds, samples, inner)
        out["n_run"] += n_run
        out["n_total"] += n_total
        out["w_run"] += page.time_session(records, samples, inner=inner)
        out["w_total"] += [t for t, _ in page.time_runs(records, samples, inner=inner)]
    return out


def native_alone(native: Any, records: list[dict[str, Any]], repeats: int,
                 warmup_s: float) -> float:
    """Median ``sess.run`` seconds with nothing else of the benchmark running."""
    from augur.runtime import to_feeds

    feeds = to_feeds(native.signature, records)
    session, names = native.session, native.output_names
    until = time.perf_counter() + warmup_s
    while time.perf_counter() < until:
        session.run(names, feeds)
    return statistics.median(native_times(native, records, feeds, repeats,
                                          max(1, 64 // len(records)))[0])


#: onnxruntime-web session options tried against the page's defaults with --explore.
WEB_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults (graphOptimizationLevel all)": {},
    "enableMemPattern false": {"enableMemPattern": False},
    "enableCpuMemArena false": {"enableCpuMemArena": False},
    "executionMode parallel": {"executionMode": "parallel"},
}


def explore_web(page: Any, records: list[dict[str, Any]], repeats: int,
                warmup_s: float) -> dict[str, float]:
    """Median ``session.run`` seconds of fresh sessions made with each of WEB_VARIANTS."""
    inner = max(1, 64 // len(records))
    return {label: statistics.median(page.time_session(
                records, repeats, warmup_s=warmup_s, inner=inner, options=options))
            for label, options in WEB_VARIANTS.items()}


# A module using one relaxed-SIMD instruction (onnxruntime-web's own feature probe).
RELAXED_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17,
                 0, 65, 1, 253, 15, 65, 2, 253, 15, 65, 3, 253, 15, 253, 147, 2, 11]
NODE_VALIDATE = ("const fs = require('fs'); const [probe, wasm] = process.argv.slice(1);"
                 "console.log(JSON.stringify([WebAssembly.validate(new Uint8Array(JSON.parse(probe))),"
                 " WebAssembly.validate(fs.readFileSync(wasm))]));")


def simd_facts(page: Any) -> list[str]:
    """What onnxruntime-web's WASM build can use: SIMD128, relaxed SIMD, in this browser."""
    from augur.edge.webruntime import find_web_runtime

    web = find_web_runtime()
    wasm = web.dist / "ort-wasm-simd-threaded.wasm"
    browser = page.evaluate("(p) => WebAssembly.validate(new Uint8Array(p))", RELAXED_PROBE)
    lines = [f"onnxruntime-web {web.version} ships one CPU build, {wasm.name} (SIMD128 + threads); "
             f"relaxed-SIMD builds in dist/: {sorted(p.name for p in web.dist.glob('*relaxed*')) or 'none'}",
             f"this Chromium supports relaxed SIMD: {browser}; env.wasm.simd = 'relaxed' only makes "
             "onnxruntime-web check for that support, it selects no other binary"]
    node = shutil.which("node")
    if node:
        # With relaxed SIMD switched off in V8, a module using any relaxed instruction fails
        # validation; if the probe fails and the runtime passes, the runtime uses none.
        proc = subprocess.run([node, "--no-experimental-wasm-relaxed-simd", "-e", NODE_VALIDATE,
                               json.dumps(RELAXED_PROBE), str(wasm)],
                              capture_output=True, text=True, check=False)
        try:
            probe_ok, runtime_ok = json.loads(proc.stdout)
        except ValueError:
            probe_ok = runtime_ok = None
        if probe_ok is False:
            lines.append(f"{wasm.name} validates with relaxed SIMD off in V8 ({node}): "
                         f"{runtime_ok}, so it uses {'no' if runtime_ok else 'some'} relaxed-SIMD "
                         "instructions (no f32x4.relaxed_madd: every multiply-add is two ops)")
    return lines


def dense_flops(data: bytes) -> int:
    """Floating-point operations per row in the model's MatMul/Gemm with 2-D weights."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_model_from_string(data)
    shapes = {i.name: tuple(numpy_helper.to_array(i).shape) for i in model.graph.initializer}
    flops = 0
    for node in model.graph.node:
        if node.op_type in ("MatMul", "Gemm") and len(shapes.get(node.input[1], ())) == 2:
            k, n = shapes[node.input[1]]
            flops += 2 * k * n
    return flops


def dense_shapes(data: bytes) -> list[tuple[int, int]]:
    """(K, N) of each MatMul/Gemm whose weight is a 2-D initializer."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_model_from_string(data)
    shapes = {i.name: tuple(numpy_helper.to_array(i).shape) for i in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type in ("MatMul", "Gemm") and len(shapes.get(node.input[1], ())) == 2:
            trans = any(a.name == "transB" and a.i for a in node.attribute)
            k, n = shapes[node.input[1]]
            out.append((n, k) if trans else (k, n))
    return out


GEMM_SCRIPT = """
import json, statistics, sys, time
import numpy as np
from threadpoolctl import threadpool_info
shapes, batch = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
pairs = [(rng.normal(size=(batch, k)).astype(np.float32),
          rng.normal(size=(k, n)).astype(np.float32)) for k, n in shapes]
inner = max(1, 64 // batch)
def once():
    for x, w in pairs:
        x @ w
for _ in range(200):
    once()
samples = []
for _ in range(60):
    t = time.perf_counter()
    for _ in range(inner):
        once()
    samples.append((time.perf_counter() - t) / inner)
arch = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
print(json.dumps([statistics.median(samples), arch[0] if arch else None]))
"""


def gemm_seconds(shapes: list[tuple[int, int]], batch: int, threads: int,
                 coretype: str | None) -> tuple[float, str | None]:
    """The model's GEMMs alone, in numpy/OpenBLAS, with the given kernel family."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads)}
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    proc = subprocess.run([sys.executable, "-c", GEMM_SCRIPT, json.dumps([shapes, batch])],
                          capture_output=True, text=True, env=env, check=True)
    seconds, arch = json.loads(proc.stdout)
    return float(seconds), arch


def floor_lines(name: str, data: bytes, batch: int, threads: int, native_s: float,
                wasm_s: float) -> list[str]:
    """Is the gap the vector width? GFLOP/s of both sides against 128-bit and wide GEMM kernels.

    OpenBLAS's Nehalem kernels are SSE: 128-bit vectors and no fused multiply-add,
    the same shape of arithmetic as WASM SIMD128. Its default kernels on this CPU
    use the widest vectors and FMA, as ONNX Runtime's MLAS kernels do natively.
    This measures what the vector width alone is worth on these GEMMs here; the
    benchmark's own ratio still compares ONNX Runtime's real defaults.
    """
    shapes = dense_shapes(data)
    flops = dense_flops(data) * batch
    if not shapes or batch < 16:
        return []
    wide, wide_arch = gemm_seconds(shapes, batch, threads, None)
    avx2, avx2_arch = gemm_seconds(shapes, batch, threads, "Haswell")
    narrow, narrow_arch = gemm_seconds(shapes, batch, threads, "Nehalem")
    g = lambda s: flops / s / 1e9  # noqa: E731
    return [
        f"{name} batch {batch}: {flops / 1e6:.1f} MFLOP of GEMM per call; native ORT "
        f"{g(native_s):.1f} GFLOP/s, WASM {g(wasm_s):.1f} GFLOP/s",
        f"  the same GEMMs in numpy/OpenBLAS, {threads} thread(s): {wide_arch} kernels "
        f"{g(wide):.1f} GFLOP/s, {avx2_arch} kernels (256-bit AVX2 + FMA) {g(avx2):.1f} "
        f"GFLOP/s, {narrow_arch} kernels (128-bit SSE, no FMA, like WASM "
        f"SIMD128) {g(narrow):.1f} GFLOP/s: the vector width and FMA alone are worth "
        f"{narrow / wide:.2f}x here",
        f"  native ORT is {g(native_s) / g(narrow):.2f}x the 128-bit kernels' rate; WASM "
        f"reaches {g(wasm_s) / g(narrow):.2f}x of it",
    ]


def register_tiny(registry: Any) -> str:
    """A three-node model (``relu(x @ W + b)``, x FP32 [n, 3]): nearly no work per call."""
    from onnx import TensorProto, helper, numpy_helper

    from augur.signature import Signature

    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["z"]),
         helper.make_node("Relu", ["z"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        initializer=[numpy_helper.from_array(rng.normal(size=(3, 4)).astype(np.float32), "W"),
                     numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return str(registry.register("tiny", model.SerializeToString(),
                                 Signature.from_onnx(model)).ref)


def per_call_floor(browser: Any, host: Any, registry: Any, threads: int,
                   warmup_s: float) -> tuple[float, float]:
    """Median seconds of one ``sess.run`` / ``session.run`` of the tiny model on one row.

    This is the fixed cost of a call on each side (onnxruntime-web copies inputs into
    the WASM heap and outputs back to JavaScript, behind a promise), the floor under
    every batch-1 ratio.
    """
    from augur.runtime import RuntimeOptions, load

    ref = register_tiny(registry)
    session = load(ref, registry=registry,
                   options=RuntimeOptions(intra_op_threads=threads)).session
    feeds = {"x": np.ones((1, 3), np.float32)}
    until = time.perf_counter() + warmup_s
    while time.perf_counter() < until:
        session.run(None, feeds)
    samples = []
    for _ in range(50):
        t = time.perf_counter()
        for _ in range(200):
            session.run(None, feeds)
        samples.append((time.perf_counter() - t) / 200)
    page = browser.open(host.page_url(ref) + f"?threads={threads}")
    page.wait_ready()
    wasm = page.evaluate(
        "async (warmupMs) => { const m = await window.augurEdge.ready;"
        " const feeds = {x: new m.ort.Tensor('float32', new Float32Array(3).fill(1), [1, 3])};"
        " const until = performance.now() + warmupMs;"
        " do { await m.session.run(feeds); } while (performance.now() < until);"
        " const out = []; for (let i = 0; i < 50; i++) { const s = performance.now();"
        "  for (let j = 0; j < 200; j++) await m.session.run(feeds);"
        "  out.push((performance.now() - s) / 200 / 1000); }"
        " out.sort((a, b) => a - b); return out[25]; }", warmup_s * 1000)
    page.page.close()
    return statistics.median(samples), float(wasm)


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
    parser.add_argument("--threads", type=int, default=1,
                        help="intra-op threads on both sides (WASM threads need the page's "
                             "cross-origin isolation, which augur serves)")
    parser.add_argument("--explore", action="store_true",
                        help="also time onnxruntime-web session-option variants")
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
    lines: list[str] = []
    notes: list[str] = []
    explored: list[str] = []
    disturbed: list[str] = []
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="augur-edge-bench-") as tmp:
        data = build_registry(Path(tmp) / "home", models)
        reg = Registry(Path(tmp) / "home")
        with EdgeHost(reg) as host, EdgeBrowser() as browser:
            for name in models:
                native = load(f"{name}:1", registry=reg,
                              options=RuntimeOptions(intra_op_threads=args.threads))
                # Native once more with no page open: with 2 cores, the browser's own
                # threads (V8's background tier-up, idle WASM workers) can slow the native
                # side between its rounds, which would flatter WASM. The faster figure counts.
                alone = {batch: native_alone(native, rows_of(data[name], batch), repeats,
                                             args.warmup) for batch in batches}
                page = browser.open(host.page_url(f"{name}:1") + f"?threads={args.threads}")
                info = page.wait_ready()
                if info["threads"] != args.threads:
                    raise SystemExit(f"the page runs {info['threads']} WASM thread(s), not "
                                     f"{args.threads}: the comparison would be unequal")
                print(f"{name}: wasm backend {info['backend']}, {info['threads']} thread(s), "
                      f"cross-origin isolated {info['crossOriginIsolated']}, page load "
                      f"{info['loadSeconds'] * 1000:.0f} ms; native {args.threads} thread(s)")
                if not notes:
                    notes += simd_facts(page)
                artifact = reg.read_artifact(reg.resolve(f"{name}:1"))
                for batch in batches:
                    rows = rows_of(data[name], batch)
                    m = measure(native, page, rows, repeats, args.warmup)
                    nr, wr = statistics.median(m["n_run"]), statistics.median(m["w_run"])
                    nt, wt = statistics.median(m["n_total"]), statistics.median(m["w_total"])
                    if alone[batch] < nr * 0.9:
                        disturbed.append(f"{name} batch {batch}: native {ms(nr)} ms between "
                                         f"browser rounds, {ms(alone[batch])} ms alone")
                    nr = min(nr, alone[batch])
                    worst = max(worst, wr / nr)
                    lines.append(f"{name:<9} {batch:>5} | {ms(nr):>10} {ms(wr):>9} "
                                 f"{wr / nr:>5.2f}x | {ms(nt):>14} {ms(wt):>12} "
                                 f"{wt / nt:>5.2f}x | {batch / nr:>13,.0f} {batch / wr:>11,.0f}")
                    if wr / nr > 2:
                        notes += floor_lines(name, artifact, batch, args.threads, nr, wr)
                    if args.explore:
                        for label, sec in explore_web(page, rows, repeats, args.warmup).items():
                            explored.append(f"{name:<9} {batch:>5} | {label:<38} {ms(sec):>9} "
                                            f"{sec / nr:>5.2f}x")
                page.page.close()  # its workers and V8's compiler threads go with it
            if 1 in batches:
                fn, fw = per_call_floor(browser, host, reg, args.threads, args.warmup)
                notes.append(f"per-call floor, a 3-node model on 1 row: native {fn * 1e6:.1f} us, "
                             f"WASM {fw * 1e6:.1f} us ({fw / fn:.2f}x): onnxruntime-web copies "
                             "inputs into the WASM heap and outputs out behind a promise on every "
                             "call, so at batch 1 the ratio cannot fall much below this")
    print()
    print("median milliseconds per call; 'run' is sess.run / session.run on ready tensors, "
          "'predict' is records in, outputs out; rows/s from the run alone")
    print(header)
    print("-" * len(header))
    print("\n".join(lines))
    if disturbed:
        print("\nnative was slower between browser rounds than alone (the alone figure is "
              "used):\n" + "\n".join(f"- {d}" for d in disturbed))
    if explored:
        print("\nonnxruntime-web session options (fresh session each; ratio to native run):")
        print("\n".join(explored))
    print(f"\nworst model-run ratio wasm/native: {worst:.2f}x (target <= 2x: "
          f"{'met' if worst <= 2 else 'NOT met'})")
    if notes:
        print("\nwhere the gaps come from (measured here):")
        print("\n".join(f"- {n}" if not n.startswith("  ") else n for n in notes))
    print(f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (1/5/15 min); repeats {repeats}; {args.threads} thread(s) "
          "on each side")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
