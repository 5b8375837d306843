"""The edge part's static files (the JS module, the page) and rendering the page.

The same page serves two homes: the augur server (``/edge/{ref}``) and an
exported web bundle (``index.html``); only its configuration differs.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

#: Files served from ``/edge/_/static/`` and copied into web bundles, with their types.
STATIC_FILES: dict[str, str] = {
    "augur-edge.mjs": "text/javascript; charset=utf-8",
    "edge-page.mjs": "text/javascript; charset=utf-8",
    "edge.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
PAGE_TEMPLATE = "edge.html"
INDEX_TEMPLATE = "edge-index.html"


def static_bytes(name: str) -> bytes:
    """The content of one of the edge part's static files.

    Raises:
        KeyError: ``name`` is not one of :data:`STATIC_FILES` (or the page template).
    """
    if name not in STATIC_FILES and name not in (PAGE_TEMPLATE, INDEX_TEMPLATE):
        raise KeyError(name)
    return resources.files("augur.edge").joinpath("static", name).read_bytes()


def device_script() -> bytes:
    """The standalone ``predict.py`` of device bundles (imports nothing from augur)."""
    return resources.files("augur.edge").joinpath("device_predict.py").read_bytes()


def render_page(*, title: str, assets: str, config: dict[str, Any]) -> bytes:
    """The edge page as HTML.

    Args:
        title: the heading (the model reference).
        assets: URL prefix of the static files, ending in ``/``.
        config: what the page script reads: ``bundle`` (URL of the bundle folder),
            optionally ``ortBase`` and ``backend``.
    """
    # JSON inside <script> must not be able to close the element.
    blob = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e")
    return render_template(PAGE_TEMPLATE, {"title": html.escape(title),
                                           "assets": html.escape(assets, quote=True),
                                           "config": blob})


def render_template(name: str, values: dict[str, str]) -> bytes:
    """A template of the edge part with its ``{{placeholders}}`` replaced (values as given:
    escape them first)."""
    text = static_bytes(name).decode("utf-8")
    # One pass, so a value can never be mistaken for another placeholder.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text).encode("utf-8")
