"""The one parser of backend URLs: one syntax per scheme, read the same way by every part.

Forms (the README's "Backend URLs" section is the user-facing copy of this list):

- ``sqlite:///relative/file.db`` (relative to the working directory) and
  ``sqlite:////absolute/file.db``, as in SQLAlchemy; a bare path ending in
  ``.db``, ``.sqlite`` or ``.sqlite3`` is the same file. ``sqlite://name`` (two
  slashes and a name) is refused: it reads as a host.
- ``postgresql://user:password@host:5432/database`` (``postgres://`` too): a libpq
  URL; query parameters other than augur's own go to libpq unchanged
  (``?options=-csearch_path%3Dschema``, ``sslmode=require``, ...).
- ``redis://[user:password@]host:6379/0``, ``rediss://`` (TLS) and
  ``unix:///path/to/redis.sock?db=0``; other query parameters go to redis-py.
- ``nats://[user:password@]host:4222`` and ``tls://host:4222`` (NATS over TLS).
- ``s3://bucket/key/prefix``: any S3-API store; the endpoint and the credentials
  come from the environment (see :mod:`augur.backends.s3`), never from the URL.
- ``memory://``: the in-process default of the online store and the transport.

augur's own query parameters, taken out before the driver sees the URL:
``table`` (SQL prediction tables), ``query`` (a SQL batch source: everything
after ``query=`` is the query, percent-escapes decoded), ``prefix`` (Redis keys
of predictions) and ``namespace`` (Redis keys of the online feature store).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from augur.errors import ConfigError

SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql",
           "redis": "redis", "rediss": "redis", "unix": "redis", "nats": "nats",
           "tls": "nats", "s3": "s3", "memory": "memory"}
#: augur's own query parameters; every other one is the driver's.
AUGUR_OPTIONS = ("table", "query", "prefix", "namespace")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: Query parameters whose values are secrets (libpq's, redis-py's, NATS's).
_SECRET_PARAMS = ("password", "passwd", "sslpassword", "token", "secret", "auth_token")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")  # two letters at least: not C:\\
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_EXPECTED = {
    "sqlite": "sqlite:///relative.db or sqlite:////absolute/path.db",
    "postgresql": "postgresql://user@host:5432/database",
    "redis": "redis://host:6379/0, rediss://... or unix:///path/to/redis.sock",
    "nats": "nats://host:4222",
    "s3": "s3://bucket/prefix",
    "memory": "memory://",
}


@dataclass(frozen=True)
class BackendURL:
    """A parsed backend URL.

    Attributes:
        scheme: the canonical scheme: ``sqlite``, ``postgresql``, ``redis``, ``nats``,
            ``s3`` or ``memory`` (``postgres://`` reads as ``postgresql``, ``rediss``
            and ``unix`` as ``redis``, ``tls`` as ``nats``).
        driver_url: what the driver is given, augur's options removed. It may hold a
            password: never print it, print :meth:`describe`.
        path: the SQLite file, or the socket of a ``unix://`` Redis URL.
        host, port: the server (``None`` where the URL names none).
        database: PostgreSQL's database, Redis's db index, or the S3 bucket.
        key_prefix: the S3 key prefix (no leading or trailing ``/``).
        options: augur's own query parameters (see :data:`AUGUR_OPTIONS`).
        secrets: the passwords and tokens in the URL, masked in every message.
    """

    scheme: str
    driver_url: str
    path: Path | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    key_prefix: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def file(self) -> Path:
        """The SQLite file (or Redis socket) the URL names.

        Raises:
            ConfigError: the URL names no file.
        """
        if self.path is None:
            raise ConfigError(f"{self.describe()} names no file")
        return self.path

    def option(self, name: str, default: str) -> str:
        """augur's query parameter ``name``, else ``default``."""
        return self.options.get(name, default)

    def describe(self) -> str:
        """The URL for messages and logs: passwords and tokens replaced by ``***``."""
        if self.scheme == "sqlite":
            return f"sqlite:///{self.path}"
        return redact(self.driver_url)

    def mask(self, text: str) -> str:
        """``text`` with this URL's secrets replaced by ``***``."""
        return mask(text, self.secrets)


