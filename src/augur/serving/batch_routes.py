"""HTTP endpoints joining the server to the batch part: lookups and batch triggers.

- ``GET /v1/predictions/{model}/{key}``: the stored prediction (inference token):
  ``{"model", "key", "outputs", "version", "run_id", "created_at", "age_seconds"}``;
  404 with ``{"error": ...}`` when nothing is stored for the key.
- ``GET /v1/batch/schedules``: the stored schedules (admin token).
- ``POST /v1/batch/schedules/{id}/run``: run a schedule's job now -> 202 ``{"run_id"}``.
- ``POST /v1/batch/runs`` ``{"ref", "input", "key", "output"?, "chunk_size"?, ...}``:
  start a batch job -> 202 ``{"run_id"}`` (admin token).
- ``GET /v1/batch/runs/{run_id}``: the run record (status, rows in/out/failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from augur.errors import InvalidInput, ServiceUnavailable
from augur.serving.batch_control import BatchControl
from augur.serving.prediction_stores import PredictionStores
from augur.serving.settings import ServerSettings

Check = Callable[[Request], None]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def batch_routes(stores: PredictionStores | None, control: BatchControl | None,
                 settings: ServerSettings, require_admin: Check,
                 require_inference: Check) -> list[BaseRoute]:
    """The lookup and batch routes (see the module docstring)."""

    async def lookup(request: Request) -> Response:
        require_inference(request)
        if stores is None:
            raise ServiceUnavailable("this server has no prediction store")
        found = await stores.fetch(request.path_params["model"], request.path_params["key"])
        return _json(found.to_dict())

    def need_control() -> BatchControl:
        if control is None:
            raise ServiceUnavailable("this server runs no batch jobs")
        return control

    async def schedules(request: Request) -> Response:
        require_admin(request)
        ctl = need_control()
        found = await in_thread(ctl.schedules)
        return _json({"schedules": [s.to_dict() for s in found], "polling": ctl.polling})

    async def trigger(request: Request) -> Response:
        require_admin(request)
        ctl = need_control()
        run_id = await in_thread(ctl.trigger, request.path_params["schedule"])
        return _json({"run_id": run_id, "schedule": request.path_params["schedule"]}, 202)

    async def start_run(request: Request) -> Response:
        require_admin(request)
        ctl = need_control()
        raw = await request.body()
        try:
            spec = orjson.loads(raw or b"{}")
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"malformed JSON in the request body: {exc}") from None
        if not isinstance(spec, dict):
            raise InvalidInput('the body must be a batch job {"ref", "input", "key", ...}')
        run_id = await in_thread(ctl.submit, spec)
        return _json({"run_id": run_id}, 202)

    async def run_status(request: Request) -> Response:
        require_admin(request)
        ctl = need_control()
        return _json(await in_thread(ctl.status, request.path_params["run"]))

    async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(fn, *args)

    return [
        Route("/v1/predictions/{model}/{key:path}", lookup, methods=["GET"]),
        Route("/v1/batch/schedules", schedules, methods=["GET"]),
        Route("/v1/batch/schedules/{schedule}/run", trigger, methods=["POST"]),
        Route("/v1/batch/runs", start_run, methods=["POST"]),
        Route("/v1/batch/runs/{run}", run_status, methods=["GET"]),
    ]
