"""Driver errors become augur errors here, at one boundary, with secrets masked.

Every call into a store or broker driver (psycopg, psycopg_pool, redis-py, nats-py,
sqlite3, botocore) runs inside :func:`translate_errors`. What it raises:

- :class:`~augur.errors.ServiceUnavailable`: the service cannot be reached, refused
  the credentials, timed out, or dropped the connection (try again later);
- :class:`~augur.errors.ConfigError`: the URL, its options, a bucket or a SQL
  query the user gave is wrong (fix the input);
- :class:`~augur.errors.StoreError`: the service answered with an error.

The message names the backend as :meth:`BackendURL.describe` prints it and the
driver's reason on one line, with every secret of the URL (and any extra secrets,
e.g. S3 credentials) replaced by ``***``; the augur error is raised ``from`` the
driver's. Drivers are looked up in ``sys.modules``, so none is imported here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from augur.backends.urls import BackendURL, mask
from augur.errors import AugurError, ConfigError, ServiceUnavailable, StoreError

#: S3 error codes that mean the credentials are wrong or lack a permission.
_S3_CREDENTIALS = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
                             "ExpiredToken", "InvalidToken", "InvalidClientTokenId",
                             "AuthorizationHeaderMalformed", "403"})
_S3_MISSING_BUCKET = frozenset({"NoSuchBucket"})


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line (drivers add hints and context on new lines)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _kind(exc: BaseException, url: BackendURL | None, users_sql: bool,
          ) -> tuple[type[AugurError], str] | None:
    """The augur class for a driver error and a reason to add, or ``None`` (not ours)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return ServiceUnavailable, ""
        if isinstance(exc, psycopg.ProgrammingError) or users_sql:
            return ConfigError, ""
        return StoreError, ""
    redis = sys.modules.get("redis")
    if redis is not None and isinstance(exc, redis.RedisError):
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError | redis.BusyLoadingError):
            return ServiceUnavailable, ""
        return StoreError, ""
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        if users_sql and isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
            return ConfigError, ""
        return StoreError, ""
    nats_errors = sys.modules.get("nats.errors")
    if nats_errors is not None and isinstance(exc, nats_errors.Error):
        js_errors = sys.modules.get("nats.js.errors")
        if js_errors is not None and isinstance(exc, js_errors.APIError) and \
                not isinstance(exc, js_errors.ServiceUnavailableError):
            return StoreError, ""
        return ServiceUnavailable, ""
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None:
        if isinstance(exc, botocore.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _S3_CREDENTIALS:
                return ConfigError, "the credentials were refused"
            if code in _S3_MISSING_BUCKET:
                bucket = url.database if url is not None else "the bucket"
                return ConfigError, f"the bucket {bucket} does not exist"
            return StoreError, ""
        if isinstance(exc, botocore.NoCredentialsError | botocore.PartialCredentialsError):
            return ConfigError, "no S3 credentials found (AWS_ACCESS_KEY_ID and " \
                                "AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, or a role)"
        if isinstance(exc, botocore.BotoCoreError):
            return ServiceUnavailable, ""
    if isinstance(exc, TimeoutError | ConnectionError):
        return ServiceUnavailable, ""
    if isinstance(exc, OSError) and url is not None and url.scheme != "sqlite":
        return ServiceUnavailable, ""  # a socket error the driver did not wrap
    return None


def translate(exc: BaseException, what: str, url: BackendURL | None = None, *,
              secrets: tuple[str, ...] = (), users_sql: bool = False,
              service: str = "") -> AugurError | None:
    """The augur error for a driver error, or ``None`` if ``exc`` is no driver's.

    Args:
        exc: the driver's exception.
        what: what was being done, e.g. ``"reading predictions"``.
        url: the backend; its description leads the message, its secrets are masked.
        secrets: more strings to mask (tokens, keys).
        users_sql: the statement was the user's (a batch query): SQL errors are
            :class:`ConfigError`, not :class:`StoreError`.
        service: what the backend is to augur (``"registry database"``), put first.
    """
    found = _kind(exc, url, users_sql)
    if found is None:
        return None
    cls, reason = found
    where = " ".join(p for p in (service, url.describe() if url is not None else "") if p)
    where = f"{where}: " if where else ""
    detail = one_line(exc)
    text = f"{where}{what} failed: {reason + ' (' + detail + ')' if reason else detail}"
    return cls(mask(text, (*secrets, *(url.secrets if url else ()))))


@contextmanager
def translate_errors(what: str, url: BackendURL | None = None, *,
                     secrets: tuple[str, ...] = (), users_sql: bool = False,
                     service: str = "") -> Iterator[None]:
    """Run a block that talks to a backend; driver errors leave it as augur errors.

    Args:
        what: what the block does, for the message (``"connecting"``, ``"writing"``).
        url: the backend it talks to.
        secrets: more strings to mask in messages (tokens, keys).
        users_sql: the block runs the user's SQL (see :func:`translate`).
        service: what the backend is to augur (``"registry database"``), put first.

    Raises:
        ServiceUnavailable, ConfigError, StoreError: see the module docstring; other
            exceptions (augur's own included) pass through unchanged.

    Example:
        >>> with translate_errors("reading features", url):   # doctest: +SKIP
        ...     client.mget(keys)
    """
    try:
        yield
    except AugurError:
        raise
    except Exception as exc:
        error = translate(exc, what, url, secrets=secrets, users_sql=users_sql,
                          service=service)
        if error is None:
            raise
        raise error from exc
