"""``augur tune``: one figure per configuration, one meaning, units named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from augur.cli import main
from augur.registry import Registry
from cli_text import NOISE


@pytest.fixture
def small_iris(augur_home: Path) -> Registry:
    from augur.convert import export
    from augur.examples import iris_forest

    reg = Registry(augur_home)
    ex = iris_forest(n_estimators=10)
    export(ex.model, "iris", sample=ex.X, registry=reg)
    return reg


def test_the_summary_quotes_the_head_to_head_row_it_kept(
        small_iris: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tune", "iris", "--budget", "3s"]) == 0
    out = capsys.readouterr().out
    assert not NOISE.search(out), out
    summary = re.search(r"kept '([^']+)' at ([\d,]+) rows/s, [\d.]+x the better default "
                        r"\(([\d,]+) rows/s\)", out)
    assert summary, out
    contender, tuned, base = summary.groups()
    table = out[out.index("head to head at batch"):out.index("graph fusions")]
    header, *rows = table.strip().splitlines()[1:]
    assert "ROWS/S" in header.split()  # the unit is named
    kept = [r for r in rows if r.rstrip().endswith("kept")]
    assert len(kept) == 1 and kept[0].startswith(contender) and tuned in kept[0].split()
    assert any(base in r.split() for r in rows if not r.startswith("tuned"))
    # every rows/s figure of a table is plain digits with thousands separators
    for line in out.splitlines():
        assert not re.search(r"\d\.\d+e[+-]?\d", line) or "P50_MS" in line, line
