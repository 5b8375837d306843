"""schemathesis hooks of the OpenAPI fuzz (loaded by ``schemathesis run`` from this file):
the checks augur adds to schemathesis' own."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

# Probes answer "not ready" with 503 and their usual body, as KServe's clients expect.
_READINESS = ("/ready", "/v2/health/live", "/v2/health/ready")


@schemathesis.check
def errors_are_v2_error_bodies(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is ``application/json`` holding ``{"error": "<text>"}``."""
    if response.status_code < 400:
        return None
    path = case.operation.path
    if response.status_code == 503 and (path.endswith(_READINESS) or
                                        path == "/v1/models/{model}"):
        return None
    content_type = ",".join(response.headers.get("content-type", []))
    if not content_type.startswith("application/json"):
        raise AssertionError(f"{response.status_code} error with content-type "
                             f"{content_type!r}, not application/json")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} error body is not JSON: "
                             f"{response.content[:200]!r}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) \
            or not body["error"]:
        raise AssertionError(f'{response.status_code} error body is not {{"error": "..."}}: '
                             f"{response.content[:200]!r}")
    return None
