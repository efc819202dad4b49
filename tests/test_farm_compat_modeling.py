"""FARM 0.8's modeling and training API on the one-wrapper design: per-architecture classes,
FARM's argument names and values, and the one-time warnings for arguments without effect."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from farm.compat import log_once
from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel, BaseAdaptiveModel
from farm.modeling.language_model import (
    Bert,
    DistilBert,
    LanguageModel,
    Roberta,
    WordEmbedding_LM,
)
from farm.modeling.optimization import (
    AMP_AVAILABLE,
    get_scheduler,
    initialize_optimizer,
    optimize_model,
)
from farm.modeling.optimizers import AdamWWithoutBiasCorrection
from farm.modeling.prediction_head import (
    NextSentenceHead,
    PredictionHead,
    QuestionAnsweringHead,
    RegressionHead,
    TextClassificationHead,
    TokenClassificationHead,
)
from tests.farm_helpers import make_model, make_processor, make_trainer, write_separable_data
from tests.tiny_models import TinyModelFactory


@pytest.fixture
def farm_warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures farm.compat's warnings, forgetting which were already given."""
    from farm import compat

    compat._warned.clear()
    caplog.set_level(logging.WARNING, logger="farm.compat")
    return caplog


def test_warn_once_logs_each_key_once(farm_warnings: pytest.LogCaptureFixture) -> None:
    for _ in range(3):
        log_once("k1", "first")
    log_once("k2", "second")
    assert [r.getMessage() for r in farm_warnings.records] == ["first", "second"]


# ---------------------------------------------------------------- language models

def test_architecture_classes_load_through_the_one_wrapper(
        tiny_model_factory: TinyModelFactory, farm_warnings: pytest.LogCaptureFixture) -> None:
    roberta_dir = tiny_model_factory("roberta")
    lm = Roberta.load(roberta_dir)
    assert isinstance(lm, Roberta) and isinstance(lm, LanguageModel)
    assert lm.config.model_type == "roberta" and not farm_warnings.records
    ids = torch.tensor([[0, 5, 6, 2]])
    sequence, pooled = lm(input_ids=ids, padding_mask=torch.ones_like(ids))
    assert sequence.shape == (1, 4, lm.hidden_size)
    wrong = Bert.load(roberta_dir)  # FARM's class name does not decide the architecture
    assert wrong.config.model_type == "roberta"
    assert "Bert.load" in farm_warnings.text and "'roberta'" in farm_warnings.text
    assert LanguageModel.get_language_model_class(roberta_dir) == "Roberta"
    assert LanguageModel.get_language_model_class(tiny_model_factory("deberta-v2")) == (
        "LanguageModel")
    assert isinstance(DistilBert.load(tiny_model_factory("distilbert")), DistilBert)


def test_get_language_model_class_reads_the_config_never_the_name(tmp_path: Path) -> None:
    with pytest.raises(FarmError, match="does not guess"):
        LanguageModel.get_language_model_class(tmp_path / "bert-base-cased")


def test_language_model_class_argument_is_accepted_with_a_warning(
        tiny_bert_dir: Path, farm_warnings: pytest.LogCaptureFixture) -> None:
    rows = LanguageModel.load(tiny_bert_dir).model.get_input_embeddings().weight.shape[0]
    lm = LanguageModel.load(tiny_bert_dir, language_model_class="Roberta", n_added_tokens=2)
    assert "language_model_class" in farm_warnings.text
    assert lm.model.get_input_embeddings().weight.shape[0] == rows + 2


def test_word_embedding_models_raise_with_the_replacement() -> None:
    with pytest.raises(FarmError, match="extraction_strategy='reduce_mean'"):
        WordEmbedding_LM.load("glove-german-uncased")
    from farm.modeling.language_model import EmbeddingModel

    with pytest.raises(FarmError, match="word-embedding"):
        EmbeddingModel()


def test_freeze_stops_training_the_lower_layers(tiny_bert_dir: Path) -> None:
    lm = LanguageModel.load(tiny_bert_dir)
    lm.freeze(layers=1)
    frozen = {n for n, p in lm.model.named_parameters() if not p.requires_grad}
    assert frozen and all("embeddings" in n or ".layer.0." in n for n in frozen)
    assert any(".layer.0." in n for n in frozen)
    assert all(p.requires_grad for n, p in lm.model.named_parameters() if ".layer.1." in n)
    lm.freeze()
    assert not any(p.requires_grad for p in lm.parameters())
    lm.unfreeze()
    assert all(p.requires_grad for p in lm.parameters())


