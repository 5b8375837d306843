from __future__ import annotations

import io

import augur.batch
from augur.batch.progress import ProgressReporter


def test_bar_on_a_terminal_shows_rate_and_eta() -> None:
    out = io.StringIO()
    reporter = ProgressReporter(1000, "batch r1", stream=out, tty=True)
    reporter.update(400)
    reporter.update(600)
    reporter.close()
    text = out.getvalue()
    assert "batch r1" in text and "1.00k/1.00k" in text and "rows/s" in text


def test_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    reporter = ProgressReporter(None, "batch r2", stream=out, tty=False, interval=0.0,
                                initial=100)
    reporter.update(50)
    reporter.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("batch r2: 150 rows, ") and lines[0].endswith("rows/s predict + store")
    assert "\r" not in out.getvalue() and "ETA" not in out.getvalue()  # total unknown


def test_public_surface() -> None:
    for name in augur.batch.__all__:
        assert getattr(augur.batch, name).__doc__, name
    assert {"run_batch", "resume_batch", "Scheduler", "open_store",
            "fetch_prediction", "Prediction", "PredictionStore"} <= set(augur.batch.__all__)
