"""Settings shared by every part: where augur keeps its state.

Settings are frozen and read once at start-up (defaults < environment), then
passed down. Nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Settings:
    """Where augur's state lives.

    Attributes:
        home: root folder for the registry database and artifacts
            (``$AUGUR_HOME``, default ``./.augur``).
        registry_url: ``postgresql://user@host:5432/database`` to keep the registry
            metadata (models, versions, aliases, runs, tuning cache) in PostgreSQL
            (``$AUGUR_REGISTRY_URL``); ``None`` keeps it in SQLite under ``home``.
            Artifacts stay files under ``home`` either way.
    """

    home: Path
    registry_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``AUGUR_*`` environment variables over the defaults.

        Raises:
            ConfigError: ``AUGUR_REGISTRY_URL`` is not a PostgreSQL URL.
        """
        env = os.environ if environ is None else environ
        home = Path(env.get("AUGUR_HOME", ".augur")).expanduser()
        url = env.get("AUGUR_REGISTRY_URL", "").strip()
        return cls(home=home, registry_url=check_registry_url(url, "AUGUR_REGISTRY_URL")
                   if url else None)

    @property
    def registry_db(self) -> Path:
        """Path of the SQLite metadata database."""
        return self.home / "registry.db"

    @property
    def artifacts_dir(self) -> Path:
        """Folder of the content-addressed artifact files."""
        return self.home / "artifacts"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_registry_url(url: str, what: str = "registry URL") -> str:
    """Return ``url`` if it is a usable ``postgresql://`` URL.

    Raises:
        ConfigError: another scheme or a non-numeric port, naming the URL.
    """
    from augur.errors import ConfigError

    expected = "expected postgresql://user@host:5432/database"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"bad {what} {redact_url(url)!r}: {exc} ({expected})") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"bad {what} {redact_url(url)!r}: unsupported scheme "
                          f"{parts.scheme!r} ({expected})")
    return url


def parse_bytes(text: str) -> int:
    """Parse a size such as ``512MB``, ``2GB``, ``1.5GiB`` or ``1000`` into bytes.

    Raises:
        ConfigError: the text is not a size.
    """
    from augur.errors import ConfigError

    units = {
        "": 1, "b": 1,
        "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
        "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
        "k": 2**10, "m": 2**20, "g": 2**30,
    }
    s = text.strip().lower().replace(" ", "")
    num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(num):]
    try:
        value = float(num)
    except ValueError:
        raise ConfigError(f"not a size: {text!r} (expected e.g. 512MB, 2GB)") from None
    if unit not in units or value < 0:
        raise ConfigError(f"not a size: {text!r} (expected e.g. 512MB, 2GB)")
    return int(value * units[unit])


def parse_duration(text: str) -> float:
    """Parse a duration such as ``250ms``, ``30s``, ``10m``, ``4h``, ``1d`` into seconds.

    Raises:
        ConfigError: the text is not a duration.
    """
    from augur.errors import ConfigError

    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "": 1.0}
    s = text.strip().lower()
    num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(num):]
    try:
        value = float(num)
    except ValueError:
        raise ConfigError(f"not a duration: {text!r} (expected e.g. 30s, 10m, 4h)") from None
    if unit not in units or value < 0:
        raise ConfigError(f"not a duration: {text!r} (expected e.g. 30s, 10m, 4h)")
    return value * units[unit]
