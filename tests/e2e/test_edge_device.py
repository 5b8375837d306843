"""Device bundles and the edge commands, run as a user would, in subprocesses.

The device bundle must predict with plain onnxruntime in a process that imports
nothing from augur.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from edge_support import register_tensor_model, require_chromium

from augur.cli.app import main
from augur.edge import export_bundle
from augur.edge.device_predict import BundleError, Predictor
from augur.edge.parity import check_parity, compare_outputs, records_of
from augur.examples import diabetes_frame
from augur.registry import Registry
from augur.runtime import load

pytestmark = pytest.mark.e2e

# Runs in the device process: predict through the bundle, then list augur modules loaded.
DEVICE_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from predict import Predictor
records = json.load(open(sys.argv[2]))
outputs = Predictor(sys.argv[1]).predict(records)
print(json.dumps({
    "outputs": {k: v.tolist() for k, v in outputs.items()},
    "augur_modules": sorted(m for m in sys.modules if m == "augur" or m.startswith("augur.")),
    "onnxruntime": "onnxruntime" in sys.modules,
}))
"""


def augur(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``augur`` command in a subprocess, as a user runs it."""
    env = {**os.environ, "AUGUR_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "augur", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def augur_here(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
               *args: str) -> tuple[int, str, str]:
    """The ``augur`` command's entry point in this process (its start-up is the slow part)."""
    monkeypatch.setenv("AUGUR_HOME", str(home))
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rows") / "diabetes.csv"
    frame = diabetes_frame()[0].head(80).copy()
    frame.loc[::10, "bp"] = np.nan  # missing values in a nullable column
    frame.to_csv(path, index=False)
    return path


def test_device_bundle_predicts_without_augur(examples_registry: Registry, tmp_path: Path,
                                              rows_csv: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = augur_here(examples_registry.home, capsys, monkeypatch, "export-edge",
                                "diabetes@production", "--target", "device", "--out",
                                str(tmp_path / "device"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["files"] == ["manifest.json", "model.ort", "predict.py"]
    import pandas as pd

    records = records_of(pd.read_csv(rows_csv))
    (tmp_path / "rows.json").write_text(json.dumps(records))
    proc = subprocess.run([sys.executable, "-I", "-c", DEVICE_SCRIPT, str(tmp_path / "device"),
                           str(tmp_path / "rows.json")], capture_output=True, text=True,
                          timeout=120, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["augur_modules"] == [] and result["onnxruntime"] is True
    want = load("diabetes:1", registry=examples_registry).predict(records)
    c = compare_outputs(want, result["outputs"], None)
    assert c.max_diff <= 1e-5, c

    # The bundle's own command line, reading the CSV with the manifest's column kinds.
    cli = subprocess.run([sys.executable, "-I", str(tmp_path / "device" / "predict.py"),
                          "--input", str(rows_csv)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert printed["model"] == "diabetes" and printed["version"] == 1
    assert compare_outputs(want, printed["outputs"], None).max_diff <= 1e-5


def test_device_predictor_refuses_bad_input_and_damage(
        examples_registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "device"
    code, _, err = augur_here(examples_registry.home, capsys, monkeypatch, "export-edge", "iris",
                              "--target", "device", "--out", str(bundle))
    assert code == 0, err
    bad = tmp_path / "bad.csv"
    bad.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,abc,1.4,0.2\n")
    proc = subprocess.run([sys.executable, "-I", str(bundle / "predict.py"), "--input",
                           str(bad)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "'sepal_width': 'abc' is not a number" in proc.stderr
    model = bundle / "model.ort"
    model.write_bytes(model.read_bytes()[:-10] + b"0123456789")
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"sepal_length": 5.1, "sepal_width": 3.5,
                                 "petal_length": 1.4, "petal_width": 0.2}]))
    proc = subprocess.run([sys.executable, "-I", str(bundle / "predict.py"), "--input",
                           str(good)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "model.ort does not match its checksum" in proc.stderr
    code, _, err = augur_here(examples_registry.home, capsys, monkeypatch, "edge", "verify",
                              str(bundle))
    assert code == 2 and "does not match" in err


def test_parity_commands(examples_registry: Registry, rows_csv: Path,
                         capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = augur_here(examples_registry.home, capsys, monkeypatch, "edge", "parity",
                                "diabetes", "--data", str(rows_csv), "--target", "device",
                                "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["passed"] is True and report["rows"] == 80 and report["target"] == "device"
    assert report["max_diff"] <= 1e-5 and report["ref"] == "diabetes:1"
    require_chromium()
    web = augur(examples_registry.home, "edge", "parity", "diabetes@production", "--data",
                str(rows_csv), "--rows", "30")
    assert web.returncode == 0, web.stderr
    assert web.stdout.startswith("diabetes:1 on web: 30 rows") and "PASS" in web.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["export-edge", "nosuchmodel", "--target", "web", "--out", "{tmp}/x"], "nosuchmodel"),
    (["export-edge", "iris", "--target", "web", "--runtime", "webgl", "--out", "{tmp}/x"],
     "unknown onnxruntime-web backend 'webgl'"),
    (["edge", "parity", "iris", "--data", "{tmp}/missing.csv"], "does not exist"),
    (["edge", "parity", "iris", "--data", "{tmp}/rows.csv", "--rows", "0"], "--rows"),
    (["edge", "parity", "iris", "--data", "{tmp}/rows.csv", "--target", "web", "--quantize"],
     "quantize"),
    (["edge", "verify", "{tmp}"], "not an edge bundle"),
    (["export-edge", "iris", "--target", "web", "--validation", "{tmp}/rows.csv", "--out",
      "{tmp}/x"], "--validation and --max-quality-drop go with --quantize"),
    (["export-edge", "iris", "--target", "web", "--quantize", "--out", "{tmp}/x"],
     "nothing to quantize in iris:1"),
])
def test_user_mistakes_are_one_line_errors(examples_registry: Registry, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch,
                                           args: list[str], message: str) -> None:
    (tmp_path / "rows.csv").write_text("sepal_length,sepal_width,petal_length,petal_width\n"
                                       "5.1,3.5,1.4,0.2\n")
    code, _, err = augur_here(examples_registry.home, capsys, monkeypatch,
                              *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_tensor_models_on_devices(registry: Registry, tmp_path: Path) -> None:
    version = register_tensor_model(registry)
    assert not version.signature.columns
    bundle = export_bundle(version.ref, target="device", out=tmp_path / "d", registry=registry)
    arrays = {"x": [[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]], "k": [[1], [2]]}
    got = Predictor(bundle.path).predict_tensors(arrays)
    want = load(version.ref, registry=registry).predict(
        {k: np.asarray(v) for k, v in arrays.items()})
    np.testing.assert_allclose(got["y"], want["y"], atol=1e-6)
    with pytest.raises(BundleError, match="missing input"):
        Predictor(bundle.path).predict_tensors({"x": arrays["x"]})
    with pytest.raises(BundleError, match="dimension 1 must be 3"):
        Predictor(bundle.path).predict_tensors({"x": [[1.0, 2.0]], "k": [[1]]})
    with pytest.raises(BundleError, match="records"):
        Predictor(bundle.path).predict([{"x": 1}])
    report = check_parity(version.ref, arrays, target="device", registry=registry)
    assert report.passed and report.rows == 2


def test_edge_serve_command(examples_registry: Registry) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AUGUR_HOME": str(examples_registry.home)}
    proc = subprocess.Popen([sys.executable, "-m", "augur", "edge", "serve", "--port",
                             str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/edge/iris@production", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "augur edge serve did not start"
                time.sleep(0.2)
        assert page.status_code == 200 and "iris:1" in page.text
        assert page.headers["cross-origin-embedder-policy"] == "require-corp"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