def test_hidden_states_switch_and_farm_extraction_attributes(tiny_bert_dir: Path) -> None:
    lm = LanguageModel.load(tiny_bert_dir).eval()
    ids = torch.tensor([[2, 7, 8, 9, 3]])
    assert len(lm(input_ids=ids)) == 2
    lm.enable_hidden_states_output()
    outputs = lm(input_ids=ids)
    assert len(outputs) == 3 and len(outputs[2]) == lm.config.num_hidden_layers + 1
    lm.disable_hidden_states_output()
    assert len(lm(input_ids=ids)) == 2
    lm.extraction_strategy, lm.extraction_layer = "reduce_mean", -2
    vectors = lm.formatted_preds(input_ids=ids, padding_mask=torch.ones_like(ids))
    expected = lm(input_ids=ids, output_hidden_states=True)[2][-2].mean(dim=1)[0]
    assert vectors[0]["vec"].shape == (lm.get_output_dims(),)
    torch.testing.assert_close(torch.from_numpy(vectors[0]["vec"]), expected)


# ---------------------------------------------------------------- heads

def test_farm_output_type_names_are_accepted(tiny_bert_dir: Path) -> None:
    lm = LanguageModel.load(tiny_bert_dir)
    model = AdaptiveModel(lm, [RegressionHead(layer_dims=[768, 1])], 0.1,
                          lm_output_types=["per_sequence_continuous"], device="cpu")
    assert model.lm_output_types == ["per_sequence"]
    model = AdaptiveModel(lm, [QuestionAnsweringHead()], 0.1,
                          lm_output_types="per_token_squad", device="cpu")
    assert model.lm_output_types == ["per_token"]


def test_one_output_type_string_for_several_heads_takes_each_heads_own(
        tiny_bert_dir: Path, farm_warnings: pytest.LogCaptureFixture) -> None:
    heads = [TextClassificationHead(num_labels=3),
             TokenClassificationHead(num_labels=3, task_name="ner")]
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), heads, 0.1,
                          lm_output_types="per_token", device="cpu")
    assert model.lm_output_types == ["per_sequence", "per_token"]
    assert "does not fit every head" in farm_warnings.text
    ids = torch.tensor([[2, 7, 8, 3]])
    logits = model(input_ids=ids, padding_mask=torch.ones_like(ids))
    assert logits[0].shape == (1, 3) and logits[1].shape == (1, 4, 3)


def test_prediction_head_create_and_load_without_weights(tmp_path: Path) -> None:
    head = PredictionHead.create("TextClassificationHead", layer_dims=[16, 3],
                                 class_weights=[1.0, 2.0, 1.0])
    assert isinstance(head, TextClassificationHead) and head.class_weights == [1.0, 2.0, 1.0]
    assert head.model_type == "text_classification"
    with pytest.raises(FarmError, match="Did you mean 'RegressionHead'"):
        PredictionHead.create("RegresionHead", layer_dims=[16, 1])
    head.save(tmp_path)
    config = tmp_path / "prediction_head_0_config.json"
    same = PredictionHead.load(config)
    fresh = PredictionHead.load(config, load_weights=False)
    x = torch.randn(2, 16)
    assert torch.equal(same(x), head(x)) and not torch.equal(fresh(x), head(x))


def test_task_heads_load_from_a_hugging_face_model(
        tiny_model_factory: TinyModelFactory) -> None:
    folder = tiny_model_factory("bert", num_labels=3)
    head = TextClassificationHead.load(folder)
    assert isinstance(head, TextClassificationHead) and head.num_labels == 3
    with pytest.raises(FarmError, match="cannot be taken from a Hugging Face model"):
        PredictionHead.load(folder)


def test_loss_reduction_is_accepted_and_has_no_effect(
        farm_warnings: pytest.LogCaptureFixture) -> None:
    head = TextClassificationHead(num_labels=2, loss_reduction="mean")
    assert "loss_reduction" in farm_warnings.text
    logits = torch.randn(4, 2)
    loss = head.logits_to_loss(logits, text_classification_label_ids=torch.tensor([0, 1, 1, 0]))
    assert loss.shape == (4,)
    with pytest.raises(ValueError, match="loss_reduction"):
        TextClassificationHead(num_labels=2, loss_reduction="avg")


def test_next_sentence_head_takes_num_labels() -> None:
    assert NextSentenceHead(num_labels=2).num_labels == 2
    with pytest.raises(ValueError, match="2 labels"):
        NextSentenceHead(num_labels=3)


