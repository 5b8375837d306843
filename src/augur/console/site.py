"""The console as Starlette routes, for the augur server (``/``) or ``augur ui`` to mount.

- ``GET /``: the console (one page; its sections are ``#/models``, ``#/traffic``, ...).
- ``GET /console/static/{file}``, ``GET /console/vendor/{file}``: its scripts and styles,
  and the npm files it uses (uPlot), all served from this process.
- ``GET /console/api/...``: JSON the pages need where no other endpoint gives it
  (see :class:`ConsoleSite`). Reads need the inference token when one is set;
  changes and batch runs need the admin token, checked by the mounting app's guard
  (:mod:`augur.http.auth`). Errors are raised as :class:`~augur.errors.AugurError`
  and answered by :func:`augur.http.exception_handlers`; bodies arrive through the
  mounting app's :class:`augur.http.BodyLimit`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from augur.console.catalog import ModelQuery, model_detail, search_models
from augur.console.feature_status import FeatureBinding, FeatureStatus
from augur.console.runs import BatchLauncher, job_of, run_doc, runs_doc, schedules_doc
from augur.console.vendor import Vendor
from augur.errors import Forbidden, InvalidInput, ModelNotFound, Unauthorized
from augur.http import Role, json_body, json_response
from augur.registry import MAX_VERSION, Registry, parse_reference

#: Checks a request's token for a role; raises ``Unauthorized`` or ``Forbidden``.
Guard = Callable[[Request, Role], None]

#: File name -> content type of the console's own static files.
STATIC_FILES: dict[str, str] = {
    name: ("text/css; charset=utf-8" if name.endswith(".css") else
           "image/svg+xml" if name.endswith(".svg") else "text/javascript; charset=utf-8")
    for name in ("console.css", "favicon.svg", "app.mjs", "api.mjs", "charts.mjs",
                 "prom.mjs", "ui.mjs", "models.mjs", "traffic.mjs", "batch.mjs",
                 "features.mjs", "monitoring.mjs", "edge.mjs")
}
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-cache"}


def role_of(guard: Guard, request: Request) -> str:
    """``admin``, ``inference`` or ``none``: what the request's token allows."""
    for role in ("admin", "inference"):
        try:
            guard(request, role)  # type: ignore[arg-type]
        except (Unauthorized, Forbidden):
            continue
        return role
    return "none"


def _json(data: Any, status: int = 200) -> Response:
    return json_response(data, status, headers={"Cache-Control": "no-store",
                                                "X-Content-Type-Options": "nosniff"})


