"""Model references (``name``, ``name:3``, ``name@staging``) and name rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from augur.errors import InvalidName, InvalidReference

MAX_NAME_LENGTH = 128
#: Largest version number: versions are stored as 64-bit integers.
MAX_VERSION = 2**63 - 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Only canonical ASCII decimals are versions: no sign, no leading zeros, no Unicode
# digits (``str.isdigit`` accepts Arabic-Indic, full-width and superscript digits), no
# surrounding whitespace.
_VERSION = re.compile(r"[1-9][0-9]{0,18}")

#: The alias a bare model name resolves to when it is set.
DEFAULT_ALIAS = "production"


def validate_name(name: str, what: str = "model name") -> str:
    """Return ``name`` if it is a valid model or alias name.

    Names start with a letter or digit and hold letters, digits, ``_``, ``.``
    and ``-``; no path separators, no ``..``, no whitespace or control characters
    (a trailing newline included), at most 128 characters.

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
    if not _NAME.fullmatch(name):
        raise InvalidName(
            f"{what} {name!r} has characters other than letters, digits, '_', '.', '-' "
            "or does not start with a letter or digit")
    if name.isdigit() and what == "alias":
        raise InvalidName(f"alias {name!r} is all digits and would read as a version")
    return name


def parse_version(text: str, what: str = "version") -> int:
    """Parse a version number written as a canonical ASCII decimal (``3``, not ``03``).

    Raises:
        InvalidReference: anything else (signs, leading zeros, Unicode digits,
            whitespace, numbers beyond 64 bits).
    """
    if not isinstance(text, str) or not _VERSION.fullmatch(text) or int(text) > MAX_VERSION:
        raise InvalidReference(f"{what} must be a positive integer written in ASCII digits "
                               f"without leading zeros (at most {MAX_VERSION}), got {text!r}")
    return int(text)


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

    The text is taken as it is: surrounding whitespace makes it invalid rather
    than being trimmed, so one model has one spelling.

    Raises:
        InvalidReference: the text is not of one of those forms.
        InvalidName: the name or alias breaks the naming rules.
    """
    if not isinstance(text, str) or not text:
        raise InvalidReference(f"empty model reference {text!r}")
    if ":" in text and "@" in text:
        raise InvalidReference(f"reference {text!r} has both ':' and '@'; use name:3 or name@alias")
    if ":" in text:
        name, _, ver = text.partition(":")
        return Reference(validate_name(name), version=parse_version(ver, f"reference "
                                                                         f"{text!r}: version"))
    if "@" in text:
        name, _, alias = text.partition("@")
        return Reference(validate_name(name), alias=validate_name(alias, "alias"))
    return Reference(validate_name(text))
