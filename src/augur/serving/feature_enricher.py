"""Streaming prediction: a model's input assembled from the online feature store.

A model bound to feature views (``[models.NAME] features = "defs.py"`` and
``feature_store = "redis://127.0.0.1:6379/0?namespace=prod"``) takes requests that
carry entity keys and request-time features instead of the model's own inputs.
The definitions file's :class:`~augur.features.Deployment` whose ``model`` names
this model says which views, request features and defaults make each column; the
features part's :class:`~augur.features.FeatureAssembler` reads every view in one
store round trip and builds the feeds by the model's signature.

Every protocol carries them as fields, one value per row:

- v2 (REST and gRPC): one input per entity key (BYTES or INT64) and per request
  feature, each with one element per row: ``{"name": "restaurant_id", "datatype":
  "BYTES", "shape": [1], "data": ["r7"]}``;
- plain JSON: records holding the keys and request fields:
  ``{"instances": [{"restaurant_id": "r7", "distance_km": 2.5}]}``.

A bad binding (no ``Deployment`` of the model, a column matching no feature) is a
400 naming the problem, remembered per version until the server restarts.
A request without any entity key is passed on unchanged (the model's own inputs).
A feature with no value takes the deployment's default for its column, or the
request fails with ``FeatureUnavailable`` naming the view, feature and key (HTTP
422, gRPC FAILED_PRECONDITION).
"""

from __future__ import annotations

import threading

import numpy as np

from augur.errors import ConfigError
from augur.features import (
    Deployment,
    FeatureAssembler,
    OnlineStore,
    load_definitions,
    open_online_store,
)
from augur.registry import parse_reference
from augur.serving.loaded import LoadedVersion
from augur.serving.manager import ModelManager
from augur.serving.types import InferenceRequest, InferenceResponse, RequestInput
from augur.signature import NUMPY_TO_V2


class FeatureEnricher:
    """The :class:`~augur.serving.dataplane.Enricher` of models bound to feature views.

    Args:
        manager: gives the per-model settings and the worker threads.
    """

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager
        self.settings = manager.settings
        self._stores: dict[str, OnlineStore] = {}
        self._assemblers: dict[tuple[str, int], FeatureAssembler | None] = {}
        self._failures: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def _assembler_for(self, model: LoadedVersion) -> FeatureAssembler | None:
        key = (model.name, model.version)
        with self._lock:
            if key in self._assemblers:
                return self._assemblers[key]
        with self._lock:
            failed = self._failures.get(key)
        if failed is not None:  # do not run the user's definitions file on every request
            raise ConfigError(failed)
        ms = self.settings.for_model(model.name)
        assembler = None
        try:
            if ms.features is not None and ms.feature_store is not None:
                deployment = _deployment(ms.features, model.name)
                with self._lock:
                    store = self._stores.get(ms.feature_store)
                    if store is None:
                        store = open_online_store(ms.feature_store)
                        self._stores[ms.feature_store] = store
                name = model.name
                assembler = FeatureAssembler(
                    deployment, model.model.signature, store,
                    on_lookup=lambda view, hits, misses: self.manager.metrics
                    .count_feature_lookups(name, view, hits, misses))
        except ConfigError as exc:
            with self._lock:
                self._failures[key] = str(exc)
            raise
        with self._lock:
            self._assemblers[key] = assembler
        return assembler

    async def _assembler(self, model: LoadedVersion) -> FeatureAssembler | None:
        key = (model.name, model.version)
        if key in self._assemblers:
            return self._assemblers[key]
        return await self.manager.run_blocking(self._assembler_for, model)

    async def enrich(self, model: LoadedVersion,
                     request: InferenceRequest) -> InferenceRequest | InferenceResponse:
        """Replace entity keys and request features with the model's input tensors."""
        assembler = await self._assembler(model)
        if assembler is None:
            return request
        if not set(assembler.deployment.entity_keys) & request.field_names():
            return request
        records = request.records()
        feeds = await self.manager.run_blocking(assembler.feeds, records)
        inputs = [RequestInput(name, NUMPY_TO_V2.get(arr.dtype.str, "BYTES"), list(arr.shape),
                               arr) for name, arr in feeds.items()]
        return InferenceRequest(inputs, request.outputs, request.id, request.parameters,
                                timeout=request.timeout)

    async def complete(self, model: LoadedVersion, request: InferenceRequest,
                       result: dict[str, np.ndarray]) -> None:
        """Nothing to do after the model ran."""

    def close(self) -> None:
        """Close the online stores."""
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
            self._assemblers.clear()
        for store in stores:
            store.close()


def _deployment(path: str, model: str) -> Deployment:
    defs = load_definitions(path)
    for deployment in defs.deployments.values():
        if parse_reference(deployment.model).name == model:
            return deployment
    known = ", ".join(sorted(defs.deployments)) or "none"
    raise ConfigError(f"the feature definitions {path} hold no Deployment of model {model!r} "
                      f"(deployments: {known})")
