"""The one error boundary: each driver's errors map to one augur class, secrets masked."""

from __future__ import annotations

import sqlite3

import pytest

from augur.backends import parse_url, translate, translate_errors
from augur.errors import (
    AugurError,
    ConfigError,
    InvalidInput,
    ServiceUnavailable,
    StoreError,
)

SECRET = "pa55-w0rd"
URL = parse_url(f"redis://:{SECRET}@127.0.0.1:6379/0")


def driver_errors() -> list[tuple[str, BaseException, type[AugurError]]]:
    import botocore.exceptions as boto
    import nats.errors
    import psycopg
    import redis

    def client_error(code: str) -> BaseException:
        return boto.ClientError({"Error": {"Code": code, "Message": f"no ({SECRET})"}},
                                "PutObject")

    return [
        ("psycopg operational", psycopg.OperationalError(f"refused for :{SECRET}@"),
         ServiceUnavailable),
        ("psycopg interface", psycopg.InterfaceError("the connection is closed"),
         ServiceUnavailable),
        ("psycopg programming", psycopg.ProgrammingError("invalid URI query parameter"),
         ConfigError),
        ("psycopg data", psycopg.DataError("value too long"), StoreError),
        ("redis connection", redis.ConnectionError(f"Error connecting to :{SECRET}@h"),
         ServiceUnavailable),
        ("redis auth", redis.AuthenticationError("invalid username-password pair"),
         ServiceUnavailable),
        ("redis timeout", redis.TimeoutError("Timeout reading from socket"),
         ServiceUnavailable),
        ("redis response", redis.ResponseError("WRONGTYPE"), StoreError),
        ("sqlite", sqlite3.OperationalError("database is locked"), StoreError),
        ("sqlite corrupt", sqlite3.DatabaseError("file is not a database"), StoreError),
        ("nats no servers", nats.errors.NoServersError(), ServiceUnavailable),
        ("nats timeout", nats.errors.TimeoutError(), ServiceUnavailable),
        ("s3 credentials", client_error("InvalidAccessKeyId"), ConfigError),
        ("s3 signature", client_error("SignatureDoesNotMatch"), ConfigError),
        ("s3 missing bucket", client_error("NoSuchBucket"), ConfigError),
        ("s3 other", client_error("InternalError"), StoreError),
        ("s3 unreachable", boto.EndpointConnectionError(endpoint_url="http://h:1"),
         ServiceUnavailable),
        ("s3 no credentials", boto.NoCredentialsError(), ConfigError),
        ("socket", ConnectionRefusedError(111, "Connection refused"), ServiceUnavailable),
        ("timeout", TimeoutError("timed out"), ServiceUnavailable),
    ]


@pytest.mark.parametrize("name, exc, kind", driver_errors(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_each_driver_error_becomes_one_augur_error_without_secrets(
        name: str, exc: BaseException, kind: type[AugurError]) -> None:
    with pytest.raises(kind) as err, translate_errors("reading", URL, service="online store"):
        raise exc
    text = str(err.value)
    assert text.startswith("online store redis://:***@127.0.0.1:6379/0: reading failed: ")
    assert SECRET not in text and "\n" not in text
    assert err.value.__cause__ is exc


def test_users_sql_errors_are_config_errors() -> None:
    import psycopg

    for exc in (sqlite3.OperationalError("no such table: t"), psycopg.DataError("bad")):
        error = translate(exc, "the query", URL, users_sql=True)
        assert isinstance(error, ConfigError)


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), translate_errors("reading", URL):
        raise KeyError("k")
    with pytest.raises(InvalidInput), translate_errors("reading", URL):
        raise InvalidInput("augur's own errors are already translated")
    assert translate(ValueError("x"), "reading", URL) is None
    # a file error on a local SQLite database is not a network outage
    sqlite_url = parse_url("sqlite:///x.db")
    assert translate(PermissionError(13, "denied"), "opening", sqlite_url) is None


def test_extra_secrets_are_masked_in_every_form() -> None:
    error = translate(ConnectionError("key AKIA/ab+c= and AKIA%2Fab%2Bc%3D"), "uploading",
                      None, secrets=("AKIA/ab+c=",))
    assert error is not None and "AKIA" not in str(error)
