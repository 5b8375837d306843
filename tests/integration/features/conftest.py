"""Every features integration test gets its own $AUGUR_HOME (and so its own default
event archive): an archive left in the working directory must not feed its training sets."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_augur_home(augur_home: Path) -> None:
    """The default archive ($AUGUR_HOME/archive) of every test is its own, empty one."""
