"""The boundary every transport shares: how errors read, who may call, how much is read.

One table maps augur's errors to HTTP statuses (:mod:`augur.http.status`; the gRPC
transport derives its codes from it), one bearer check serves every route and RPC
(:mod:`augur.http.auth`), and one body reader enforces the size limit before a byte
is buffered (:mod:`augur.http.body`). Starlette apps (serving's cold routes, the edge
pages, the console) install :func:`exception_handlers` and :class:`BodyLimit`, so an
error reads the same wherever it happens.
"""

from __future__ import annotations

from augur.http.auth import ROLES, BearerAuth, Role
from augur.http.body import BodyLimit, ClientDisconnected, read_body
from augur.http.responses import exception_handlers, json_body, json_response
from augur.http.status import (
    EndpointNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    error_body,
    error_message,
    status_of,
)

__all__ = [
    "ROLES",
    "BearerAuth",
    "BodyLimit",
    "ClientDisconnected",
    "EndpointNotFound",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "Role",
    "error_body",
    "error_message",
    "exception_handlers",
    "json_body",
    "json_response",
    "read_body",
    "status_of",
]
