"""Event time as augur's feature engines see it: integer milliseconds since the epoch, UTC.

Both engines convert every timestamp to this one representation first, so that
window boundaries are integer arithmetic and never depend on a time zone or on
floating-point rounding.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from augur.errors import InvalidInput

MS = 1
SECOND = 1000
MINUTE = 60 * SECOND


def duration_ms(value: timedelta | int, *, what: str = "duration") -> int:
    """Return a duration in whole milliseconds.

    Args:
        value: a ``timedelta`` or an integer number of milliseconds.
        what: the name used in the error message.

    Raises:
        InvalidInput: negative, not a whole number of milliseconds, or of another type.
    """
    if isinstance(value, timedelta):
        micros = value // timedelta(microseconds=1)
        if micros % 1000:
            raise InvalidInput(f"{what} {value} is not a whole number of milliseconds")
        ms = micros // 1000
    elif isinstance(value, int | np.integer) and not isinstance(value, bool):
        ms = int(value)
    else:
        raise InvalidInput(f"{what} must be a timedelta or milliseconds, got {value!r}")
    if ms < 0:
        raise InvalidInput(f"{what} must not be negative, got {value!r}")
    return ms


def to_millis(value: Any, *, what: str = "timestamp") -> int:
    """Return a timestamp as integer milliseconds since the epoch (UTC).

    Accepts integer milliseconds, ``datetime`` (naive means UTC), ``numpy.datetime64``,
    pandas ``Timestamp`` and ISO-8601 strings.

    Raises:
        InvalidInput: the value is missing, not a timestamp, or beyond 64-bit milliseconds.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{what} is missing or not a timestamp: {value!r}")
    if isinstance(value, int | np.integer | float) and not (
            isinstance(value, float) and not value.is_integer()):
        if not -2**63 <= value < 2**63:
            raise InvalidInput(f"{what} {value!r} is out of range (64-bit milliseconds)")
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ms]").astype(np.int64).item())
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{what} {value!r} is not an ISO-8601 timestamp") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int((value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))
    raise InvalidInput(f"{what} is not a timestamp: {value!r} ({type(value).__name__})")


def from_millis(ms: int) -> datetime:
    """Return the UTC ``datetime`` of ``ms`` milliseconds since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
