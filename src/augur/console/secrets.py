"""Keeping secrets out of what the console shows: passwords in store URLs."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host (also inside query strings)
_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@/\s]*@")


def masked_url(text: str | None) -> str | None:
    """``text`` with the password of every URL in it replaced by ``***``."""
    if text is None:
        return None
    return _PASSWORD.sub(lambda m: f"{m.group('head')}:***@", text)
