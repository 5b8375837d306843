"""The console on its own (``augur ui``): the console and edge pages over a registry.

No model is served: the Models page can move aliases and roll back (registry
operations), while load/unload, canary, shadow and live traffic need ``augur serve``.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from augur.console.feature_status import FeatureBinding
from augur.console.site import Access, routes
from augur.edge import routes as edge_routes
from augur.errors import ModelNotFound
from augur.registry import Registry

#: Turns an error into ``(status, body)``; the mounting code passes the server's table.
ErrorResponse = Callable[[BaseException], tuple[int, bytes]]


def build_app(registry: Registry, access: Access, error_response: ErrorResponse, *,
              features: tuple[FeatureBinding, ...] = ()) -> Starlette:
    """A Starlette app serving the console (``served=False``) and the edge pages.

    Args:
        registry: the models, runs and schedules shown.
        access: the read and admin checks.
        error_response: the HTTP error table (status and JSON body of an error).
        features: definitions files and online stores for the Features page.
    """
    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            if exc.status_code != 404:
                message = f"{exc.detail}: {request.method} {request.url.path}"
                return Response(orjson.dumps({"error": message}), status_code=exc.status_code,
                                media_type="application/json")
            exc = ModelNotFound(f"no such endpoint: {request.method} {request.url.path}")
        status, body = error_response(exc)
        return Response(body, status_code=status, media_type="application/json")

    all_routes = routes(registry, access, served=False, features=features)
    all_routes.extend(edge_routes(registry))
    return Starlette(routes=all_routes, exception_handlers={Exception: on_error,
                                                            HTTPException: on_error})
