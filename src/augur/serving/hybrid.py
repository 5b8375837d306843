"""The hybrid mode: answer from the prediction store when a fresh prediction exists.

A model deployed as hybrid (``[models.NAME] hybrid = true``) answers a request
that carries entity keys from its prediction store when *every* row has a stored
prediction younger than ``hybrid_max_age_s``; otherwise the model runs on the
request's inputs as usual and, with ``hybrid_write_back``, each keyed row's
outputs are stored. A request without a key is served by the model.

How a request carries its keys (one per row), on every protocol:

- a field named ``key``: an input tensor (BYTES or INT64, one element per row) in v2
  and gRPC, a ``"key"`` field of every record on the plain JSON endpoint
  (``{"instances": [{"key": "u42", ...}]}``); it is taken out before validation;
- or the request parameter ``key`` (a string or integer, or a list of them).

A store hit returns the stored outputs, cast to the signature's datatypes, with
the response parameters ``source = "store"``, ``age_seconds`` and the stored
``version``. Hits and misses are counted in ``augur_hybrid_requests_total`` and
``augur_hybrid_hit_ratio`` (per model). A prediction store that cannot be reached
counts as a miss (the model answers) and a failed write-back is logged, not raised.

Enrichers run in order: the hybrid mode first (a hit skips the feature fetch),
then feature assembly for models bound to feature views.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from augur.batch import Prediction
from augur.errors import InvalidInput, ServiceUnavailable, StoreError
from augur.serving.loaded import LoadedVersion
from augur.serving.prediction_stores import PredictionStores
from augur.serving.types import InferenceRequest, InferenceResponse, ResponseOutput

KEY = "key"

log = logging.getLogger("augur.serving")


class HybridEnricher:
    """The :class:`~augur.serving.dataplane.Enricher` of hybrid models.

    Args:
        stores: the server's prediction stores.
    """

    def __init__(self, stores: PredictionStores) -> None:
        self.stores = stores
        self.settings = stores.manager.settings
        self.metrics = stores.manager.metrics

    def applies(self, model: LoadedVersion) -> bool:
        """Whether ``model`` is deployed as hybrid."""
        return self.settings.for_model(model.name).hybrid

    async def enrich(self, model: LoadedVersion,
                     request: InferenceRequest) -> InferenceRequest | InferenceResponse:
        """Answer from the store on a fresh hit, else pass the request on without its key."""
        if not self.applies(model):
            return request
        keys = _keys_of_request(request)
        if keys is None:
            return request
        found = await self._fresh(model, keys)
        if found is None:
            request.parameters[KEY] = keys
            return request
        outputs = _stored_outputs(model, found)
        wanted = {o.name for o in request.outputs} if request.outputs else None
        response_outputs = [ResponseOutput(name, arr)
                            for name, arr in outputs.items() if wanted is None or name in wanted]
        now = time.time()
        return InferenceResponse(model.name, model.version_text, response_outputs, id=request.id,
                                 parameters={"source": "store",
                                             "version": max(p.version for p in found),
                                             "age_seconds": max(p.age(now) for p in found)})

    async def complete(self, model: LoadedVersion, request: InferenceRequest,
                       result: dict[str, np.ndarray]) -> None:
        """Write a miss's outputs back when the model is set to."""
        keys = request.parameters.get(KEY) if self.applies(model) else None
        if isinstance(keys, list):
            await self._write_back(model, keys, result)

    async def _fresh(self, model: LoadedVersion, keys: list[str]) -> list[Prediction] | None:
        max_age = self.settings.for_model(model.name).hybrid_max_age_s
        try:
            found = await self.stores.get(model.name, keys)
        except (ServiceUnavailable, StoreError) as exc:
            # the model can still answer: a store outage costs speed, not availability
            log.warning("hybrid %s: prediction store unavailable, running the model: %s",
                        model.name, exc)
            self.metrics.count_hybrid(model.name, False)
            return None
        now = time.time()
        fresh = [p for p in found if p is not None and p.age(now) <= max_age]
        hit = len(fresh) == len(keys)
        self.metrics.count_hybrid(model.name, hit)
        return fresh if hit else None

    async def _write_back(self, model: LoadedVersion, keys: list[str],
                          result: dict[str, np.ndarray]) -> None:
        if not self.settings.for_model(model.name).hybrid_write_back:
            return
        rows = [(key, {name: arr[i].tolist() for name, arr in result.items()})
                for i, key in enumerate(keys)]
        try:
            await self.stores.put(model.name, model.version, rows)
        except (ServiceUnavailable, StoreError) as exc:  # the answer stands without it
            log.warning("hybrid %s: write-back failed: %s", model.name, exc)
            return
        self.metrics.hybrid_write_back.labels(model.name).inc(len(rows))


def _key_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, bool) or not isinstance(value, str | int | np.integer | np.str_):
        raise InvalidInput(f'a hybrid key must be a string or an integer, got {value!r}')
    return str(value)


def _keys_of_request(request: InferenceRequest) -> list[str] | None:
    if KEY in request.field_names():
        if request.instances is None:
            tensor = next(t for t in request.inputs if t.name == KEY)
            if tensor.datatype not in ("BYTES", "INT64", "INT32", "UINT64"):
                raise InvalidInput(f'input "key" must be BYTES or INT64, got {tensor.datatype}')
        values = request.column(KEY) or []
        request.drop(KEY)
        return [_key_text(v) for v in values]
    value = request.parameters.get(KEY)
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InvalidInput('parameter "key" is an empty list')
    return [_key_text(v) for v in values]


def _stored_outputs(model: LoadedVersion, found: list[Prediction]) -> dict[str, np.ndarray]:
    specs = {s.name: s for s in model.model.signature.outputs}
    out: dict[str, np.ndarray] = {}
    for name in found[0].outputs:
        values = [p.outputs.get(name) for p in found]
        if any(v is None for v in values):
            raise InvalidInput(f"a stored prediction lacks output {name!r}")
        spec = specs.get(name)
        dtype = spec.numpy_dtype if spec is not None and spec.datatype != "BYTES" else None
        out[name] = np.asarray(values, dtype=dtype) if dtype is not None \
            else np.asarray(values, dtype=object)
    return out
