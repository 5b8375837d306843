"""The gRPC transport's one table from augur errors to status codes."""

from __future__ import annotations

import grpc
import pytest

from augur import errors
from augur.serving.grpc_server import STATUS_OF_ERROR, server_options, status_of


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
    (errors.ModelNotFound("x"), grpc.StatusCode.NOT_FOUND),
    (errors.ModelNotReady("x"), grpc.StatusCode.UNAVAILABLE),
    (errors.Overloaded("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.RequestTimeout("x"), grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.Unauthorized("x"), grpc.StatusCode.UNAUTHENTICATED),
    (errors.ParityError("x"), grpc.StatusCode.INTERNAL),
    (ValueError("not ours"), grpc.StatusCode.INTERNAL),
])
def test_status_of(exc: BaseException, code: grpc.StatusCode) -> None:
    assert status_of(exc) == code


def test_every_augur_error_has_a_status_and_subclasses_inherit_it() -> None:
    class Narrower(errors.InvalidInput):
        pass

    assert status_of(Narrower("x")) == grpc.StatusCode.INVALID_ARGUMENT
    for cls in _all_errors():
        assert isinstance(status_of(cls("x")), grpc.StatusCode)
    assert grpc.StatusCode.OK not in STATUS_OF_ERROR.values()


def test_server_refuses_a_shared_port() -> None:
    assert ("grpc.so_reuseport", 0) in server_options(1 << 20)
