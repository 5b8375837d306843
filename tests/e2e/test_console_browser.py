"""The web console in real headless Chromium against a live ``augur serve`` with real data.

Each page is checked against the JSON API it draws from, with axe-core (no serious or
critical violation), with no error in the browser console, with no request leaving the
server, and saved as a screenshot (under the test's tmp folder; the README's copy of the
Models page goes to ``docs/`` when ``AUGUR_UPDATE_SCREENSHOTS=1``). Actions are driven through the page, confirmed in its
dialog, and checked through the API; without the admin token they are refused.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_support import (
    ROOT,
    ConsolePage,
    Seeded,
    chromium,
    require_browser_tools,
    seed_registry,
)

from augur.serving import BackgroundServer, ModelSettings, ServerSettings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN, READ = "admin-secret-token", "read-secret-token"
PAGES = ["models", "models/mlp", "traffic", "batch", "batch/RUN", "features", "monitoring",
         "edge"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_registry(tmp_path_factory.mktemp("console") / "augur-home")


@pytest.fixture(scope="module")
def server(seeded: Seeded) -> Iterator[BackgroundServer]:
    settings = ServerSettings(
        http_port=0, grpc_enabled=False, admin_token=ADMIN, inference_token=READ,
        access_log="off",
        models={"delivery": ModelSettings(features=str(seeded.definitions),
                                          feature_store=seeded.online_store)})
    with BackgroundServer(settings, seeded.registry) as srv:
        yield srv


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-screenshots")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser_tools()
    with chromium() as b:
        yield b


@pytest.fixture
def console(browser: Any, server: BackgroundServer, shots: Path) -> Iterator[ConsolePage]:
    axe = require_browser_tools()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ConsolePage(context.new_page(), server.url, axe, shots)
    yield page
    context.close()


def get(server: BackgroundServer, path: str, token: str = ADMIN) -> Any:
    response = httpx.get(server.url + path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def check_page(console: ConsolePage, name: str) -> None:
    """axe-core finds nothing serious, nothing went wrong in the console, a screenshot."""
    assert console.axe() == [], name
    assert console.errors == [], (name, console.errors)
    assert console.foreign == [], (name, console.foreign)
    console.shoot(name.replace("/", "-"))


def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def server_metrics(server: BackgroundServer) -> str:
    import httpx

    return httpx.get(server.url + "/metrics", timeout=30,
                     headers={"Authorization": f"Bearer {ADMIN}"}).text


def test_every_page_renders_what_the_api_says(console: ConsolePage, server: BackgroundServer,
                                              seeded: Seeded, shots: Path) -> None:
    console.open("#/models")
    console.sign_in(ADMIN)
    console.errors.clear()  # the listing refused before signing in (see the refusal test)
    page = console.open("#/models")
    listing = get(server, "/console/api/models?per_page=25")
    assert texts(page, "#model-results tbody tr td:first-child") == [
        m["name"] for m in listing["models"]]
    assert f"{listing['total']} models" in page.locator("#model-count").inner_text()
    check_page(console, "models")
    if os.environ.get("AUGUR_UPDATE_SCREENSHOTS") == "1":  # the README's picture, on request
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        shutil.copy(shots / "models.png", docs / "console-models.png")

    page = console.open("#/models/mlp")
    detail = get(server, "/console/api/models/mlp")
    assert texts(page, "details.version > summary strong") == [
        v["ref"] for v in detail["versions"]]
    aliases = page.locator("#s-aliases ~ * tbody tr, section[aria-labelledby=s-aliases] tbody tr")
    assert aliases.count() == len(detail["aliases"])
    staging = page.locator("section[aria-labelledby=s-aliases] tbody tr", has_text="mlp@staging")
    assert staging.locator("td").nth(1).inner_text() == str(detail["aliases"]["staging"]["version"])
    assert staging.locator("ol.history li").count() == len(detail["aliases"]["staging"]["history"])
    child = next(v for v in detail["versions"] if v["parent"])
    block = page.locator(f"#v{child['version']}")
    block.locator("> summary").press("Enter")  # opened from the keyboard
    assert f"Derived from{child['parent']} (quantize-dynamic)" in block.inner_text().replace(
        "\n", "").replace("\t", "")
    page.wait_for_function("() => document.querySelectorAll('#v2 .chart canvas').length >= 3")
    page.locator("#v1 > summary").press("Enter")
    tuned = page.locator("#v1").get_by_text("x86_64 2 cores (test)")
    assert tuned.count() == 1
    check_page(console, "models-mlp")

    stop = threading.Event()

    def send() -> None:  # real traffic while the Traffic page watches
        with httpx.Client(headers={"Authorization": f"Bearer {READ}"}) as client:
            while not stop.is_set():
                r = client.post(server.url + "/v1/models/iris:predict", json={"instances": [
                    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4,
                     "petal_width": 0.2}]})
                assert r.status_code == 200, r.text
                stop.wait(0.05)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        page = console.open("#/traffic")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#traffic-table tbody tr')].some(r =>"
            " r.cells[0].textContent === 'iris:1' && parseFloat(r.cells[2].textContent) > 0)")
        page.wait_for_function("() => document.querySelectorAll('#main .chart canvas').length >= 5")
    finally:
        stop.set()
        sender.join()
    metrics = httpx.get(server.url + "/metrics").text
    answered = next(line for line in metrics.splitlines()
                    if line.startswith('augur_requests_total{model="iris",version="1"}'))
    total = f"{int(float(answered.split()[-1])):,}"
    page.wait_for_function(  # the next scrape shows what /metrics says
        "(n) => [...document.querySelectorAll('#traffic-table tbody tr')].some(r =>"
        " r.cells[0].textContent === 'iris:1' && r.cells[1].textContent === n)", arg=total)
    check_page(console, "traffic")

    page = console.open("#/batch")
    runs = get(server, "/console/api/batch/runs")["runs"]
    assert texts(page, "#runs tbody tr td:first-child") == [r["id"] for r in runs]
    finished = next(r for r in runs if r["status"] == "succeeded")
    row = page.locator("#runs tbody tr", has_text=finished["id"])
    assert row.locator("td").nth(6).inner_text() == str(finished["rows_failed"]) == "2"
    assert page.locator("#schedules tbody tr").count() == len(
        get(server, "/console/api/batch/schedules")["schedules"])
    check_page(console, "batch")

    page = console.open(f"#/batch/{finished['id']}")
    run = get(server, f"/console/api/batch/runs/{finished['id']}")
    assert texts(page, "section[aria-labelledby=s-failed-rows] tbody td:nth-child(3)") == [
        e["reason"] for e in run["errors"]]
    assert [e["key"] for e in run["errors"]] == ["row-3", "row-7"]
    check_page(console, "batch-run")

    page = console.open("#/features")
    features = get(server, "/console/api/features")
    view = features["sources"][0]["views"][0]
    row = page.locator("tbody tr", has_text=view["name"])
    assert f"{view['freshness']['events']['accepted']} / 0 / 0" in row.inner_text()
    metrics = server_metrics(server)
    looked_up = [line for line in metrics.splitlines()
                 if line.startswith("augur_feature_lookups_total") and view["name"] in line]
    if looked_up:  # the page shows the server's own count
        assert "%" in row.inner_text()
    else:
        assert "no lookups yet" in row.inner_text()
    check_page(console, "features")

    page = console.open("#/monitoring")
    assert "No prediction log" in page.locator("#no-prediction-log").inner_text()
    check_page(console, "monitoring")

    page = console.open("#/edge")
    links = page.locator("#main a[href^='/edge/']")
    assert sorted(links.evaluate_all("els => els.map(e => e.getAttribute('href'))")) == sorted(
        f"/edge/{m['name']}" for m in get(server, "/console/api/models?per_page=100")["models"])
    check_page(console, "edge")


def test_actions_change_the_registry(console: ConsolePage, server: BackgroundServer,
                                     seeded: Seeded) -> None:
    registry = seeded.registry
    console.open("#/models")
    console.sign_in(ADMIN)
    console.errors.clear()
    page = console.open("#/models/mlp")

    before = registry.aliases("mlp")["staging"]
    page.locator("#alias-name").fill("staging")
    page.locator("#alias-version").select_option("1")
    page.get_by_role("button", name="Move alias…").click()
    assert "mlp@staging" in page.locator("#confirm-text").inner_text()
    console.confirm()
    page.locator(".msg.ok", has_text="Moved mlp@staging to version 1").wait_for()
    assert get(server, "/console/api/models/mlp")["aliases"]["staging"]["version"] == 1

    console.open("#/models/mlp")
    page.get_by_role("button", name="Roll back staging").click()
    console.confirm()
    page.locator(".msg.ok", has_text=f"back to version {before}").wait_for()
    assert get(server, "/console/api/models/mlp")["aliases"]["staging"]["version"] == before

    console.open("#/models/mlp")
    page.locator("#load-version").select_option("2")
    page.get_by_role("button", name="Load…", exact=True).click()
    console.confirm()
    page.locator(".msg.ok", has_text="Loaded mlp:2").wait_for()
    loaded = {(e["name"], e["version"]) for e in get(server, "/v2/admin/models")["loaded"]}
    assert ("mlp", 2) in loaded

    console.open("#/models/mlp")
    page.locator("#canary-version").select_option("2")
    page.locator("#canary-percent").fill("25")
    page.locator("#shadow-version").select_option("3")
    page.get_by_role("button", name="Apply traffic…").click()
    console.confirm()
    page.locator(".msg.ok", has_text="canary mlp:2 at 25 %").wait_for()
    traffic = get(server, "/v2/admin/models/mlp/traffic")
    assert (traffic["canary"], traffic["canary_percent"], traffic["shadow"]) == (
        "mlp:2", 25.0, "mlp:3")

    console.open("#/models/mlp")
    page.get_by_role("button", name="Unload…", exact=True).click()
    console.confirm()
    page.locator(".msg.ok", has_text="Unloaded mlp").wait_for()
    assert not [e for e in get(server, "/v2/admin/models")["loaded"] if e["name"] == "mlp"]

    # A run stopped by a bad input is resumed once the input is fixed.
    failed = seeded.failed_run
    page = console.open(f"#/batch/{failed}")
    assert get(server, f"/console/api/batch/runs/{failed}")["status"] == "failed"
    import pandas as pd

    frame = pd.read_csv(seeded.bad_input)
    frame.insert(0, "id", [f"late-{i}" for i in range(len(frame))])
    frame.to_csv(seeded.bad_input, index=False)
    page.get_by_role("button", name="Resume…").click()
    console.confirm()
    page.locator("#run .status.succeeded").wait_for(timeout=60_000)
    resumed = get(server, f"/console/api/batch/runs/{failed}")
    assert resumed["status"] == "succeeded" and resumed["rows_in"] == len(frame)

    page = console.open("#/batch")
    page.locator("#ref").fill("iris@production")
    page.locator("#input").fill(str(seeded.bad_input))
    page.locator("#key").fill("id")
    page.get_by_role("button", name="Start run…").click()
    console.confirm()
    page.locator("#run .status.succeeded").wait_for(timeout=60_000)
    run_id = page.url.rsplit("/", 1)[-1]
    assert get(server, f"/console/api/batch/runs/{run_id}")["rows_out"] == len(frame) - 2
    assert console.errors == []


def test_actions_without_the_admin_token_are_refused(console: ConsolePage,
                                                     server: BackgroundServer,
                                                     seeded: Seeded) -> None:
    registry = seeded.registry
    page = console.open("#/models")
    assert "Refused (401)" in page.locator("#model-results").inner_text()
    assert "Sign in with a token" in page.locator("#model-results").inner_text()
    console.sign_in("not-a-token")
    assert "no access" in page.locator("#role").inner_text()
    page.get_by_role("button", name="Sign out").click()
    console.sign_in(READ)
    assert "read only" in page.locator("#role").inner_text()
    page = console.open("#/models/mlp")
    before = registry.aliases("mlp")
    page.locator("#alias-name").fill("production")
    page.locator("#alias-version").select_option("3")
    page.get_by_role("button", name="Move alias…").click()
    console.confirm()
    refusal = page.locator("#notice .msg.error", has_text="Refused (403)")
    refusal.wait_for()
    assert "admin token" in refusal.inner_text()
    assert registry.aliases("mlp") == before
    page.get_by_role("button", name="Roll back production").click()
    console.confirm()
    page.locator("#notice .msg.error", has_text="Refused (403)").wait_for()
    assert registry.aliases("mlp") == before
    page = console.open("#/batch")
    assert "Refused (403)" in page.locator("#runs").inner_text()
    console.shoot("refused")
    # The browser reports each refused request as a failed resource load, nothing else.
    assert all("401" in e or "403" in e for e in console.errors), console.errors
