"""The console's Models page with 1,000 registered models, against the 300 ms goal.

A real ``augur ui`` process (pinned with ``--server-cpu``) serves a registry of
``--models`` models; this process times, over ``--repeat`` requests each:

- ``GET /console/api/models`` (the first page, the last page, a search), over HTTP;
- the whole page in headless Chromium: navigation to ``/#/models`` until the listing
  is rendered (``document.body.dataset.ready``), a fresh tab each time; next to it the
  same browser opening a tab on a small JSON document, the floor under any page.

It prints the median and the 95th percentile of each against the 300 ms limit, with
their ratio, and the load average. Run it under the benchmark lock:

    flock /tmp/augur-bench.lock taskset -c 1 python benchmarks/console_bench.py --server-cpu 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

LIMIT_MS = 300.0


def seed(home: Path, models: int) -> None:
    """``models`` one-version models (a tiny ONNX graph shared by content address)."""
    from onnx import TensorProto, helper

    from augur.registry import Registry
    from augur.signature import Signature

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data, sig = model.SerializeToString(), Signature.from_onnx(model)
    registry = Registry(home)
    for i in range(models):
        registry.register(f"model-{i:04d}", data, sig,
                          description="churn scorer" if i % 50 == 0 else "fraud scorer")
        registry.set_alias(f"model-{i:04d}", "production", 1)


def start_ui(home: Path, cpu: int | None) -> tuple[subprocess.Popen[bytes], str]:
    from augur.serving.server import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "augur", "ui", "--port", str(port)]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, env={**os.environ, "AUGUR_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/console/api/info").status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("augur ui did not start")


def time_api(url: str, path: str, repeat: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url) as client:
        client.get(path).raise_for_status()  # warm
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            out.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return out


def time_page(url: str, repeat: int, target: str = "/#/models") -> list[float]:
    from playwright.sync_api import sync_playwright

    from augur.edge.browser import chromium_path

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium_path()), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        context = browser.new_context()
        for i in range(repeat + 1):
            page = context.new_page()
            started = time.perf_counter()
            page.goto(url + target)
            if "#" in target:
                page.wait_for_function("() => document.body.dataset.ready === 'models'")
            if i:  # the first load fills the browser's cache, as a returning user's is
                out.append((time.perf_counter() - started) * 1000)
            page.close()
        browser.close()
    return out


def row(label: str, samples: list[float]) -> str:
    p50 = statistics.median(samples)
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    return (f"{label:<38} {p50:8.1f} {p95:8.1f} {LIMIT_MS:8.0f} {p95 / LIMIT_MS:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--page-repeat", type=int, default=10)
    parser.add_argument("--server-cpu", type=int, default=None,
                        help="pin augur ui to this core (the client runs where it is started)")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t = time.perf_counter()
        seed(home, a.models)
        print(f"registered {a.models} models in {time.perf_counter() - t:.1f}s")
        proc, url = start_ui(home, a.server_cpu)
        try:
            results = [
                ("API: first page (25)", time_api(url, "/console/api/models?per_page=25",
                                                  a.repeat)),
                ("API: last page (25)", time_api(
                    url, f"/console/api/models?per_page=25&page={-(-a.models // 25)}",
                    a.repeat)),
                ("API: search 'churn' (20 of 1000)", time_api(
                    url, "/console/api/models?q=churn&per_page=25", a.repeat)),
                ("API: 200 per page", time_api(url, "/console/api/models?per_page=200",
                                               a.repeat)),
                ("page in Chromium: #/models rendered", time_page(url, a.page_repeat)),
                ("  baseline: a tab loading a JSON doc", time_page(url, a.page_repeat,
                                                                  "/console/api/info")),
            ]
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"\n{a.models} models, load average {os.getloadavg()[0]:.2f} "
          f"(1 min) on {os.cpu_count()} cores")
    print(f"{'':<38} {'p50 ms':>8} {'p95 ms':>8} {'limit':>8} {'p95/lim':>8}")
    for label, samples in results:
        print(row(label, samples))


if __name__ == "__main__":
    main()
