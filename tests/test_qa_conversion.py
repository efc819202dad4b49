"""Question answering heads to and from Hugging Face ``*ForQuestionAnswering`` models."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForQuestionAnswering

from farm.conversion.transformers import save_transformers
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.deploy_helpers import TEXTS, perturbed_language_model
from tests.farm_helpers import tokenize_batch
from tests.tiny_models import ARCHITECTURES, HIDDEN_SIZE, TinyModelFactory


def hf_span_logits(hf: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(batch, seq_len, 2): start and end logits of a Hugging Face QA model."""
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["padding_mask"]}
    if "token_type_ids" in inspect.signature(hf.forward).parameters:
        inputs["token_type_ids"] = batch["segment_ids"]
    with torch.no_grad():
        out = hf.eval()(**inputs)
    return torch.stack([out.start_logits, out.end_logits], dim=-1)


def close_on_real_tokens(ours: torch.Tensor, theirs: torch.Tensor, mask: torch.Tensor) -> None:
    real = mask.bool()
    assert ours.shape == theirs.shape
    assert float((ours[real] - theirs[real]).abs().max()) <= 1e-4


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_qa_head_round_trips_through_transformers(
    arch: str, tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    model_dir = tiny_model_factory(arch)
    set_all_seeds(5)
    head = QuestionAnsweringHead(layer_dims=[HIDDEN_SIZE, 2], task_name="qa_task", n_best=3,
                                 max_answer_length=12, no_ans_boost=-1.5,
                                 temperature_for_confidence=2.0)
    model = AdaptiveModel(perturbed_language_model(model_dir), [head],
                          lm_output_types=["per_token"], embeds_dropout_prob=0.1)
    batch = tokenize_batch(model_dir, TEXTS)
    with torch.no_grad():
        (expected,) = model.eval()(**batch)
    (folder,) = save_transformers(model, tmp_path / "hf", tokenizer=Tokenizer.load(model_dir))

    hf = AutoModelForQuestionAnswering.from_pretrained(folder)
    close_on_real_tokens(expected, hf_span_logits(hf, batch), batch["padding_mask"])

    back = AdaptiveModel.convert_from_transformers(folder)  # task from the architecture
    (head_back,) = back.heads
    assert isinstance(head_back, QuestionAnsweringHead)
    assert (head_back.task_name, head_back.n_best, head_back.max_answer_length) == (
        "qa_task", 3, 12)
    assert (head_back.no_ans_boost, head_back.temperature_for_confidence) == (-1.5, 2.0)
    with torch.no_grad():
        (logits_back,) = back.eval()(**batch)
    close_on_real_tokens(logits_back, expected, batch["padding_mask"])


def test_transformers_qa_model_answers_through_the_inferencer(
    tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    """A QA model made by transformers (random qa_outputs): the inferencer's best answer is
    the span that maximises start + end logit under transformers' own logits."""
    model_dir = tiny_model_factory("bert")
    set_all_seeds(11)
    hf = AutoModelForQuestionAnswering.from_pretrained(model_dir)
    hf.save_pretrained(tmp_path / "hf")
    tokenizer = Tokenizer.load(model_dir)
    tokenizer.save_pretrained(tmp_path / "hf")
    question, text = "where is it", "the film was long and boring today in paris"
    inferencer = Inferencer.load(tmp_path / "hf", task_type="question_answering",
                                 disable_tqdm=True, max_seq_len=128, doc_stride=32)
    (result,) = inferencer.inference_from_dicts([{"questions": [question], "text": text}])
    best = result["predictions"][0]["answers"][0]

    encoded = tokenizer(question, text, return_offsets_mapping=True, return_tensors="pt")
    with torch.no_grad():
        out = hf.eval()(input_ids=encoded["input_ids"],
                        attention_mask=encoded["attention_mask"],
                        token_type_ids=encoded["token_type_ids"])
    context = [i for i, s in enumerate(encoded.sequence_ids(0)) if s == 1]
    start, end = out.start_logits[0], out.end_logits[0]
    spans = [(float(start[i] + end[j]), i, j) for i in context for j in context
             if i <= j < i + 30]
    no_answer = float(start[0] + end[0])
    _, i, j = max(spans)
    offsets = encoded["offset_mapping"][0]
    if best["answer"] == "":  # the model prefers no answer
        assert no_answer >= max(spans)[0]
    else:
        assert (best["offset_answer_start"], best["offset_answer_end"]) == (
            int(offsets[i][0]), int(offsets[j][1]))
        assert text[best["offset_answer_start"]:best["offset_answer_end"]] == best["answer"]
