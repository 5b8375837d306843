"""``augur ui`` (the console without a model server) in Chromium, over 1,000 models.

The listing is paginated and searched on the server; actions that need a running
server are shown disabled with the reason; alias moves still work (registry only).
The timing of the listing at this size is measured in ``benchmarks/console_bench.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_support import ConsolePage, chromium, mlp_onnx, require_browser_tools

from augur.registry import Registry
from augur.serving.server import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN = "ui-admin-token"
MODELS = 1000


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ui") / "augur-home"
    registry = Registry(path)
    data, signature = mlp_onnx()
    for i in range(MODELS):
        registry.register(f"model-{i:04d}", data, signature,
                          description="churn scorer" if i % 100 == 7 else "")
    registry.register("model-0000", *mlp_onnx(seed=1))
    registry.set_alias("model-0000", "production", 1)
    return path


@pytest.fixture(scope="module")
def ui(home: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "AUGUR_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "augur", "ui", "--port", str(port),
                             "--admin-token", ADMIN], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/console/api/info").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "augur ui did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def console(ui: str, tmp_path: Path) -> Iterator[ConsolePage]:
    axe = require_browser_tools()
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        yield ConsolePage(context.new_page(), ui, axe, tmp_path)
        context.close()


def names(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#model-results tbody td:first-child").all_inner_texts()]


def test_pages_and_search_with_a_thousand_models(console: ConsolePage, ui: str) -> None:
    page = console.open("#/models")
    assert f"{MODELS:,} models" in page.locator("#model-count").inner_text()
    assert names(page) == [f"model-{i:04d}" for i in range(25)]
    page.get_by_role("button", name="Next →").click()
    page.wait_for_function("() => location.hash.includes('page=2')")
    page.locator("#model-results tbody td", has_text="model-0025").wait_for()
    assert names(page) == [f"model-{i:04d}" for i in range(25, 50)]
    page.get_by_label("Search models").fill("churn")
    page.get_by_label("Search models").press("Enter")
    page.locator("#model-count", has_text="10 models").wait_for()
    assert names(page) == [f"model-{i:04d}" for i in range(7, MODELS, 100)]
    listing = httpx.get(ui + "/console/api/models?q=churn").json()
    assert [m["name"] for m in listing["models"]] == names(page)
    page.get_by_label("Search models").fill("model-0999")
    page.get_by_label("Search models").press("Enter")
    page.locator("#model-count", has_text="1 model").wait_for()
    assert names(page) == ["model-0999"]
    assert console.axe() == []
    assert console.errors == []
    console.shoot("ui-models-phone")


def test_server_only_actions_are_disabled_with_the_reason(console: ConsolePage, ui: str,
                                                          home: Path) -> None:
    console.open("#/models")
    console.sign_in(ADMIN)
    page = console.open("#/models/model-0000")
    reason = page.locator("#serving-reason").inner_text()
    assert "augur ui" in reason and "augur serve" in reason
    for label in ("Load…", "Unload…", "Set canary and shadow…"):
        button = page.get_by_role("button", name=label, exact=True)
        assert button.is_disabled()
        assert button.get_attribute("aria-describedby") == "serving-reason"
    page.locator("#alias-name").fill("production")
    page.locator("#alias-version").select_option("2")
    page.get_by_role("button", name="Move alias…").click()
    console.confirm()
    page.locator(".msg.ok", has_text="Moved model-0000@production to version 2").wait_for()
    assert Registry(home).aliases("model-0000")["production"] == 2
    traffic = console.open("#/traffic")
    assert "augur ui" in traffic.locator(".reason").inner_text()
    assert console.axe() == []
    assert console.errors == []
    console.shoot("ui-traffic-phone")
    edge = console.open("#/edge")
    edge.get_by_role("link", name="The edge index").click()
    edge.wait_for_url(ui + "/edge")
    assert edge.locator("table.models tbody tr").count() == MODELS
    assert edge.get_by_role("link", name="Console").count() == 1
    assert console.axe() == []
    console.shoot("edge-index-phone")
