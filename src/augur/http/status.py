"""The one table from augur's errors to HTTP statuses, and the v2 error body.

Statuses are looked up by exception class along the MRO, as Starlette looks up its
handlers, so a subclass inherits its parent's status unless it has its own row. The
gRPC transport maps these statuses to gRPC codes; no other table exists.

Messages leave the server scrubbed: a password in a URL becomes ``***`` and an
absolute server path becomes ``<server path>``, whatever part raised the error.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

import orjson

from augur import errors as e


class EndpointNotFound(e.AugurError, LookupError):
    """No route matches the request's path."""


class MethodNotAllowed(e.AugurError):
    """The path is a route, but not for this method.

    Attributes:
        allowed: the methods the route takes (the ``Allow`` header).
    """

    def __init__(self, message: str, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.allowed = allowed


class PayloadTooLarge(e.InvalidInput):
    """The body is bigger than the route accepts."""


class BodyTimeout(e.RequestTimeout):
    """The client did not send its whole body in time (the client's delay, not ours)."""


#: Error class -> HTTP status; the first class along the error's MRO wins.
STATUS: dict[type[BaseException], int] = {
    e.InvalidInput: 400,
    e.InvalidReference: 400,
    e.InvalidName: 400,
    e.ConfigError: 400,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.ModelNotFound: 404,
    e.PredictionNotFound: 404,
    EndpointNotFound: 404,
    MethodNotAllowed: 405,
    e.IncompatibleSignature: 409,
    BodyTimeout: 408,
    PayloadTooLarge: 413,
    e.FeatureUnavailable: 422,
    e.ExportFailed: 422,
    e.CompressionFailed: 422,
    e.QualityGateFailed: 422,
    e.Overloaded: 429,
    e.AugurError: 500,
    e.ModelNotReady: 503,
    e.ServiceUnavailable: 503,
    e.StoreError: 503,
    e.RequestTimeout: 504,
}


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error (500 for anything augur did not raise on purpose)."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


_URL_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):[^\s@/]*@")


@functools.cache
def _path_pattern() -> re.Pattern[str]:
    # An absolute path is one that starts at a directory the root of this machine has
    # (/home, /tmp, /var, /work, ...), which no URL route of augur does.
    try:
        roots = sorted(n for n in os.listdir("/") if re.fullmatch(r"[\w.-]+", n))
    except OSError:  # pragma: no cover - no root to list
        roots = []
    roots = roots or ["home", "tmp", "var"]
    alternatives = "|".join(re.escape(r) for r in roots)
    return re.compile(rf"(?<![\w.~/-])/(?:{alternatives})(?=/|\b)[^\s'\"<>,;)]*")


#: Longest message sent back (a 10k-character name is not echoed whole).
MAX_MESSAGE = 1000


def error_message(exc: BaseException) -> str:
    """What a client may read of an error: augur's message, scrubbed, or nothing."""
    if not isinstance(exc, e.AugurError):
        return "internal server error"
    text = _URL_PASSWORD.sub(r"\g<scheme>:***@", str(exc))
    text = _path_pattern().sub("<server path>", text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "\u2026"


def error_body(exc: BaseException, **extra: Any) -> bytes:
    """The v2 error body ``{"error": "..."}`` for an error."""
    return orjson.dumps({"error": error_message(exc), **extra})
