"""Enrichment: steps between model resolution and validation, for every transport.

REST and gRPC call :meth:`~augur.serving.dataplane.DataPlane.infer`; the plain JSON
endpoint calls :meth:`~augur.serving.dataplane.DataPlane.predict`. Each
:class:`Enricher` given to the data plane sees every request, in order:

- ``enrich`` may return a new v2 request (entity keys replaced by feature tensors
  from an online store) or a finished response (a key looked up in a precomputed
  prediction store, "hybrid" serving); returning the request unchanged passes it on;
- ``complete`` sees the model's outputs afterwards (a write-back);
- ``enrich_instances`` does the same for plain JSON rows and returns an
  :class:`Enrichment`.

Two ship: :class:`~augur.serving.hybrid.HybridEnricher` and
:class:`~augur.serving.feature_enricher.FeatureEnricher`; ``create_dataplane``
adds them for the models whose settings ask for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from augur.serving.loaded import LoadedVersion
from augur.serving.types import InferenceRequest, InferenceResponse


@dataclass
class Enrichment:
    """What an enricher made of plain JSON rows: new rows, feeds, or the answer.

    Attributes:
        instances: rows or records to convert by the signature.
        feeds: ready input tensors (used instead of ``instances``).
        predictions: a finished answer, one prediction per row.
        after: called with the model's outputs once it ran (e.g. a write-back).
    """

    instances: list[Any] | None = None
    feeds: dict[str, np.ndarray] | None = None
    predictions: list[Any] | None = None
    after: Callable[[dict[str, np.ndarray]], Awaitable[None]] | None = None


class Enricher(Protocol):
    """A step between resolution and validation (see the module docstring)."""

    async def enrich(self, model: LoadedVersion,
                     request: InferenceRequest) -> InferenceRequest | InferenceResponse:
        """Return the request to validate, or a finished response."""
        ...

    async def complete(self, model: LoadedVersion, request: InferenceRequest,
                       result: dict[str, np.ndarray]) -> None:
        """See the outputs the model computed for an (enriched) request."""
        ...

    async def enrich_instances(self, model: LoadedVersion, instances: list[Any]) -> Enrichment:
        """Return what to run for plain JSON rows (or the finished answer)."""
        ...
