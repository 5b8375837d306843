"""One bearer check for every route and RPC: roles, case, constant-time, no query tokens."""

from __future__ import annotations

import pytest

from augur.errors import Forbidden, Unauthorized
from augur.http import BearerAuth


def test_no_tokens_means_everything_is_open() -> None:
    auth = BearerAuth()
    assert not auth.enabled
    for role in ("open", "metrics", "inference", "admin"):
        auth.check(None, role)  # type: ignore[arg-type]


@pytest.mark.parametrize("header", ["Bearer inf", "bearer inf", "BEARER inf", "  Bearer   inf ",
                                    b"Bearer inf", "bEaReR inf"])
def test_the_scheme_is_case_insensitive(header: str | bytes) -> None:
    BearerAuth("inf", "adm").check(header, "inference")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic inf", "inf",
                                    "Token inf", "Bearer inf2", "Bearer in", "Bearer INF",
                                    "Bearer inf\x00", "Bearer " + "x" * 10_000])
def test_missing_or_unknown_tokens_are_401(header: str | None) -> None:
    with pytest.raises(Unauthorized) as info:
        BearerAuth("inf", "adm").check(header, "inference")
    assert not isinstance(info.value, Forbidden)
    assert "inf" not in str(info.value).replace("inference", "")  # never echoes a token


def test_a_valid_token_of_a_lesser_role_is_403() -> None:
    auth = BearerAuth("inf", "adm", "met")
    with pytest.raises(Forbidden, match="admin token"):
        auth.check("Bearer inf", "admin")
    with pytest.raises(Forbidden, match="inference token"):
        auth.check("Bearer met", "inference")
    auth.check("Bearer adm", "inference")  # the admin token goes everywhere
    auth.check("Bearer adm", "metrics")
    auth.check("Bearer met", "metrics")
    auth.check(None, "open")


def test_an_inference_token_alone_still_guards_model_control() -> None:
    auth = BearerAuth(inference_token="inf")
    with pytest.raises(Unauthorized):
        auth.check(None, "admin")
    auth.check("Bearer inf", "admin")
    auth.check(None, "metrics")  # metrics stay open unless a metrics token is set


def test_an_admin_token_alone_guards_admin_only() -> None:
    auth = BearerAuth(admin_token="adm")
    auth.check(None, "inference")
    with pytest.raises(Unauthorized):
        auth.check(None, "admin")
    assert auth.required("admin") and not auth.required("inference")
