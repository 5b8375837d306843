"""Hybrid prediction: a precomputed prediction when a fresh one exists, else the model.

The online server mounts this for models deployed as hybrid; it is plain
Python so it can be used and tested without a server.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from augur.batch.records import Prediction
from augur.batch.sink import PredictionStore
from augur.errors import ConfigError, PredictionNotFound
from augur.runtime import LoadedModel


@dataclass(frozen=True)
class HybridResult:
    """One answer of a :class:`HybridPredictor`.

    Attributes:
        key: the entity key asked for.
        outputs: output name -> value (JSON types).
        version: the model version that computed it.
        source: ``"store"`` (precomputed) or ``"model"`` (computed now).
        age_seconds: age of the stored prediction (0 when computed now).
    """

    key: str
    outputs: dict[str, Any]
    version: int
    source: str
    age_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class HybridPredictor:
    """Answers from the prediction store when fresh, else runs the model online.

    Args:
        store: where batch predictions are (see :func:`~augur.batch.open_store`).
        model: the loaded version to run on a miss.
        max_age: seconds a stored prediction stays fresh.
        write_back: store what the model computed on a miss.
        model_name: the name predictions are stored under (default ``model.name``).

    Example:
        >>> hp = HybridPredictor(open_store(None, home), load("churn"), max_age=86400)  # doctest: +SKIP
        >>> hp.predict("user-42", {"tenure": 3.0, ...}).source                         # doctest: +SKIP
        'store'
    """

    def __init__(self, store: PredictionStore, model: LoadedModel, *, max_age: float,
                 write_back: bool = False, model_name: str | None = None) -> None:
        if max_age < 0:
            raise ConfigError(f"max_age must be >= 0 seconds, got {max_age}")
        name = model_name or model.name
        if not name:
            raise ConfigError("a hybrid predictor needs a model name (register the model or "
                              "pass model_name=)")
        self.store = store
        self.model = model
        self.max_age = max_age
        self.write_back = write_back
        self.model_name = name
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    @property
    def hit_rate(self) -> float:
        """Share of answers served from the store (0.0 before any)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def lookup(self, key: str, now: float | None = None) -> Prediction | None:
        """The stored prediction for ``key`` if it is fresh, else ``None``."""
        found = self.store.get(self.model_name, key)
        if found is None or found.age(now) > self.max_age:
            return None
        return found

    def predict(self, key: str, data: Any = None) -> HybridResult:
        """Answer for one entity.

        Args:
            key: the entity key.
            data: the model input for this entity (one record or a mapping of
                tensors); needed only when no fresh prediction is stored.

        Raises:
            PredictionNotFound: no fresh prediction and no ``data`` to compute one.
            InvalidInput: ``data`` does not match the model's signature.
        """
        now = time.time()
        found = self.lookup(key, now)
        if found is not None:
            with self._lock:
                self.hits += 1
            return HybridResult(key, found.outputs, found.version, "store", found.age(now))
        if data is None:
            with self._lock:
                self.misses += 1
            raise PredictionNotFound(f"no prediction of {self.model_name!r} for key {key!r} "
                                     f"younger than {self.max_age:g}s, and no input to "
                                     "compute one")
        arrays = self.model.predict(data)
        outputs = {name: arr[0].tolist() for name, arr in arrays.items()}
        version = self.model.version or 0
        if self.write_back:
            self.store.put(self.model_name, version, key, outputs)
        with self._lock:
            self.misses += 1
        return HybridResult(key, outputs, version, "model", 0.0)

    def stats(self) -> dict[str, Any]:
        """Counters for metrics: hits, misses, hit rate."""
        return {"hits": self.hits, "misses": self.misses, "hit_rate": self.hit_rate}