def test_qa_temperature_is_a_parameter_that_takes_floats(tmp_path: Path) -> None:
    head = QuestionAnsweringHead(layer_dims=[16, 2], temperature_for_confidence=1.5)
    assert isinstance(head.temperature_for_confidence, torch.nn.Parameter)
    assert not head.temperature_for_confidence.requires_grad
    assert float(head.temperature_for_confidence) == 1.5
    head.temperature_for_confidence = 2.0  # a float, as FARM's users assign it
    assert isinstance(head.temperature_for_confidence, torch.nn.Parameter)
    assert head.temperature == 2.0
    head.temperature_for_confidence = torch.nn.Parameter(torch.ones(1) * 3.0)  # FARM's way
    assert head.temperature == 3.0
    with pytest.raises(ValueError, match="positive"):
        head.temperature_for_confidence = 0.0
    head.save(tmp_path)
    loaded = PredictionHead.load(tmp_path / "prediction_head_0_config.json")
    assert isinstance(loaded, QuestionAnsweringHead) and loaded.temperature == 3.0
    # A head saved before the temperature was a parameter has it in its config only.
    weights = tmp_path / "prediction_head_0.safetensors"
    state = load_file(str(weights))
    del state["temperature_for_confidence"]
    save_file(state, str(weights))
    old = PredictionHead.load(tmp_path / "prediction_head_0_config.json", strict=True)
    assert isinstance(old, QuestionAnsweringHead) and old.temperature == 3.0


# ---------------------------------------------------------------- adaptive model

def test_adaptive_model_load_takes_farm_arguments(
        tiny_bert_dir: Path, tmp_path: Path, farm_warnings: pytest.LogCaptureFixture) -> None:
    model = make_model(tiny_bert_dir)
    model.save(tmp_path / "model")
    processor = make_processor(tiny_bert_dir, write_separable_data(tmp_path / "data"))
    loaded = AdaptiveModel.load(tmp_path / "model", "cpu", lm_name="bert", processor=processor)
    assert "lm_name" in farm_warnings.text
    assert loaded.heads[0].label_list == processor.tasks["text_classification"]["label_list"]
    assert loaded.get_language() == model.get_language()
    assert isinstance(BaseAdaptiveModel.load(tmp_path / "model"), AdaptiveModel)
    vocab = loaded.language_model.model.get_input_embeddings().weight.shape[0]
    loaded.verify_vocab_size(vocab)
    with pytest.raises(FarmError, match="n_added_tokens=1"):
        loaded.verify_vocab_size(vocab + 1)
    ids = torch.tensor([[2, 7, 3]])
    sequence, pooled = loaded.forward_lm(input_ids=ids)
    assert sequence.shape[:2] == (1, 3)
    logits = loaded(input_ids=ids)
    label = {"text_classification_label_ids": torch.tensor([[1]])}
    per_head = loaded.logits_to_loss_per_head(logits, **label)
    torch.testing.assert_close(per_head[0], loaded.logits_to_loss(logits, **label))


# ---------------------------------------------------------------- optimization and training

def test_adamw_without_bias_correction_follows_its_formula() -> None:
    torch.manual_seed(0)
    param = torch.nn.Parameter(torch.randn(5))
    start = param.detach().clone()
    optimizer = AdamWWithoutBiasCorrection([param], lr=0.1, betas=(0.9, 0.99), eps=1e-6,
                                           weight_decay=0.01)
    grads = [torch.randn(5), torch.randn(5)]
    m, v, p = torch.zeros(5), torch.zeros(5), start.clone()
    for grad in grads:
        param.grad = grad.clone()
        optimizer.step()
        m = 0.9 * m + 0.1 * grad
        v = 0.99 * v + 0.01 * grad * grad
        p = p - 0.1 * m / (v.sqrt() + 1e-6)
        p = p - 0.1 * 0.01 * p
    torch.testing.assert_close(param.detach(), p)
    reference = torch.nn.Parameter(start.clone())
    corrected = torch.optim.AdamW([reference], lr=0.1, betas=(0.9, 0.99), eps=1e-6,
                                  weight_decay=0.01)
    for grad in grads:
        reference.grad = grad.clone()
        corrected.step()
    assert not torch.allclose(reference.detach(), param.detach())  # the correction differs


