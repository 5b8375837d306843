"""Deployment settings: hybrid and feature bindings, and tuned batching options."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from augur.errors import ConfigError
from augur.registry import Registry, TuningCache
from augur.runtime import RuntimeOptions, hardware_fingerprint, runtime_version
from augur.serving import ModelSettings, ServerSettings
from augur.serving.loaded import MemoryMeter, load_version, tuned_batching
from augur.serving.metrics import ServerMetrics


def test_hybrid_and_feature_settings_parse_and_validate() -> None:
    s = ServerSettings.from_dict({
        "prediction_store": "redis://127.0.0.1:6379/0", "scheduler": True,
        "models": {"churn": {"hybrid": True, "hybrid_max_age_s": 60, "hybrid_write_back": True},
                   "eta": {"features": "defs.py", "feature_store": "memory://"}}})
    assert s.for_model("churn").hybrid and s.for_model("churn").hybrid_max_age_s == 60
    assert s.for_model("eta").features == "defs.py" and not s.for_model("eta").hybrid
    assert s.model_overrides["churn"] == {"hybrid", "hybrid_max_age_s", "hybrid_write_back"}
    assert s.scheduler and s.prediction_store == "redis://127.0.0.1:6379/0"
    with pytest.raises(ConfigError, match="features and feature_store go together"):
        ServerSettings.from_dict({"models": {"eta": {"features": "defs.py"}}})
    with pytest.raises(ConfigError, match="hybrid_max_age_s must be >= 0"):
        ServerSettings.from_dict({"models": {"churn": {"hybrid_max_age_s": -1}}})
    with pytest.raises(ConfigError, match="models must be a table"):
        ServerSettings.from_dict({"models": ["churn"]})
    with pytest.raises(ConfigError, match="scheduler_poll_seconds"):
        ServerSettings(scheduler_poll_seconds=0)
    env = ServerSettings.load(environ={"AUGUR_PREDICTION_STORE": "sqlite:///p.db"})
    assert env.prediction_store == "sqlite:///p.db"


def test_tuned_options_set_batching_unless_the_model_settings_name_it() -> None:
    base = ModelSettings(max_batch_size=64, max_delay_ms=0.0)
    tuned = RuntimeOptions(batch_size=16, batch_delay_ms=1.5)
    assert tuned_batching(base, tuned, frozenset()) == ModelSettings(max_batch_size=16,
                                                                     max_delay_ms=1.5)
    kept = tuned_batching(base, tuned, frozenset({"max_batch_size"}))
    assert (kept.max_batch_size, kept.max_delay_ms) == (64, 1.5)
    assert tuned_batching(base, RuntimeOptions(), frozenset()) is base
    two = tuned_batching(base, RuntimeOptions(instances=2), frozenset())
    assert two.instances == 2
    assert tuned_batching(base, RuntimeOptions(instances=2), frozenset({"instances"})) is base
    with pytest.raises(ConfigError, match="instances must be >= 1"):
        ModelSettings(instances=0)


def test_a_loaded_version_batches_by_its_tuned_options(iris_registry: Registry) -> None:
    mv = iris_registry.resolve("iris:2")
    TuningCache(iris_registry.db).put(mv.artifact, hardware_fingerprint(), runtime_version(),
                                      RuntimeOptions(batch_size=8, batch_delay_ms=2.5).to_dict())
    metrics = ServerMetrics()
    with ThreadPoolExecutor(1) as pool:
        plain = load_version(iris_registry, mv, ServerSettings(), metrics, pool, MemoryMeter())
        assert (plain.batcher.settings.max_batch_size, plain.batcher.settings.max_delay_ms) \
            == (8, 2.5)
        overridden = ServerSettings.from_dict({"max_batch_size": 32,
                                               "models": {"iris": {"max_batch_size": 4}}})
        entry = load_version(iris_registry, mv, overridden, metrics, pool, MemoryMeter())
        assert (entry.batcher.settings.max_batch_size, entry.batcher.settings.max_delay_ms) \
            == (4, 2.5)
        # a server-wide default is not a per-model override: the tuned size wins
        defaults_only = ServerSettings.from_dict({"max_batch_size": 32})
        entry = load_version(iris_registry, mv, defaults_only, metrics, pool, MemoryMeter())
        assert entry.batcher.settings.max_batch_size == 8
        untuned = load_version(iris_registry, iris_registry.resolve("iris:1"), defaults_only,
                               metrics, pool, MemoryMeter())
        assert untuned.batcher.settings.max_batch_size == 32
        TuningCache(iris_registry.db).put(
            mv.artifact, hardware_fingerprint(), runtime_version(),
            RuntimeOptions(intra_op_threads=1, batch_size=8, instances=2).to_dict())
        threaded = ServerSettings.from_dict({"models": {"iris": {"executor": "thread"}}})
        side_by_side = load_version(iris_registry, mv, threaded, metrics, pool, MemoryMeter())
        assert side_by_side.batcher.settings.instances == 2
        assert not side_by_side.batcher.inline
        assert side_by_side.model.options.intra_op_threads == 1


def test_serve_flags_for_the_scheduler_and_the_prediction_store(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from augur.cli.app import build_parser
    from augur.cli.serve import _settings

    monkeypatch.delenv("AUGUR_SERVE_CONFIG", raising=False)
    monkeypatch.delenv("AUGUR_PREDICTION_STORE", raising=False)
    args = build_parser().parse_args(["serve", "--scheduler",
                                      "--prediction-store", "redis://127.0.0.1:6379/0"])
    settings = _settings(args)
    assert settings.scheduler is True
    assert settings.prediction_store == "redis://127.0.0.1:6379/0"
    plain = _settings(build_parser().parse_args(["serve"]))
    assert plain.scheduler is False and plain.prediction_store is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    help_text = capsys.readouterr().out
    assert "GET  /v1/predictions/MODEL/KEY" in help_text and '"key"' in help_text
