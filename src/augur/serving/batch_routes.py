"""HTTP endpoints joining the server to the batch part: lookups and batch triggers.

Lookups need the inference token, everything else the admin token (see
:mod:`augur.http.auth`); errors and body limits are the shared ones of
:mod:`augur.http`.

- ``GET /v1/predictions/{model}/{key}``: the stored prediction (inference token):
  ``{"model", "key", "outputs", "version", "run_id", "created_at", "age_seconds"}``;
  404 with ``{"error": ...}`` when nothing is stored for the key, plus ``"failed"``
  (``run_id``, ``row``, ``reason``...) when a batch run's row for the key failed.
- ``GET /v1/batch/schedules``: the stored schedules (admin token).
- ``POST /v1/batch/schedules/{id}/run``: run a schedule's job now -> 202 ``{"run_id"}``.
- ``POST /v1/batch/runs`` ``{"ref", "input", "key", "output"?, "chunk_size"?, ...}``:
  start a batch job -> 202 ``{"run_id"}`` (admin token).
- ``GET /v1/batch/runs/{run_id}``: the run record (status, rows in/out/failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from augur.errors import PredictionFailed, ServiceUnavailable
from augur.http import Role, json_body
from augur.http import json_response as _json
from augur.serving.batch_control import BatchControl
from augur.serving.prediction_stores import PredictionStores

Guard = Callable[[Request, Role], None]


def batch_routes(stores: PredictionStores | None, control: BatchControl | None,
                 guard: Guard) -> list[BaseRoute]:
    """The lookup and batch routes (see the module docstring)."""
    async def lookup(request: Request) -> Response:
        guard(request, "inference")
        if stores is None:
            raise ServiceUnavailable("this server has no prediction store")
        try:
            found = await stores.fetch(request.path_params["model"],
                                       request.path_params["key"])
        except PredictionFailed as exc:
            return _json({"error": str(exc), "failed": exc.failure}, 404)
        return _json(found.to_dict())

    def need_control() -> BatchControl:
        if control is None:
            raise ServiceUnavailable("this server runs no batch jobs")
        return control

    async def schedules(request: Request) -> Response:
        guard(request, "admin")
        ctl = need_control()
        found = await in_thread(ctl.schedules)
        return _json({"schedules": [s.to_dict() for s in found], "polling": ctl.polling})

    async def trigger(request: Request) -> Response:
        guard(request, "admin")
        ctl = need_control()
        run_id = await in_thread(ctl.trigger, request.path_params["schedule"])
        return _json({"run_id": run_id, "schedule": request.path_params["schedule"]}, 202)

    async def start_run(request: Request) -> Response:
        guard(request, "admin")
        ctl = need_control()
        spec = await json_body(request)
        run_id = await in_thread(ctl.submit, spec)
        return _json({"run_id": run_id}, 202)

    async def run_status(request: Request) -> Response:
        guard(request, "admin")
        ctl = need_control()
        return _json(await in_thread(ctl.status, request.path_params["run"]))

    async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(fn, *args)

    return [
        Route("/v1/predictions/{model}/{key:path}", lookup, methods=["GET"]),
        Route("/v1/batch/schedules", schedules, methods=["GET"]),
        Route("/v1/batch/schedules/{schedule}/run", trigger, methods=["POST"]),
        Route("/v1/batch/runs", start_run, methods=["POST"]),
        Route("/v1/batch/runs/{run}", run_status, methods=["GET"]),
    ]
