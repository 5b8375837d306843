"""Records become the same tensors on the edge as in augur's runtime.

Both edge implementations (the device ``predict.py`` in Python and the browser
module in JavaScript, run here with Node) must build exactly the feeds that
:func:`augur.runtime.to_feeds` builds, and refuse exactly the records it refuses.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augur.edge.device_predict import BundleError, build_feeds
from augur.edge.manifest import column_entries
from augur.errors import InvalidInput
from augur.registry import Registry
from augur.runtime import to_feeds
from augur.signature import Signature

MODULE = Path(__file__).resolve().parents[3] / "src/augur/edge/static/augur-edge.mjs"

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False, width=32),  # float32 range: no overflow
    st.integers(-1000, 1000), st.none(), st.booleans(),
    st.sampled_from(["male", "female", "", "3.5", "é"]),
)


def manifest_of(sig: Signature) -> dict[str, Any]:
    return {"inputs": [s.to_dict() for s in sig.inputs], "columns": column_entries(sig)}


def runtime_feeds(sig: Signature, records: list[dict[str, Any]]) -> dict[str, np.ndarray] | None:
    try:
        return to_feeds(sig, records)
    except InvalidInput:
        return None


def assert_same(want: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
    assert want.keys() == got.keys()
    for name, arr in want.items():
        other = np.asarray(got[name])
        assert other.shape == arr.shape, name
        if arr.dtype.kind == "O":
            assert arr.tolist() == other.tolist(), name
        else:
            np.testing.assert_array_equal(other.astype(arr.dtype), arr, err_msg=name)


def records_strategy(sig: Signature) -> st.SearchStrategy[list[dict[str, Any]]]:
    names = [c.name for c in sig.columns]
    record = st.fixed_dictionaries({}, optional=dict.fromkeys(names, VALUES))
    typical = st.fixed_dictionaries({n: st.floats(-10, 10) for n in names if n != "sex"}
                                    | ({"sex": st.sampled_from(["male", "female"])}
                                       if "sex" in names else {}))
    return st.lists(st.one_of(record, typical), min_size=1, max_size=4)


@pytest.mark.parametrize("model", ["iris", "diabetes"])
def test_device_feeds_equal_runtime_feeds(examples_registry: Registry, model: str) -> None:
    sig = examples_registry.resolve(model).signature
    manifest = manifest_of(sig)

    @settings(max_examples=100, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(records_strategy(sig))
    def check(records: list[dict[str, Any]]) -> None:
        want = runtime_feeds(sig, records)
        if want is None:
            with pytest.raises(BundleError):
                build_feeds(manifest, records)
        else:
            assert_same(want, build_feeds(manifest, records))

    check()


def _nasty_cases(sig: Signature, rng: random.Random, n: int) -> list[list[dict[str, Any]]]:
    names = [c.name for c in sig.columns]
    pool: list[Any] = [0.5, -2.25, 1e-8, 3, 7, True, False, None, math.nan, "male", "female",
                       "", "4", 1e30, 123456.789]
    cases = []
    for _ in range(n):
        rows = []
        for _ in range(rng.randint(1, 3)):
            typical = rng.random() < 0.5
            row = {}
            for name in names:
                if typical:
                    row[name] = rng.choice(["male", "female"]) if name == "sex" \
                        else rng.uniform(-5, 5)
                elif rng.random() > 0.05:
                    row[name] = rng.choice(pool)
            rows.append(row)
        cases.append(rows)
    return cases


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
@pytest.mark.parametrize("model", ["iris", "diabetes"])
def test_browser_module_builds_runtime_feeds(examples_registry: Registry, model: str,
                                             tmp_path: Path) -> None:
    sig = examples_registry.resolve(model).signature
    cases = _nasty_cases(sig, random.Random(7), 300)
    # NaN is a JavaScript literal, not JSON: the script evaluates the text.
    (tmp_path / "cases.js").write_text(json.dumps({"manifest": manifest_of(sig),
                                                   "cases": cases}))
    script = (f"import {{ buildTensors }} from {json.dumps(MODULE.as_uri())};\n"
              "import { readFileSync } from 'node:fs';\n"
              "const { manifest, cases } = Function('return ' + readFileSync(process.argv[2], "
              "'utf8'))();\n"
              "const out = cases.map((records) => { try {\n"
              "  const t = buildTensors(manifest, records); const r = {};\n"
              "  for (const [k, v] of Object.entries(t)) r[k] = {dims: v.dims, data: "
              "Array.from(v.data, (x) => typeof x === 'bigint' ? Number(x) : "
              "(Number.isNaN(x) ? 'NaN' : x))};\n"
              "  return r; } catch (e) { return {error: String(e.message)}; } });\n"
              "console.log(JSON.stringify(out));\n")
    (tmp_path / "run.mjs").write_text(script)
    proc = subprocess.run(["node", str(tmp_path / "run.mjs"), str(tmp_path / "cases.js")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    refused = 0
    for records, got in zip(cases, results, strict=True):
        want = runtime_feeds(sig, records)
        if want is None:
            refused += 1
            assert "error" in got, records
            continue
        assert "error" not in got, (records, got)
        arrays = {}
        for name, t in got.items():
            data = [math.nan if x == "NaN" else x for x in t["data"]]
            arrays[name] = np.asarray(data, dtype=want[name].dtype).reshape(t["dims"])
        assert_same(want, arrays)
    assert 0 < refused < len(cases)  # both kinds of case were exercised
