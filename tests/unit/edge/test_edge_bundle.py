"""Exporting bundles: their files, the runtime copy, quantization, and unusable folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from augur.convert import export
from augur.edge import export_bundle, find_web_runtime, verify_bundle
from augur.edge.device_predict import Predictor
from augur.edge.webruntime import ENV_VAR
from augur.errors import ConfigError, ExportFailed, ModelNotFound
from augur.examples import iris_frame
from augur.registry import Registry
from augur.runtime import load


def test_web_bundle_is_self_contained(examples_registry: Registry, tmp_path: Path) -> None:
    bundle = export_bundle("iris@production", target="web", out=tmp_path / "web",
                           registry=examples_registry)
    files = {str(p.relative_to(bundle.path)) for p in bundle.path.rglob("*") if p.is_file()}
    assert {"manifest.json", "model.onnx", "augur-edge.mjs", "index.html", "edge-page.mjs",
            "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.wasm",
            "ort/ort-wasm-simd-threaded.mjs"} <= files
    runtime = bundle.manifest["runtime"]
    assert runtime["base"] == "ort/" and runtime["backends"] == ["wasm"]
    assert runtime["prefer"] == "wasm"  # a forest gains nothing from a GPU
    assert runtime["version"] == find_web_runtime().version
    assert set(bundle.manifest["checksums"]) == files - {"manifest.json"}
    assert (bundle.path / "model.onnx").read_bytes() == examples_registry.read_artifact(
        examples_registry.resolve("iris"))
    assert '{"bundle": "./"}' in (bundle.path / "index.html").read_text()
    verify_bundle(bundle.path)


def test_web_bundle_without_runtime(examples_registry: Registry, tmp_path: Path) -> None:
    bundle = export_bundle("iris", target="web", out=tmp_path / "web", backends=(),
                           registry=examples_registry)
    assert not (bundle.path / "ort").exists()
    assert bundle.manifest["runtime"]["base"] is None
    assert bundle.size < 200_000


def test_bad_targets_backends_and_refs(examples_registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown edge target 'phone'"):
        export_bundle("iris", target="phone", out=tmp_path / "x", registry=examples_registry)
    with pytest.raises(ConfigError, match="unknown onnxruntime-web backend 'webgl'"):
        export_bundle("iris", target="web", out=tmp_path / "x", backends=("webgl",),
                      registry=examples_registry)
    with pytest.raises(ModelNotFound):
        export_bundle("nosuchmodel", target="web", out=tmp_path / "x",
                      registry=examples_registry)


def test_out_folder_rules(examples_registry: Registry, tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ExportFailed, match="not a folder"):
        export_bundle("iris", target="device", out=a_file, registry=examples_registry)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    with pytest.raises(ExportFailed, match="not an edge bundle"):
        export_bundle("iris", target="device", out=busy, registry=examples_registry)
    assert (busy / "notes.txt").read_text() == "keep me"
    # An earlier bundle is replaced whole: no stale file from the web bundle survives.
    out = tmp_path / "bundle"
    export_bundle("iris", target="web", out=out, backends=(), registry=examples_registry)
    export_bundle("iris", target="device", out=out, registry=examples_registry)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.ort", "predict.py"]


def test_quantized_device_bundle_of_a_network(registry: Registry, tmp_path: Path) -> None:
    from sklearn.neural_network import MLPClassifier

    X, y = iris_frame()
    mlp = MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=300, random_state=0).fit(X, y)
    version = export(mlp, "mlp", sample=X, registry=registry)
    bundle = export_bundle(version.ref, target="device", out=tmp_path / "q", quantize=True,
                           registry=registry, validation=X)
    q = bundle.manifest["quantization"]
    assert q["method"] == "quantize-dynamic" and q["params"]["weight_type"] == "QInt8"
    assert q["quantized_ops"] > 0 and q["size_after"] < q["size_before"]
    records = X.to_dict(orient="records")
    got = Predictor(bundle.path).predict(records)
    want = load(version.ref, registry=registry).predict(records)
    agree = float((got["label"] == want["label"]).mean())
    assert agree > 0.9
    assert np.abs(got["probabilities"] - want["probabilities"]).max() < 0.2
    # Dense layers: the web bundle brings WebGPU too, for browsers that have it.
    web = export_bundle(version.ref, target="web", out=tmp_path / "web", registry=registry)
    assert web.manifest["runtime"]["backends"] == ["wasm", "webgpu"]
    assert web.manifest["runtime"]["prefer"] == "webgpu"
    assert (web.path / "ort" / "ort.webgpu.min.mjs").is_file()


def test_missing_web_runtime_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"setup\.sh"):
        find_web_runtime({ENV_VAR: str(tmp_path / "nowhere")})


def test_only_runtime_files_are_servable() -> None:
    web = find_web_runtime()
    assert web.servable("ort.wasm.min.mjs") == web.dist / "ort.wasm.min.mjs"
    for name in ("../package.json", "ort.min.js.map", "ort.all.min.mjs", "", "/etc/passwd"):
        assert web.servable(name) is None
    assert web.backends()[0] == "wasm"


def _contrib_model() -> bytes:
    """A model whose Loop body calls an onnxruntime-extensions operator."""
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [helper.make_node("StringUpper", ["s_in"], ["s_out"], domain="ai.onnx.contrib"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_in", TensorProto.STRING, [-1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_out", TensorProto.STRING, [-1])])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "text"], ["upper"], body=body)], "g",
        [helper.make_tensor_value_info("text", TensorProto.STRING, [-1]),
         helper.make_tensor_value_info("n", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("upper", TensorProto.STRING, [-1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.contrib", 1)])
    return bytes(model.SerializeToString())


def test_models_with_extension_operators_are_refused(registry: Registry,
                                                     tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from augur.edge import routes
    from augur.edge.formats import check_edge_compatible
    from augur.http import exception_handlers
    from augur.signature import Signature, TensorSpec

    data = _contrib_model()
    with pytest.raises(ExportFailed, match=r"onnxruntime-extensions \(ai\.onnx\.contrib: "
                                           r"StringUpper\)"):
        check_edge_compatible(data)
    sig = Signature(inputs=(TensorSpec("text", "BYTES", (-1,)), TensorSpec("n", "INT64", ())),
                    outputs=(TensorSpec("upper", "BYTES", (-1,)),))
    registry.register("upper", data, sig)
    for target in ("web", "device"):
        with pytest.raises(ExportFailed, match="cannot run on the edge"):
            export_bundle("upper", target=target, out=tmp_path / target, registry=registry)
        assert not (tmp_path / target).exists()
    app = Starlette(routes=routes(registry), exception_handlers=exception_handlers())
    page = TestClient(app).get("/edge/upper")
    assert page.status_code == 422 and "onnxruntime-extensions" in page.json()["error"]

