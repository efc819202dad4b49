"""Masked-LM (and masked-LM + next-sentence) heads to and from Hugging Face, per
architecture, checked against transformers' own ``AutoModelForMaskedLM`` /
``BertForPreTraining`` on the exported folders."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from torch import Tensor
from transformers import AutoModel, AutoModelForMaskedLM, BertForPreTraining

from farm.cli import main
from farm.conversion.transformers import save_transformers
from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.masked_lm_export import save_masked_lm
from farm.modeling.prediction_head import BertLMHead, NextSentenceHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.deploy_helpers import TEXTS
from tests.farm_helpers import tokenize_batch
from tests.lm_helpers import make_mlm_dir
from tests.test_lm_head import decoder_of, embedding_of
from tests.tiny_models import ARCHITECTURES, HIDDEN_SIZE, TinyModelFactory


def hf_inputs(batch: dict[str, Tensor], with_segments: bool) -> dict[str, Tensor]:
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["padding_mask"]}
    if with_segments:
        inputs["token_type_ids"] = batch["segment_ids"]
    return inputs


def assert_close_on_real_tokens(ours: Tensor, theirs: Tensor, mask: Tensor) -> None:
    assert ours.shape == theirs.shape
    real = mask.bool()
    assert float((ours[real] - theirs[real]).abs().max()) <= 1e-4


def lm_model(model_dir: Path, task_name: str = "lm") -> AdaptiveModel:
    return AdaptiveModel(LanguageModel.load(model_dir),
                         [BertLMHead.load(model_dir, task_name=task_name)],
                         embeds_dropout_prob=0.1).eval()


def logits(model: AdaptiveModel, batch: dict[str, Tensor]) -> list[Tensor]:
    with torch.no_grad():
        return list(model.eval()(**batch))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_masked_lm_round_trips_through_transformers(arch: str, tmp_path: Path) -> None:
    """FARM → AutoModelForMaskedLM (tied decoder, pooler kept for AutoModel) → FARM, with
    identical per-token logits."""
    model_dir = make_mlm_dir(arch, tmp_path / arch)
    model = lm_model(model_dir, task_name="domain_lm")
    batch = tokenize_batch(model_dir, TEXTS)
    (expected,) = logits(model, batch)
    (folder,) = save_transformers(model, tmp_path / "hf", tokenizer=Tokenizer.load(model_dir))

    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"][0].endswith("ForMaskedLM")
    assert config["tie_word_embeddings"] is True
    hf = AutoModelForMaskedLM.from_pretrained(folder).eval()
    assert hf.get_output_embeddings().weight is hf.get_input_embeddings().weight
    with torch.no_grad():
        theirs = hf(**hf_inputs(batch, arch != "distilbert")).logits
    assert_close_on_real_tokens(expected, theirs, batch["padding_mask"])
    if getattr(model.language_model.model, "pooler", None) is not None:
        encoder = AutoModel.from_pretrained(folder).eval()  # the pooler came along
        with torch.no_grad():
            _, pooled = model.language_model(**batch)
            hf_pooled = encoder(**hf_inputs(batch, True)).pooler_output
        torch.testing.assert_close(hf_pooled, pooled, rtol=0, atol=1e-5)

    back = AdaptiveModel.convert_from_transformers(folder)  # task from the architecture
    (head,) = back.heads
    assert isinstance(head, BertLMHead) and head.task_name == "domain_lm"
    assert decoder_of(head) is embedding_of(back)
    assert_close_on_real_tokens(logits(back, batch)[0], expected, batch["padding_mask"])


def test_untied_decoder_converts_as_a_weight_of_its_own(tmp_path: Path) -> None:
    model_dir = make_mlm_dir("bert", tmp_path / "bert", tie_word_embeddings=False)
    model = lm_model(model_dir)
    assert "input_embeddings" not in model.heads[0].tied_weights.values()  # type: ignore
    batch = tokenize_batch(model_dir, TEXTS)
    (expected,) = logits(model, batch)
    folder = save_masked_lm(model, tmp_path / "hf")  # the same conversion
    assert json.loads((folder / "config.json").read_text())["tie_word_embeddings"] is False
    hf = AutoModelForMaskedLM.from_pretrained(folder).eval()
    assert hf.get_output_embeddings().weight is not hf.get_input_embeddings().weight
    with torch.no_grad():
        theirs = hf(**hf_inputs(batch, True)).logits
    assert_close_on_real_tokens(expected, theirs, batch["padding_mask"])
    back = AdaptiveModel.convert_from_transformers(folder, task_type="lm")
    assert "input_embeddings" not in back.heads[0].tied_weights.values()  # type: ignore
    assert_close_on_real_tokens(logits(back, batch)[0], expected, batch["padding_mask"])


def pretraining_model(model_dir: Path) -> AdaptiveModel:
    set_all_seeds(4)
    nsp = NextSentenceHead(layer_dims=[HIDDEN_SIZE, 2], task_name="nsp")
    return AdaptiveModel(LanguageModel.load(model_dir), [BertLMHead.load(model_dir), nsp],
                         embeds_dropout_prob=0.1).eval()


def test_bert_with_next_sentence_head_becomes_bert_for_pretraining(tmp_path: Path) -> None:
    model_dir = make_mlm_dir("bert", tmp_path / "bert")
    model = pretraining_model(model_dir)
    batch = tokenize_batch(model_dir, TEXTS)
    batch["segment_ids"][:, 3:] = 1  # segment B matters to the next-sentence head
    lm_logits, nsp_logits = logits(model, batch)
    (folder,) = save_transformers(model, tmp_path / "hf")
    hf = BertForPreTraining.from_pretrained(folder).eval()
    with torch.no_grad():
        out = hf(**hf_inputs(batch, True))
    assert_close_on_real_tokens(lm_logits, out.prediction_logits, batch["padding_mask"])
    torch.testing.assert_close(out.seq_relationship_logits, nsp_logits, rtol=0, atol=1e-5)
    assert hf.config.id2label == {0: "is_next", 1: "not_next"}
    # The same folder loads as a masked-LM model (BERT's head names are shared).
    with torch.no_grad():
        masked = AutoModelForMaskedLM.from_pretrained(folder).eval()(**hf_inputs(batch, True))
    assert_close_on_real_tokens(lm_logits, masked.logits, batch["padding_mask"])

    back = AdaptiveModel.convert_from_transformers(folder)  # lm_nextsentence, from the config
    assert [type(h).__name__ for h in back.heads] == ["BertLMHead", "NextSentenceHead"]
    assert back.heads[1].task_name == "nsp"
    back_lm, back_nsp = logits(back, batch)
    assert_close_on_real_tokens(back_lm, lm_logits, batch["padding_mask"])
    torch.testing.assert_close(back_nsp, nsp_logits, rtol=0, atol=1e-5)
    only_lm = AdaptiveModel.convert_from_transformers(folder, task_type="lm")
    assert [type(h).__name__ for h in only_lm.heads] == ["BertLMHead"]


def test_next_sentence_head_without_an_equivalent(tiny_model_factory: TinyModelFactory,
                                                  tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """RoBERTa has no pre-training class with a next-sentence head: the LM head converts,
    the next-sentence head is dropped with a warning. Alone it is refused."""
    model_dir = make_mlm_dir("roberta", tmp_path / "roberta")
    model = pretraining_model(model_dir)
    batch = tokenize_batch(model_dir, TEXTS)
    lm_logits, _ = logits(model, batch)
    with caplog.at_level(logging.WARNING):
        (folder,) = save_transformers(model, tmp_path / "hf")
    assert "NextSentenceHead (task 'nsp') is dropped" in caplog.text
    assert "roberta has no Hugging Face class with a masked-LM and a next-sentence" in (
        caplog.text)
    hf = AutoModelForMaskedLM.from_pretrained(folder).eval()
    with torch.no_grad():
        theirs = hf(**hf_inputs(batch, False)).logits
    assert_close_on_real_tokens(lm_logits, theirs, batch["padding_mask"])
    with pytest.raises(FarmError, match="lm_nextsentence' needs a model with a masked-LM"):
        AdaptiveModel.convert_from_transformers(folder, task_type="lm_nextsentence")

    alone = AdaptiveModel(LanguageModel.load(model_dir), [model.heads[1]])
    with pytest.raises(FarmError, match="converts only together with a BertLMHead"):
        alone.convert_to_transformers()


def test_lm_head_of_another_architecture_is_refused(tiny_model_factory: TinyModelFactory
                                                    ) -> None:
    """A BERT-style head (BertLMHead(hidden_size, vocab_size)) on a RoBERTa encoder has no
    RobertaForMaskedLM equivalent."""
    roberta_dir = tiny_model_factory("roberta")
    lm = LanguageModel.load(roberta_dir)
    head = BertLMHead(hidden_size=HIDDEN_SIZE, vocab_size=len(Tokenizer.load(roberta_dir)))
    model = AdaptiveModel(lm, [head])
    with pytest.raises(FarmError, match=r"head of BertForMaskedLM, but the language model is "
                                        r"a roberta.*BertLMHead.load"):
        model.convert_to_transformers()


def test_plain_encoder_and_cli_convert(tiny_model_factory: TinyModelFactory, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A folder without a masked-LM head gets a new one (with a warning); ``farm convert``
    takes masked-LM folders both ways."""
    model_dir = tiny_model_factory("bert")
    with caplog.at_level(logging.WARNING):
        model = AdaptiveModel.convert_from_transformers(model_dir, task_type="lm")
    assert "holds no trained lm head" in caplog.text
    mlm_dir = make_mlm_dir("bert", tmp_path / "mlm")
    assert main(["convert", str(mlm_dir), str(tmp_path / "farm"), "--to", "farm"]) == 0
    model = AdaptiveModel.load(tmp_path / "farm")
    assert isinstance(model.heads[0], BertLMHead)
    assert main(["convert", str(tmp_path / "farm"), str(tmp_path / "hf"),
                 "--to", "transformers"]) == 0
    batch = tokenize_batch(mlm_dir, TEXTS)
    reference = AutoModelForMaskedLM.from_pretrained(mlm_dir).eval()
    converted = AutoModelForMaskedLM.from_pretrained(tmp_path / "hf").eval()
    with torch.no_grad():
        expected = reference(**hf_inputs(batch, True)).logits
        theirs = converted(**hf_inputs(batch, True)).logits
    assert_close_on_real_tokens(expected, theirs, batch["padding_mask"])
    assert str(tmp_path / "hf") in capsys.readouterr().out
