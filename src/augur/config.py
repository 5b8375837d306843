"""Settings shared by every part: where augur keeps its state.

Settings are frozen and read once at start-up (defaults < environment), then
passed down. Nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where augur's state lives.

    Attributes:
        home: root folder for the registry database, artifacts and caches
            (``$AUGUR_HOME``, default ``./.augur``).
        registry_url: ``postgresql://user@host:5432/database`` to keep the registry
            metadata (models, versions, aliases, runs, tuning cache) in PostgreSQL
            (``$AUGUR_REGISTRY_URL``); ``None`` keeps it in SQLite under ``home``.
        artifacts_url: ``s3://bucket/prefix`` to keep artifacts in S3-API object
            storage, with a verified read-through cache under ``home``
            (``$AUGUR_ARTIFACTS_URL``); ``None`` keeps them as files under ``home``.
        s3_endpoint_url: the S3 endpoint, e.g. ``http://minio:9000``
            (``$AUGUR_S3_ENDPOINT_URL``); ``None`` lets boto3 choose (AWS, or
            ``$AWS_ENDPOINT_URL``).

    URLs are kept as given here; the registry parses them (augur.backends) and
    raises ``ConfigError`` for a malformed one when it is built.
    """

    home: Path
    registry_url: str | None = None
    artifacts_url: str | None = None
    s3_endpoint_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``AUGUR_*`` environment variables over the defaults."""
        env = os.environ if environ is None else environ

        def url(name: str) -> str | None:
            return env.get(name, "").strip() or None

        return cls(home=Path(env.get("AUGUR_HOME", ".augur")).expanduser(),
                   registry_url=url("AUGUR_REGISTRY_URL"),
                   artifacts_url=url("AUGUR_ARTIFACTS_URL"),
                   s3_endpoint_url=url("AUGUR_S3_ENDPOINT_URL"))


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
