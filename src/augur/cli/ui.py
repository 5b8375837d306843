"""``augur ui``: the web console over a registry, without serving models."""

from __future__ import annotations

import argparse
import hmac
from collections.abc import Callable
from typing import Any

from augur.errors import ConfigError, Unauthorized
from augur.registry import Registry


def _bearer(token: str | None, also: str | None, what: str) -> Callable[[Any], None]:
    """A check passing requests that carry ``token`` (or ``also``), or all when unset."""
    wanted = [f"Bearer {t}".encode() for t in (token, also) if t]

    def check(request: Any) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "").encode()
        if not any(hmac.compare_digest(given, w) for w in wanted):
            raise Unauthorized(f"this endpoint needs 'Authorization: Bearer <{what} token>'")

    return check


def cmd_ui(args: argparse.Namespace) -> int:
    import uvicorn

    from augur.console import Access, FeatureBinding, build_app
    from augur.serving.rest import error_body, status_of

    if bool(args.features) != bool(args.feature_store):
        raise ConfigError("--features and --feature-store go together")
    registry = Registry()
    access = Access(read=_bearer(args.read_token, args.admin_token, "read"),
                    admin=_bearer(args.admin_token, None, "admin"))
    features = (FeatureBinding(args.features, args.feature_store),) if args.features else ()
    app = build_app(registry, access, lambda exc: (status_of(exc), error_body(exc)),
                    features=features)
    host = args.host or "127.0.0.1"
    print(f"augur console for {registry.home.resolve()} at http://{host}:{args.port}/ "
          "(Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=args.port, log_level="warning", server_header=False,
                lifespan="off")
    return 0


def register(subs: Any) -> None:
    p = subs.add_parser(
        "ui", help="the web console over $AUGUR_HOME, without serving models",
        description="Serve the web console (models, aliases, batch runs, features, edge "
                    "pages) for the registry in $AUGUR_HOME. Alias moves and rollbacks "
                    "work here; loading, canary, shadow and live traffic need 'augur "
                    "serve', which serves the same console at / next to the models.")
    p.add_argument("--host", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8090, help="HTTP port (default 8090)")
    p.add_argument("--admin-token", help="bearer token for alias moves and batch runs")
    p.add_argument("--read-token", help="bearer token for reading (default: open)")
    p.add_argument("--features", help="a feature definitions file for the Features page")
    p.add_argument("--feature-store", help="its online store URL (redis://..., sqlite:///...)")
    p.set_defaults(func=cmd_ui)
