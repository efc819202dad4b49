"""ONNX export of extractive QA models, every architecture: ONNX Runtime's start/end logits
within 1e-4 of PyTorch's, and QAInferencer on the export gives the same answers, offsets
and scores (one question's passages spread over several samples and batches)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from farm.conversion.onnx_model import OnnxAdaptiveModel
from farm.data_handler.dataset import Collator
from farm.infer import Inferencer, QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.prediction_head import QuestionAnsweringHead
from tests.deploy_helpers import perturbed_language_model
from tests.qa_helpers import make_qa_processor
from tests.tiny_models import ARCHITECTURES, CORPUS, TinyModelFactory

pytest.importorskip("onnxruntime")

CONTEXT = " ".join(CORPUS[:12]) + " The answer is blorf.  Zoë met Anna 🚜 in Paris."
DICTS = [
    {"questions": ["what is the answer?", "who met Anna?"], "text": CONTEXT},
    {"questions": ["where is the office?"], "text": CORPUS[2]},
    {"qas": [{"question": "who visited Berlin?", "id": "m"}], "context": CORPUS[1]},
]


def qa_model(model_dir: Path) -> AdaptiveModel:
    head = QuestionAnsweringHead(layer_dims=[768, 2], n_best=4, no_ans_boost=-2.0)
    return AdaptiveModel(perturbed_language_model(model_dir), [head], embeds_dropout_prob=0.1,
                         lm_output_types=["per_token"]).eval()


def answers(results: list[dict[str, Any]]) -> list[list[tuple[str, int, int, str]]]:
    return [[(a["answer"], a["offset_answer_start"], a["offset_answer_end"], a["document_id"])
             for a in p["answers"]] for r in results for p in r["predictions"]]


def scores(results: list[dict[str, Any]]) -> list[float]:
    return [a[key] for r in results for p in r["predictions"] for a in p["answers"]
            for key in ("score", "probability")] + [
        p["no_ans_gap"] for r in results for p in r["predictions"]]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_qa_export_gives_pytorchs_answers(
    arch: str, tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    model_dir = tiny_model_factory(arch)
    model = qa_model(model_dir)
    processor = make_qa_processor(model_dir, None, train_filename=None, dev_filename=None,
                                  test_filename=None)
    model.convert_to_onnx(tmp_path / "onnx", processor=processor)
    meta = json.loads((tmp_path / "onnx" / "farm_model.json").read_text())
    assert meta["lm_output_types"] == ["per_token"]
    assert meta["tasks"][0]["head"] == "QuestionAnsweringHead"

    dataset = processor.dataset_from_dicts(DICTS, log_sample=False)[0]
    assert len(dataset) > len(DICTS) + 1  # the long context makes several passages
    batch = Collator(dataset.pad_values)([dataset[i] for i in range(len(dataset))])
    onnx_model = OnnxAdaptiveModel.load(tmp_path / "onnx")
    with torch.no_grad():
        (expected,) = model(**batch)
    (ours,) = onnx_model(**batch)
    assert ours.shape == expected.shape  # (passages, seq_len, 2)
    assert float((ours - expected).abs().max()) <= 1e-4

    model.save(tmp_path / "torch")
    processor.save(tmp_path / "torch")
    options: dict[str, Any] = {"max_seq_len": 64, "doc_stride": 16, "batch_size": 2,
                               "disable_tqdm": True}
    reference = QAInferencer.load(tmp_path / "torch", **options).inference_from_dicts(DICTS)
    onnx_inferencer = QAInferencer.load(tmp_path / "onnx", **options)
    assert isinstance(onnx_inferencer.model, OnnxAdaptiveModel)
    results = onnx_inferencer.inference_from_dicts(DICTS)
    assert len(results) == 4  # one result per question
    assert answers(results) == answers(reference)
    assert scores(results) == pytest.approx(scores(reference), abs=1e-4)
    for result, question_text in zip(results, [CONTEXT, CONTEXT, CORPUS[2], CORPUS[1]],
                                     strict=True):
        for answer in result["predictions"][0]["answers"]:
            start, end = answer["offset_answer_start"], answer["offset_answer_end"]
            assert question_text[start:end] == answer["answer"]
    plain = Inferencer.load(tmp_path / "onnx", **options).inference_from_dicts(DICTS)
    assert answers(plain) == answers(reference)
