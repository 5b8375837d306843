"""The console's pieces without HTTP: secrets kept out, feature freshness, vendored files."""

from __future__ import annotations

from pathlib import Path

import pytest

from augur.console import FeatureBinding
from augur.console.feature_status import FeatureStatus
from augur.console.secrets import masked_url
from augur.console.vendor import Vendor
from augur.errors import ConfigError


@pytest.mark.parametrize(("text", "want"), [
    ("postgresql://app:s3cret@db:5432/prod?table=t", "postgresql://app:***@db:5432/prod?table=t"),
    ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
    ("postgresql://app@db/prod", "postgresql://app@db/prod"),
    ("rows.parquet", "rows.parquet"),
    ("sqlite:///x.db?query=SELECT * FROM a", "sqlite:///x.db?query=SELECT * FROM a"),
    ("failed: postgresql://u:p@h/d unreachable", "failed: postgresql://u:***@h/d unreachable"),
])
def test_passwords_never_show(text: str, want: str) -> None:
    assert masked_url(text) == want


def test_missing_definitions_are_reported_not_raised(tmp_path: Path) -> None:
    status = FeatureStatus((FeatureBinding(str(tmp_path / "nope.py"), "memory://"),))
    source = status.describe()["sources"][0]
    assert source["views"] == [] and "does not exist" in source["error"]


def test_views_without_a_checkpoint_have_no_freshness(tmp_path: Path) -> None:
    defs = tmp_path / "defs.py"
    defs.write_text(
        "from datetime import timedelta\n"
        "from augur.features import Aggregation, Entity, EventSource, FeatureView, Window\n"
        "v = FeatureView('orders', Entity('r', 'rid'), EventSource('o', {'x': 'float'}),\n"
        "                (Aggregation('n', 'count', Window.sliding(timedelta(minutes=5))),))\n")
    store = f"sqlite:///{tmp_path / 'online.db'}"
    source = FeatureStatus((FeatureBinding(str(defs), store, ("eta",)),)).describe()["sources"][0]
    assert source["error"] is None and source["models"] == ["eta"]
    assert source["store"] == "sqlite:///\u2026/online.db"  # no server path in the page
    assert [(v["name"], v["kind"], v["freshness"]) for v in source["views"]] == [
        ("orders", "stream", None)]


def test_vendor_serves_only_known_files(tmp_path: Path) -> None:
    vendor = Vendor({"AUGUR_NODE_MODULES": str(tmp_path)})
    assert vendor.file("../../etc/passwd") is None
    with pytest.raises(ConfigError, match="uplot"):
        vendor.file("uPlot.esm.js")
    (tmp_path / "uplot" / "dist").mkdir(parents=True)
    (tmp_path / "uplot" / "dist" / "uPlot.esm.js").write_text("export default 1;")
    found = vendor.file("uPlot.esm.js")
    assert found is not None and found.content_type.startswith("text/javascript")
