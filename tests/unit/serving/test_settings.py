"""Server settings: precedence defaults < file < environment < flags, and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from augur.errors import ConfigError
from augur.serving import ServerSettings


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text('http_port = 9000\ngrpc_port = 9001\nmemory_budget = "1GB"\n'
                      "max_batch_size = 8\n[models.fraud]\nmax_queue_size = 5\n"
                      'canary = "fraud:2"\ncanary_percent = 10\n', encoding="utf-8")
    env = {"AUGUR_HTTP_PORT": "9100", "AUGUR_MAX_BODY": "2MB"}
    settings = ServerSettings.load(config, environ=env, overrides={"http_port": 9200,
                                                                   "host": None})
    assert settings.http_port == 9200 and settings.grpc_port == 9001
    assert settings.host == "127.0.0.1"
    assert settings.memory_budget == 10**9 and settings.max_body_bytes == 2 * 10**6
    assert settings.defaults.max_batch_size == 8
    fraud = settings.for_model("fraud")
    assert fraud.max_queue_size == 5 and fraud.max_batch_size == 8 and fraud.canary_percent == 10
    assert settings.for_model("other") == settings.defaults


def test_json_file_and_environment_file_path(tmp_path: Path) -> None:
    config = tmp_path / "serve.json"
    config.write_text('{"admin_token": "s3cret", "preload": ["iris"]}', encoding="utf-8")
    settings = ServerSettings.load(environ={"AUGUR_SERVE_CONFIG": str(config)})
    assert settings.admin_token == "s3cret" and settings.preload == ("iris",)


@pytest.mark.parametrize(("raw", "message"), [
    ({"http_port": 70000}, "port"),
    ({"max_batch_size": 0}, "max_batch_size"),
    ({"memory_budget": "lots"}, "not a size"),
    ({"colour": "blue"}, "unknown server setting"),
    ({"models": {"m": {"speed": 1}}}, "unknown model setting"),
    ({"models": {"m": {"canary_percent": 150}}}, "canary_percent"),
    ({"executor": "gpu"}, "executor"),
])
def test_invalid_settings_are_named(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerSettings.from_dict(raw)


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AUGUR_HTTP_PORT"):
        ServerSettings.load(environ={"AUGUR_HTTP_PORT": "eighty"})
    bad = tmp_path / "bad.toml"
    bad.write_text("http_port = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="malformed"):
        ServerSettings.load(bad, environ={})
