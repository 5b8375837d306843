"""Execution options for ONNX Runtime sessions and the hardware they were tuned on."""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

from augur.errors import ConfigError

GRAPH_LEVELS = ("disable", "basic", "extended", "all")
EXECUTION_MODES = ("sequential", "parallel")


@dataclass(frozen=True)
class RuntimeOptions:
    """How one ONNX Runtime session executes.

    Attributes:
        intra_op_threads: threads inside one operator (0: ONNX Runtime decides).
        inter_op_threads: threads across operators in parallel mode (0: decides).
        graph_optimization_level: ``disable``, ``basic``, ``extended`` or ``all``.
        execution_mode: ``sequential`` or ``parallel``.
        providers: execution providers in order of preference.
        batch_size: preferred server batch size (used by the batcher, not ORT).
        batch_delay_ms: preferred batching delay (used by the batcher, not ORT).
        instances: preferred number of batches run at the same time (used by the
            server, not ORT).
        extra: free-form; ``extra["session_config"]`` holds ONNX Runtime session
            config entries (``{"session.intra_op.allow_spinning": "0"}``).
    """

    intra_op_threads: int = 0
    inter_op_threads: int = 0
    graph_optimization_level: str = "all"
    execution_mode: str = "sequential"
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    batch_size: int | None = None
    batch_delay_ms: float | None = None
    instances: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.graph_optimization_level not in GRAPH_LEVELS:
            raise ConfigError(f"graph_optimization_level must be one of {GRAPH_LEVELS}, "
                              f"got {self.graph_optimization_level!r}")
        if self.execution_mode not in EXECUTION_MODES:
            raise ConfigError(f"execution_mode must be one of {EXECUTION_MODES}, "
                              f"got {self.execution_mode!r}")
        if self.intra_op_threads < 0 or self.inter_op_threads < 0:
            raise ConfigError("thread counts must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["providers"] = list(self.providers)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuntimeOptions:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "providers" in known:
            known["providers"] = tuple(known["providers"])
        return cls(**known)

    def with_(self, **changes: Any) -> RuntimeOptions:
        return replace(self, **changes)

    def session_options(self) -> Any:
        """Build ``onnxruntime.SessionOptions`` for these options."""
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.intra_op_threads
        so.inter_op_num_threads = self.inter_op_threads
        so.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[self.graph_optimization_level]
        so.execution_mode = (ort.ExecutionMode.ORT_PARALLEL if self.execution_mode == "parallel"
                             else ort.ExecutionMode.ORT_SEQUENTIAL)
        so.log_severity_level = 3
        for key, value in (self.extra.get("session_config") or {}).items():
            so.add_session_config_entry(str(key), str(value))  # e.g. thread spinning
        return so

    def available_providers(self) -> list[str]:
        """The requested providers this ONNX Runtime build has (CPU always last)."""
        import onnxruntime as ort

        have = set(ort.get_available_providers())
        chosen = [p for p in self.providers if p in have]
        if "CPUExecutionProvider" not in chosen:
            chosen.append("CPUExecutionProvider")
        return chosen


@cache
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), which may be fewer than the
    machine's: a server pinned with ``taskset`` must not reuse settings tuned on all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity API on this platform
        return os.cpu_count() or 1


def hardware_fingerprint() -> str:
    """A short stable id of this machine's compute: CPU model, cores, accelerators."""
    import onnxruntime as ort

    accel = sorted(p for p in ort.get_available_providers() if p != "CPUExecutionProvider")
    text = f"{_cpu_model()}|{usable_cores()}|{','.join(accel)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def hardware_description() -> dict[str, Any]:
    """Human-readable description of the hardware behind :func:`hardware_fingerprint`."""
    import onnxruntime as ort

    return {"cpu": _cpu_model(), "cores": usable_cores(),
            "providers": ort.get_available_providers(),
            "fingerprint": hardware_fingerprint(), "onnxruntime": ort.__version__}


def runtime_version() -> str:
    """The installed ONNX Runtime version (part of the tuning cache key)."""
    import onnxruntime as ort

    return str(ort.__version__)
