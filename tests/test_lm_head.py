"""BertLMHead and NextSentenceHead: the head contract, transformers' own outputs as the
reference, tied weights across save/load, added tokens, and errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import Tensor
from transformers import AutoModelForMaskedLM, BertForNextSentencePrediction, GPT2Config

from farm.data_handler.data_silo import DataSilo
from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import BertLMHead, NextSentenceHead, PredictionHead
from farm.modeling.prediction_heads.lm import IGNORE
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.farm_helpers import make_trainer, tokenize_batch
from tests.lm_helpers import build_masked_lm, make_lm_processor, make_mlm_dir, write_lm_data
from tests.test_heads import TEXTS, HeadContract
from tests.tiny_models import ARCHITECTURES, SEED, TinyModelFactory, build_config, build_tokenizer


def mask_labels(batch: dict[str, Tensor]) -> Tensor:
    """``(batch, seq_len)`` labels: every third real token (not the first or last) is to be
    predicted."""
    ids = batch["input_ids"]
    labels = torch.full_like(ids, IGNORE)
    for row in range(ids.shape[0]):
        n = int(batch["padding_mask"][row].sum())
        labels[row, 1 : n - 1 : 3] = ids[row, 1 : n - 1 : 3]
    return labels


def embedding_of(model: AdaptiveModel) -> Tensor:
    return model.language_model.model.get_input_embeddings().weight


def decoder_of(head: BertLMHead) -> Tensor:
    """The head's weight that the architecture ties to the input embeddings."""
    target = next(t for t, s in head.tied_weights.items() if s == "input_embeddings")
    path, _, attr = target.rpartition(".")
    return getattr(head.masked_lm.get_submodule(path), attr)


