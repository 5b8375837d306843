"""Model references (``name``, ``name:3``, ``name@staging``) and name rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from augur.errors import InvalidName, InvalidReference

MAX_NAME_LENGTH = 128
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

#: The alias a bare model name resolves to when it is set.
DEFAULT_ALIAS = "production"


def validate_name(name: str, what: str = "model name") -> str:
    """Return ``name`` if it is a valid model or alias name.

    Names start with a letter or digit and hold letters, digits, ``_``, ``.``
    and ``-``; no path separators, no ``..``, at most 128 characters.

    Raises:
        InvalidName: the name breaks one of these rules; the message says which.
    """
    if not isinstance(name, str) or not name:
        raise InvalidName(f"{what} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"{what} is {len(name)} characters long; at most {MAX_NAME_LENGTH}")
    if "/" in name or "\\" in name:
        raise InvalidName(f"{what} {name!r} contains a path separator")
    if ".." in name:
        raise InvalidName(f"{what} {name!r} contains '..'")
    if not _NAME.match(name):
        raise InvalidName(
            f"{what} {name!r} has characters other than letters, digits, '_', '.', '-' "
            "or does not start with a letter or digit")
    if name.isdigit() and what == "alias":
        raise InvalidName(f"alias {name!r} is all digits and would read as a version")
    return name


@dataclass(frozen=True)
class Reference:
    """A parsed reference to a model version.

    Exactly one of ``version`` and ``alias`` is set, or neither (the bare name:
    its ``production`` alias if set, else the latest version).
    """

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def parse_reference(text: str) -> Reference:
    """Parse ``name``, ``name:VERSION`` or ``name@ALIAS``.

    Raises:
        InvalidReference: the text is not of one of those forms.
        InvalidName: the name or alias breaks the naming rules.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference(f"empty model reference {text!r}")
    text = text.strip()
    if ":" in text and "@" in text:
        raise InvalidReference(f"reference {text!r} has both ':' and '@'; use name:3 or name@alias")
    if ":" in text:
        name, _, ver = text.partition(":")
        if not ver.isdigit() or int(ver) < 1:
            raise InvalidReference(
                f"reference {text!r}: version must be a positive integer, got {ver!r}")
        return Reference(validate_name(name), version=int(ver))
    if "@" in text:
        name, _, alias = text.partition("@")
        return Reference(validate_name(name), alias=validate_name(alias, "alias"))
    return Reference(validate_name(text))
