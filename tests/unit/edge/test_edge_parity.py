"""Comparing edge outputs with the server's, and the page's rendering."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from augur.edge.assets import render_page
from augur.edge.parity import Comparison, ParityReport, compare_outputs, records_of
from augur.errors import InvalidInput


def test_float_diffs_and_label_agreement() -> None:
    ref = {"label": np.array([0, 1, 2, 1]), "probabilities": np.full((4, 3), 0.25, np.float32)}
    got = {"label": [0, 1, 1, 1], "probabilities": (np.full(12, 0.25) + 1e-3).tolist()}
    c = compare_outputs(ref, got, "label")
    assert c.label_agreement == 0.75 and c.outputs["label"] == {"agreement": 0.75}
    assert c.max_abs_diff == pytest.approx(1e-3, rel=1e-3) and c.max_diff == c.max_abs_diff


def test_large_values_are_compared_relatively() -> None:
    # float32 cannot hold 150 to within 1e-5: one ulp there is about 1.5e-5.
    ref = {"y": np.array([[150.0], [0.5]], dtype=np.float32)}
    up = float(np.nextafter(np.float32(150.0), np.float32(200.0)))
    c = compare_outputs(ref, {"y": [up, 0.5]}, None)
    assert c.max_abs_diff == pytest.approx(1.5258789e-05)
    assert c.max_diff == pytest.approx(1.5258789e-05 / 150)
    c = compare_outputs(ref, {"y": [150.0, 0.5 + 2e-5]}, None)
    assert c.max_diff == pytest.approx(2e-5, rel=1e-3)


def test_nan_is_equal_only_to_nan() -> None:
    ref = {"y": np.array([[1.0], [math.nan]], dtype=np.float32)}
    c = compare_outputs(ref, {"y": [1.0, math.nan]}, None)
    assert c.max_diff == 0.0 and c.label_agreement is None
    c = compare_outputs(ref, {"y": [math.nan, math.nan]}, None)
    assert c.max_diff == math.inf and c.max_abs_diff == math.inf


def test_string_labels_compare_exactly() -> None:
    ref = {"label": np.array(["a", "b"], dtype=object)}
    assert compare_outputs(ref, {"label": ["a", "b"]}, "label").label_agreement == 1.0
    assert compare_outputs(ref, {"label": ["a", "B"]}, "label").label_agreement == 0.5


def test_missing_or_misshapen_outputs() -> None:
    ref = {"y": np.zeros((3, 1), np.float32)}
    with pytest.raises(InvalidInput, match="no output 'y'"):
        compare_outputs(ref, {"z": [0, 0, 0]}, None)
    with pytest.raises(InvalidInput, match="returned 2 values, the server 3"):
        compare_outputs(ref, {"y": [0, 0]}, None)


def test_report_passes_only_within_tolerance_and_with_all_labels() -> None:
    def report(diff: float, labels: float | None) -> ParityReport:
        return ParityReport("m:1", "web", 3, Comparison(diff, diff, labels, {}), 1e-5)

    assert report(1e-6, 1.0).passed and report(0.0, None).passed
    assert not report(2e-5, 1.0).passed and not report(0.0, 0.99).passed
    assert report(0.0, 1.0).to_dict()["passed"] is True


def test_records_from_frames_turn_nan_into_none() -> None:
    frame = pd.DataFrame({"a": [1.5, np.nan], "s": ["x", None], "i": [1, 2]})
    rows = records_of(frame)
    assert rows == [{"a": 1.5, "s": "x", "i": 1}, {"a": None, "s": None, "i": 2}]
    assert json.dumps(rows)  # JSON-ready: no numpy scalars
    with pytest.raises(InvalidInput, match="at least one record"):
        records_of(frame.head(0))
    with pytest.raises(InvalidInput, match="needs records"):
        records_of([1, 2, 3])


def test_page_config_cannot_break_out_of_its_script() -> None:
    html = render_page(title="<b>m</b>", assets="./a/",
                       config={"bundle": "</script><script>alert(1)</script>"}).decode()
    assert "<script>alert(1)" not in html and "&lt;b&gt;m&lt;/b&gt;" in html
    blob = re.search(r'id="augur-edge-config">(.*?)</script>', html)
    assert blob and json.loads(blob.group(1))["bundle"].startswith("</script>")
    assert "{{" not in html
