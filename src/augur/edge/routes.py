"""The edge page and its files as Starlette routes, for the augur server to mount.

``/edge/{ref}`` is a page that downloads a version's web bundle once and then
predicts in the browser; ``/edge/{ref}/bundle/{file}`` serves the bundle;
``/edge/_/static/`` and ``/edge/_/ort/`` serve augur's JS and onnxruntime-web
(installed from npm at set-up time, never a CDN). Every response carries the
cross-origin isolation headers, which WASM threads need (SharedArrayBuffer).
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from augur.edge.assets import STATIC_FILES, render_page, static_bytes
from augur.edge.formats import check_edge_compatible, preferred_backend
from augur.edge.manifest import MANIFEST_NAME, build_manifest, manifest_bytes
from augur.edge.quantized import quantization_of
from augur.edge.webruntime import CONTENT_TYPES, WebRuntime, find_web_runtime
from augur.errors import (
    AugurError,
    ConfigError,
    ExportFailed,
    InvalidArtifact,
    InvalidName,
    InvalidReference,
    ModelNotFound,
)
from augur.registry import ModelVersion, Registry

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
# The page may load only what this server serves; WASM compilation needs 'wasm-unsafe-eval'.
PAGE_POLICY = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
               "worker-src 'self' blob:; connect-src 'self'; style-src 'self'; "
               "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'self'")
IMMUTABLE = "public, max-age=31536000, immutable"
ERROR_STATUS: tuple[tuple[type[AugurError], int], ...] = (
    (ModelNotFound, 404), (InvalidReference, 400), (InvalidName, 400),
    (ExportFailed, 422), (ConfigError, 503), (InvalidArtifact, 500),
)
MODEL_FILE = "model.onnx"
RUNTIME_BASE = "../../_/ort/"  # relative to /edge/{ref}/bundle/


def _headers(cache: str, **extra: str) -> dict[str, str]:
    return {**ISOLATION_HEADERS, "Cache-Control": cache, **extra}


def _error(exc: AugurError) -> JSONResponse:
    status = next((code for cls, code in ERROR_STATUS if isinstance(exc, cls)), 500)
    return JSONResponse({"error": str(exc)}, status_code=status, headers=_headers("no-store"))


class EdgeSite:
    """The edge endpoints over one registry.

    Args:
        registry: where versions are resolved and read.
        runtime: the onnxruntime-web installation (default: found at first use).
    """

    def __init__(self, registry: Registry, runtime: WebRuntime | None = None) -> None:
        self.registry = registry
        self._runtime = runtime
        self._manifests: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def runtime(self) -> WebRuntime:
        if self._runtime is None:
            self._runtime = find_web_runtime()
        return self._runtime

    def routes(self) -> list[BaseRoute]:
        """The routes, the fixed prefixes before the ``{ref}`` ones."""
        return [
            Route("/edge", self.index, methods=["GET"]),
            Route("/edge/_/static/{file}", self.static, methods=["GET"]),
            Route("/edge/_/ort/{file}", self.ort_file, methods=["GET"]),
            Route("/edge/{ref}", self.page, methods=["GET"]),
            Route("/edge/{ref}/bundle/{file}", self.bundle_file, methods=["GET"]),
        ]

    def manifest_for(self, version: ModelVersion) -> bytes:
        """The served web bundle's manifest for ``version`` (built once per artifact)."""
        with self._lock:
            cached = self._manifests.get(version.artifact)
            if cached is not None:
                self._manifests.move_to_end(version.artifact)
                return cached
        data = self.registry.read_artifact(version)  # also checks the artifact's hash
        check_edge_compatible(data)
        runtime = {"package": "onnxruntime-web", "version": self.runtime.version,
                   "base": RUNTIME_BASE, "backends": self.runtime.backends(),
                   "prefer": preferred_backend(data)}
        body = manifest_bytes(build_manifest(version, target="web", model_file=MODEL_FILE,
                                             files={MODEL_FILE: data},
                                             quantization=quantization_of(version),
                                             runtime=runtime))
        with self._lock:
            self._manifests[version.artifact] = body
            while len(self._manifests) > 64:
                self._manifests.popitem(last=False)
        return body

    def index(self, request: Request) -> Response:
        items = []
        for info in self.registry.list_models():
            if info.latest is None:
                continue
            ref = quote(info.name)
            items.append(f'<li><a href="./edge/{ref}">{html.escape(info.name)}</a> '
                         f"(latest version {info.latest})</li>")
        body = ("<!doctype html><meta charset='utf-8'><title>augur edge</title>"
                "<h1>Models to run in the browser</h1><ul>" + "".join(items) + "</ul>")
        return Response(body, media_type="text/html; charset=utf-8",
                        headers=_headers("no-cache", **{"Content-Security-Policy": PAGE_POLICY}))

    def page(self, request: Request) -> Response:
        try:
            version = self.registry.resolve(request.path_params["ref"])
            self.runtime  # noqa: B018 - fail now, with the set-up hint, not in the browser
            self.manifest_for(version)  # and refuse models the browser cannot run
        except AugurError as exc:
            return _error(exc)
        config: dict[str, Any] = {"bundle": f"./{quote(version.ref, safe='')}/bundle/",
                                  "ref": version.ref}
        body = render_page(title=version.ref, assets="./_/static/", config=config)
        return Response(body, media_type="text/html; charset=utf-8",
                        headers=_headers("no-cache", **{"Content-Security-Policy": PAGE_POLICY}))

    def bundle_file(self, request: Request) -> Response:
        ref, name = request.path_params["ref"], request.path_params["file"]
        try:
            version = self.registry.resolve(ref)
            exact = ref == version.ref  # an alias may move: only exact versions are immutable
            cache = IMMUTABLE if exact else "no-cache"
            if name == MANIFEST_NAME:
                return Response(self.manifest_for(version), media_type="application/json",
                                headers=_headers(cache))
            if name == MODEL_FILE:
                return FileResponse(self.registry.artifact_path(version),
                                    media_type="application/octet-stream",
                                    headers=_headers(cache))
        except AugurError as exc:
            return _error(exc)
        return _error(ModelNotFound(f"no bundle file {name!r}; the bundle holds "
                                    f"{MANIFEST_NAME} and {MODEL_FILE}"))

    def static(self, request: Request) -> Response:
        name = request.path_params["file"]
        if name not in STATIC_FILES:
            return _error(ModelNotFound(f"no edge asset {name!r}"))
        return Response(static_bytes(name), media_type=STATIC_FILES[name],
                        headers=_headers("no-cache"))

    def ort_file(self, request: Request) -> Response:
        name = request.path_params["file"]
        try:
            path = self.runtime.servable(name)
        except AugurError as exc:
            return _error(exc)
        if path is None:
            return _error(ModelNotFound(f"no onnxruntime-web file {name!r}"))
        return FileResponse(path, media_type=CONTENT_TYPES[path.suffix],
                            headers=_headers("public, max-age=86400"))


def routes(registry: Registry) -> list[BaseRoute]:
    """The edge routes over ``registry``, for the augur server (or any Starlette app).

    Example:
        >>> app = Starlette(routes=augur.edge.routes(Registry()))  # doctest: +SKIP
    """
    return EdgeSite(registry).routes()