def mask(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """``text`` with every secret (as given or percent-encoded) replaced by ``***``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), unquote(secret)}:
            if form:
                text = text.replace(form, "***")
    return text


def redact(url: str) -> str:
    """``url`` with its password and secret query parameters replaced by ``***``.

    Works on malformed URLs too (it only splits text), so a message about a bad
    URL never shows its password.
    """
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    if "?" in netloc and not slash:
        netloc, tail = netloc.split("?", 1)
        slash, tail = "", "?" + tail
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
    path, qmark, query = tail.partition("?")
    if qmark:
        pairs = [p.partition("=") for p in query.split("&")]
        query = "&".join(f"{k}={'***' if k.lower() in _SECRET_PARAMS and v else v}"
                         if eq else k for k, eq, v in pairs)
    return f"{head}{sep}{netloc}{slash}{path}{qmark}{query}"


def scheme_of(text: str) -> str:
    """The lower-cased scheme of ``text`` (``""`` for a path)."""
    match = _SCHEME.match(text.strip())
    return match.group(1).lower() if match else ""


def parse_url(text: str, *, schemes: tuple[str, ...] | None = None,
              what: str = "backend URL") -> BackendURL:
    """Parse a backend URL (see the module docstring for every form).

    Args:
        text: the URL, or a bare path ending in ``.db``, ``.sqlite`` or ``.sqlite3``.
        schemes: canonical schemes the caller accepts (default: all).
        what: how messages name the URL (``"--output"``, ``"AUGUR_REGISTRY_URL"``).

    Returns:
        The parsed URL.

    Raises:
        ConfigError: an empty or malformed URL, or a scheme the caller does not
            accept; the message names the expected form and hides passwords.
    """
    raw = text.strip()
    if not raw:
        raise ConfigError(f"empty {what}")
    given = scheme_of(raw)
    if not given:
        if raw.split("?", 1)[0].lower().endswith(SQLITE_SUFFIXES):
            given, raw = "sqlite", "sqlite:///" + raw
        else:
            raise ConfigError(f"bad {what} {redact(raw)!r}: not a URL "
                              f"(expected e.g. {_expected(schemes)})")
    scheme = SCHEMES.get(given)
    if scheme is None or (schemes is not None and scheme not in schemes):
        shown = redact(raw)
        raise ConfigError(f"bad {what} {shown!r}: unsupported scheme {given!r} "
                          f"(expected {_expected(schemes)})")
    try:
        return _PARSERS[scheme](raw)
    except ValueError as exc:
        shown = redact(raw)
        raise ConfigError(f"bad {what} {shown!r}: {exc} (expected {_EXPECTED[scheme]})") from None


def _expected(schemes: tuple[str, ...] | None) -> str:
    return ", ".join(_EXPECTED[s] for s in (schemes or tuple(_EXPECTED)))


def _secrets_of(raw: str) -> tuple[str, ...]:
    """Passwords and secret parameters of a URL, however malformed it is otherwise."""
    found: list[str] = []
    netloc = raw.split("://", 1)[-1].split("/", 1)[0]
    userinfo, at, _ = netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    query = raw.partition("?")[2]
    found += [v for k, v in parse_qsl(query, keep_blank_values=True)
              if k.lower() in _SECRET_PARAMS and v]
    return tuple(found)


def _split_options(query: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """augur's options and the driver's parameters of a query string.

    ``query=`` takes the rest of the string, ``&`` included (a SQL query has them).
    """
    ours: dict[str, str] = {}
    head, sep, rest = query.partition("query=")
    if sep and (not head or head.endswith("&")):
        ours["query"] = unquote(rest).strip()
        query = head.rstrip("&")
    theirs: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in AUGUR_OPTIONS:
            ours[key] = value
        else:
            theirs.append((key, value))
    return ours, theirs


def _sqlite(raw: str) -> BackendURL:
    base, _, query = raw.partition("?")
    rest = base[len("sqlite:"):]
    if not rest.startswith("///"):
        raise ValueError("sqlite:// followed by a name reads as a host")
    path = unquote(rest[3:])
    if not path or path == "/":
        raise ValueError("no database file")
    options, driver = _split_options(query)
    if driver:
        raise ValueError(f"unknown parameter {driver[0][0]!r} (sqlite takes table and query)")
    return BackendURL("sqlite", f"sqlite:///{path}", path=Path(path), options=options)


def _network(raw: str, scheme: str) -> BackendURL:
    parts = urlsplit(raw)
    port = parts.port  # ValueError on a port that is not a number
    options, driver = _split_options(parts.query)
    secrets = _secrets_of(raw)
    # Rebuilt by hand: urlunsplit drops the "//" of unix:///path, which redis-py needs.
    base = raw.split("?", 1)[0].split("#", 1)[0]
    driver_url = f"{base}?{urlencode(driver)}" if driver else base
    path = unquote(parts.path.lstrip("/"))
    host = parts.hostname
    database: str | None = path or None
    socket: Path | None = None
    if scheme == "redis":
        if parts.scheme.lower() == "unix":
            if not parts.path:
                raise ValueError("no socket path")
            socket, host = Path(unquote(parts.path)), None
            database = dict(driver).get("db", "0")
        elif path and not path.isdigit():
            raise ValueError(f"the database {path!r} is not a number")
        elif not path:
            database = "0"
    elif scheme == "nats" and path:
        raise ValueError("a NATS URL has no path")
    return BackendURL(scheme, driver_url, path=socket, host=host, port=port,
                      database=database, options=options, secrets=secrets)


def _s3(raw: str) -> BackendURL:
    parts = urlsplit(raw)
    if parts.query or parts.username or parts.password or parts.port:
        raise ValueError("an S3 URL is s3://bucket/prefix only: the endpoint and the "
                         "credentials come from the environment")
    bucket = parts.netloc
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"{bucket!r} is not a bucket name")
    prefix = parts.path.strip("/")
    if any(seg in ("", ".", "..") for seg in prefix.split("/")) and prefix:
        raise ValueError(f"the key prefix {prefix!r} has an empty, '.' or '..' segment")
    return BackendURL("s3", f"s3://{bucket}/{prefix}", database=bucket, key_prefix=prefix)


def _memory(raw: str) -> BackendURL:
    if raw.rstrip("/").lower() != "memory:":
        raise ValueError("memory:// takes nothing after the scheme")
    return BackendURL("memory", "memory://")


_PARSERS = {
    "sqlite": _sqlite,
    "postgresql": lambda raw: _network(raw, "postgresql"),
    "redis": lambda raw: _network(raw, "redis"),
    "nats": lambda raw: _network(raw, "nats"),
    "s3": _s3,
    "memory": _memory,
}
