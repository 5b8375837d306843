"""gRPC codes derive from the one HTTP table: every error maps the same on both."""

from __future__ import annotations

import grpc
import pytest

from augur import errors
from augur.http import status_of
from augur.serving.grpc_server import CODE_OF_STATUS, code_of, server_options
from augur.serving.settings import ServerSettings


def _all_errors() -> list[type[errors.AugurError]]:
    found: list[type[errors.AugurError]] = []
    todo: list[type[errors.AugurError]] = [errors.AugurError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize(("exc", "code"), [
    (errors.InvalidInput("x"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.InvalidReference("x"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.InvalidName("x"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.ModelNotFound("x"), grpc.StatusCode.NOT_FOUND),
    (errors.ModelNotReady("x"), grpc.StatusCode.UNAVAILABLE),
    (errors.Overloaded("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.RequestTimeout("x"), grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.Unauthorized("x"), grpc.StatusCode.UNAUTHENTICATED),
    (errors.Forbidden("x"), grpc.StatusCode.PERMISSION_DENIED),
    (errors.IncompatibleSignature("x"), grpc.StatusCode.FAILED_PRECONDITION),
    (errors.InvalidArtifact("x"), grpc.StatusCode.INTERNAL),
    (ValueError("not ours"), grpc.StatusCode.INTERNAL),
])
def test_code_of(exc: BaseException, code: grpc.StatusCode) -> None:
    assert code_of(exc) == code


def test_every_augur_error_has_a_code_that_follows_its_http_status() -> None:
    class Narrower(errors.InvalidInput):
        pass

    assert code_of(Narrower("x")) == grpc.StatusCode.INVALID_ARGUMENT
    for cls in _all_errors():
        exc = cls.__new__(cls)  # the status follows the class, whatever its arguments
        status = status_of(exc)
        assert status in CODE_OF_STATUS, cls
        assert code_of(exc) == CODE_OF_STATUS[status]
    assert grpc.StatusCode.OK not in CODE_OF_STATUS.values()


def test_server_refuses_a_shared_port_and_bounds_idle_connections() -> None:
    options = dict(server_options(ServerSettings(keepalive_timeout_s=5, header_timeout_s=3)))
    assert options["grpc.so_reuseport"] == 0
    assert options["grpc.max_connection_idle_ms"] == 5000
    assert options["grpc.server_handshake_timeout_ms"] == 3000
