"""One bearer-token check for every HTTP route and gRPC method.

Roles, from least to most privileged:

- ``open``: liveness and readiness probes; never checked.
- ``metrics``: ``/metrics``; open unless a metrics token is set, then that token or
  the admin token.
- ``inference``: inference, metadata, model readiness, the repository index,
  prediction lookups, edge bundles; the inference token or the admin token, when an
  inference token is set; open otherwise.
- ``admin``: load, unload, alias moves, traffic, batch jobs, the admin listings; the
  admin token when one is set, else the inference token when one is set, else open.
  So setting only an inference token never leaves model control open.

The scheme is case-insensitive (RFC 7235: ``bearer``, ``Bearer``); tokens are
compared in constant time; only the ``Authorization`` header counts (a token in a
query string is never read). A missing or unknown token is ``Unauthorized`` (401); a
valid token of a lesser role is ``Forbidden`` (403).
"""

from __future__ import annotations

import hmac
from typing import Literal

from augur.errors import Forbidden, Unauthorized

Role = Literal["open", "metrics", "inference", "admin"]
ROLES: tuple[Role, ...] = ("open", "metrics", "inference", "admin")


class BearerAuth:
    """Checks ``Authorization: Bearer <token>`` against the configured tokens.

    Args:
        inference_token: token for inference and reads (``None``: those are open).
        admin_token: token for model control; accepted wherever a token is.
        metrics_token: token for ``/metrics`` (``None``: metrics are open).
    """

    def __init__(self, inference_token: str | None = None, admin_token: str | None = None,
                 metrics_token: str | None = None) -> None:
        self._admin = admin_token.encode() if admin_token else None
        self._inference = inference_token.encode() if inference_token else None
        self._metrics = metrics_token.encode() if metrics_token else None
        self._accepted: dict[Role, tuple[bytes, ...]] = {
            "open": (),
            "metrics": tuple(t for t in (self._metrics, self._admin) if t)
            if self._metrics else (),
            "inference": tuple(t for t in (self._inference, self._admin) if t)
            if self._inference else (),
            "admin": (self._admin,) if self._admin else
            ((self._inference,) if self._inference else ()),
        }

    @property
    def enabled(self) -> bool:
        """Whether any token is set."""
        return bool(self._admin or self._inference or self._metrics)

    def required(self, role: Role) -> bool:
        """Whether a request of ``role`` must carry a token."""
        return bool(self._accepted[role])

    def check(self, header: str | bytes | None, role: Role) -> None:
        """Allow the request or raise.

        Args:
            header: the ``Authorization`` header's value (``None``: absent).
            role: what the endpoint needs.

        Raises:
            Unauthorized: the endpoint needs a token and none, or an unknown one, came.
            Forbidden: the token is valid but not for this endpoint.
        """
        accepted = self._accepted[role]
        if not accepted:
            return
        token = _bearer(header)
        if token is None:
            raise Unauthorized(f"this endpoint needs 'Authorization: Bearer <{_noun(role)}>'")
        if _matches(token, accepted):
            return
        known = tuple(t for t in (self._admin, self._inference, self._metrics) if t)
        if _matches(token, known):
            raise Forbidden(f"this endpoint needs the {_noun(role)}; the token sent is valid "
                            "for other endpoints only")
        raise Unauthorized("invalid bearer token")


def _noun(role: Role) -> str:
    return {"metrics": "metrics token", "inference": "inference token",
            "admin": "admin token", "open": "token"}[role]


def _bearer(header: str | bytes | None) -> bytes | None:
    if header is None:
        return None
    raw = header.encode("latin-1", "replace") if isinstance(header, str) else header
    scheme, _, token = raw.strip().partition(b" ")
    token = token.strip()
    if scheme.lower() != b"bearer" or not token:
        return None
    return token


def _matches(token: bytes, accepted: tuple[bytes, ...]) -> bool:
    # compare with every accepted token, so the time taken does not say which matched
    found = False
    for candidate in accepted:
        found |= hmac.compare_digest(token, candidate)
    return found
