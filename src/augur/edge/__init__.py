"""The edge: bundles for the browser (onnxruntime-web, WASM) and devices, and the page.

Public surface: :func:`export_bundle`, :class:`EdgeBundle`, :func:`routes`,
:class:`EdgeSite`, :class:`EdgeHost`, :class:`EdgeBrowser`, :class:`EdgePage`,
:func:`read_manifest`, :func:`verify_bundle`, :func:`find_web_runtime`,
:func:`quantized_version`.
"""

from __future__ import annotations

from augur.edge.browser import EdgeBrowser, EdgePage
from augur.edge.bundle import EdgeBundle, export_bundle
from augur.edge.host import EdgeHost
from augur.edge.manifest import read_manifest, verify_bundle
from augur.edge.quantized import quantized_version
from augur.edge.routes import EdgeSite, routes
from augur.edge.webruntime import WebRuntime, find_web_runtime

__all__ = [
    "EdgeBrowser",
    "EdgeBundle",
    "EdgeHost",
    "EdgePage",
    "EdgeSite",
    "WebRuntime",
    "export_bundle",
    "find_web_runtime",
    "quantized_version",
    "read_manifest",
    "routes",
    "verify_bundle",
]
