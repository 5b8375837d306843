"""The serving contract the transports rely on (names and docstrings: test_public_api.py)."""

from __future__ import annotations

import augur.serving as serving


def test_contract_of_the_transports() -> None:
    for method in ("live", "ready", "server_metadata", "model_metadata", "model_ready",
                   "infer"):
        assert callable(getattr(serving.DataPlane, method))
    settings = serving.ServerSettings()
    assert (settings.http_port, settings.grpc_port) == (8080, 8081)
