"""Hugging Face conversion: FARM → transformers → FARM with identical outputs, per head and
architecture, checked against transformers' own ``AutoModelFor...`` classes."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import torch
from torch import Tensor
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    PreTrainedModel,
)

from farm.conversion.transformers import save_transformers
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.embeddings import EmbeddingModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import (
    MultiLabelTextClassificationHead,
    RegressionHead,
    TokenClassificationHead,
)
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.deploy_helpers import TAGS, TEXTS, four_heads, perturbed_language_model
from tests.farm_helpers import tokenize_batch
from tests.tiny_models import ARCHITECTURES, TinyModelFactory


def hf_logits(hf: PreTrainedModel, batch: dict[str, Tensor]) -> Tensor:
    """Logits of a Hugging Face model on a FARM batch."""
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["padding_mask"]}
    if "token_type_ids" in inspect.signature(hf.forward).parameters:
        inputs["token_type_ids"] = batch["segment_ids"]
    with torch.no_grad():
        return hf.eval()(**inputs).logits


def farm_outputs(model: AdaptiveModel, batch: dict[str, Tensor]) -> list[Tensor]:
    """Each head's logits; a regression head's predictions in the label scale."""
    with torch.no_grad():
        logits = model.eval()(**batch)
    outputs = []
    for head, head_logits in zip(model.heads, logits, strict=True):
        if isinstance(head, RegressionHead):
            head_logits = torch.tensor(head.unscale(head_logits)).view(-1, 1)
        outputs.append(head_logits)
    return outputs


def assert_close(ours: Tensor, theirs: Tensor, mask: Tensor | None = None) -> None:
    if mask is not None:  # per-token logits: compare the real tokens
        ours, theirs = ours[mask.bool()], theirs[mask.bool()]
    assert ours.shape == theirs.shape
    assert float((ours - theirs).abs().max()) <= 1e-4


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_head_round_trips_through_transformers(
    arch: str, tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    """FARM → save_pretrained → transformers' Auto classes give FARM's outputs, and the
    folders convert back to FARM models with the same outputs and labels."""
    model_dir = tiny_model_factory(arch)
    model = AdaptiveModel(perturbed_language_model(model_dir), four_heads(),
                          embeds_dropout_prob=0.1)
    batch = tokenize_batch(model_dir, TEXTS)
    expected = farm_outputs(model, batch)
    folders = save_transformers(model, tmp_path / "hf", tokenizer=Tokenizer.load(model_dir))
    assert [f.name for f in folders] == ["sentiment", "regression", "topics", "ner"]

    classes = [AutoModelForSequenceClassification] * 3 + [AutoModelForTokenClassification]
    problems = ["single_label_classification", "regression", "multi_label_classification",
                None]
    for i, (folder, auto_class) in enumerate(zip(folders, classes, strict=True)):
        hf = auto_class.from_pretrained(folder)
        assert hf.config.problem_type == problems[i]
        assert_close(expected[i], hf_logits(hf, batch), batch["padding_mask"] if i == 3 else None)
        head = model.heads[i]
        if head.label_list:
            assert hf.config.id2label == dict(enumerate(head.label_list))
            assert hf.config.label2id == {label: j for j, label in enumerate(head.label_list)}
        assert AutoTokenizer.from_pretrained(folder)(TEXTS[0])["input_ids"] == Tokenizer.load(
            model_dir)(TEXTS[0])["input_ids"]

        back = AdaptiveModel.convert_from_transformers(folder)
        (head_back,) = back.heads
        assert type(head_back) is type(head)
        assert head_back.task_name == head.task_name
        assert_close(farm_outputs(back, batch)[0], expected[i],
                     batch["padding_mask"] if i == 3 else None)
        if head.label_list:
            assert head_back.label_list == head.label_list
    assert model.heads[2].pred_threshold == AdaptiveModel.convert_from_transformers(
        folders[2]).heads[0].pred_threshold  # type: ignore[attr-defined]


@pytest.mark.parametrize(("arch", "activation"), [
    ("distilbert", "relu"), ("electra", "gelu"), ("deberta-v2", "relu"), ("deberta-v2", "gelu"),
])
def test_two_layer_heads_convert_where_the_architecture_has_a_hidden_layer(
    arch: str, activation: str, tiny_model_factory: TinyModelFactory
) -> None:
    """DistilBERT's pre_classifier, ELECTRA's dense+GELU and DeBERTa's ContextPooler hold a
    two-layer FARM head 1:1."""
    model_dir = tiny_model_factory(arch)
    heads = four_heads(layers=2, activation=activation)[:1]
    model = AdaptiveModel(perturbed_language_model(model_dir), heads, embeds_dropout_prob=0.1)
    batch = tokenize_batch(model_dir, TEXTS)
    (hf,) = model.convert_to_transformers()
    assert_close(farm_outputs(model, batch)[0], hf_logits(hf, batch))


def test_heads_without_an_exact_equivalent_are_refused(tiny_model_factory: TinyModelFactory
                                                       ) -> None:
    bert = LanguageModel.load(tiny_model_factory("bert"))
    model = AdaptiveModel(bert, four_heads(layers=2)[:1])
    with pytest.raises(FarmError, match=r"layer_dims \[32, 32, 3\] cannot be converted to "
                                        r"bert's.*layer_dims=\[hidden, n_labels\]"):
        model.convert_to_transformers()
    electra = LanguageModel.load(tiny_model_factory("electra"))
    model = AdaptiveModel(electra, four_heads(layers=2, activation="relu")[:1])
    with pytest.raises(FarmError, match="uses gelu between its two layers; this head uses relu"):
        model.convert_to_transformers()
    model = AdaptiveModel(bert, [TokenClassificationHead(layer_dims=[32, 16, 5])])
    with pytest.raises(FarmError, match="one linear layer on each token"):
        model.convert_to_transformers()


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert"])
def test_transformers_models_convert_to_farm(arch: str, tiny_model_factory: TinyModelFactory,
                                             tmp_path: Path) -> None:
    """A model made and saved by transformers itself (random head) gives the same logits
    as a FARM model and through Inferencer.load(hf_folder, task_type=...)."""
    model_dir = tiny_model_factory(arch)
    set_all_seeds(3)
    labels = {0: "neg", 1: "pos"}
    hf = AutoModelForSequenceClassification.from_pretrained(
        model_dir, id2label=labels, label2id={v: k for k, v in labels.items()})
    hf.save_pretrained(tmp_path / "hf")
    Tokenizer.load(model_dir).save_pretrained(tmp_path / "hf")
    batch = tokenize_batch(model_dir, TEXTS)
    expected = hf_logits(hf, batch)
    model = AdaptiveModel.convert_from_transformers(tmp_path / "hf", device="cpu",
                                                    task_type="text_classification")
    assert_close(farm_outputs(model, batch)[0], expected)
    inferencer = Inferencer.load(tmp_path / "hf", task_type="text_classification",
                                 disable_tqdm=True, return_class_probs=True)
    predictions = inferencer.inference_from_dicts([{"text": t} for t in TEXTS])[0]["predictions"]
    assert [p["label"] for p in predictions] == [labels[int(i)] for i in expected.argmax(-1)]
    probabilities = torch.tensor([p["probabilities"] for p in predictions])
    assert float((probabilities - expected.softmax(-1)).abs().max()) < 1e-5

    token_hf = AutoModelForTokenClassification.from_pretrained(
        model_dir, id2label=dict(enumerate(TAGS)))
    token_hf.save_pretrained(tmp_path / "hf_ner")
    model = AdaptiveModel.convert_from_transformers(tmp_path / "hf_ner", task_type="ner")
    assert_close(farm_outputs(model, batch)[0], hf_logits(token_hf, batch), batch["padding_mask"])
    assert model.heads[0].label_list == TAGS


def test_task_type_is_read_from_the_architecture_and_problem_type(
    tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    model_dir = tiny_model_factory("bert")
    AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=1).save_pretrained(tmp_path / "reg")
    assert isinstance(AdaptiveModel.convert_from_transformers(tmp_path / "reg").heads[0],
                      RegressionHead)
    AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=3, problem_type="multi_label_classification"
    ).save_pretrained(tmp_path / "multi")
    model = AdaptiveModel.convert_from_transformers(tmp_path / "multi",
                                                    task_type="text_classification")
    assert isinstance(model.heads[0], MultiLabelTextClassificationHead)
    with pytest.raises(FarmError, match="pass task_type= one of"):
        AdaptiveModel.convert_from_transformers(model_dir)
    with pytest.raises(FarmError, match="Did you mean 'ner'"):
        AdaptiveModel.convert_from_transformers(model_dir, task_type="nerr")


def test_embedding_model_converts_to_its_encoder(tiny_bert_dir: Path) -> None:
    model = EmbeddingModel(LanguageModel.load(tiny_bert_dir), "cls_token")
    (hf,) = model.convert_to_transformers()
    batch = tokenize_batch(tiny_bert_dir, TEXTS)
    reference = AutoModel.from_pretrained(tiny_bert_dir).eval()
    with torch.no_grad():
        ours = hf(input_ids=batch["input_ids"], attention_mask=batch["padding_mask"])
        theirs = reference(input_ids=batch["input_ids"], attention_mask=batch["padding_mask"])
    assert torch.equal(ours.last_hidden_state, theirs.last_hidden_state)


def test_converted_config_records_the_farm_head(tiny_bert_dir: Path, tmp_path: Path) -> None:
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), four_heads()[2:3])
    save_transformers(model, tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["farm_head"] == {"name": "MultiLabelTextClassificationHead",
                                   "task_name": "topics", "pred_threshold": 0.3}
    assert config["architectures"] == ["BertForSequenceClassification"]
