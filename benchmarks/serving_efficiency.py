"""Per-core efficiency of online serving, and this tree against an earlier commit, in one run.

Every server is pinned to core 0 and the load generator to core 1; requests are
single rows in a closed loop at c=1 and c=64, measured with two generators side by
side (wrk with 1 thread, and h2load). The servers, one at a time:

- the raw ASGI ceiling: uvicorn answering a fixed JSON body (Python HTTP serving
  can do no better here);
- augur from this tree ("after");
- augur from ``--before REF`` (default: the commit before the serving consolidation),
  extracted with ``git archive`` into a temporary folder and run from there with the
  same Python and libraries ("before").

Requests: the 4-feature iris row and a 30-feature row (breast_cancer row 0 as FP32
``[1, 30]``) to 100-tree forests over v2 REST JSON, the same 30-feature row as a
plain JSON record (``/v1/models/cancer:predict``), and the iris row over gRPC
(h2load only). Printed: req/s, p50 and p99 per run, then the ratios the issues set
targets for: augur against the ceiling (>= 0.5x at c=64 with p99 < 5 ms on the
30-feature request), plain JSON against v2 (within 10 %), and after against before
(no throughput loss over 3 % at c=1 and c=64; the request checks cost under 5 %).

    .venv/bin/python benchmarks/serving_efficiency.py                 # about 6 minutes
    .venv/bin/python benchmarks/serving_efficiency.py --before HEAD~3 --duration 3
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving_load import LoadResult, grpc_frame, h2load_path, run_load, run_wrk, wrk_path
from serving_targets import IRIS_ROW, PYTHON, ROOT, Target, free_port, uvicorn_peer

#: The last commit before the request pipeline and HTTP boundary were consolidated.
DEFAULT_BEFORE = "56e99fb"
MAIN = "from augur.cli import main; raise SystemExit(main())"


@dataclass
class Request:
    name: str
    path: str
    body: bytes
    grpc: bool = False


def prepare(home: Path) -> list[Request]:
    """Register the two forests in ``home``; return the requests to send."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    from augur.convert import export
    from augur.examples import iris_forest
    from augur.registry import Registry

    registry = Registry(home)
    iris = iris_forest(100)
    export(iris.model, "iris", sample=iris.X, registry=registry)
    frame = load_breast_cancer(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"]
    forest = RandomForestClassifier(100, random_state=0, n_jobs=1).fit(X, y)
    export(forest, "cancer", sample=X, registry=registry)
    row = X.iloc[0].astype(np.float32)
    v2 = lambda name, data: json.dumps({"inputs": [{  # noqa: E731
        "name": "input", "datatype": "FP32", "shape": [1, len(data)], "data": data}]}).encode()
    record = {str(k): float(v) for k, v in row.items()}
    from augur.serving.proto import grpc_predict_v2_pb2 as pb

    msg = pb.ModelInferRequest(model_name="iris",
                               raw_input_contents=[np.array([IRIS_ROW], np.float32).tobytes()])
    msg.inputs.add(name="input", datatype="FP32", shape=[1, 4])
    return [
        Request("iris v2 [1,4]", "/v2/models/iris/infer", v2("iris", IRIS_ROW)),
        Request("cancer v2 [1,30]", "/v2/models/cancer/infer",
                v2("cancer", [float(v) for v in row])),
        Request("cancer /v1 record (30)", "/v1/models/cancer:predict",
                json.dumps({"instances": [record]}).encode()),
        Request("iris gRPC [1,4]", "/inference.GRPCInferenceService/ModelInfer",
                grpc_frame(msg.SerializeToString()), grpc=True),
    ]


def source_at(ref: str, into: Path) -> Path:
    """The ``src`` tree of commit ``ref``, extracted under ``into``."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def augur_target(name: str, home: Path, src: Path | None) -> tuple[Target, int, int]:
    http, grpc_port = free_port(), free_port()
    config = home.parent / f"{name.replace(' ', '_')}.toml"
    config.write_text("[defaults]\nmax_batch_size = 64\nmax_queue_size = 4096\n")
    cmd = [str(PYTHON), "-c", MAIN, "serve", "--host", "127.0.0.1", "--port", str(http),
           "--grpc-port", str(grpc_port), "--config", str(config), "--access-log", "off",
           "--preload", "iris", "--preload", "cancer"]
    env = {"AUGUR_HOME": str(home)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return Target(name, cmd, f"http://127.0.0.1:{http}/v2/health/ready", env=env), http, \
        grpc_port


Key = tuple[str, str, str, int]  # server, request, generator, concurrency


def drive(server: str, target: Target, base: str, grpc_base: str, requests: list[Request],
          levels: list[int], args: argparse.Namespace, log_dir: Path,
          results: dict[Key, LoadResult]) -> None:
    print(f"  {server} ...", flush=True)
    target.start(log_dir)
    try:
        for req in requests:
            if req.grpc and not grpc_base:
                continue
            for c in levels:
                gens = ["h2load"] if req.grpc else ["wrk", "h2load"]
                for gen in gens:
                    if gen == "wrk" and wrk_path() is None:
                        continue
                    if req.grpc:
                        res = run_load(grpc_base + req.path, req.body, concurrency=c,
                                       duration=args.duration, warmup=1.0, http2=True,
                                       streams=min(16, c),
                                       headers={"content-type": "application/grpc",
                                                "te": "trailers"})
                    elif gen == "wrk":
                        run_wrk(base + req.path, req.body, concurrency=c, duration=1.0,
                                headers={"content-type": "application/json"})  # warm-up
                        res = run_wrk(base + req.path, req.body, concurrency=c,
                                      duration=args.duration,
                                      headers={"content-type": "application/json"})
                    else:
                        res = run_load(base + req.path, req.body, concurrency=c,
                                       duration=args.duration, warmup=1.0)
                    results[(server, req.name, gen, c)] = res
                    print(f"    {req.name:<24} {gen:<6} c={c:<3} {res.rps:>9,.0f} req/s  "
                          f"p50 {res.p50_ms:7.3f} ms  p99 {res.p99_ms:7.3f} ms  "
                          f"failed {res.failed}", flush=True)
    finally:
        target.stop()


def ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "  n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE,
                        help=f"commit to compare with (default {DEFAULT_BEFORE}); 'none' skips")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--levels", default="1,64")
    args = parser.parse_args()
    levels = [int(c) for c in args.levels.split(",")]
    if h2load_path() is None:
        print("h2load is missing (apt-get install nghttp2-client)", file=sys.stderr)
        return 2
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    results: dict[Key, LoadResult] = {}
    with tempfile.TemporaryDirectory(prefix="augur-efficiency-") as tmp_name:
        tmp = Path(tmp_name)
        requests = prepare(tmp / "after" / "home")
        print("models ready: iris and breast_cancer forests, 100 trees each", flush=True)
        target, port = uvicorn_peer("ceiling", "ceiling", {})
        ceiling = [Request(r.name, r.path, r.body) for r in requests if not r.grpc]
        drive("ceiling", target, f"http://127.0.0.1:{port}", "", ceiling, levels, args, tmp,
              results)
        target, http, grpc_port = augur_target("after", tmp / "after" / "home", None)
        drive("after", target, f"http://127.0.0.1:{http}", f"http://127.0.0.1:{grpc_port}",
              requests, levels, args, tmp, results)
        if args.before != "none":
            src = source_at(args.before, tmp / "before-src")
            shutil.copytree(tmp / "after" / "home", tmp / "before" / "home")
            target, http, grpc_port = augur_target("before", tmp / "before" / "home", src)
            drive(f"before ({args.before})", target, f"http://127.0.0.1:{http}",
                  f"http://127.0.0.1:{grpc_port}", requests, levels, args, tmp, results)
    report(results, requests, levels, args.before)
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    return 0


def report(results: dict[Key, LoadResult], requests: list[Request], levels: list[int],
           before: str) -> None:
    def get(server: str, req: str, gen: str, c: int) -> LoadResult | None:
        return results.get((server, req, gen, c))

    def rps(server: str, req: str, gen: str, c: int) -> float:
        r = get(server, req, gen, c)
        return r.rps if r else float("nan")

    print("\n== augur against the ceiling (same request, same generator) ==")
    for req in requests:
        if req.grpc:
            continue
        for gen in ("wrk", "h2load"):
            cells = []
            for c in levels:
                r = get("after", req.name, gen, c)
                p99 = f"p99 {r.p99_ms:.2f} ms" if r else ""
                share = ratio(rps("after", req.name, gen, c), rps("ceiling", req.name, gen, c))
                cells.append(f"c={c}: {share} {p99}")
            print(f"  {req.name:<24} {gen:<6} " + "   ".join(cells))
    print("\n== plain JSON record against v2 tensor, the same 30-feature row ==")
    for gen in ("wrk", "h2load"):
        shares = [ratio(rps("after", "cancer /v1 record (30)", gen, c),
                        rps("after", "cancer v2 [1,30]", gen, c)) for c in levels]
        cells = "   ".join(f"c={c}: {s}" for c, s in zip(levels, shares, strict=True))
        print(f"  /v1 / v2   {gen:<6} {cells}")
    label = f"before ({before})"
    if any(k[0] == label for k in results):
        print(f"\n== this tree against {before} (after / before, throughput) ==")
        for req in requests:
            for gen in ("wrk", "h2load"):
                if get("after", req.name, gen, levels[0]) is None:
                    continue
                shares = [ratio(rps("after", req.name, gen, c), rps(label, req.name, gen, c))
                          for c in levels]
                cells = "   ".join(f"c={c}: {s}" for c, s in zip(levels, shares, strict=True))
                print(f"  {req.name:<24} {gen:<6} {cells}")
    print("\nTargets: augur >= 0.5x the ceiling at c=64 with p99 < 5 ms on the 30-feature "
          "request; /v1 within 10 % of v2; after/before >= 0.97 at c=1 and c=64.")


if __name__ == "__main__":
    sys.exit(main())