class ConsoleSite:
    """The console's pages and JSON endpoints over one registry.

    Args:
        registry: the models, runs and schedules shown.
        guard: the mounting app's token check.
        served: whether models are served by this process (load/unload, canary,
            shadow and live traffic exist only then).
        features: definitions files and online stores for the Features page.
    """

    def __init__(self, registry: Registry, guard: Guard, *, served: bool,
                 features: tuple[FeatureBinding, ...] = ()) -> None:
        self.registry = registry
        self.guard = guard
        self.served = served
        self.features = FeatureStatus(features)
        self.launcher = BatchLauncher(registry)
        self.vendor = Vendor()

    def routes(self) -> list[BaseRoute]:
        """The routes (see the module docstring)."""
        api = "/console/api"
        return [
            Route("/", self.page, methods=["GET"]),
            Route("/console/static/{file}", self.static, methods=["GET"]),
            Route("/console/vendor/{file}", self.vendor_file, methods=["GET"]),
            Route(f"{api}/info", self.info, methods=["GET"]),
            Route(f"{api}/models", self.models, methods=["GET"]),
            Route(f"{api}/models/{{name}}", self.model, methods=["GET"]),
            Route(f"{api}/models/{{name}}/aliases/{{alias}}", self.move_alias, methods=["POST"]),
            Route(f"{api}/models/{{name}}/aliases/{{alias}}/rollback", self.rollback,
                  methods=["POST"]),
            Route(f"{api}/batch/runs", self.runs, methods=["GET", "POST"]),
            Route(f"{api}/batch/runs/{{run}}", self.run, methods=["GET"]),
            Route(f"{api}/batch/runs/{{run}}/resume", self.resume, methods=["POST"]),
            Route(f"{api}/batch/schedules", self.schedules, methods=["GET"]),
            Route(f"{api}/features", self.feature_views, methods=["GET"]),
        ]

    async def page(self, request: Request) -> Response:
        body = resources.files("augur.console").joinpath("static", "index.html").read_bytes()
        return Response(body, media_type="text/html; charset=utf-8",
                        headers={**HEADERS, "Content-Security-Policy": PAGE_POLICY})

    async def static(self, request: Request) -> Response:
        name = request.path_params["file"]
        if name not in STATIC_FILES:
            raise ModelNotFound(f"no console file {name[:100]!r}")
        body = resources.files("augur.console").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC_FILES[name], headers=HEADERS)

    async def vendor_file(self, request: Request) -> Response:
        name = request.path_params["file"]
        found = self.vendor.file(name)
        if found is None:
            raise ModelNotFound(f"no console file {name[:100]!r}")
        return FileResponse(found.path, media_type=found.content_type,
                            headers={**HEADERS, "Cache-Control": "public, max-age=86400"})

    async def info(self, request: Request) -> Response:
        return _json({"served": self.served, "role": role_of(self.guard, request),
                      "features": bool(self.features.bindings)})

    async def models(self, request: Request) -> Response:
        self.guard(request, "inference")
        query = ModelQuery.parse(dict(request.query_params))
        return _json(await run_in_threadpool(search_models, self.registry, query))

    async def model(self, request: Request) -> Response:
        self.guard(request, "inference")
        name = request.path_params["name"]
        return _json(await run_in_threadpool(model_detail, self.registry, name))

    async def move_alias(self, request: Request) -> Response:
        self.guard(request, "admin")
        body = await json_body(request)
        version, force = body.get("version"), body.get("force", False)
        if not isinstance(force, bool):
            raise InvalidInput('"force" must be true or false')
        if isinstance(version, bool) or not isinstance(version, int) \
                or not 1 <= version <= MAX_VERSION:
            raise InvalidInput('the body must be {"version": N} with N a version number')
        name, alias = request.path_params["name"], request.path_params["alias"]
        parse_reference(f"{name}@{alias}")
        previous = await run_in_threadpool(
            lambda: self.registry.set_alias(name, alias, version, force=force))
        return _json({"model": name, "alias": alias, "version": version, "previous": previous})

    async def rollback(self, request: Request) -> Response:
        self.guard(request, "admin")
        name, alias = request.path_params["name"], request.path_params["alias"]
        parse_reference(f"{name}@{alias}")
        version = await run_in_threadpool(self.registry.rollback, name, alias)
        return _json({"model": name, "alias": alias, "version": version.version})

    async def runs(self, request: Request) -> Response:
        self.guard(request, "admin")
        if request.method == "POST":
            job = job_of(await json_body(request))
            run_id = await run_in_threadpool(self.launcher.start, job)
            return _json({"run_id": run_id}, 202)
        return _json(await run_in_threadpool(runs_doc, self.registry))

    async def run(self, request: Request) -> Response:
        self.guard(request, "admin")
        run_id = request.path_params["run"]
        try:
            return _json(await run_in_threadpool(run_doc, self.registry, run_id))
        except ModelNotFound:
            if not self.launcher.queued(run_id):
                raise
        return _json({"id": run_id, "status": "queued", "rows_in": 0, "rows_out": 0,
                      "rows_failed": 0, "stats": {}, "errors": [], "errors_truncated": False,
                      "errors_unavailable": None})

    async def resume(self, request: Request) -> Response:
        self.guard(request, "admin")
        run_id = await run_in_threadpool(self.launcher.resume, request.path_params["run"])
        return _json({"run_id": run_id}, 202)

    async def schedules(self, request: Request) -> Response:
        self.guard(request, "admin")
        return _json(await run_in_threadpool(schedules_doc, self.registry))

    async def feature_views(self, request: Request) -> Response:
        self.guard(request, "inference")
        return _json(await run_in_threadpool(self.features.describe))


def routes(registry: Registry, guard: Guard, *, served: bool,
           features: tuple[FeatureBinding, ...] = ()) -> list[BaseRoute]:
    """The console's routes over ``registry``, for the augur server or ``augur ui``.

    Args:
        registry: the models, runs and schedules shown.
        guard: the mounting app's token check (``guard(request, role)``).
        served: whether this process serves the models (enables load/unload, canary,
            shadow and the Traffic page's live metrics).
        features: definitions files and online stores for the Features page.

    Example:
        >>> app = Starlette(routes=console.routes(Registry(), guard, served=False),
        ...                 exception_handlers=augur.http.exception_handlers())  # doctest: +SKIP
    """
    return ConsoleSite(registry, guard, served=served, features=features).routes()
