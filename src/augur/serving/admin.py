"""The cold endpoints, on Starlette: metrics, the v2 repository extension and admin.

- ``GET /``: ``{"status": "alive"}``, the server liveness KServe's v1 clients ask for
  (open, like ``/v2/health/live``); a browser (``Accept: text/html``) gets the console.
- ``GET /metrics``: Prometheus text format (open unless ``metrics_token`` is set).
- ``POST /v2/repository/index``: every model and its state (inference token).
- ``POST /v2/repository/models/{m}/load``, ``.../unload`` (admin token).
- ``GET /v2/admin/models``: loaded versions, load failures, traffic policies.
- ``POST /v2/admin/models/{m}/aliases/{alias}`` ``{"version": 3, "force": false}``:
  move an alias (the version is loaded and warmed first; a version whose signature
  would break the alias's clients is refused with 409 unless ``force``);
  ``.../rollback`` moves it one step back through its history.
- ``GET|PUT /v2/admin/models/{m}/traffic`` ``{"canary": "m:4", "canary_percent": 10,
  "shadow": "m:5"}``: canary and shadow, and the shadow agreement so far.

Every ``/v2/admin`` route needs the admin token. Lookups (``GET /v1/predictions/...``)
and batch triggers (``/v1/batch/...``) are in :mod:`augur.serving.batch_routes`; the
``augur.edge`` part's pages are mounted too, and the web console of :mod:`augur.console`
at ``/``. Errors, tokens and body limits are the
shared ones of :mod:`augur.http`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from augur import console
from augur.errors import InvalidInput
from augur.http import (
    BearerAuth,
    BodyLimit,
    Role,
    exception_handlers,
    json_body,
    json_response,
)
from augur.registry import MAX_VERSION, parse_reference
from augur.serving.batch_routes import batch_routes
from augur.serving.dataplane import DataPlane
from augur.serving.settings import ServerSettings
from augur.serving.traffic import TrafficPolicy

Guard = Callable[[Request, Role], None]


def guard_for(auth: BearerAuth) -> Guard:
    """A check of ``request``'s bearer token for ``role`` (see :mod:`augur.http.auth`)."""
    def guard(request: Request, role: Role) -> None:
        auth.check(request.headers.get("authorization"), role)
    return guard


def edge_routes(registry: Any, guard: Guard) -> list[BaseRoute]:
    """Routes offered by ``augur.edge.routes(registry, guard)``, if that part is installed."""
    try:
        edge = importlib.import_module("augur.edge")
    except ImportError:
        return []
    return list(edge.routes(registry, guard))


