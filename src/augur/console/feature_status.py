"""What the Features page shows: each feature view, how fresh its online values are.

The views come from the definitions files the server binds models to (or that
``augur ui --features`` names); freshness comes from the streaming worker's
checkpoint in the online store, which records the largest event time applied and
what happened to every event (accepted, out of order, duplicate, late, invalid).
Only the features part's public API is used.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from augur.console.secrets import masked_url
from augur.errors import AugurError
from augur.features import (
    Definitions,
    FeatureView,
    StreamingEngine,
    TableFeatureView,
    load_definitions,
    open_online_store,
)


@dataclass(frozen=True)
class FeatureBinding:
    """A definitions file and the online store its views are served from.

    Attributes:
        definitions: path of the Python definitions file.
        store: online store URL (``None``: the views are listed without freshness).
        models: the models bound to it.
    """

    definitions: str
    store: str | None = None
    models: tuple[str, ...] = ()


def _view_doc(view: FeatureView | TableFeatureView) -> dict[str, Any]:
    if isinstance(view, FeatureView):
        return {"name": view.name, "kind": "stream", "entity": view.entity.key,
                "source": view.source.name,
                "features": [{"name": f.name, "function": f.function, "column": f.column}
                             for f in view.features],
                "ttl_s": view.ttl.total_seconds() if view.ttl else None}
    return {"name": view.name, "kind": "table", "entity": view.entity.key,
            "source": view.table,
            "features": [{"name": n, "function": "column", "column": n} for n in view.columns],
            "ttl_s": view.ttl.total_seconds() if view.ttl else None}


class FeatureStatus:
    """Reads definitions (re-run only when the file changes) and checkpoints.

    Args:
        bindings: the definitions files and their stores.
    """

    def __init__(self, bindings: tuple[FeatureBinding, ...]) -> None:
        self.bindings = bindings
        self._defs: dict[str, tuple[float, Definitions]] = {}
        self._lock = threading.Lock()

    def _definitions(self, path: str) -> Definitions:
        mtime = Path(path).stat().st_mtime if Path(path).is_file() else -1.0
        with self._lock:
            cached = self._defs.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        defs = load_definitions(path)  # raises ConfigError when missing or broken
        with self._lock:
            self._defs[path] = (mtime, defs)
        return defs

    def describe(self) -> dict[str, Any]:
        """``{"sources": [{"definitions", "store", "models", "views", "error"}], "now"}``.

        A stream view's ``freshness`` holds ``event_time`` (the largest applied, Unix
        seconds), ``lag_s`` (now minus that), ``position`` (the stream position of the
        checkpoint) and the event counters; ``None`` when no worker has checkpointed it.
        """
        now = time.time()
        out = []
        for binding in self.bindings:
            doc: dict[str, Any] = {"definitions": Path(binding.definitions).name,
                                   "store": _shown(binding.store), "models": list(binding.models),
                                   "views": [], "error": None}
            try:
                defs = self._definitions(binding.definitions)
                views = [_view_doc(v) for v in defs.views.values()]
                if binding.store is not None:
                    self._add_freshness(binding.store, defs, views, now)
                doc["views"] = views
            except AugurError as exc:
                doc["error"] = str(exc)
            out.append(doc)
        return {"sources": out, "now": now}

    @staticmethod
    def _add_freshness(url: str, defs: Definitions, views: list[dict[str, Any]],
                       now: float) -> None:
        store = open_online_store(url)
        try:
            for doc in views:
                view = defs.views[doc["name"]]
                doc["freshness"] = None
                if not isinstance(view, FeatureView):
                    continue
                checkpoint = store.load_checkpoint(view.name)
                if checkpoint is None:
                    continue
                engine = StreamingEngine(view)
                engine.restore(checkpoint.state)
                event_time = None if engine.max_time is None else engine.max_time / 1000
                doc["freshness"] = {
                    "event_time": event_time,
                    "lag_s": None if event_time is None else max(0.0, now - event_time),
                    "position": checkpoint.position,
                    "events": asdict(engine.stats)}
        finally:
            store.close()


def _shown(url: str | None) -> str | None:
    """A store URL as the page shows it: no password, no server path beyond the file name."""
    if url is None:
        return None
    if url.startswith("sqlite://") or "://" not in url:
        return f"sqlite:///\u2026/{Path(url.removeprefix('sqlite://')).name}"
    return masked_url(url)
