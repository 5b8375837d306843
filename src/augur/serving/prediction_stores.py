"""The server's prediction stores: where lookups and the hybrid mode read batch predictions.

Each model reads the store its settings name (``[models.NAME] hybrid_store``), else
the server's ``prediction_store``, else the SQLite file ``augur batch run`` writes by
default (``$AUGUR_HOME/predictions.db``). Stores are opened once per URL, lazily, and
every call into them (all blocking) runs on the manager's worker threads.
"""

from __future__ import annotations

import threading
from typing import Any

from augur.batch import Prediction, PredictionStore, fetch_prediction, open_store
from augur.serving.manager import ModelManager


class PredictionStores:
    """Opened prediction stores by URL, shared by lookups and hybrid enrichers.

    Args:
        manager: gives the settings, the registry home and the worker threads.
    """

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager
        self._stores: dict[str, PredictionStore] = {}
        self._lock = threading.Lock()

    def url_for(self, model: str) -> str | None:
        """The store URL of ``model`` (``None``: the embedded SQLite default)."""
        settings = self.manager.settings
        return settings.for_model(model).hybrid_store or settings.prediction_store

    def _open(self, url: str | None) -> PredictionStore:
        key = url or ""
        with self._lock:
            store = self._stores.get(key)
            if store is None:
                store = open_store(url, self.manager.registry.home)
                self._stores[key] = store
            return store

    async def store_for(self, model: str) -> PredictionStore:
        """The opened store of ``model``.

        Raises:
            ConfigError: the URL is malformed; ServiceUnavailable: it cannot be reached.
        """
        return await self.manager.run_blocking(self._open, self.url_for(model))

    async def fetch(self, model: str, key: str) -> Prediction:
        """The stored prediction of ``(model, key)`` (any age).

        Raises:
            PredictionNotFound: nothing is stored for that key.
        """
        store = await self.store_for(model)
        return await self.manager.run_blocking(fetch_prediction, store, model, key)

    async def get(self, model: str, keys: list[str]) -> list[Prediction | None]:
        """The stored predictions of several keys (``None`` where nothing is stored), read in
        one round trip.

        Raises:
            StoreError: a stored value is corrupt; ServiceUnavailable: the store is unreachable.
        """
        store = await self.store_for(model)
        return await self.manager.run_blocking(store.get_many, model, keys)

    async def put(self, model: str, version: int, rows: list[tuple[str, dict[str, Any]]]) -> None:
        """Store (replace) predictions computed online, run id ``online``."""
        store = await self.store_for(model)

        def write() -> None:
            for key, outputs in rows:
                store.put(model, version, key, outputs, "online")

        await self.manager.run_blocking(write)

    def close(self) -> None:
        """Close every opened store."""
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()
