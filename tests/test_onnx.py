"""ONNX export: every architecture and head, run by ONNX Runtime through Inferencer.load, with
the predictions PyTorch gives (logits within 1e-4, identical labels and spans).

One export per architecture, of a model with all four head types (the export is the slow
part: a few seconds each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from farm.conversion.onnx_model import OnnxAdaptiveModel
from farm.data_handler.processor import InferenceProcessor
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.embeddings import EmbeddingModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.tokenization import Tokenizer
from tests.deploy_helpers import (
    four_heads,
    ner_processor,
    perturbed_language_model,
    save_task_model,
)
from tests.farm_helpers import tokenize_batch
from tests.tiny_models import ARCHITECTURES, TinyModelFactory

pytest.importorskip("onnxruntime")

INPUTS = [
    "Anna visited Paris",
    "good movie with friends in paris today",
    "bad",
    "the film was long and boring, and John Smith left for London at night",
    "Rome",
]


def logits_difference(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


def compare_predictions(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    """Same labels and spans; numbers within 1e-4."""
    assert [r["task_name"] for r in ours] == [r["task_name"] for r in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        for p, q in zip(mine["predictions"], reference["predictions"], strict=True):
            if isinstance(q, list):  # NER: entity spans
                assert [(e["start"], e["end"], e["label"]) for e in p] == [
                    (e["start"], e["end"], e["label"]) for e in q]
                continue
            assert p.keys() == q.keys()
            for key, value in q.items():
                numeric = key in ("probability", "probabilities") and isinstance(value, list)
                if isinstance(value, float) or numeric:
                    assert p[key] == pytest.approx(value, abs=1e-4)
                else:
                    assert p[key] == value


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_export_runs_on_onnx_runtime_with_pytorchs_predictions(
    arch: str, tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    model_dir = tiny_model_factory(arch)
    model = AdaptiveModel(perturbed_language_model(model_dir), four_heads(),
                          embeds_dropout_prob=0.1).eval()
    processor = ner_processor(model_dir, max_seq_len=64)
    onnx_file = model.convert_to_onnx(tmp_path / "onnx", processor=processor)
    assert onnx_file.name == "model.onnx"
    meta = json.loads((tmp_path / "onnx" / "farm_model.json").read_text())
    assert meta["backend"] == "onnx"
    assert meta["outputs"] == ["logits_0", "logits_1", "logits_2", "logits_3"]

    onnx_model = OnnxAdaptiveModel.load(tmp_path / "onnx")
    for texts in (INPUTS[:1], INPUTS):  # batch sizes and lengths other than the traced ones
        batch = tokenize_batch(model_dir, texts)
        with torch.no_grad():
            expected = model(**batch)
        assert logits_difference(onnx_model(**batch), expected) <= 1e-4

    model.save(tmp_path / "torch")
    processor.save(tmp_path / "torch")
    torch_inferencer = Inferencer.load(tmp_path / "torch", return_class_probs=True,
                                       batch_size=2, disable_tqdm=True)
    onnx_inferencer = Inferencer.load(tmp_path / "onnx", return_class_probs=True,
                                      batch_size=2, disable_tqdm=True)
    assert isinstance(onnx_inferencer.model, OnnxAdaptiveModel)
    dicts = [{"text": t} for t in INPUTS]
    compare_predictions(onnx_inferencer.inference_from_dicts(dicts),
                        torch_inferencer.inference_from_dicts(dicts))


def test_embedding_model_exports(tiny_bert_dir: Path, tmp_path: Path) -> None:
    model = EmbeddingModel(LanguageModel.load(tiny_bert_dir), "reduce_mean")
    processor = InferenceProcessor(Tokenizer.load(tiny_bert_dir), max_seq_len=32)
    model.convert_to_onnx(tmp_path / "onnx", processor=processor)
    dicts = [{"text": t} for t in INPUTS]
    reference = Inferencer.load(tiny_bert_dir, task_type="embeddings",
                                extraction_strategy="reduce_mean", disable_tqdm=True)
    onnx_inferencer = Inferencer.load(tmp_path / "onnx", disable_tqdm=True)
    ours = [p["vec"] for r in onnx_inferencer.inference_from_dicts(dicts) for p in r["predictions"]]
    theirs = [p["vec"] for r in reference.inference_from_dicts(dicts) for p in r["predictions"]]
    assert logits_difference([torch.tensor(ours)], [torch.tensor(theirs)]) <= 1e-4

    onnx_inferencer.save(tmp_path / "copy")
    copy = Inferencer.load(tmp_path / "copy", disable_tqdm=True)
    assert copy.inference_from_dicts(dicts[:2]) == onnx_inferencer.inference_from_dicts(dicts[:2])
    with pytest.raises(FarmError, match="is an ONNX export; open it with Inferencer.load"):
        AdaptiveModel.load(tmp_path / "onnx")


def test_export_refuses_to_overwrite_a_saved_model(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Exporting into the folder of the saved PyTorch model would replace its
    farm_model.json and heads: refused before anything is written."""
    model_dir = save_task_model("text_classification", tiny_bert_dir, tmp_path / "model")
    before = {p.relative_to(model_dir): p.read_bytes() for p in model_dir.rglob("*")
              if p.is_file()}
    model = AdaptiveModel.load(model_dir)
    with pytest.raises(FarmError, match=r"holds a saved FARM model .* Export into another"):
        model.convert_to_onnx(model_dir)
    assert {p.relative_to(model_dir): p.read_bytes() for p in model_dir.rglob("*")
            if p.is_file()} == before
