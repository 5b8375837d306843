"""Frozen settings of the online server, read once at start-up.

Precedence, lowest first: the defaults here < a TOML or JSON file < ``AUGUR_*``
environment variables < command-line flags (passed in as ``overrides``). Per-model
settings (batching, queue, timeout, canary, shadow) live under ``[models.NAME]``
in the file and fall back to the server-wide defaults.

Example file::

    http_port = 8080
    memory_budget = "2GB"
    [defaults]
    max_batch_size = 32
    [models.fraud]
    max_queue_size = 64
    timeout_ms = 50
    canary = "fraud:4"
    canary_percent = 10
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from augur.config import parse_bytes
from augur.errors import ConfigError

EXECUTORS = ("auto", "inline", "thread")


@dataclass(frozen=True)
class ModelSettings:
    """How one model is batched, queued and routed.

    Attributes:
        max_batch_size: most rows of queued requests run together (1: no batching).
        max_delay_ms: while the model is under load, how long a partial batch may
            wait for more requests; a request that finds the model idle never waits.
        max_queue_size: requests that may wait for the model; beyond it, 429.
        timeout_ms: default per-request deadline (a request's ``timeout``
            parameter, in microseconds as in Triton, overrides it).
        executor: ``inline`` runs the model on the event loop (fastest for small
            models), ``thread`` in a worker thread, ``auto`` picks by warm-up time.
        instances: batches of this model that may run at the same time, each in a
            worker thread (Triton's instance count). With one ONNX Runtime thread
            each, two instances on two cores usually beat one instance with two
            threads under load (``augur tune`` measures it). A model that runs on the
            event loop (``inline``, or ``auto`` for a fast one) runs one batch at a
            time: there the loop, not the model, bounds throughput.
        canary: a reference (``name:3``) that receives ``canary_percent`` % of traffic.
        canary_percent: share of requests sent to ``canary`` (0-100).
        shadow: a reference that receives a mirror of every request; its answers
            are compared with the primary's and discarded.
        intra_op_threads: ONNX Runtime threads per run when the version has no
            tuned options (1 suits small models next to an event loop; 0: ORT decides).
        hybrid: answer requests that carry a key from the prediction store when a
            prediction younger than ``hybrid_max_age_s`` is stored, else run the model
            (see :mod:`augur.serving.hybrid` for how a request carries its key).
        hybrid_store: the prediction store of the hybrid mode and of lookups of this
            model (default: the server's ``prediction_store``).
        hybrid_max_age_s: seconds a stored prediction stays fresh.
        hybrid_write_back: store what the model computed on a miss.
        features: a feature definitions file whose ``Deployment`` for this model
            binds it to feature views (see :mod:`augur.serving.feature_enricher`).
        feature_store: the online store URL (``redis://...``, ``sqlite:///...``).
        convert_datatypes: accept Open Inference Protocol tensors whose declared
            datatype differs from the model's and convert them when no value is lost
            (``INT8`` or ``FP64`` for ``FP32``...). Off by default: as in Triton, a
            mismatch is a 400 naming the input, the expected and the received type.

    Batching: ``max_batch_size``, ``max_delay_ms`` and ``instances`` of a version with
    tuned options (``augur tune``) come from those options unless ``[models.NAME]``
    sets them.
    """

    max_batch_size: int = 64
    max_delay_ms: float = 0.0
    max_queue_size: int = 1024
    timeout_ms: float | None = None
    executor: str = "auto"
    instances: int = 1
    canary: str | None = None
    canary_percent: float = 0.0
    shadow: str | None = None
    intra_op_threads: int = 1
    hybrid: bool = False
    hybrid_store: str | None = None
    hybrid_max_age_s: float = 86400.0
    hybrid_write_back: bool = False
    features: str | None = None
    feature_store: str | None = None
    convert_datatypes: bool = False

    def __post_init__(self) -> None:
        if self.hybrid_max_age_s < 0:
            raise ConfigError(f"hybrid_max_age_s must be >= 0, got {self.hybrid_max_age_s}")
        if (self.features is None) != (self.feature_store is None):
            raise ConfigError("features and feature_store go together: a definitions file "
                              "and the online store URL")
        if self.intra_op_threads < 0:
            raise ConfigError(f"intra_op_threads must be >= 0, got {self.intra_op_threads}")
        if self.max_batch_size < 1:
            raise ConfigError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        if self.max_delay_ms < 0:
            raise ConfigError(f"max_delay_ms must be >= 0, got {self.max_delay_ms}")
        if self.max_queue_size < 1:
            raise ConfigError(f"max_queue_size must be >= 1, got {self.max_queue_size}")
        if self.timeout_ms is not None and self.timeout_ms <= 0:
            raise ConfigError(f"timeout_ms must be > 0, got {self.timeout_ms}")
        if self.instances < 1:
            raise ConfigError(f"instances must be >= 1, got {self.instances}")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if not 0 <= self.canary_percent <= 100:
            raise ConfigError(f"canary_percent must be within 0-100, got {self.canary_percent}")


@dataclass(frozen=True)
class ServerSettings:
    """Settings of ``augur serve``.

    Attributes:
        host: interface to listen on.
        http_port, grpc_port: ports (0: any free port).
        grpc_enabled: start the gRPC transport when it is installed.
        memory_budget: bytes of loaded models kept at most (``None``: no limit);
            idle models are evicted least recently used first. Each version is
            charged the larger of its artifact bytes and the growth of the
            process's resident memory measured across its session creation and
            warm-up (ORT arenas, prepacked weights, folded constants), so the
            budget tracks what models really take. Limits: resident memory is
            process-wide, so requests served during a load can add to its
            measure, and growth under 1 MiB is not charged (it is noise: pages
            freed earlier are reused); arenas that grow later, on bigger batches,
            are not re-measured; memory a dropped version freed is handed back to
            the operating system only at the next load, and only with glibc (other
            allocators, and fragmentation, may keep it), so the process's resident
            memory can stay above the budget after evictions.
        max_body_bytes: largest inference request body accepted (413 beyond).
        max_control_body_bytes: largest body of every other route (admin, repository,
            batch, console; 413 beyond). Bodies are counted as they arrive and refused
            before they are buffered whole.
        body_timeout_s: seconds a client may take to send a whole body (408 beyond).
        header_timeout_s: seconds a connection may take to send a request's headers,
            from its first byte or from connecting (the connection is closed beyond).
        keepalive_timeout_s: seconds an idle keep-alive connection stays open.
        max_connections: open HTTP connections at most; more are closed at once (and
            gRPC refuses more than this many concurrent calls).
        defaults: batching, queue and timeout settings of every model.
        models: per-model overrides, by model name.
        admin_token: bearer token for load, unload, alias moves, traffic, batch jobs
            and the admin listings (``None``: the inference token guards them).
        inference_token: bearer token for inference, metadata, model readiness, the
            repository index, lookups and edge bundles (``None``: open). With any token
            set, only liveness and readiness (and ``/metrics``, see below) stay open.
        metrics_token: bearer token for ``/metrics`` (``None``: open, so Prometheus
            can scrape without credentials; the admin token is accepted too).
        alias_poll_seconds: how often the registry is polled for moved aliases.
        access_log: ``stderr``, ``off`` or a file path; one JSON line per request.
        preload: references loaded at start-up (readiness waits for them).
        warmup: run one request through a version before it takes traffic.
        worker_threads: threads for model loads and ``thread`` executors.
        prediction_store: where ``GET /v1/predictions/{model}/{key}`` looks
            (``sqlite:///...``, ``postgresql://...``, ``redis://...``; default the
            SQLite file ``$AUGUR_HOME/predictions.db`` that ``augur batch run`` writes).
        scheduler: run due batch schedules inside the server process.
        scheduler_poll_seconds: how often the scheduler looks for due schedules.
        model_overrides: per model, the setting names ``[models.NAME]`` sets
            explicitly (filled by :meth:`from_dict`; tuned options yield to them).
    """

    host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int = 8081
    grpc_enabled: bool = True
    memory_budget: int | None = None
    max_body_bytes: int = 64 * 2**20
    max_control_body_bytes: int = 2**20
    body_timeout_s: float = 60.0
    header_timeout_s: float = 10.0
    keepalive_timeout_s: float = 5.0
    max_connections: int = 4096
    defaults: ModelSettings = field(default_factory=ModelSettings)
    models: Mapping[str, ModelSettings] = field(default_factory=dict)
    admin_token: str | None = None
    inference_token: str | None = None
    metrics_token: str | None = None
    alias_poll_seconds: float = 1.0
    access_log: str = "stderr"
    preload: tuple[str, ...] = ()
    warmup: bool = True
    worker_threads: int = 4
    prediction_store: str | None = None
    scheduler: bool = False
    scheduler_poll_seconds: float = 5.0
    model_overrides: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for port in (self.http_port, self.grpc_port):
            if not 0 <= port <= 65535:
                raise ConfigError(f"port must be within 0-65535, got {port}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be >= 1024, got {self.max_body_bytes}")
        if self.max_control_body_bytes < 1024:
            raise ConfigError("max_control_body_bytes must be >= 1024, got "
                              f"{self.max_control_body_bytes}")
        for key in ("body_timeout_s", "header_timeout_s", "keepalive_timeout_s"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key} must be > 0, got {getattr(self, key)}")
        if self.max_connections < 1:
            raise ConfigError(f"max_connections must be >= 1, got {self.max_connections}")
        if self.memory_budget is not None and self.memory_budget <= 0:
            raise ConfigError(f"memory_budget must be > 0, got {self.memory_budget}")
        if self.alias_poll_seconds <= 0:
            raise ConfigError("alias_poll_seconds must be > 0")
        if self.worker_threads < 1:
            raise ConfigError("worker_threads must be >= 1")
        if self.scheduler_poll_seconds <= 0:
            raise ConfigError("scheduler_poll_seconds must be > 0")

    def for_model(self, name: str) -> ModelSettings:
        """The settings of model ``name``: its overrides, else the defaults."""
        return self.models.get(name, self.defaults)

    @classmethod
    def load(cls, path: str | Path | None = None, environ: Mapping[str, str] | None = None,
             overrides: Mapping[str, Any] | None = None) -> ServerSettings:
        """Build settings: defaults < file < ``AUGUR_*`` environment < ``overrides``.

        Args:
            path: a ``.toml`` or ``.json`` file (default: ``$AUGUR_SERVE_CONFIG`` if set).
            environ: environment to read (default ``os.environ``).
            overrides: values from command-line flags; ``None`` values are ignored.

        Raises:
            ConfigError: the file cannot be read, or a value is invalid.
        """
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        file = path or env.get("AUGUR_SERVE_CONFIG")
        if file:
            raw.update(_read_file(Path(file)))
        raw.update(_from_env(env))
        raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ServerSettings:
        """Build settings from plain values (sizes may be strings such as ``2GB``).

        Raises:
            ConfigError: an unknown key or an invalid value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known - _DEFAULT_KEYS)
        if unknown:
            raise ConfigError(f"unknown server setting(s) {unknown}; known: {sorted(known)}")
        values = {k: v for k, v in raw.items() if k in known}
        base = _model_settings(raw.get("defaults") or {}, ModelSettings(), "defaults")
        base = _model_settings({k: raw[k] for k in _DEFAULT_KEYS if k in raw}, base, "defaults")
        values["defaults"] = base
        models = raw.get("models") or {}
        if not isinstance(models, Mapping):
            raise ConfigError("models must be a table of per-model settings")
        values["models"] = {str(name): _model_settings(v, base, f"models.{name}")
                            for name, v in models.items()}
        values["model_overrides"] = {str(name): frozenset(v) for name, v in models.items()}
        for key in ("memory_budget", "max_body_bytes", "max_control_body_bytes"):
            if isinstance(values.get(key), str):
                values[key] = parse_bytes(values[key])
        if isinstance(values.get("preload"), str):
            values["preload"] = tuple(p for p in values["preload"].split(",") if p.strip())
        elif "preload" in values:
            values["preload"] = tuple(values["preload"])
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"invalid server settings: {exc}") from exc


_DEFAULT_KEYS = {f.name for f in fields(ModelSettings)}
_ENV = {
    "AUGUR_HOST": ("host", str), "AUGUR_HTTP_PORT": ("http_port", int),
    "AUGUR_GRPC_PORT": ("grpc_port", int), "AUGUR_MEMORY_BUDGET": ("memory_budget", str),
    "AUGUR_MAX_BODY": ("max_body_bytes", str), "AUGUR_ADMIN_TOKEN": ("admin_token", str),
    "AUGUR_INFERENCE_TOKEN": ("inference_token", str),
    "AUGUR_METRICS_TOKEN": ("metrics_token", str),
    "AUGUR_MAX_CONNECTIONS": ("max_connections", int),
    "AUGUR_ACCESS_LOG": ("access_log", str), "AUGUR_PRELOAD": ("preload", str),
    "AUGUR_MAX_BATCH_SIZE": ("max_batch_size", int), "AUGUR_MAX_DELAY_MS": ("max_delay_ms", float),
    "AUGUR_MAX_QUEUE": ("max_queue_size", int), "AUGUR_TIMEOUT_MS": ("timeout_ms", float),
    "AUGUR_PREDICTION_STORE": ("prediction_store", str),
}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var, (key, kind) in _ENV.items():
        if var in env and env[var] != "":
            try:
                out[key] = kind(env[var])
            except ValueError:
                raise ConfigError(f"{var}={env[var]!r} is not a valid {kind.__name__}") from None
    return out


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"cannot read server settings {path}: {exc.strerror}") from exc
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"server settings {path} are malformed: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"server settings {path} must hold a table of settings")
    return data


def _model_settings(raw: Any, base: ModelSettings, where: str) -> ModelSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table of model settings")
    unknown = sorted(set(raw) - _DEFAULT_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown model setting(s) {unknown}; "
                          f"known: {sorted(_DEFAULT_KEYS)}")
    try:
        return replace(base, **dict(raw))
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
