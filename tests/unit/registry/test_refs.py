from __future__ import annotations

import pytest

from augur.errors import InvalidName, InvalidReference
from augur.registry import Reference, parse_reference, validate_name


@pytest.mark.parametrize(("text", "expected"), [
    ("iris", Reference("iris")),
    ("iris:3", Reference("iris", version=3)),
    ("iris@staging", Reference("iris", alias="staging")),
    ("fraud-v2.model_x", Reference("fraud-v2.model_x")),
    ("iris:9223372036854775807", Reference("iris", version=2**63 - 1)),
])
def test_parse_valid_references(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected
    assert str(expected) in text


@pytest.mark.parametrize("text", [
    "", "   ", "iris:", "iris:0", "iris:-1", "iris:abc", "iris:1@prod", "iris:1.5",
    # one model has one spelling: no padding, leading zeros, signs or non-ASCII digits
    "  iris:12 ", " iris", "iris\n", "iris\t", "iris:0001", "iris:+1", "iris: 1", "iris:1 ",
    "iris:\u0661", "iris:\uff11", "iris:\u00b2", "iris:\u0967", "\uff49ris", "iris@prod\n",
    "iris:99999999999999999999", "iris:9223372036854775808", "iris\x00", "iris\x10",
    "ir\u200bis", "iris@..", "%2e%2e", "..", "iris@pro/d",
])
def test_parse_rejects_malformed_references(text: str) -> None:
    with pytest.raises((InvalidReference, InvalidName)):
        parse_reference(text)


@pytest.mark.parametrize(("name", "reason"), [
    ("../etc", "separator"),
    ("a/b", "separator"),
    ("a\\b", "separator"),
    ("a..b", "'..'"),
    ("x" * 129, "at most 128"),
    ("-lead", "start with a letter"),
    ("sp ace", "characters"),
    ("", "non-empty"),
    ("trail\n", "characters"),
    ("trail ", "characters"),
    (" lead", "start with a letter"),
    ("ctl\x07", "characters"),
    ("caf\u00e9", "characters"),
])
def test_bad_names_say_why(name: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=reason):
        validate_name(name)


def test_alias_cannot_be_all_digits() -> None:
    with pytest.raises(InvalidName, match="digits"):
        parse_reference("iris@42")
