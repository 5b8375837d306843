"""Batch jobs started by a real server: a triggered schedule, an ad-hoc run, the in-process
scheduler; their rows then answer lookups. The admin token guards all of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from augur.batch import BatchJob, ScheduleStore
from augur.registry import Registry
from augur.runtime import load
from augur.serving import BackgroundServer

pytestmark = pytest.mark.integration

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ADMIN = {"Authorization": "Bearer adm1n"}


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal([5.8, 3.0, 3.7, 1.2], [0.8, 0.4, 1.7, 0.7], size=(40, 4))
                         .astype(np.float32), columns=COLUMNS)
    frame.insert(0, "id", [f"u{i}" for i in range(40)])
    path = tmp_path / "users.parquet"
    frame.to_parquet(path)
    return path


def _wait_for_run(http: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = http.get(f"/v1/batch/runs/{run_id}", headers=ADMIN)
        assert got.status_code == 200, got.text
        record: dict[str, Any] = got.json()
        if record["status"] in ("succeeded", "failed"):
            return record
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


def _check_lookups(http: httpx.Client, registry: Registry, parquet: Path) -> None:
    frame = pd.read_parquet(parquet)
    want = load("iris", registry=registry).predict(frame[COLUMNS])
    for i in (0, 17, 39):
        got = http.get(f"/v1/predictions/iris/u{i}")
        assert got.status_code == 200, got.text
        assert got.json()["outputs"]["label"] == int(want["label"][i])


def test_trigger_a_schedule_then_look_up_its_rows(
        iris_registry: Registry, parquet: Path, serve: Callable[..., BackgroundServer]) -> None:
    sched = ScheduleStore(iris_registry).add(BatchJob("iris", str(parquet), key="id"),
                                             every="4h")
    server = serve(iris_registry, admin_token="adm1n")
    with httpx.Client(base_url=server.url) as http:
        denied = http.post(f"/v1/batch/schedules/{sched.id}/run")
        assert denied.status_code == 401 and "admin token" in denied.json()["error"]
        wrong = http.post(f"/v1/batch/schedules/{sched.id}/run",
                          headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert http.get("/v1/batch/schedules").status_code == 401
        listed = http.get("/v1/batch/schedules", headers=ADMIN).json()
        assert [s["id"] for s in listed["schedules"]] == [sched.id]
        assert listed["polling"] is False
        assert http.get("/v1/predictions/iris/u0").status_code == 404

        started = http.post(f"/v1/batch/schedules/{sched.id}/run", headers=ADMIN)
        assert started.status_code == 202, started.text
        record = _wait_for_run(http, started.json()["run_id"])
        assert record["status"] == "succeeded", record
        assert record["stats"]["rows_out"] == 40
        _check_lookups(http, iris_registry, parquet)

        unknown = http.post("/v1/batch/schedules/nosuch/run", headers=ADMIN)
        assert unknown.status_code == 404 and "nosuch" in unknown.json()["error"]
        assert http.get("/v1/batch/runs/nosuch", headers=ADMIN).status_code == 404


def test_start_an_ad_hoc_run(iris_registry: Registry, parquet: Path, tmp_path: Path,
                             serve: Callable[..., BackgroundServer]) -> None:
    out = f"sqlite:///{tmp_path / 'adhoc.db'}"
    server = serve(iris_registry, admin_token="adm1n", prediction_store=out)
    job = {"ref": "iris", "input": str(parquet), "key": "id", "output": out, "chunk_size": 7}
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/v1/batch/runs", json=job).status_code == 401
        started = http.post("/v1/batch/runs", json=job, headers=ADMIN)
        assert started.status_code == 202, started.text
        record = _wait_for_run(http, started.json()["run_id"])
        assert record["status"] == "succeeded", record
        _check_lookups(http, iris_registry, parquet)

        for bad, message in (({"ref": "iris"}, "needs the text field"),
                             ({**job, "colour": "red"}, "unknown batch job field"),
                             ({**job, "chunk_size": 0}, "chunk-size"),
                             ({**job, "chunk_size": "7"}, "must be an integer"),
                             ({**job, "workers": None}, "must be an integer"),
                             ({**job, "ref": "ghost"}, "ghost")):
            got = http.post("/v1/batch/runs", json=bad, headers=ADMIN)
            assert got.status_code in (400, 404), got.text
            assert message in got.json()["error"]
        got = http.post("/v1/batch/runs", content=b"[1, 2", headers=ADMIN)
        assert got.status_code == 400 and "malformed JSON" in got.json()["error"]


def test_the_server_runs_due_schedules(iris_registry: Registry, parquet: Path,
                                       serve: Callable[..., BackgroundServer]) -> None:
    ScheduleStore(iris_registry).add(BatchJob("iris", str(parquet), key="id"), every="4h",
                                     start_at=time.time() - 1)
    server = serve(iris_registry, scheduler=True, scheduler_poll_seconds=0.05)
    with httpx.Client(base_url=server.url) as http:
        deadline = time.monotonic() + 60
        while http.get("/v1/predictions/iris/u39").status_code == 404:
            assert time.monotonic() < deadline, "the due schedule never ran"
            time.sleep(0.05)
        schedules = http.get("/v1/batch/schedules").json()
        assert schedules["polling"] is True
        assert schedules["schedules"][0]["last_run_id"]
        _check_lookups(http, iris_registry, parquet)
