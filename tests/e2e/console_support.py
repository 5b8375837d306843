"""Support for the console's browser tests: the data a console shows, Chromium, axe-core.

``seed_registry`` fills a registry the way a user would (examples exported from their
frameworks, a compressed child, a tuned artifact, alias moves, a batch run with bad
rows, a schedule, a streaming feature view with a checkpoint). ``ConsoleBrowser`` drives
Debian's Chromium through Playwright and checks every page with axe-core, injected from
the npm package the set-up installed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from augur.edge.browser import chromium_path
from augur.errors import ConfigError
from augur.registry import Registry, TuningCache
from augur.signature import Signature

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
DEFINITIONS = '''
from datetime import timedelta
from augur.features import Aggregation, Entity, EventSource, FeatureView, Window

restaurant = Entity("restaurant", "restaurant_id")
orders = EventSource("orders", {"basket_eur": "float"})
restaurant_orders = FeatureView("restaurant_orders", restaurant, orders, (
    Aggregation("orders_10m", "count", Window.sliding(timedelta(minutes=10))),
    Aggregation("basket_mean_10m", "mean", Window.sliding(timedelta(minutes=10)),
                column="basket_eur"),
), ttl=timedelta(hours=1))
'''


def require_browser_tools() -> Path:
    """Chromium and axe-core, or skip (fail under ``AUGUR_REQUIRE_SERVICES=1``)."""
    axe = ROOT / "node_modules" / "axe-core" / "axe.min.js"
    try:
        chromium_path()
        if not axe.is_file():
            raise ConfigError(f"axe-core is not installed at {axe}; run scripts/setup.sh")
    except ConfigError as exc:
        if os.environ.get("AUGUR_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{exc} and AUGUR_REQUIRE_SERVICES=1")
        pytest.skip(str(exc))
    return axe


def mlp_onnx(seed: int = 0) -> tuple[bytes, Signature]:
    """A small 8 -> 64 -> 3 MLP as ONNX (MatMul weights, so quantization applies)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.normal(size=(8, 64)).astype(np.float32), "W1"),
             numpy_helper.from_array(rng.normal(size=(64, 3)).astype(np.float32), "W2")]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "W2"], ["y"])]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString(), Signature.from_onnx(model)


@dataclass
class Seeded:
    """What :func:`seed_registry` made."""

    registry: Registry
    failed_run: str
    bad_input: Path
    definitions: Path
    online_store: str


def _stream_view(definitions: Path, store_url: str) -> None:
    from augur.features import FeatureStreamHandler, load_definitions, open_online_store
    from augur.streaming import Message

    view = load_definitions(definitions).stream_view("restaurant_orders")
    store = open_online_store(store_url)
    handler = FeatureStreamHandler(view, store, checkpoint_interval=0)
    now = int(time.time() * 1000)
    events = [Message(str(i), (i, 0), {"restaurant_id": f"r{i % 3}", "event_time": now - 60_000
                                       + i * 1000, "event_id": f"e{i}", "basket_eur": 10.0 + i})
              for i in range(24)]

    async def feed() -> None:
        await handler.start()
        await handler.handle(events)
        await handler.flush()

    # In a thread of its own: the caller may already run an event loop (Playwright's).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, feed()).result()
    store.close()


def seed_registry(home: Path) -> Seeded:
    """A registry with everything each console page shows (see the module docstring)."""
    from augur.batch import BatchJob, ScheduleStore, run_batch
    from augur.compression import compress
    from augur.examples import iris_frame, register_examples

    registry = Registry(home)
    register_examples(registry)
    data, signature = mlp_onnx()
    parent = registry.register("mlp", data, signature, description="a small dense network")
    rng = np.random.default_rng(1)
    compress(parent.ref, "quantize-dynamic", registry=registry, measure_s=0.2,
             validation={"x": rng.normal(size=(64, 8)).astype(np.float32)})
    registry.register("mlp", *mlp_onnx(seed=2))
    registry.set_alias("mlp", "production", 1)
    registry.set_alias("mlp", "staging", 2)
    registry.set_alias("mlp", "staging", 3)
    TuningCache(registry.db).put(parent.artifact, "x86_64 2 cores (test)", "1.99.0",
                                 {"intra_op_threads": 1, "batch_size": 16},
                                 {"objective": "throughput", "speedup": 1.3})
    frame = iris_frame()[0].head(20).copy()
    frame.insert(0, "id", [f"row-{i}" for i in range(len(frame))])
    frame["sepal_length"] = frame["sepal_length"].astype(object)
    frame.loc[3, "sepal_length"] = "not a number"
    frame.loc[7, "sepal_length"] = None
    good = home / "iris_rows.csv"
    frame.to_csv(good, index=False)
    run_batch(BatchJob("iris@production", str(good), key="id"), registry, quiet=True)
    # A run that fails as a whole: its input lacks the key column (fixed, then resumed).
    bad = home / "later_rows.csv"
    frame.drop(columns=["id"]).to_csv(bad, index=False)
    failed = ""
    try:
        run_batch(BatchJob("iris@production", str(bad), key="id"), registry, quiet=True)
    except ConfigError:
        from augur.batch import list_runs

        failed = next(r.id for r in list_runs(registry) if r.status == "failed")
    ScheduleStore(registry).add(BatchJob("iris@production", str(good), key="id"), every="4h")
    definitions = home / "features.py"
    definitions.write_text(DEFINITIONS)
    store = f"sqlite:///{home / 'online.db'}"
    _stream_view(definitions, store)
    return Seeded(registry, failed, bad, definitions, store)


class ConsolePage:
    """One Playwright page on the console, recording console errors.

    Args:
        page: a Playwright page.
        base: the server's URL.
        axe: path of axe-core's ``axe.min.js``.
        shots: folder for screenshots.
    """

    def __init__(self, page: Any, base: str, axe: Path, shots: Path) -> None:
        self.page, self.base, self.shots = page, base, shots
        self.axe_source = axe.read_text(encoding="utf-8")
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:"))
                else self.foreign.append(r.url))

    def open(self, hash_: str) -> Any:
        """Go to ``/#/...`` and wait until the page has rendered."""
        section = hash_.split("/")[1].split("?")[0] if "/" in hash_ else "models"
        self.page.goto(f"{self.base}/{hash_}")
        self.page.wait_for_function("(s) => document.body.dataset.ready === s", arg=section)
        return self.page

    def sign_in(self, token: str) -> None:
        """Sign in with ``token`` from the header form."""
        self.page.get_by_label("Token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_selector("#whoami:not([hidden])")

    def axe(self) -> list[dict[str, Any]]:
        """Serious and critical accessibility violations of the page as it is now."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(self.axe_source)
        result: list[dict[str, Any]] = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
        return result

    def shoot(self, name: str) -> Path:
        """A full-page screenshot under the shots folder."""
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def confirm(self) -> None:
        """Press the confirmation dialog's confirm button."""
        self.page.locator("#confirm-ok").click()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium_path()), headless=True,
                                     args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
