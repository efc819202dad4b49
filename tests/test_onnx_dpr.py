"""ONNX export of a dense retriever (BiAdaptiveModel): one graph per encoder giving pooled
vectors; on ONNX Runtime the TextSimilarityInferencer gives PyTorch's vectors (within 1e-4),
rankings and retrievals, for separate and shared encoders and each pooling; the CLI exports
it, `farm predict` and the REST API run on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from farm.cli import EXIT_OK, main
from farm.conversion import onnx_export
from farm.conversion.onnx_model import OnnxAdaptiveModel, OnnxBiAdaptiveModel
from farm.data_handler.processors import TextSimilarityProcessor
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.infer_similarity import TextSimilarityInferencer
from farm.modeling.biadaptive_model import BiAdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads import TextSimilarityHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.deploy_helpers import NO_FILES
from tests.tiny_models import TinyModelFactory

pytest.importorskip("onnxruntime")

QUERIES = ["how is the food in paris", "music in vienna tonight, again and again", "ok"]
PASSAGES: list[str | dict[str, str]] = [
    "the food in berlin is great", {"title": "paris", "text": "the food in paris is great"},
    "a park", {"title": "vienna", "text": "a concert in vienna every year with friends"},
]
# Different numbers of passages per query: absent passages are padding in the batch.
RANKING_DICTS = [
    {"query": QUERIES[0], "passages": PASSAGES},
    {"query": QUERIES[1], "passages": PASSAGES[1:2]},
    {"query": QUERIES[2], "passages": PASSAGES[2:]},
]


def retriever(model_dir: Path, shared: bool, pooling: str, similarity: str
              ) -> tuple[BiAdaptiveModel, TextSimilarityProcessor]:
    """An untrained retriever; separate encoders get different weights, so that a query
    run through the passage graph (or the other way round) would be noticed."""
    set_all_seeds(0)
    query_lm = LanguageModel.load(model_dir)
    passage_lm = None
    if not shared:
        passage_lm = LanguageModel.load(model_dir)
        with torch.no_grad():
            for parameter in passage_lm.parameters():
                parameter.add_(0.05 * torch.randn_like(parameter))
    model = BiAdaptiveModel(query_lm, passage_lm,
                            [TextSimilarityHead(similarity_function=similarity)],
                            embeds_dropout_prob=0.1, pooling=pooling)
    tokenizer = Tokenizer.load(model_dir)
    processor = TextSimilarityProcessor(tokenizer, tokenizer, max_seq_len_query=24,
                                        max_seq_len_passage=48, **NO_FILES)
    return model.eval(), processor


def assert_same_results(ours: Any, theirs: Any, where: str = "result") -> None:
    """Equal structures; floats within 1e-4."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys(), where
        for key in theirs:
            assert_same_results(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_results(mine, reference, f"{where}[{i}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, abs=1e-4), where
    else:
        assert ours == theirs, where


# (architecture, shared encoder, pooling, similarity): DistilBERT and RoBERTa graphs take no
# segment ids; "pooled" reads the model's pooler.
CASES = [
    ("bert", False, "cls_token", "dot_product"),
    ("distilbert", True, "reduce_mean", "cosine"),
    ("roberta", False, "pooled", "dot_product"),
]


@pytest.mark.parametrize(("arch", "shared", "pooling", "similarity"), CASES)
def test_onnx_retriever_gives_pytorchs_vectors_and_rankings(
    arch: str, shared: bool, pooling: str, similarity: str,
    tiny_model_factory: TinyModelFactory, tmp_path: Path,
) -> None:
    model, processor = retriever(tiny_model_factory(arch), shared, pooling, similarity)
    model.save(tmp_path / "torch")
    processor.save(tmp_path / "torch")
    onnx_file = model.convert_to_onnx(tmp_path / "onnx", processor=processor)
    assert onnx_file == tmp_path / "onnx" / "query_encoder.onnx"
    assert (tmp_path / "onnx" / "passage_encoder.onnx").is_file() is not shared
    assert (tmp_path / "onnx" / "lm2").is_dir() is not shared
    meta = json.loads((tmp_path / "onnx" / "farm_model.json").read_text())
    assert (meta["backend"], meta["model"], meta["pooling"]) == (
        "onnx", "BiAdaptiveModel", pooling)

    ours = Inferencer.load(tmp_path / "onnx", batch_size=2, disable_tqdm=True)
    theirs = Inferencer.load(tmp_path / "torch", batch_size=2, disable_tqdm=True)
    assert isinstance(ours, TextSimilarityInferencer)
    assert isinstance(ours.model, OnnxBiAdaptiveModel)
    assert isinstance(theirs, TextSimilarityInferencer)
    assert ours.model.shared_encoder is shared

    query_vectors = ours.embed_queries(QUERIES)
    passage_vectors = ours.embed_passages(PASSAGES)
    reference_queries = theirs.embed_queries(QUERIES)
    reference_passages = theirs.embed_passages(PASSAGES)
    assert query_vectors.shape == (len(QUERIES), model.language_model1.hidden_size)
    assert float(np.abs(query_vectors - reference_queries).max()) <= 1e-4
    assert float(np.abs(passage_vectors - reference_passages).max()) <= 1e-4
    if not shared:  # the encoders differ, so each graph is checked against its own
        assert float(np.abs(theirs.embed_passages(list(QUERIES)) - reference_queries).max()
                     ) > 1e-3

    top = ours.retrieve(QUERIES, PASSAGES, top_k=3)
    reference_top = theirs.retrieve(QUERIES, PASSAGES, top_k=3)
    assert [[hit["index"] for hit in hits] for hits in top] == [
        [hit["index"] for hit in hits] for hits in reference_top]
    assert_same_results(top, reference_top)

    for dicts in (RANKING_DICTS, [{"query": q} for q in QUERIES],
                  [{"passages": PASSAGES[:2]}, {"passages": PASSAGES[3:]}]):
        assert_same_results(ours.inference_from_dicts(dicts),
                            theirs.inference_from_dicts(dicts))


def test_loading_the_wrong_kind_of_export_says_what_opens_it(
    tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, processor = retriever(tiny_bert_dir, True, "cls_token", "dot_product")
    model.convert_to_onnx(tmp_path / "onnx", processor=processor)
    with pytest.raises(FarmError, match=r"is an ONNX export; open it with Inferencer.load"):
        BiAdaptiveModel.load(tmp_path / "onnx")
    with pytest.raises(FarmError, match=r"an ONNX export of a BiAdaptiveModel; open it with "
                       r"OnnxBiAdaptiveModel.load or Inferencer.load"):
        OnnxAdaptiveModel.load(tmp_path / "onnx")
    with pytest.raises(FarmError, match="torch_compile applies to PyTorch models only"):
        Inferencer.load(tmp_path / "onnx", torch_compile=True)
    single = tmp_path / "single"
    single.mkdir()
    (single / "farm_model.json").write_text(json.dumps({"backend": "onnx"}))
    with pytest.raises(FarmError, match=r"an ONNX export of a AdaptiveModel; open it with "
                       r"OnnxAdaptiveModel.load"):
        OnnxBiAdaptiveModel.load(single)

    # Exporting into the saved PyTorch model's folder would overwrite it: refused.
    model.save(tmp_path / "torch")
    saved = sorted(p.name for p in (tmp_path / "torch").rglob("*"))
    with pytest.raises(FarmError, match=r"holds a saved FARM model .* Export into another"):
        model.convert_to_onnx(tmp_path / "torch", processor=processor)
    assert sorted(p.name for p in (tmp_path / "torch").rglob("*")) == saved

    # The check after the export compares each graph with PyTorch and names the encoder.
    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)
    with pytest.raises(FarmError, match="The ONNX export of the query encoder differs from "
                       "PyTorch"):
        model.convert_to_onnx(tmp_path / "again", processor=processor)


def test_cli_exports_a_retriever_that_the_api_serves(tiny_bert_dir: Path,
                                                     tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from farm.serve import create_app

    model, processor = retriever(tiny_bert_dir, False, "cls_token", "dot_product")
    model.save(tmp_path / "torch")
    processor.save(tmp_path / "torch")
    assert main(["-q", "export-onnx", str(tmp_path / "torch"), str(tmp_path / "onnx")]
                ) == EXIT_OK
    assert (tmp_path / "onnx" / "passage_encoder.onnx").is_file()
    # A shared encoder exported into the same folder leaves no passage graph behind.
    shared, _ = retriever(tiny_bert_dir, True, "cls_token", "dot_product")
    shared.save(tmp_path / "shared")
    processor.save(tmp_path / "shared")
    assert main(["-q", "export-onnx", str(tmp_path / "shared"), str(tmp_path / "onnx")]
                ) == EXIT_OK
    assert not (tmp_path / "onnx" / "passage_encoder.onnx").exists()
    assert not (tmp_path / "onnx" / "lm2").exists()
    assert OnnxBiAdaptiveModel.load(tmp_path / "onnx").shared_encoder

    with TestClient(create_app([tmp_path / "onnx", tmp_path / "shared"], batch_size=2),
                    base_url="http://localhost") as client:
        models = client.get("/models").json()
        assert [(m["backend"], m["task"], m["form"]["name"]) for m in models] == [
            ("onnx", "text_similarity", "retrieval"),
            ("pytorch", "text_similarity", "retrieval")]
        for request in (RANKING_DICTS, [{"query": q} for q in QUERIES],
                        [{"passages": PASSAGES}]):
            answers = [client.post(f"/models/{i}/inference", json={"input": request})
                       for i in (1, 2)]
            assert all(a.status_code == 200 for a in answers), answers[0].text
            assert_same_results(answers[0].json(), answers[1].json())

    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps(d) + "\n" for d in RANKING_DICTS))
    for name in ("onnx", "shared"):
        assert main(["-q", "predict", str(tmp_path / name), str(inputs), "--output",
                     str(tmp_path / f"{name}.json")]) == EXIT_OK
    predicted = [json.loads((tmp_path / f"{name}.json").read_text())
                 for name in ("onnx", "shared")]
    assert [len(r["predictions"]) for r in predicted[0]] == [len(RANKING_DICTS)]
    assert_same_results(*predicted)
