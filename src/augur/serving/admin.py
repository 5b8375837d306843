"""The cold endpoints, on Starlette: metrics, the v2 repository extension and admin.

- ``GET /metrics``: Prometheus text format.
- ``POST /v2/repository/index``, ``/v2/repository/models/{m}/load``, ``.../unload``.
- ``GET /v2/admin/models``: loaded versions, load failures, traffic policies.
- ``POST /v2/admin/models/{m}/aliases/{alias}`` ``{"version": 3}``: move an alias
  (the version is loaded and warmed first); ``.../rollback`` moves it back.
- ``GET|PUT /v2/admin/models/{m}/traffic`` ``{"canary": "m:4", "canary_percent": 10,
  "shadow": "m:5"}``: canary and shadow, and the shadow agreement so far.

Load, unload, alias and traffic changes need the admin token when one is set.
Lookups (``GET /v1/predictions/...``) and batch triggers (``/v1/batch/...``) are in
:mod:`augur.serving.batch_routes`. Routes that the ``augur.edge`` part offers (``routes(registry)``) are mounted too.
"""

from __future__ import annotations

import importlib
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from augur.errors import AugurError, ConfigError, InvalidInput, Unauthorized
from augur.registry import parse_reference
from augur.serving.batch_routes import batch_routes
from augur.serving.dataplane import DataPlane
from augur.serving.rest import error_body, status_of
from augur.serving.settings import ServerSettings
from augur.serving.traffic import TrafficPolicy


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON in the request body: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("the request body must be a JSON object")
    return doc


def edge_routes(registry: Any) -> list[BaseRoute]:
    """Routes offered by ``augur.edge.routes(registry)``, if that part is installed."""
    try:
        edge = importlib.import_module("augur.edge")
        routes = edge.routes(registry)
    except (ImportError, AttributeError):
        return []
    return list(routes)


def build_admin_app(dataplane: DataPlane, settings: ServerSettings) -> Starlette:
    """The Starlette app for the cold endpoints (see the module docstring)."""
    admin_header = f"Bearer {settings.admin_token}" if settings.admin_token else None

    def require_admin(request: Request) -> None:
        if admin_header is not None and request.headers.get("authorization") != admin_header:
            raise Unauthorized("this endpoint needs 'Authorization: Bearer <admin token>'")

    inference_headers = {f"Bearer {t}" for t in (settings.inference_token,
                                                 settings.admin_token) if t}

    def require_inference(request: Request) -> None:
        if settings.inference_token and \
                request.headers.get("authorization") not in inference_headers:
            raise Unauthorized("this endpoint needs 'Authorization: Bearer <inference token>'")

    async def metrics(request: Request) -> Response:
        return Response(dataplane.metrics.exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    async def index(request: Request) -> Response:
        body = await _body(request)
        return _json(await dataplane.repository_index(bool(body.get("ready"))))

    async def load(request: Request) -> Response:
        require_admin(request)
        await dataplane.load_model(request.path_params["model"])
        return _json({})

    async def unload(request: Request) -> Response:
        require_admin(request)
        await dataplane.unload_model(request.path_params["model"])
        return _json({})

    async def models(request: Request) -> Response:
        manager = dataplane.manager
        return _json({
            "loaded": [{"name": e.name, "version": e.version, "size": e.artifact_bytes,
                        "artifact_bytes": e.artifact_bytes, "measured_bytes": e.measured_bytes,
                        "charged_bytes": e.cost, "load_seconds": e.load_seconds,
                        "pending": e.batcher.pending}
                       for e in manager.loaded()],
            "memory_bytes": manager.memory_bytes(),
            "artifact_bytes": manager.artifact_bytes(),
            "measured_bytes": manager.measured_bytes(),
            "memory_budget": settings.memory_budget,
            "failures": [{"name": f.name, "version": f.version, "error": f.error, "at": f.at}
                         for f in manager.failures.values()],
            "traffic": {name: state.to_dict() for name, state in dataplane.traffic.items()},
        })

    async def move_alias(request: Request) -> Response:
        require_admin(request)
        body = await _body(request)
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidInput('the body must be {"version": N} with N a version number')
        name, alias = request.path_params["model"], request.path_params["alias"]
        previous = await dataplane.manager.move_alias(name, alias, version)
        return _json({"model": name, "alias": alias, "version": version, "previous": previous})

    async def rollback(request: Request) -> Response:
        require_admin(request)
        name, alias = request.path_params["model"], request.path_params["alias"]
        version = await dataplane.manager.rollback(name, alias)
        return _json({"model": name, "alias": alias, "version": version})

    async def traffic(request: Request) -> Response:
        name = request.path_params["model"]
        if request.method == "PUT":
            require_admin(request)
            body = await _body(request)
            try:
                policy = TrafficPolicy(body.get("canary"), float(body.get("canary_percent") or 0),
                                       body.get("shadow"))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"invalid traffic policy: {exc}") from None
            for ref in (policy.canary, policy.shadow):
                if ref:
                    await dataplane.manager.get(ref)  # load and warm before routing to it
            dataplane.set_traffic(name, policy)
        state = dataplane.traffic.get(parse_reference(name).name)
        return _json(state.to_dict() if state else TrafficPolicy().to_dict())

    async def augur_error(request: Request, exc: Exception) -> Response:
        return Response(error_body(exc), status_code=status_of(exc),
                        media_type="application/json")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        return _json({"error": f"{message}: {request.method} {request.url.path}"},
                     exc.status_code)

    routes: list[BaseRoute] = [
        Route("/metrics", metrics),
        Route("/v2/repository/index", index, methods=["POST"]),
        Route("/v2/repository/models/{model}/load", load, methods=["POST"]),
        Route("/v2/repository/models/{model}/unload", unload, methods=["POST"]),
        Route("/v2/admin/models", models),
        Route("/v2/admin/models/{model}/aliases/{alias}", move_alias, methods=["POST"]),
        Route("/v2/admin/models/{model}/aliases/{alias}/rollback", rollback, methods=["POST"]),
        Route("/v2/admin/models/{model}/traffic", traffic, methods=["GET", "PUT"]),
    ]
    routes.extend(batch_routes(dataplane.predictions, dataplane.batch, settings, require_admin,
                               require_inference))
    routes.extend(edge_routes(dataplane.manager.registry))
    return Starlette(routes=routes, exception_handlers={
        AugurError: augur_error, HTTPException: http_error, Exception: augur_error})
