"""The console on its own (``augur ui``): the console and edge pages over a registry.

No model is served: the Models page can move aliases and roll back (registry
operations), while load/unload, canary, shadow and live traffic need ``augur serve``.
Tokens, errors and body limits are the shared ones of :mod:`augur.http`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request

from augur.console.feature_status import FeatureBinding
from augur.console.site import routes
from augur.edge import routes as edge_routes
from augur.http import BearerAuth, BodyLimit, Role, exception_handlers
from augur.registry import Registry

#: Largest request body the stand-alone console accepts (its actions are small JSON).
MAX_BODY = 2**20


def build_app(registry: Registry, auth: BearerAuth, *,
              features: tuple[FeatureBinding, ...] = ()) -> BodyLimit:
    """An ASGI app serving the console (``served=False``) and the edge pages.

    Args:
        registry: the models, runs and schedules shown.
        auth: the tokens (reads need the inference token, changes the admin token).
        features: definitions files and online stores for the Features page.
    """
    def guard(request: Request, role: Role) -> None:
        auth.check(request.headers.get("authorization"), role)

    all_routes = routes(registry, guard, served=False, features=features)
    all_routes.extend(edge_routes(registry, guard))
    return BodyLimit(Starlette(routes=all_routes, exception_handlers=exception_handlers()),
                     MAX_BODY)