def build_admin_app(dataplane: DataPlane, settings: ServerSettings,
                    auth: BearerAuth | None = None) -> BodyLimit:
    """The Starlette app for the cold endpoints (see the module docstring), behind the
    body limit of every route that is not inference."""
    auth = auth or BearerAuth(settings.inference_token, settings.admin_token,
                              settings.metrics_token)
    guard = guard_for(auth)


    async def known(name: str) -> None:
        """Refuse (404) a reference whose model is not registered."""
        manager = dataplane.manager
        await manager.run_blocking(manager.registry.versions, parse_reference(name).name)

    async def metrics(request: Request) -> Response:
        guard(request, "metrics")
        return Response(dataplane.metrics.exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    async def index(request: Request) -> Response:
        guard(request, "inference")
        body = await json_body(request)
        ready = body.get("ready", False)
        if not isinstance(ready, bool):
            raise InvalidInput('"ready" must be true or false')
        return json_response(await dataplane.repository_index(ready))

    async def load(request: Request) -> Response:
        guard(request, "admin")
        await json_body(request)
        await dataplane.load_model(request.path_params["model"])
        return json_response({})

    async def unload(request: Request) -> Response:
        guard(request, "admin")
        await json_body(request)
        parse_reference(request.path_params["model"])
        await dataplane.unload_model(request.path_params["model"])
        return json_response({})

    async def models(request: Request) -> Response:
        guard(request, "admin")
        manager = dataplane.manager
        return json_response({
            "loaded": [{"name": e.name, "version": e.version, "size": e.artifact_bytes,
                        "artifact_bytes": e.artifact_bytes, "measured_bytes": e.measured_bytes,
                        "charged_bytes": e.cost, "load_seconds": e.load_seconds,
                        "pending": e.batcher.pending,
                        "batching": {"max_batch_size": e.batcher.settings.max_batch_size,
                                     "max_delay_ms": e.batcher.settings.max_delay_ms,
                                     "instances": e.batcher.settings.instances},
                        "runtime_options": e.model.options.to_dict()}
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
        guard(request, "admin")
        body = await json_body(request)
        version, force = body.get("version"), body.get("force", False)
        if isinstance(version, bool) or not isinstance(version, int) \
                or not 1 <= version <= MAX_VERSION:
            raise InvalidInput('the body must be {"version": N} with N a version number')
        if not isinstance(force, bool):
            raise InvalidInput('"force" must be true or false')
        name, alias = request.path_params["model"], request.path_params["alias"]
        parse_reference(f"{name}@{alias}")
        previous = await dataplane.manager.move_alias(name, alias, version, force=force)
        return json_response({"model": name, "alias": alias, "version": version,
                              "previous": previous})

    async def rollback(request: Request) -> Response:
        guard(request, "admin")
        await json_body(request)
        name, alias = request.path_params["model"], request.path_params["alias"]
        parse_reference(f"{name}@{alias}")
        version = await dataplane.manager.rollback(name, alias)
        return json_response({"model": name, "alias": alias, "version": version})

    async def traffic(request: Request) -> Response:
        guard(request, "admin")
        name = request.path_params["model"]
        base = parse_reference(name).name
        await known(base)
        if request.method == "PUT":
            body = await json_body(request)
            unknown = sorted(set(body) - {"canary", "canary_percent", "shadow"})
            if unknown:
                raise InvalidInput(f"unknown traffic setting(s) {unknown}; known: canary, "
                                   "canary_percent, shadow")
            policy = _policy(body)
            for ref in (policy.canary, policy.shadow):
                if ref:
                    await dataplane.manager.get(ref)  # load and warm before routing to it
            dataplane.set_traffic(name, policy)
        state = dataplane.traffic.get(base)
        return json_response(state.to_dict() if state else TrafficPolicy().to_dict())

    # The web console at /: pages over the endpoints above and the registry.
    console_routes = console.routes(
        dataplane.manager.registry, guard, served=True,
        features=tuple(console.FeatureBinding(ms.features, ms.feature_store, (name,))
                       for name, ms in settings.models.items() if ms.features))
    page = next(r.endpoint for r in console_routes if isinstance(r, Route) and r.path == "/")

    async def root(request: Request) -> Response:
        # "/" is the console for a browser and KServe's v1 liveness for its clients,
        # whose is_server_live() reads {"status": "alive"} as JSON
        if "text/html" in request.headers.get("accept", ""):
            response: Response = await page(request)
            return response
        return json_response({"status": "alive"})

    routes: list[BaseRoute] = [
        Route("/", root, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v2/repository/index", index, methods=["POST"]),
        Route("/v2/repository/models/{model}/load", load, methods=["POST"]),
        Route("/v2/repository/models/{model}/unload", unload, methods=["POST"]),
        Route("/v2/admin/models", models, methods=["GET"]),
        Route("/v2/admin/models/{model}/aliases/{alias}", move_alias, methods=["POST"]),
        Route("/v2/admin/models/{model}/aliases/{alias}/rollback", rollback, methods=["POST"]),
        Route("/v2/admin/models/{model}/traffic", traffic, methods=["GET", "PUT"]),
    ]
    routes.extend(batch_routes(dataplane.predictions, dataplane.batch, guard))
    routes.extend(edge_routes(dataplane.manager.registry, guard))
    routes.extend(r for r in console_routes if not (isinstance(r, Route) and r.path == "/"))
    app = Starlette(routes=routes, exception_handlers=exception_handlers())
    return BodyLimit(app, settings.max_control_body_bytes, settings.body_timeout_s)


def _policy(body: dict[str, Any]) -> TrafficPolicy:
    canary, shadow, percent = body.get("canary"), body.get("shadow"), body.get("canary_percent")
    for key, value in (("canary", canary), ("shadow", shadow)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f'"{key}" must be a model reference (text) or null')
    if percent is None:
        percent = 0
    if isinstance(percent, bool) or not isinstance(percent, int | float):
        raise InvalidInput('"canary_percent" must be a number from 0 to 100')
    return TrafficPolicy(canary, float(percent), shadow)