class TestBertLMHead(HeadContract):
    """BertLMHead passes the contract every head inherits (on each architecture's head)."""

    head_class = BertLMHead

    def make_head(self) -> PredictionHead:
        return BertLMHead(hidden_size=32, vocab_size=100)

    def make_model(self, model_dir: Path) -> AdaptiveModel:
        set_all_seeds(0)
        self.vocab_size = len(Tokenizer.load(model_dir))
        return AdaptiveModel(LanguageModel.load(model_dir), [BertLMHead.load(model_dir)],
                             embeds_dropout_prob=0.1, device="cpu")

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return {"lm_label_ids": mask_labels(batch)}

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        return (int((batch["lm_label_ids"] != IGNORE).sum()), self.vocab_size)

    def test_every_trainable_parameter_gets_a_gradient(self, model_dir: Path) -> None:
        """All but the pooler (the LM head reads per-token vectors); the input embeddings
        also through the tied decoder."""
        model = self.make_model(model_dir)
        model.train()
        batch = self.make_batch(model_dir)
        model.logits_to_loss(model(**batch), **batch).mean().backward()
        missing = [name for name, param in model.named_parameters()
                   if param.requires_grad and (param.grad is None or not param.grad.abs().sum())]
        assert all(".pooler." in name for name in missing), missing
        grad = embedding_of(model).grad
        assert grad is not None
        unused = torch.ones(grad.shape[0], dtype=torch.bool)
        unused[batch["input_ids"].unique()] = False
        assert grad[unused].abs().sum() > 0  # rows of tokens not in the input: the decoder


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_logits_and_loss_equal_transformers_masked_lm(arch: str, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A checkpoint with a masked-LM head: FARM's language model + BertLMHead give exactly
    the logits and loss of transformers' AutoModelForMaskedLM."""
    model_dir = make_mlm_dir(arch, tmp_path / arch)
    reference = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    with caplog.at_level(logging.INFO):
        head = BertLMHead.load(model_dir)
    assert "Loaded the masked-LM head" in caplog.text
    model = AdaptiveModel(LanguageModel.load(model_dir), [head], 0.1, device="cpu").eval()
    batch = tokenize_batch(model_dir, TEXTS)
    labels = mask_labels(batch)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["padding_mask"]}
    with torch.no_grad():
        expected = reference(**inputs, labels=labels)
        full = model(**batch)[0]  # (batch, seq_len, vocab)
        masked = model(**batch, lm_label_ids=labels)[0]  # (n_masked, vocab)
        loss = model.logits_to_loss([masked], lm_label_ids=labels)  # (batch,)
    torch.testing.assert_close(full, expected.logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(masked, expected.logits[labels != IGNORE], rtol=0, atol=1e-5)
    torch.testing.assert_close(loss.mean(), expected.loss, rtol=1e-6, atol=1e-6)
    assert decoder_of(head) is embedding_of(model)


def test_deberta_v2_head_that_reads_the_embeddings_itself(tmp_path: Path) -> None:
    """DeBERTa-v2's newer head (legacy=False) takes the encoder's embeddings in its forward
    instead of a tied decoder; it works the same way."""
    model_dir = make_mlm_dir("deberta-v2", tmp_path / "deberta", legacy=False)
    reference = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    head = BertLMHead.load(model_dir)
    assert head.tied_weights == {}
    model = AdaptiveModel(LanguageModel.load(model_dir), [head], 0.0, device="cpu").eval()
    batch = tokenize_batch(model_dir, TEXTS)
    with torch.no_grad():
        expected = reference(input_ids=batch["input_ids"], attention_mask=batch["padding_mask"])
        got = model(**batch)[0]
    torch.testing.assert_close(got, expected.logits, rtol=0, atol=1e-5)


def test_model_without_masked_lm_head_gets_a_new_one(tiny_model_factory: TinyModelFactory,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """As for sentence-embedding models such as MiniLM: the head is initialised as
    transformers initialises it (LayerNorm 1, output bias 0)."""
    model_dir = tiny_model_factory("bert")
    with caplog.at_level(logging.INFO):
        head = BertLMHead.load(model_dir)
    assert "has no masked-LM head: a new BertForMaskedLM head" in caplog.text
    state = head.state_dict()
    assert (state["masked_lm.cls.predictions.bias"] == 0).all()
    assert (state["masked_lm.cls.predictions.transform.LayerNorm.weight"] == 1).all()
    assert "masked_lm.cls.predictions.decoder.weight" not in state


@pytest.mark.parametrize("arch", ["bert", "distilbert", "electra"])
def test_decoder_stays_tied_through_training_save_and_load(
    arch: str, tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    model_dir = tiny_model_factory(arch)
    model = AdaptiveModel(LanguageModel.load(model_dir), [BertLMHead.load(model_dir)], 0.0)
    batch = {**tokenize_batch(model_dir, TEXTS)}
    batch["lm_label_ids"] = mask_labels(batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    before = embedding_of(model).detach().clone()
    model.logits_to_loss(model(**batch), **batch).mean().backward()
    optimizer.step()
    head = model.heads[0]
    assert isinstance(head, BertLMHead)
    assert decoder_of(head) is embedding_of(model) and not torch.equal(before,
                                                                       embedding_of(model))
    model.save(tmp_path / "saved")
    stored = load_file(str(tmp_path / "saved" / "prediction_head_0.safetensors"))
    assert all(s.numel() < before.numel() for s in stored.values())  # no copy of the matrix
    config = json.loads((tmp_path / "saved" / "prediction_head_0_config.json").read_text())
    assert "input_embeddings" in config["tied_weights"].values()

    loaded = AdaptiveModel.load(tmp_path / "saved").eval()
    loaded_head = loaded.heads[0]
    assert isinstance(loaded_head, BertLMHead)
    assert decoder_of(loaded_head) is embedding_of(loaded)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(**batch)[0], model(**batch)[0], rtol=0, atol=0)
    loaded.train()
    optimizer = torch.optim.SGD(loaded.parameters(), lr=1.0)
    loaded.logits_to_loss(loaded(**batch), **batch).mean().backward()
    optimizer.step()
    assert decoder_of(loaded_head) is embedding_of(loaded)  # one tensor, trained once
    assert BertLMHead.load(tmp_path / "saved").generate_config() == loaded_head.generate_config()


@pytest.mark.parametrize("resize", ["n_added_tokens", "resize_token_embeddings"])
def test_added_tokens_work_end_to_end(resize: str, tiny_bert_dir: Path, tmp_path: Path) -> None:
    new_words = ["zqxj", "vwkbr"]
    tokenizer = Tokenizer.load(tiny_bert_dir)
    n_before = len(tokenizer)
    assert tokenizer.add_tokens(new_words) == 2
    data_dir = write_lm_data(tmp_path / "data", n_train=60, n_test=20)
    for name in ("train.txt", "test.txt"):  # the new words in every sentence
        path = data_dir / name
        path.write_text("\n".join(f"{line} zqxj vwkbr" if line else line
                                  for line in path.read_text().split("\n")))
    processor = make_lm_processor(tiny_bert_dir, data_dir)
    processor.tokenizer = tokenizer
    silo = DataSilo(processor, batch_size=8)
    labels = torch.cat([torch.as_tensor(x) for x in silo.data["train"].features["lm_label_ids"]])
    assert {n_before, n_before + 1} <= set(labels.tolist())  # the new tokens are predicted
    if resize == "n_added_tokens":
        language_model = LanguageModel.load(tiny_bert_dir, n_added_tokens=2)
    else:
        language_model = LanguageModel.load(tiny_bert_dir)
        language_model.model.resize_token_embeddings(len(tokenizer))
    head = BertLMHead.load(tiny_bert_dir, n_added_tokens=2)
    model = AdaptiveModel(language_model, [head], 0.0)
    assert head.vocab_size == len(tokenizer) == embedding_of(model).shape[0]
    trainer = make_trainer(model, silo, epochs=2, learning_rate=1e-3)
    trainer.train()
    assert trainer.test_result is not None
    assert torch.isfinite(torch.tensor(trainer.test_result[0]["perplexity"]))
    model.save(tmp_path / "saved")
    loaded = AdaptiveModel.load(tmp_path / "saved")
    assert loaded.heads[0].vocab_size == len(tokenizer)  # type: ignore[attr-defined]
    assert decoder_of(loaded.heads[0]) is embedding_of(loaded)  # type: ignore[arg-type]


def test_vocabulary_the_model_does_not_know_is_refused(tiny_bert_dir: Path, tmp_path: Path
                                                       ) -> None:
    tokenizer = Tokenizer.load(tiny_bert_dir)
    tokenizer.add_tokens(["zqxj"])
    processor = make_lm_processor(tiny_bert_dir, write_lm_data(tmp_path / "data", 30, 10))
    processor.tokenizer = tokenizer
    silo = DataSilo(processor, batch_size=8)
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [BertLMHead.load(tiny_bert_dir)],
                          0.0)
    trainer = make_trainer(model, silo, epochs=1)
    with pytest.raises(FarmError, match=r"tokenizer has \d+ tokens, but .* know only .*"
                                        r"n_added_tokens"):
        trainer.train()


def test_resizing_after_the_model_was_built_is_an_error(tiny_bert_dir: Path) -> None:
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [BertLMHead.load(tiny_bert_dir)],
                          0.0)
    model.language_model.model.resize_token_embeddings(embedding_of(model).shape[0] + 3)
    with pytest.raises(FarmError, match="resize_token_embeddings was called after"):
        model(**tokenize_batch(tiny_bert_dir, TEXTS))


def test_head_errors(tiny_bert_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="revsion"):
        BertLMHead.load(tiny_bert_dir, revsion="main")
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(FarmError, match="no masked-LM model for this architecture"):
        BertLMHead.load(tmp_path / "gpt2")
    with pytest.raises(FarmError, match="takes 64-wide vectors but the language model makes "
                                        "32-wide"):
        AdaptiveModel(LanguageModel.load(tiny_bert_dir),
                      [BertLMHead(hidden_size=64, vocab_size=100)], 0.0)
    with pytest.raises(FarmError, match="not connected to a language model"):
        BertLMHead(hidden_size=32, vocab_size=100)(torch.randn(2, 5, 32))
    with pytest.raises(ValueError, match="hidden_size and vocab_size"):
        BertLMHead()
    with pytest.raises(FarmError, match="makes no inference results"):
        BertLMHead(hidden_size=32, vocab_size=100).formatted_preds(torch.zeros(1), [])


class TestNextSentenceHead(HeadContract):
    """NextSentenceHead passes the contract every head inherits."""

    head_class = NextSentenceHead

    def make_head(self) -> PredictionHead:
        return NextSentenceHead()

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        n = batch["input_ids"].shape[0]
        return {"nextsentence_label_ids": (torch.arange(n) % 2).view(-1, 1)}  # (n, 1)

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        return (batch["input_ids"].shape[0], 2)


def test_next_sentence_head_loads_a_pretrained_classifier(tmp_path: Path,
                                                          tiny_model_factory: TinyModelFactory
                                                          ) -> None:
    tokenizer = build_tokenizer("bert")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        reference = BertForNextSentencePrediction(build_config("bert", len(tokenizer))).eval()
    reference.save_pretrained(tmp_path / "nsp")
    tokenizer.save_pretrained(tmp_path / "nsp")
    head = NextSentenceHead.load(tmp_path / "nsp")
    model = AdaptiveModel(LanguageModel.load(tmp_path / "nsp"), [head], 0.0).eval()
    batch = tokenize_batch(tmp_path / "nsp", TEXTS)
    with torch.no_grad():
        expected = reference(input_ids=batch["input_ids"], attention_mask=batch["padding_mask"],
                             token_type_ids=batch["segment_ids"]).logits
        torch.testing.assert_close(model(**batch)[0], expected, rtol=0, atol=1e-5)
    fresh = NextSentenceHead.load(tiny_model_factory("roberta"))
    assert fresh.layer_dims == [32, 2] and fresh.label_list == ["is_next", "not_next"]


def test_masked_lm_built_for_the_tests_ties_like_transformers() -> None:
    """The helper's reference models are tied as transformers ties them (sanity check)."""
    model = build_masked_lm("bert", 100)
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
