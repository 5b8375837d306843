"""Features: one definition, run by a batch engine for training and a streaming engine for serving.

Definitions (:mod:`augur.features.definitions` documents the exact semantics):
:class:`Entity`, :class:`EventSource`, :class:`Window` (sliding, tumbling, lifetime),
:class:`Aggregation` (count, sum, mean, min, max, last, distinct_count),
:class:`FeatureView` (streaming), :class:`TableFeatureView` (batch table),
:class:`RequestFeature` (computed from the request).

Engines: :class:`BatchEngine` (DuckDB; ``training_set(labels, views)`` gives
point-in-time-correct values) and :class:`StreamingEngine` (incremental window
state); they agree exactly on the same events. :func:`run_feature_worker` /
:class:`FeatureStreamHandler` run the streaming engine over an
:mod:`augur.streaming` transport with checkpoints stored atomically with values;
:class:`StreamMetrics` counts accepted, out-of-order, duplicate, late (dropped) and
invalid events per view for Prometheus.

Stores: :class:`MemoryOnlineStore`, :class:`SQLiteOnlineStore` (defaults),
:class:`RedisOnlineStore`, :func:`open_online_store`; :func:`materialize` backfills
an online store from history.

Archive: a worker given an :class:`EventArchive` (:func:`open_archive`: Parquet under
``$AUGUR_HOME/archive`` by default, :class:`ParquetArchive`, or a PostgreSQL table,
:class:`PostgresArchive`) archives every event it consumes with its stream position
and outcome, committed with its checkpoint; the batch engine trains from it by
default, so training sees what serving saw. A history without arrival order of a
source that allows lateness gets one :class:`ArrivalOrderWarning`.

Streaming prediction (for the online server): build a :class:`Deployment` binding a
model to views, request features and per-column defaults, then::

    service = OnlineFeatureService(open_online_store("redis://127.0.0.1:6379/0"))
    model = augur.runtime.load(deployment.model)
    assembler = service.assembler(deployment, model.signature)
    feeds = assembler.feeds([{"restaurant_id": "r7", "distance_km": 2.5}])
    model.run(feeds)

``assembler.records(requests)`` gives the records instead of feeds. Each request
carries every view's entity key (``deployment.entity_keys``; strings, ints or bytes)
and the request-time fields. A missing key raises ``InvalidInput``; a feature with
no stored value (or expired by TTL) takes the column's default from
``Deployment.defaults`` or raises ``FeatureUnavailable`` naming the view, feature and
key: both are client errors (4xx) at the HTTP/gRPC boundary.
"""

from __future__ import annotations

from augur.features.archive import (
    DEFAULT_ARCHIVE,
    ArchiveCount,
    ArchiveWriter,
    EventArchive,
    parse_since,
)
from augur.features.archive_parquet import ParquetArchive
from augur.features.archive_postgres import PostgresArchive
from augur.features.assembler import Deployment, FeatureAssembler, OnlineFeatureService
from augur.features.batch import BatchEngine, BatchStats
from augur.features.definitions import (
    FUNCTIONS,
    Aggregation,
    Entity,
    EventSource,
    FeatureView,
    RequestFeature,
    TableFeatureView,
    Window,
)
from augur.features.handler import FeatureStreamHandler, run_feature_worker
from augur.features.materialize import materialize
from augur.features.metrics import StreamMetrics
from augur.features.online import (
    Checkpoint,
    FeatureRow,
    MemoryOnlineStore,
    OnlineStore,
    SQLiteOnlineStore,
)
from augur.features.redis_online import RedisOnlineStore
from augur.features.repo import Definitions, load_definitions
from augur.features.skew import ArrivalOrderWarning
from augur.features.store_factory import open_archive, open_online_store
from augur.features.streaming import EngineStats, StreamingEngine

__all__ = [
    "DEFAULT_ARCHIVE",
    "FUNCTIONS",
    "Aggregation",
    "ArchiveCount",
    "ArchiveWriter",
    "ArrivalOrderWarning",
    "BatchEngine",
    "BatchStats",
    "Checkpoint",
    "Definitions",
    "Deployment",
    "EngineStats",
    "Entity",
    "EventArchive",
    "EventSource",
    "FeatureAssembler",
    "FeatureRow",
    "FeatureStreamHandler",
    "FeatureView",
    "MemoryOnlineStore",
    "OnlineFeatureService",
    "OnlineStore",
    "ParquetArchive",
    "PostgresArchive",
    "RedisOnlineStore",
    "RequestFeature",
    "SQLiteOnlineStore",
    "StreamMetrics",
    "StreamingEngine",
    "TableFeatureView",
    "Window",
    "load_definitions",
    "materialize",
    "open_archive",
    "open_online_store",
    "parse_since",
    "run_feature_worker",
]
