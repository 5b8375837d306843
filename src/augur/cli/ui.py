"""``augur ui``: the web console over a registry, without serving models."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from augur.errors import ConfigError
from augur.registry import Registry


def cmd_ui(args: argparse.Namespace) -> int:
    import uvicorn

    from augur.console import FeatureBinding, build_app
    from augur.http import BearerAuth

    if bool(args.features) != bool(args.feature_store):
        raise ConfigError("--features and --feature-store go together")
    registry = Registry()
    features = (FeatureBinding(args.features, args.feature_store),) if args.features else ()
    app = build_app(registry, BearerAuth(args.read_token, args.admin_token),
                    features=features)
    host = args.host or "127.0.0.1"
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, args.port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{args.port}: {exc.strerror}") from exc
    shown = f"[{host}]" if ":" in host else host
    print(f"augur console for {registry.home.resolve()} at http://{shown}:{args.port}/ "
          "(Ctrl-C to stop)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", server_header=False,
                                           lifespan="off"))
    server.run(sockets=[sock])
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
    p.add_argument("--read-token", help="bearer token for reading, as serve's --inference-token "
                                        "(default: open)")
    p.add_argument("--features", help="a feature definitions file for the Features page")
    p.add_argument("--feature-store", help="its online store URL (redis://..., sqlite:///...)")
    p.set_defaults(func=cmd_ui)
