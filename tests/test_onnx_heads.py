"""ONNX export of the heads beyond classification, NER and QA: the masked-LM head's per-token
vocabulary logits (every architecture's own transformers head layout), passage ranking, and
a clear error for what gives no inference results (dense retrievers: test_onnx_dpr.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from farm.conversion.onnx_model import OnnxAdaptiveModel
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import BertLMHead, NextSentenceHead
from tests.deploy_helpers import task_model
from tests.farm_helpers import tokenize_batch
from tests.lm_helpers import make_lm_processor, make_mlm_dir
from tests.tiny_models import ARCHITECTURES

pytest.importorskip("onnxruntime")

TEXTS = ["Anna visited Paris", "the film was long and boring, and John left at night", "ok"]


# Three of the seven head layouts (all seven pass; the exports take ~7 s each): BERT's
# transform + tied decoder (with the next-sentence head), RoBERTa's lm_head (no segment
# ids), DistilBERT's vocab_transform / vocab_projector.
LM_ARCHITECTURES = ["bert", "roberta", "distilbert"]
assert set(LM_ARCHITECTURES) <= set(ARCHITECTURES)


@pytest.mark.parametrize("arch", LM_ARCHITECTURES)
def test_masked_lm_logits_match_pytorch(arch: str, tmp_path: Path) -> None:
    """A checkpoint's own masked-LM head (tied to the input embeddings) exports; ONNX
    Runtime's (batch, seq_len, vocab) logits are PyTorch's within 1e-4."""
    model_dir = make_mlm_dir(arch, tmp_path / arch)
    heads = [BertLMHead.load(model_dir)]
    output_types = ["per_token"]
    if arch == "bert":  # BERT pre-training's two heads together
        heads.append(NextSentenceHead.load(model_dir))
        output_types.append("per_sequence")
    model = AdaptiveModel(LanguageModel.load(model_dir), heads, 0.1,  # type: ignore[arg-type]
                          lm_output_types=output_types).eval()
    processor = make_lm_processor(model_dir, None, train_filename=None, test_filename=None)
    model.convert_to_onnx(tmp_path / "onnx", processor=processor)
    onnx_model = OnnxAdaptiveModel.load(tmp_path / "onnx")
    batch = tokenize_batch(model_dir, TEXTS)
    with torch.no_grad():
        expected = model(**batch)
    ours = onnx_model(**batch)
    assert ours[0].shape == (*batch["input_ids"].shape, heads[0].vocab_size)
    for mine, reference in zip(ours, expected, strict=True):
        assert float((mine - reference).abs().max()) <= 1e-4
    if arch == "bert":
        inferencer = Inferencer.load(tmp_path / "onnx", disable_tqdm=True)
        with pytest.raises(FarmError, match="BertLMHead makes no inference results"):
            inferencer.inference_from_dicts([{"text": "a sentence. another one."}])


def test_passage_ranking_export_ranks_as_pytorch(tiny_bert_dir: Path, tmp_path: Path) -> None:
    model, processor = task_model("passage_ranking", tiny_bert_dir)
    model.save(tmp_path / "torch")
    processor.save(tmp_path / "torch")
    model.convert_to_onnx(tmp_path / "onnx", processor=processor)
    dicts = [{"query": "how is the food in paris", "passages": [
        "the food in berlin is great", {"title": "paris", "text": "the food in paris"}]},
        {"query": "music in vienna", "passages": ["a concert", "the river", "a park"]}]
    ours = Inferencer.load(tmp_path / "onnx", disable_tqdm=True).inference_from_dicts(dicts)
    theirs = Inferencer.load(tmp_path / "torch", disable_tqdm=True).inference_from_dicts(dicts)
    rankings = [[(r["index"], r["text"]) for r in p["ranking"]]
                for result in (ours, theirs) for p in result[0]["predictions"]]
    assert rankings[:2] == rankings[2:]
    assert [r["score"] for p in ours[0]["predictions"] for r in p["ranking"]] == pytest.approx(
        [r["score"] for p in theirs[0]["predictions"] for r in p["ranking"]], abs=1e-4)
