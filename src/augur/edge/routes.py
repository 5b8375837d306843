"""The edge page and its files as Starlette routes, for the augur server to mount.

``/edge/{ref}`` is a page that downloads a version's web bundle once and then
predicts in the browser; ``/edge/{ref}/bundle/{file}`` serves the bundle;
``/edge/_/static/`` and ``/edge/_/ort/`` serve augur's JS and onnxruntime-web
(installed from npm at set-up time, never a CDN). Every response carries the
cross-origin isolation headers, which WASM threads need (SharedArrayBuffer).

With tokens set (the ``guard`` the server passes), bundle files need the inference
token in the ``Authorization`` header; the page and its assets stay loadable by a
browser, and the page script sends the token the console keeps in session storage
(``augur.token``). The ``/edge`` index without a token answers a browser
(``Accept: text/html``) with a 401 page pointing to the console, and any other client
with the 401 error body. Errors are raised and answered by the mounting app's handlers
(:func:`augur.http.exception_handlers`), as everywhere else.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from augur.edge.assets import (
    INDEX_TEMPLATE,
    STATIC_FILES,
    render_page,
    render_template,
    static_bytes,
)
from augur.edge.formats import check_edge_compatible, preferred_backend
from augur.edge.manifest import MANIFEST_NAME, build_manifest, manifest_bytes
from augur.edge.quantized import quantization_of
from augur.edge.webruntime import CONTENT_TYPES, WebRuntime, find_web_runtime
from augur.errors import ConfigError, ModelNotFound, ServiceUnavailable, Unauthorized
from augur.http import Role
from augur.registry import ModelVersion, Registry, parse_reference

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
MODEL_FILE = "model.onnx"
RUNTIME_BASE = "../../_/ort/"  # relative to /edge/{ref}/bundle/


def _headers(cache: str, **extra: str) -> dict[str, str]:
    return {**ISOLATION_HEADERS, "Cache-Control": cache, **extra}


Guard = Callable[[Request, Role], None]


def _open(request: Request, role: Role) -> None:
    """The guard of an edge site without tokens."""


class EdgeSite:
    """The edge endpoints over one registry.

    Args:
        registry: where versions are resolved and read.
        runtime: the onnxruntime-web installation (default: found at first use).
        guard: checks a request's token for a role (default: everything open).
    """

    def __init__(self, registry: Registry, runtime: WebRuntime | None = None,
                 guard: Guard | None = None) -> None:
        self.registry = registry
        self.guard = guard or _open
        self._runtime = runtime
        self._manifests: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def runtime(self) -> WebRuntime:
        """The onnxruntime-web installation.

        Raises:
            ServiceUnavailable: it is not installed (the set-up installs it).
        """
        if self._runtime is None:
            try:
                self._runtime = find_web_runtime()
            except ConfigError as exc:
                raise ServiceUnavailable(str(exc)) from exc
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
        """The served web bundle's manifest for ``version`` (built once per version: it
        names the version and its columns, so two versions never share one, even when
        they share an artifact)."""
        key = version.ref
        with self._lock:
            cached = self._manifests.get(key)
            if cached is not None:
                self._manifests.move_to_end(key)
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
            self._manifests[key] = body
            while len(self._manifests) > 64:
                self._manifests.popitem(last=False)
        return body

    def index(self, request: Request) -> Response:
        try:
            self.guard(request, "inference")
        except Unauthorized:
            if "text/html" not in request.headers.get("accept", ""):
                raise  # a program gets the error body every route answers with
            # a browser sends no header: the list of models is for signed-in users, whose
            # console lists and links the same pages
            body = render_template(INDEX_TEMPLATE, {
                "assets": "./edge/_/static/", "home": "./",
                "items": '<p>This server needs a token to list its models: sign in to the '
                         '<a href="./">console</a> and open its Edge page.</p>'})
            return Response(body, status_code=401, media_type="text/html; charset=utf-8",
                            headers=_headers("no-cache", **{
                                "Content-Security-Policy": PAGE_POLICY,
                                "WWW-Authenticate": 'Bearer realm="augur"'}))
        rows = []
        for info in self.registry.list_models():
            if info.latest is None:
                continue
            ref = quote(info.name, safe="")
            rows.append(f'<tr><td><a href="./edge/{ref}">{html.escape(info.name)}</a></td>'
                        f"<td>{info.latest}</td><td>{html.escape(info.description)}</td></tr>")
        items = ("<p>No model is registered yet.</p>" if not rows else
                 '<table class="models"><thead><tr><th scope="col">Model</th>'
                 '<th scope="col">Latest version</th><th scope="col">Description</th></tr>'
                 "</thead><tbody>" + "".join(rows) + "</tbody></table>")
        body = render_template(INDEX_TEMPLATE, {"assets": "./edge/_/static/", "home": "./",
                                                "items": items})
        return Response(body, media_type="text/html; charset=utf-8",
                        headers=_headers("no-cache", **{"Content-Security-Policy": PAGE_POLICY}))

    def page(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        parse_reference(ref)
        self.runtime  # noqa: B018 - fail now, with the set-up hint, not in the browser
        try:
            self.guard(request, "inference")
        except Unauthorized:
            # A browser navigating here sends no header: serve the page, whose script
            # fetches the bundle with the console's token (or is refused then).
            title = ref
        else:
            version = self.registry.resolve(ref)
            self.manifest_for(version)  # refuse models the browser cannot run, now
            title = ref = version.ref
        config: dict[str, Any] = {"bundle": f"./{quote(ref, safe='')}/bundle/", "ref": ref}
        body = render_page(title=title, assets="./_/static/", config=config)
        return Response(body, media_type="text/html; charset=utf-8",
                        headers=_headers("no-cache", **{"Content-Security-Policy": PAGE_POLICY}))

    def bundle_file(self, request: Request) -> Response:
        self.guard(request, "inference")
        ref, name = request.path_params["ref"], request.path_params["file"]
        if name not in (MANIFEST_NAME, MODEL_FILE):
            raise ModelNotFound(f"no bundle file {name[:100]!r}; the bundle holds "
                                f"{MANIFEST_NAME} and {MODEL_FILE}")
        version = self.registry.resolve(ref)
        exact = ref == version.ref  # an alias may move: only exact versions are immutable
        cache = IMMUTABLE if exact else "no-cache"
        if name == MANIFEST_NAME:
            return Response(self.manifest_for(version), media_type="application/json",
                            headers=_headers(cache))
        # read (and hash-check) the bytes: an artifact altered on disk is never served
        return Response(self.registry.read_artifact(version),
                        media_type="application/octet-stream", headers=_headers(cache))

    def static(self, request: Request) -> Response:
        name = request.path_params["file"]
        if name not in STATIC_FILES:
            raise ModelNotFound(f"no edge asset {name[:100]!r}")
        return Response(static_bytes(name), media_type=STATIC_FILES[name],
                        headers=_headers("no-cache"))

    def ort_file(self, request: Request) -> Response:
        name = request.path_params["file"]
        path = self.runtime.servable(name)
        if path is None:
            raise ModelNotFound(f"no onnxruntime-web file {name[:100]!r}")
        return FileResponse(path, media_type=CONTENT_TYPES[path.suffix],
                            headers=_headers("public, max-age=86400"))


def routes(registry: Registry, guard: Guard | None = None) -> list[BaseRoute]:
    """The edge routes over ``registry``, for the augur server (or any Starlette app
    with :func:`augur.http.exception_handlers`).

    Args:
        registry: where versions come from.
        guard: checks a request's token for a role (default: everything open).

    Example:
        >>> app = Starlette(routes=augur.edge.routes(Registry()),
        ...                 exception_handlers=augur.http.exception_handlers())  # doctest: +SKIP
    """
    return EdgeSite(registry, guard=guard).routes()
