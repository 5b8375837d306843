"""MiniLM with tokenization inside the graph: parity, BYTES input, int8 compression."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from augur.compression import compress
from augur.errors import InvalidInput
from augur.registry import Registry
from augur.runtime import load, load_bytes

pytestmark = pytest.mark.slow

VARIED = [
    "The cat sat on the mat.",
    "Quarterly revenue grew 12% year over year, beating analyst estimates.",
    "¿Dónde está la estación de tren?",
    "naïve café résumé ÉCOLE",
    "emoji 🙂 and symbols #hashtag @user",
    "a",
    "The mitochondria is the powerhouse of the cell, as every biology student learns.",
    "I can't believe it's not butter!",
]


@pytest.fixture(scope="module")
def minilm_registry(tmp_path_factory: pytest.TempPathFactory,
                    minilm_converted: Any) -> Registry:
    reg = Registry(tmp_path_factory.mktemp("minilm") / "home")
    reg.register("minilm", minilm_converted.onnx, minilm_converted.signature,
                 framework=minilm_converted.framework,
                 parity=minilm_converted.parity.to_dict())
    return reg


def _st_encode(sentences: list[str]) -> np.ndarray:
    from augur.convert.text import _load_sentence_transformer, minilm_path

    model = _load_sentence_transformer(minilm_path())
    return np.asarray(model.encode(sentences, normalize_embeddings=True))


def test_signature_takes_text_and_returns_embeddings(minilm_converted: Any) -> None:
    sig = minilm_converted.signature
    assert [(s.name, s.datatype, s.shape) for s in sig.inputs] == [("text", "BYTES", (-1,))]
    assert [(s.name, s.datatype, s.shape) for s in sig.outputs] == [
        ("embeddings", "FP32", (-1, 384))]
    assert sig.task == "embedding"
    assert sig.extra["preprocessing"]["boundary"] == ["input_ids", "attention_mask",
                                                      "token_type_ids"]
    assert minilm_converted.parity.passed


def test_parity_with_sentence_transformers_on_varied_text(minilm_converted: Any) -> None:
    long_text = " ".join(["word"] * 400)  # longer than max_seq_length: truncated alike
    sentences = [*VARIED, long_text]
    got = load_bytes(minilm_converted.onnx, minilm_converted.signature).run(
        {"text": np.array(sentences, dtype=object)})["embeddings"]
    want = _st_encode(sentences)
    cosine = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) *
                                            np.linalg.norm(want, axis=1))
    assert cosine.min() >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_batch_equals_one_by_one(minilm_registry: Registry) -> None:
    model = load("minilm", registry=minilm_registry)
    batch = model.predict(np.array(VARIED[:4], dtype=object))["embeddings"]
    for i, sentence in enumerate(VARIED[:4]):
        one = model.predict([sentence])["embeddings"]
        assert np.allclose(one[0], batch[i], atol=1e-5)


def test_served_through_the_runtime_with_a_bytes_input(minilm_registry: Registry) -> None:
    model = load("minilm", registry=minilm_registry)
    out = model.predict({"text": ["hello world", "good morning"]})["embeddings"]
    assert out.shape == (2, 384) and out.dtype == np.float32
    with pytest.raises(InvalidInput, match="rejected"):  # an empty batch is refused, not a crash
        model.predict({"text": np.array([], dtype=object)})
    with pytest.raises(InvalidInput, match="'text'"):
        model.predict({"text": np.array([[1.0, 2.0]])})
    with pytest.raises(InvalidInput, match=r"'text'.*dimensions"):
        model.predict({"text": np.array([["a", "b"]], dtype=object)})


def test_int8_dynamic_minilm(minilm_registry: Registry) -> None:
    result = compress("minilm:1", "quantize-dynamic", registry=minilm_registry,
                      validation=VARIED, max_quality_drop=0.05, measure_s=0.05)
    report = result.report
    assert report.original.size_bytes / report.compressed.size_bytes > 3.5
    assert report.quality["metric"] == "cosine" and report.quality["cosine"] > 0.98
    assert report.quality["rows"] == len(VARIED)
    # The compressed version still takes text: the tokenizer was carried over untouched.
    model = load(result.version.ref, registry=minilm_registry)
    assert model.signature.inputs == minilm_registry.get("minilm", 1).signature.inputs
    assert model.predict(["still works"])["embeddings"].shape == (1, 384)


def test_int8_static_minilm(minilm_registry: Registry) -> None:
    result = compress("minilm:1", "quantize-static", registry=minilm_registry,
                      calibration=VARIED * 2, validation=VARIED, measure_s=0.05)
    params = result.version.derivation["params"]
    assert params["format"] == "QDQ" and params["per_channel"] is True
    assert params["kept_float_after_gelu"] == 6  # one feed-forward output per layer
    assert result.report.quality["cosine"] > 0.97
