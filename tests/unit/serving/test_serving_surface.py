"""Guard the serving part's public surface: every name exists and is documented."""

from __future__ import annotations

import augur.serving as serving


def test_public_names_exist_and_have_docstrings() -> None:
    assert serving.__doc__
    for name in serving.__all__:
        obj = getattr(serving, name)
        if callable(obj):
            assert obj.__doc__, f"augur.serving.{name} has no docstring"


def test_contract_of_the_transports() -> None:
    for method in ("live", "ready", "server_metadata", "model_metadata", "model_ready",
                   "infer"):
        assert callable(getattr(serving.DataPlane, method))
    settings = serving.ServerSettings()
    assert (settings.http_port, settings.grpc_port) == (8080, 8081)