def test_farm_optimizer_options_choose_the_update(tiny_bert_dir: Path) -> None:
    opts = {"name": "TransformersAdamW", "correct_bias": False, "weight_decay": 0.01}
    _, optimizer, _ = initialize_optimizer(make_model(tiny_bert_dir), 4, 1, "cpu", 1e-3,
                                           optimizer_opts=opts)
    assert isinstance(optimizer, AdamWWithoutBiasCorrection)
    assert opts["correct_bias"] is False  # the caller's dict is left alone
    _, optimizer, _ = initialize_optimizer(make_model(tiny_bert_dir), 4, 1, "cpu", 1e-3,
                                           optimizer_opts={"name": "TransformersAdamW",
                                                           "correct_bias": True})
    assert type(optimizer) is torch.optim.AdamW
    with pytest.raises(FarmError, match="correct_bias"):
        initialize_optimizer(make_model(tiny_bert_dir), 4, 1, "cpu", 1e-3,
                             optimizer_opts={"name": "SGD", "correct_bias": False})
    assert AMP_AVAILABLE is True


def test_get_scheduler_and_optimize_model(tiny_bert_dir: Path) -> None:
    model = make_model(tiny_bert_dir)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1.0)
    opts = {"name": "LinearWarmup", "warmup_proportion": 0.5, "num_training_steps": 4}
    schedule = get_scheduler(optimizer, opts)
    assert schedule is not None and "name" in opts
    rates = []
    for _ in range(4):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates == pytest.approx([0.0, 0.5, 1.0, 0.5])
    with pytest.raises(ValueError, match="num_training_steps"):
        get_scheduler(optimizer, {"name": "LinearWarmup"})
    same, same_optimizer = optimize_model(model, "cpu", local_rank=-1, optimizer=optimizer)
    assert same is model and same_optimizer is optimizer


def test_trainer_starts_where_from_epoch_and_from_step_say(tiny_bert_dir: Path,
                                                           tmp_path: Path) -> None:
    from farm.data_handler.data_silo import DataSilo

    processor = make_processor(tiny_bert_dir, write_separable_data(tmp_path / "data"),
                               dev_split=0.0)
    silo = DataSilo(processor, batch_size=8)
    n_batches = len(silo.loaders["train"])
    trainer = make_trainer(make_model(tiny_bert_dir), silo, epochs=2, from_epoch=1,
                           from_step=n_batches - 1, global_step=10)
    trainer.train()
    assert trainer.global_step == 11  # one batch of the second epoch was left
    with pytest.raises(ValueError, match="negative"):
        make_trainer(make_model(tiny_bert_dir), silo, from_step=-1)


def test_adamw_without_bias_correction_trains(tiny_bert_dir: Path) -> None:
    """The AdamW variant trains: a few steps lower the loss of a batch."""
    model = make_model(tiny_bert_dir)
    _, optimizer, _ = initialize_optimizer(
        model, 10, 1, "cpu", 1e-3, optimizer_opts={"name": "TransformersAdamW",
                                                   "correct_bias": False},
        schedule_opts={"name": None})
    ids = torch.tensor([[2, 7, 8, 3], [2, 9, 10, 3]])
    labels = {"text_classification_label_ids": torch.tensor([[0], [1]])}
    losses = []
    for _ in range(5):
        loss = model.logits_to_loss(model(input_ids=ids), **labels).mean()
        losses.append(float(loss))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]


def test_lm_head_decoder_is_tied_to_the_input_embeddings(tiny_bert_dir: Path) -> None:
    from farm.modeling.prediction_head import BertLMHead

    lm = LanguageModel.load(tiny_bert_dir)
    head = BertLMHead.load(tiny_bert_dir)
    AdaptiveModel(lm, [head], 0.1, lm_output_types=["per_token"], device="cpu")
    embeddings = lm.model.get_input_embeddings().weight
    assert head.decoder.weight.shape == embeddings.shape
    assert head.decoder.weight.data_ptr() == embeddings.data_ptr()


def test_dpr_encoder_classes_load_dpr_folders_and_plain_encoders(
        tiny_bert_dir: Path, tmp_path: Path) -> None:
    from farm.modeling import dpr_conversion
    from farm.modeling.language_model import DPRContextEncoder, DPRQuestionEncoder

    bert = LanguageModel.load(tiny_bert_dir)
    dpr = dpr_conversion.to_transformers(bert, "query", "cls_token")
    dpr.save_pretrained(tmp_path / "dpr_question")
    loaded = DPRQuestionEncoder.load(tmp_path / "dpr_question")
    assert isinstance(loaded, DPRQuestionEncoder) and loaded.config.model_type == "bert"
    for name, param in bert.model.named_parameters():
        if not name.startswith("pooler."):
            torch.testing.assert_close(dict(loaded.model.named_parameters())[name], param)
    assert isinstance(DPRContextEncoder.load(tiny_bert_dir), DPRContextEncoder)
    make_model(tiny_bert_dir).save(tmp_path / "farm")  # a saved FARM model loads too
    assert DPRContextEncoder.load(tmp_path / "farm").config.model_type == "bert"
