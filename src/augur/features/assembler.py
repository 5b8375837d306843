"""Assembling a model's input from features: the protocol-neutral half of streaming prediction.

A :class:`Deployment` binds a model to feature views and request-time features,
with a default (or none: the feature is required) per model column. A
:class:`FeatureAssembler` turns requests (entity keys + request fields) into the
model's records or feeds, reading every view's rows in one store round trip, or
raises :class:`~augur.errors.FeatureUnavailable` naming the missing feature. The
online server's endpoints only translate their protocol to and from these calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from augur.errors import ConfigError, FeatureUnavailable, InvalidInput
from augur.features.definitions import FeatureView, RequestFeature, TableFeatureView
from augur.features.online import FeatureRow, OnlineStore
from augur.runtime import to_feeds
from augur.signature import Signature

AnyView = FeatureView | TableFeatureView


@dataclass(frozen=True)
class Deployment:
    """A model bound to the features that make its input.

    Attributes:
        model: the model reference (``name``, ``name:3``, ``name@production``).
        views: the feature views read from the online store.
        request_features: features computed from the request.
        bindings: model column -> ``view.feature`` or ``request.name``, for columns
            whose name is not simply the feature's name.
        defaults: model column -> value used when the feature is missing. A column
            without a default is *required*: missing means FeatureUnavailable.
        tensors: for tensor models: input name -> features laid out along the last axis.
    """

    model: str
    views: tuple[AnyView, ...]
    request_features: tuple[RequestFeature, ...] = ()
    bindings: Mapping[str, str] = dataclasses.field(default_factory=dict)
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    tensors: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)

    @property
    def entity_keys(self) -> list[str]:
        """The request fields holding entity keys."""
        return sorted({v.entity.key for v in self.views})


@dataclass(frozen=True)
class _Source:
    column: str
    view: AnyView | None
    feature: str
    request: RequestFeature | None


class FeatureAssembler:
    """Builds a deployment's model input from the online store and the request.

    Args:
        deployment: the binding.
        signature: the model's signature (``LoadedModel.signature``).
        store: the online store.

    Raises:
        ConfigError: a model column matches no feature, or matches several.
    """

    def __init__(self, deployment: Deployment, signature: Signature, store: OnlineStore,
                 on_lookup: Callable[[str, int, int], None] | None = None) -> None:
        self.deployment, self.signature, self.store = deployment, signature, store
        #: called per view and read with (view, hits, misses): keys found or not
        self.on_lookup = on_lookup
        self._views = {v.name: v for v in deployment.views}
        self._requests = {r.name: r for r in deployment.request_features}
        if signature.columns:
            columns = [c.name for c in signature.columns]
        else:
            columns = [f for feats in deployment.tensors.values() for f in feats]
            missing = [s.name for s in signature.inputs if s.name not in deployment.tensors]
            if missing:
                raise ConfigError(f"model {deployment.model!r} takes tensors; bind input(s) "
                                  f"{', '.join(missing)} to features with Deployment(tensors=...)")
        self.sources = [self._resolve(c) for c in columns]

    def _resolve(self, column: str) -> _Source:
        ref = self.deployment.bindings.get(column, column)
        if "." in ref:
            owner, _, name = ref.partition(".")
            if owner == "request" and name in self._requests:
                return _Source(column, None, name, self._requests[name])
            view = self._views.get(owner)
            if view is None or name not in view.feature_names:
                raise ConfigError(f"column {column!r} is bound to {ref!r}, which is no feature "
                                  "of the deployment")
            return _Source(column, view, name, None)
        hits: list[_Source] = [_Source(column, v, ref, None) for v in self.deployment.views
                               if ref in v.feature_names]
        if ref in self._requests:
            hits.append(_Source(column, None, ref, self._requests[ref]))
        if len(hits) != 1:
            where = "no feature" if not hits else "several features"
            raise ConfigError(f"model column {column!r} matches {where} of the deployment; "
                              "bind it with Deployment(bindings={column: 'view.feature'})")
        return hits[0]

    def _fetch(self, requests: Sequence[Mapping[str, Any]]) -> dict[str, list[FeatureRow | None]]:
        wanted: list[tuple[str, list[str]]] = []
        for view in self.deployment.views:
            keys = []
            for i, req in enumerate(requests):
                key = req.get(view.entity.key)
                if key is None or isinstance(key, list | dict):
                    raise InvalidInput(f"request {i} needs entity key {view.entity.key!r} "
                                       f"(for feature view {view.name!r})")
                keys.append(key.decode() if isinstance(key, bytes) else str(key))
            wanted.append((view.name, keys))
        rows = self.store.read_many(wanted)
        if self.on_lookup is not None:
            for (name, _keys), found in zip(wanted, rows, strict=True):
                misses = found.count(None)
                self.on_lookup(name, len(found) - misses, misses)
        return {name: found for (name, _keys), found in zip(wanted, rows, strict=True)}

    def records(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Return one model record per request, in order.

        Raises:
            InvalidInput: a request lacks an entity key.
            FeatureUnavailable: a required feature has no value (the message names it).
        """
        rows = self._fetch(requests)
        defaults = self.deployment.defaults
        out: list[dict[str, Any]] = []
        for i, req in enumerate(requests):
            record: dict[str, Any] = {}
            for src in self.sources:
                value: Any = None
                what = src.column
                if src.request is not None:
                    rf = src.request
                    value = rf.compute(req) if rf.compute else req.get(rf.field or rf.name)
                    what = f"request feature {rf.name!r}"
                elif src.view is not None:
                    row = rows[src.view.name][i]
                    value = None if row is None else row.values.get(src.feature)
                    key = req.get(src.view.entity.key)
                    what = f"feature {src.view.name}.{src.feature} for {src.view.entity.key}={key!r}"
                if value is None:
                    if src.column not in defaults:
                        raise FeatureUnavailable(f"{what} is unavailable and has no default "
                                                 f"(model column {src.column!r})")
                    value = defaults[src.column]
                record[src.column] = value
            out.append(record)
        return out

    def feeds(self, requests: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Return validated ONNX Runtime feeds for the requests.

        Raises:
            InvalidInput: a request lacks an entity key, or a value does not fit the signature.
            FeatureUnavailable: a required feature has no value.
        """
        records = self.records(requests)
        if self.signature.columns:
            return to_feeds(self.signature, records)
        feeds = {}
        for name, feats in self.deployment.tensors.items():
            matrix = [[r[f] for f in feats] for r in records]
            feeds[name] = np.asarray(matrix)
        return to_feeds(self.signature, feeds)


class OnlineFeatureService:
    """Reads feature values for callers: serving, tools and benchmarks.

    Args:
        store: the online store.
    """

    def __init__(self, store: OnlineStore) -> None:
        self.store = store

    def get(self, view: str, keys: Sequence[Any]) -> list[dict[str, Any] | None]:
        """Return each key's values (None where missing or expired)."""
        rows = self.store.read(view, [str(k) for k in keys])
        return [None if r is None else r.values for r in rows]

    def get_many(self, requests: Sequence[tuple[str, Sequence[Any]]],
                 ) -> list[list[dict[str, Any] | None]]:
        """:meth:`get` for several views in one round trip."""
        rows = self.store.read_many([(v, [str(k) for k in keys]) for v, keys in requests])
        return [[None if r is None else r.values for r in found] for found in rows]

    def assembler(self, deployment: Deployment, signature: Signature) -> FeatureAssembler:
        """A :class:`FeatureAssembler` for ``deployment`` over this service's store."""
        return FeatureAssembler(deployment, signature, self.store)
