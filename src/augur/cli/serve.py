"""``augur serve``: the online prediction server over every registered model."""

from __future__ import annotations

import argparse
from typing import Any

from augur.config import parse_bytes
from augur.registry import Registry


def _settings(args: argparse.Namespace) -> Any:
    from augur.serving import ServerSettings

    overrides = {
        "host": args.host, "http_port": args.port, "grpc_port": args.grpc_port,
        "memory_budget": parse_bytes(args.memory_budget) if args.memory_budget else None,
        "max_body_bytes": parse_bytes(args.max_body) if args.max_body else None,
        "max_batch_size": args.max_batch_size, "max_delay_ms": args.max_delay_ms,
        "max_queue_size": args.max_queue, "timeout_ms": args.timeout_ms,
        "admin_token": args.admin_token, "inference_token": args.inference_token,
        "metrics_token": args.metrics_token, "max_connections": args.max_connections,
        "access_log": args.access_log,
        "preload": tuple(args.preload) if args.preload else None,
        "grpc_enabled": False if args.no_grpc else None,
        "prediction_store": args.prediction_store,
        "scheduler": True if args.scheduler else None,
    }
    return ServerSettings.load(args.config, overrides=overrides)


def _serve(settings: Any, registry: Registry, banner: Any = None) -> int:
    from augur.serving.server import Server, run_loop

    def started(server: Server) -> None:
        grpc = f", gRPC on port {server.grpc_port}" if server.grpc_port else ""
        print(f"augur serving {registry.home.resolve()} at {server.url}{grpc} "
              f"(console at {server.url}/; Ctrl-C to stop)", flush=True)
        if banner is not None:
            banner(server)

    run_loop(Server(settings, registry).serve_forever(started))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(_settings(args), Registry())


def curl_example(url: str, registry: Registry, model: str = "iris") -> str:
    """A copyable ``curl`` request for the plain JSON endpoint of ``model``."""
    version = registry.resolve(model)
    record = {c.name: 0.0 if c.kind != "string" else "" for c in version.signature.columns}
    if model == "iris":
        record = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4,
                  "petal_width": 0.2}
    import json

    body = json.dumps({"instances": [record]})
    return (f"curl -s -X POST {url}/v1/models/{model}:predict "
            f"-H 'Content-Type: application/json' -d '{body}'")


def serve_after_demo(args: argparse.Namespace) -> int:
    """Serve the demo's registry, printing a request to copy first."""
    from augur.serving import ServerSettings

    registry = Registry()
    settings = ServerSettings.load(overrides={"preload": ("iris",)})

    def banner(server: Any) -> None:
        print("\nTry it (in another terminal):\n  " + curl_example(server.url, registry),
              flush=True)
        print(f"  curl -s {server.url}/v2/models/iris    # v2 metadata; "
              f"metrics at {server.url}/metrics", flush=True)

    return _serve(settings, registry, banner)


def register(subs: Any) -> None:
    p = subs.add_parser(
        "serve", help="serve every registered model (v2 REST, gRPC, plain JSON)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the models of $AUGUR_HOME over the Open Inference Protocol v2 "
                    "(REST and gRPC) and POST /v1/models/REF:predict. Models load on first "
                    "use; settings come from defaults < --config < AUGUR_* variables < flags.",
        epilog=_EPILOG)
    p.add_argument("--host", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="HTTP port (default 8080)")
    p.add_argument("--grpc-port", type=int, help="gRPC port (default 8081)")
    p.add_argument("--no-grpc", action="store_true", help="serve HTTP only")
    p.add_argument("--config", help="a .toml or .json settings file")
    p.add_argument("--memory-budget", help="keep at most this much model memory, e.g. 2GB")
    p.add_argument("--max-body", help="largest request body, e.g. 64MB")
    p.add_argument("--max-batch-size", type=int, help="rows per batch (1: no batching)")
    p.add_argument("--max-delay-ms", type=float, help="batch fill delay under load")
    p.add_argument("--max-queue", type=int, help="requests queued per model before 429")
    p.add_argument("--timeout-ms", type=float, help="default per-request deadline")
    p.add_argument("--admin-token",
                   help="bearer token for load/unload, alias moves, traffic, batch jobs and "
                        "the admin listings (without it, the inference token guards them)")
    p.add_argument("--inference-token",
                   help="bearer token for inference, metadata, the repository index and "
                        "lookups; with any token set only /v2/health/* stays open")
    p.add_argument("--metrics-token", help="bearer token for /metrics (default: open)")
    p.add_argument("--max-connections", type=int,
                   help="open HTTP connections (and concurrent gRPC calls) at most "
                        "(default 4096)")
    p.add_argument("--access-log", help="stderr (default), off, or a file path")
    p.add_argument("--preload", action="append", metavar="REF", help="load at start (repeat)")
    p.add_argument("--prediction-store",
                   help="where GET /v1/predictions/MODEL/KEY looks: sqlite:///file.db, "
                        "postgresql://..., redis://... (default $AUGUR_HOME/predictions.db)")
    p.add_argument("--scheduler", action="store_true",
                   help="run due batch schedules (augur batch schedule) in this process; "
                        "without it they run only when triggered over HTTP")
    p.set_defaults(func=cmd_serve)


_EPILOG = """\
batch predictions and features (per model, in the --config file):
  [models.churn]
  hybrid = true                  # answer keyed requests from the prediction store
  hybrid_store = "redis://127.0.0.1:6379/0"   # default: --prediction-store
  hybrid_max_age_s = 86400       # older stored predictions count as missing
  hybrid_write_back = true       # store what the model computed on a miss
  [models.eta]
  features = "features.py"       # its Deployment binds the model to feature views
  feature_store = "redis://127.0.0.1:6379/0?namespace=prod"

  A hybrid request carries its key as the v2 request parameter "key" (or a BYTES/INT64
  input named "key", one per row), or as a "key" field of each plain JSON record.
  A feature-bound request carries the entity keys and request features instead of the
  model's inputs: v2 inputs named after them (one element per row) or plain JSON records.
  A missing feature without a default is a 422 naming the feature.

limits (defaults; set them in --config): max_body_bytes 64MB for inference,
  max_control_body_bytes 1MB for every other route, body_timeout_s 60, header_timeout_s 10
  (a connection that does not finish its headers is closed), keepalive_timeout_s 5,
  max_connections 4096. A v2 tensor whose datatype differs from the model's is a 400;
  [models.NAME] convert_datatypes = true converts it when no value is lost.

the web console:
  GET  /                                models, traffic, batch, features, edge pages
                                        (reads: inference token if set; changes: admin token)

endpoints added to v2:
  GET  /v1/predictions/MODEL/KEY        stored prediction, its version and age (404: none)
  GET  /v1/batch/schedules              schedules (admin token)
  POST /v1/batch/schedules/ID/run       run a schedule now -> {"run_id"} (admin token)
  POST /v1/batch/runs {"ref","input","key","output"}   start a batch job (admin token)
  GET  /v1/batch/runs/RUN               run record (admin token)

  Tuned options (augur tune) set a model's batch size, delay and instances (batches
  run side by side, for models that run on worker threads) unless [models.NAME] sets
  max_batch_size / max_delay_ms / instances itself.
"""
