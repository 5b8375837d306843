"""Enrichment: steps between model resolution and validation, for every protocol.

Every request, whatever codec decoded it (v2 JSON or binary, gRPC, plain JSON),
passes each :class:`Enricher` given to the data plane, in order:

- ``enrich`` may return a new request (entity keys replaced by feature tensors
  from an online store) or a finished response (a key looked up in a precomputed
  prediction store, "hybrid" serving); returning the request unchanged passes it on;
- ``complete`` sees the model's outputs afterwards (a write-back).

An enricher reads a request through its protocol-neutral accessors
(:meth:`~augur.serving.types.InferenceRequest.column`, ``records``, ``drop``), so
one implementation serves tensors and records alike. Two ship:
:class:`~augur.serving.hybrid.HybridEnricher` and
:class:`~augur.serving.feature_enricher.FeatureEnricher`; ``create_dataplane`` adds
them for the models whose settings ask for them.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from augur.serving.loaded import LoadedVersion
from augur.serving.types import InferenceRequest, InferenceResponse


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
