"""The delivery example runs end to end and its live predictions move with the events."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "delivery" / "run.py"


def test_delivery_example_predictions_change_as_events_arrive() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    minutes = [float(m) for m in re.findall(r"r3 [^:]*: +([0-9.]+) min", done.stdout)]
    orders = [int(n) for n in re.findall(r"'orders_10m': (\d+)", done.stdout)]
    assert len(minutes) == 5 and len(orders) == 5, done.stdout
    assert orders == sorted(orders) and orders[-1] >= orders[0] + 24, done.stdout
    assert minutes[-1] > minutes[0], done.stdout
