"""The web console: pages over the public APIs of the parts, nothing of its own.

``augur serve`` mounts it at ``/``; ``augur ui`` serves it over a registry without
serving models. Pages: Models (search, versions, lineage, signature, parity,
compression and tuning reports, aliases and their history; alias moves, rollback,
load/unload, canary and shadow), Traffic (live from the server's ``/metrics``),
Batch (runs, failed rows, schedules; start and resume), Features (views and their
freshness), Monitoring and Edge.

Public surface: :func:`routes` and :class:`ConsoleSite` (for a server to mount, with
its ``guard(request, role)``), :class:`FeatureBinding`, :func:`build_app` (the
stand-alone console of ``augur ui``).
"""

from __future__ import annotations

from augur.console.app import build_app
from augur.console.feature_status import FeatureBinding
from augur.console.site import ConsoleSite, routes

__all__ = ["ConsoleSite", "FeatureBinding", "build_app", "routes"]
