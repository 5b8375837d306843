"""The optional fields every JSON request body shares (``id``, ``parameters``), read
one way by every JSON codec: absent or ``null`` means unset, anything else must be of
its type (``"parameters": false`` or ``"id": 5`` is a 400, not silently taken)."""

from __future__ import annotations

from typing import Any

from augur.errors import InvalidInput


def parameters(value: Any, where: str = '"parameters"') -> dict[str, Any]:
    """A ``parameters`` object (``{}`` when absent or null).

    Raises:
        InvalidInput: it is not a JSON object.
    """
    if value is None:
        return {}
    if type(value) is not dict:
        raise InvalidInput(f"{where} must be an object")
    return value


def request_id(value: Any) -> str | None:
    """A request's ``id`` (``None`` when absent or null).

    Raises:
        InvalidInput: it is not text.
    """
    if value is None or type(value) is str:
        return value
    raise InvalidInput('"id" must be text')
