"""The one error table: statuses by class along the MRO, scrubbed messages."""

from __future__ import annotations

import orjson
import pytest

from augur import errors
from augur.http import EndpointNotFound, MethodNotAllowed, PayloadTooLarge, error_body, status_of
from augur.http.status import MAX_MESSAGE, STATUS, BodyTimeout


@pytest.mark.parametrize(("exc", "status"), [
    (errors.InvalidInput("x"), 400), (errors.InvalidName("x"), 400),
    (errors.InvalidReference("x"), 400), (errors.ConfigError("x"), 400),
    (errors.Unauthorized("x"), 401), (errors.Forbidden("x"), 403),
    (errors.ModelNotFound("x"), 404), (EndpointNotFound("x"), 404),
    (MethodNotAllowed("x", ("GET",)), 405), (errors.IncompatibleSignature("x"), 409),
    (PayloadTooLarge("x"), 413), (errors.FeatureUnavailable("x"), 422),
    (errors.Overloaded("x"), 429), (errors.ModelNotReady("x"), 503),
    (errors.ServiceUnavailable("x"), 503), (errors.RequestTimeout("x"), 504), (BodyTimeout("x"), 408),
    (errors.InvalidArtifact("x"), 500), (errors.AugurError("x"), 500), (KeyError("x"), 500),
])
def test_status_of(exc: BaseException, status: int) -> None:
    assert status_of(exc) == status


def test_every_row_is_an_augur_error_and_subclasses_inherit() -> None:
    assert all(issubclass(cls, errors.AugurError) for cls in STATUS)

    class Narrower(errors.ModelNotFound):
        pass

    assert status_of(Narrower("x")) == 404


@pytest.mark.parametrize(("message", "leaked"), [
    ("cannot reach postgresql://augur:s3cret@db:5432/x", "s3cret"),
    ("redis://:hunter2@127.0.0.1:6379/0 refused", "hunter2"),
    ("artifact at /work/main/.augur/artifacts/sha256/ab/abc.onnx was altered", "/work/main"),
    ("cannot read /home/user/models/m.onnx: denied", "/home/user"),
    ("feature file /tmp/pytest-1/defs.py holds no Deployment", "/tmp/pytest-1"),
])
def test_messages_never_carry_passwords_or_server_paths(message: str, leaked: str) -> None:
    body = orjson.loads(error_body(errors.StoreError(message)))
    assert leaked not in body["error"]
    assert body["error"]


def test_route_paths_and_plain_text_survive_scrubbing() -> None:
    text = "no such endpoint: GET /v2/models/x/nope; expected shape [1, 4] for 'a/b'"
    assert orjson.loads(error_body(EndpointNotFound(text)))["error"] == text


def test_unexpected_errors_say_nothing_and_long_messages_are_cut() -> None:
    assert orjson.loads(error_body(RuntimeError("/etc/passwd secret"))) == {
        "error": "internal server error"}
    long = orjson.loads(error_body(errors.InvalidName("x" * 50_000)))["error"]
    assert len(long) == MAX_MESSAGE
